"""Statements of account: open items, credits and a balance per currency, as a web page and a PDF,
from the ledger (viewers) and from the payer's page, and attached to a real email on request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import update

from connector.db import Credit, Customer, Membership, Payment
from connector.delivery import dispatcher
from connector.mail import SmtpMailer
from connector.outbox import collect
from tests.contract.quickbooks import QuickBooksHarness
from tests.integration.smtp_server import SmtpServer
from tests.personas import NOW, World
from tests.web.ledger_builders import TODAY, add_customer, add_invoice, day, page
from tests.web.test_portal_links import payer_path


@pytest.fixture
def customer(world: World) -> int:
    """A customer of org A with open EUR and USD invoices, a paid one, a voided credit note, an
    open credit note and an unapplied payment."""
    org = world.orgs["A"]
    cid = add_customer(world.sessions, org, "Statement GmbH")
    add_invoice(world.sessions, org, cid, "S-1", overdue=20, balance="1000.00")
    add_invoice(world.sessions, org, cid, "S-2", overdue=-10, balance="250.50")
    add_invoice(world.sessions, org, cid, "S-3", overdue=40, balance="300.00", currency="USD")
    add_invoice(world.sessions, org, cid, "S-0", overdue=50, status="paid", paid_days_late=1)
    with world.sessions.begin() as s:
        for number, status in (("G-1", "open"), ("G-X", "voided")):
            s.add(
                Credit(
                    organisation_id=org,
                    customer_id=cid,
                    external_id=number,
                    kind="credit_note",
                    number=number,
                    issue_date=day(-5),
                    currency="EUR",
                    total=Decimal("50.00"),
                    remaining=Decimal("50.00"),
                    status=status,
                    synced_at=NOW,
                )
            )
        s.add(
            Payment(
                organisation_id=org,
                customer_id=cid,
                external_id="PAY-1",
                payment_date=day(-2),
                currency="EUR",
                amount=Decimal("100.00"),
                unapplied_amount=Decimal("20.00"),
                synced_at=NOW,
            )
        )
    return cid


def _url(world: World, customer: int, kind: str) -> str:
    return f"/orgs/{world.orgs['A']}/ledger/customers/{customer}/statement.{kind}"


def _text(html: str, css_class: str) -> str:
    found = re.search(rf'<table class="{css_class}">(.*?)</table>', html, re.S)
    assert found, css_class
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).replace("\xa0", " ").split())


def test_a_statement_lists_open_items_credits_and_a_balance_per_currency(world: World, customer: int) -> None:
    response = world.client("bob").get(_url(world, customer, "html"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = page(response)
    items = _text(html, "open-items")
    assert items.index("S-3") < items.index("S-1") < items.index("S-2")  # oldest due first
    # English words, the organisation's (de_DE) number conventions: connector.render.formatting
    assert "S-0" not in items and "300,00 US$" in items and "250,50 €" in items
    credits = _text(html, "credits")
    assert "G-1" in credits and "G-X" not in credits and "unapplied payment 8 March 2026 20,00 €" in credits
    totals = _text(html, "totals")
    assert "EUR 1.250,50 € 70,00 € 1.180,50 €" in totals
    assert "USD 300,00 US$ 0,00 US$ 300,00 US$" in totals
    assert "Statement GmbH" in html and "Weber Maschinenbau GmbH" in html


def test_the_statement_is_written_in_the_customer_s_language(world: World, customer: int) -> None:
    with world.sessions.begin() as s:
        s.execute(update(Customer).where(Customer.id == customer).values(language="de"))
    html = page(world.client("alice").get(_url(world, customer, "html")))
    assert '<html lang="de">' in html and "Kontoauszug" in html
    assert "Offene Rechnungen" in html and "Gutschrift" in _text(html, "credits")
    pdf = world.client("alice").get(_url(world, customer, "pdf"))
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="Kontoauszug-ext-Statement-GmbH-{TODAY}.pdf"'


def test_the_pdf_is_a_download(world: World, customer: int) -> None:
    response = world.client("bob").get(_url(world, customer, "pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="Statement-ext-Statement-GmbH-')


def test_the_web_page_loads_and_runs_nothing(world: World, customer: int) -> None:
    response = world.client("bob").get(_url(world, customer, "html"))
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp


def test_a_customer_with_nothing_open_gets_a_statement_that_says_so(world: World) -> None:
    cid = add_customer(world.sessions, world.orgs["A"], "Nothing Open KG")
    html = page(world.client("bob").get(_url(world, cid, "html")))
    assert "There are no open invoices." in html and 'class="totals"' not in html


def test_viewers_download_it_and_another_firm_does_not(world: World, customer: int) -> None:
    with world.sessions.begin() as s:
        s.execute(update(Membership).where(Membership.user_id == world.users["bob"]).values(role="viewer"))
    assert world.client("bob").get(_url(world, customer, "pdf")).status_code == 200
    assert world.client("charlie").get(_url(world, customer, "pdf")).status_code == 404
    assert world.client().get(_url(world, customer, "pdf")).status_code in {302, 401}


def test_the_customer_page_links_the_statement(world: World, customer: int) -> None:
    html = page(world.client("bob").get(f"/orgs/{world.orgs['A']}/customers/{customer}"))
    assert _url(world, customer, "pdf") in html and _url(world, customer, "html") in html


def test_the_payer_downloads_the_same_statement(world: World, customer: int) -> None:
    path = payer_path(world, world.orgs["A"], customer)
    payer_page = page(world.client().get(path))
    assert f"{path}/statement.pdf" in payer_page
    html = page(world.client().get(f"{path}/statement.html"))
    assert html == page(world.client("bob").get(_url(world, customer, "html")))
    pdf = world.client().get(f"{path}/statement.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert pdf.headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def test_a_reminder_can_carry_the_statement(qbo_connected: QuickBooksHarness, smtp: SmtpServer) -> None:
    qbo = qbo_connected
    qbo.sync()
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    mailer = SmtpMailer(smtp.host, smtp.port, security="none")
    report = dispatcher(qbo.runtime, mailer, attach_statement=True).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    assert report.sent > 0
    for received in arrived:
        attached = {a.get_filename(): a for a in received.message.iter_attachments()}
        statements = [name for name in attached if name and name.startswith(("Statement-", "Kontoauszug-"))]
        assert len(statements) == 1, list(attached)
        assert attached[statements[0]].get_content_type() == "application/pdf"
        assert attached[statements[0]].get_content().startswith(b"%PDF-")
