"""Payer links as the customer meets them: in a real email, opening that customer's page; and every
way a link can be wrong (expired, tampered, another installation's, another customer's or another
organisation's id) gets the same polite page that names nobody. A link used after everything is
paid says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from connector.db import Customer, Invoice, OutboxMessage
from connector.delivery import dispatcher
from connector.mail import SmtpMailer
from connector.outbox import collect
from connector.portal import LINK_DAYS, PortalLinks, portal_links
from tests.contract.quickbooks import QuickBooksHarness
from tests.integration.smtp_server import SmtpServer
from tests.personas import World
from tests.web.conftest import seed_objects
from tests.web.ledger_builders import TODAY, Ledger, page, seed_ledger

LINK = re.compile(r"https?://[^\s\"<>]+/pay/[A-Za-z0-9_.\-]+")


def payer_path(world: World, org_id: int, customer_id: int, *, today: object = TODAY, days: int = LINK_DAYS) -> str:
    """The path of the payer page of ``customer_id`` as the app signs it."""
    settings = world.runtime.settings
    links = portal_links(settings.session_secret, settings.public_url)
    return "/pay/" + links.token(org_id, customer_id, today=today, days=days)  # type: ignore[arg-type]


@pytest.fixture
def ledger(world: World) -> Ledger:
    return seed_ledger(world)


# --- the link in a real message ------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def test_a_sent_reminder_carries_a_link_that_opens_that_customer_s_page(
    qbo_connected: QuickBooksHarness, smtp: SmtpServer
) -> None:
    qbo = qbo_connected
    qbo.sync()
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    report = dispatcher(qbo.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    assert report.sent > 0 and len(arrived) == report.sent
    for received in arrived[:3]:
        message = received.message
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        links = set(LINK.findall(text))
        assert len(links) == 1, text
        link = links.pop()
        assert link.startswith(qbo.app_url + "/pay/") and link in html
        with qbo.runtime.sessions() as session:
            row = session.get_one(OutboxMessage, int(message["X-Arcadence-Outbox"]))
            customer = session.get_one(Customer, row.customer_id)
            numbers = session.scalars(
                select(Invoice.number).where(Invoice.external_id.in_(row.invoice_ids.split(",")))
            ).all()
        opened = qbo.http.get(link, timeout=10)
        assert opened.status_code == 200
        assert opened.headers["Referrer-Policy"] == "no-referrer"
        assert customer.name in opened.text
        assert all(number in opened.text for number in numbers)


# --- every way a link can be wrong ---------------------------------------------------------------


def _says_nothing(world: World, html: str) -> None:
    with world.sessions() as session:
        names = [name for name in session.scalars(select(Customer.name))]
    for secret in ["Weber Maschinenbau GmbH", "Charlie Trading Ltd", *names]:
        assert secret not in html


def test_a_link_opens_its_customer_only(world: World, ledger: Ledger) -> None:
    response = world.client().get(payer_path(world, ledger.org_id, ledger.customers["Promise AG"]))
    html = page(response)
    assert response.status_code == 200
    assert "Promise AG" in html and "P-1" in html and "Weber Maschinenbau GmbH" in html
    for other in ("D-1", "O-1", "A-1001", "Due Today GmbH"):
        assert other not in html


@pytest.mark.parametrize(
    ("make", "status"),
    [
        pytest.param(lambda w, lg: payer_path(w, lg.org_id, lg.customers["Promise AG"], days=-1), 410, id="expired"),
        pytest.param(
            lambda w, lg: payer_path(w, lg.org_id, lg.customers["Promise AG"], today=TODAY - timedelta(days=61)),
            410,
            id="expired-after-60-days",
        ),
        pytest.param(
            lambda w, lg: payer_path(w, lg.org_id, lg.customers["Promise AG"])[:-3] + "AAA", 404, id="tampered"
        ),
        pytest.param(
            lambda w, lg: "/pay/" + PortalLinks("another", "http://x").token(lg.org_id, 2, today=TODAY),
            404,
            id="another-installation",
        ),
        pytest.param(lambda w, lg: "/pay/not-a-real-token", 404, id="garbage"),
        pytest.param(lambda w, lg: payer_path(w, lg.org_id, 999_999), 404, id="no-such-customer"),
        pytest.param(lambda w, lg: payer_path(w, 999_999, lg.customers["Promise AG"]), 404, id="no-such-org"),
    ],
)
def test_a_wrong_link_gets_a_polite_page_that_names_nobody(world: World, ledger: Ledger, make, status: int) -> None:  # type: ignore[no-untyped-def]
    path = make(world, ledger)
    for url in (path, path + "/statement.pdf", path + "/statement.html"):
        response = world.client().get(url)
        html = page(response)
        assert response.status_code == status, url
        assert response.headers["X-Robots-Tag"].startswith("noindex")
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert ("expired" if status == 410 else "not valid") in html
        _says_nothing(world, html)


def test_another_organisation_s_customer_id_in_a_link_opens_nothing(world: World, ledger: Ledger) -> None:
    """A genuine signature over (org A, a customer of org B) or (org B, a customer of org A)."""
    b_customer = seed_objects(world.sessions, world.orgs["B"], "B")["customer_id"]
    for path in (
        payer_path(world, ledger.org_id, b_customer),
        payer_path(world, world.orgs["B"], ledger.customers["Promise AG"]),
    ):
        response = world.client().get(path)
        assert response.status_code == 404
        _says_nothing(world, page(response))
    own = world.client().get(payer_path(world, world.orgs["B"], b_customer))
    assert own.status_code == 200 and "Charlie Trading Ltd" in page(own) and "Weber" not in page(own)


def test_a_wrong_link_cannot_post_an_action(world: World, ledger: Ledger) -> None:
    world.app.config["WTF_CSRF_ENABLED"] = False
    path = payer_path(world, ledger.org_id, ledger.customers["Promise AG"], days=-1)
    response = world.client().post(path + "/promise", data={"promise-promise_date": "2026-03-20"})
    assert response.status_code == 410
    with world.sessions() as session:
        assert session.scalar(select(Customer.id).where(Customer.name == "Promise AG")) is not None


def test_a_link_used_after_everything_is_paid_says_so(world: World, ledger: Ledger) -> None:
    customer = ledger.customers["Promise AG"]
    with world.sessions.begin() as session:
        session.execute(
            update(Invoice)
            .where(Invoice.id == ledger.invoices["P-1"])
            .values(status="paid", balance=0, paid_date=TODAY - timedelta(days=1))
        )
    client = world.client()
    html = page(client.get(payer_path(world, ledger.org_id, customer)))
    assert "Everything is paid" in html
    assert 'id="paid-form"' not in html and 'id="dispute-form"' not in html
    assert re.search(r'id="paid-\d+"><td>P-1</td>', html), "the paid invoice is listed as paid"
    # A form from before the payment, posted now, is told the invoice is paid.
    world.app.config["WTF_CSRF_ENABLED"] = False
    late = client.post(
        payer_path(world, ledger.org_id, customer) + "/dispute",
        data={"dispute-invoice": str(ledger.invoices["P-1"]), "dispute-reason": "wrong amount"},
    )
    assert late.status_code == 400
    assert "already paid" in page(late)


def test_the_page_speaks_the_customer_s_language_whatever_the_browser_says(world: World, ledger: Ledger) -> None:
    customer = ledger.customers["Promise AG"]
    path = payer_path(world, ledger.org_id, customer)
    english = page(world.client().get(path, headers={"Accept-Language": "de"}))
    assert '<html lang="en">' in english and "€800.00" in english
    with world.sessions.begin() as session:
        session.execute(update(Customer).where(Customer.id == customer).values(language="de"))
    german = page(world.client().get(path, headers={"Accept-Language": "en"}))
    assert '<html lang="de">' in german and "800,00\xa0€" in german and "29.01.2026" in german
