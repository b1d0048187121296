"""End to end: the sandbox company is synced, the collection run queues touches, the dispatcher
re-checks them, renders them with the default templates and sends them through a real SMTP
server (aiosmtpd on loopback). What arrives is checked, and nothing arrives twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from connector.db import Customer, Invoice, OutboxMessage
from connector.delivery import dispatcher
from connector.mail import SmtpMailer
from connector.outbox import collect
from tests.contract.quickbooks import QuickBooksHarness
from tests.integration.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def qbo(qbo_connected: QuickBooksHarness) -> QuickBooksHarness:
    qbo_connected.sync()
    return qbo_connected


def test_reminders_arrive_once_each_with_their_invoices_and_pay_links(qbo: QuickBooksHarness, smtp: SmtpServer) -> None:
    org_id = qbo.server.organisation_id("quickbooks")
    collect(qbo.runtime.sessions, org_id, qbo.runtime.clock)
    with qbo.runtime.sessions() as session:
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    mailer = SmtpMailer(smtp.host, smtp.port, security="none")
    report = dispatcher(qbo.runtime, mailer).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    assert report.sent == len(queued) == len(arrived) > 0
    assert dispatcher(qbo.runtime, mailer).run_once(limit=500).sent == 0  # a second pass sends nothing
    ids = [r.message["Message-ID"] for r in arrived]
    assert len(set(ids)) == len(ids)
    message = arrived[0].message
    assert message["From"].addresses[0].display_name == qbo.sandbox.company_name()
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    outbox_id = int(message["X-Arcadence-Outbox"])
    with qbo.runtime.sessions() as session:
        row = session.get_one(OutboxMessage, outbox_id)
        invoices = session.scalars(select(Invoice).where(Invoice.external_id.in_(row.invoice_ids.split(",")))).all()
    for invoice in invoices:
        assert invoice.number in body
        if invoice.pay_url:
            assert invoice.pay_url in body


def test_a_german_customer_gets_a_german_reminder(qbo: QuickBooksHarness, smtp: SmtpServer) -> None:
    with qbo.runtime.sessions.begin() as session:
        session.execute(update(Customer).values(language="de"))
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    report = dispatcher(qbo.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    subjects = {r.message["Subject"] for r in arrived}
    german = ("Zahlungserinnerung", "Mahnung", "Rechnung")
    assert subjects and all(any(word in s for word in german) for s in subjects), subjects


def test_a_refused_recipient_fails_that_touch_only(qbo: QuickBooksHarness) -> None:
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    with qbo.runtime.sessions() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).first()
        assert row is not None
        customer = session.get_one(Customer, row.customer_id)
        refused = customer.contacts[0].email
    with SmtpServer() as smtp:
        smtp.inbox.refuse[refused] = "550 5.1.1 no such user"
        report = dispatcher(qbo.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
        smtp.inbox.wait_for(report.sent)
    with qbo.runtime.sessions() as session:
        assert session.get_one(OutboxMessage, row.id).status == "failed"
        assert "550" in (session.get_one(OutboxMessage, row.id).last_error or "")
    assert report.failed >= 1 and report.sent >= 1


def _store_template(qbo: QuickBooksHarness, subject: str, text: str) -> None:
    from connector.db import MessageTemplate

    now = qbo.runtime.clock.now()
    with qbo.runtime.sessions() as session:
        keys = {(r.template_key, r.payload["language"]) for r in session.scalars(select(OutboxMessage))}
    with qbo.runtime.sessions.begin() as session:
        for key, language in keys:
            session.add(
                MessageTemplate(
                    organisation_id=qbo.server.organisation_id("quickbooks"),
                    template_key=key,
                    level=1,
                    language=language,
                    channel="email",
                    subject=subject,
                    body_text=text,
                    body_html="<p>{{ customer.name }}</p>",
                    updated_at=now,
                )
            )


def test_an_organisation_s_own_template_is_used(qbo: QuickBooksHarness, smtp: SmtpServer) -> None:
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    _store_template(qbo, "Offene Posten bei {{ organisation.name }}", "Hallo {{ customer.name }}")
    report = dispatcher(qbo.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    assert arrived and all(r.message["Subject"].startswith("Offene Posten bei ") for r in arrived)


def test_an_organisation_s_broken_template_holds_the_reminder(qbo: QuickBooksHarness, smtp: SmtpServer) -> None:
    collect(qbo.runtime.sessions, qbo.server.organisation_id("quickbooks"), qbo.runtime.clock)
    _store_template(qbo, "{{ customer.nme }}", "{% if %}")
    report = dispatcher(qbo.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
    assert report.sent == 0 and report.held > 0 and smtp.inbox.messages == []
    with qbo.runtime.sessions() as session:
        held = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "held")).all()
    assert held and all("template" in (r.last_error or "") for r in held)
