"""Xero pay links cost one call per invoice, ever, and only when a reminder is about to carry one
(issue 7: a first sync that asked for every open invoice's OnlineInvoice ate the tenant's whole
daily budget). Real parts: the sandbox over loopback, the real dispatcher and SMTP (aiosmtpd), the
store on SQLite and PostgreSQL; a second process on the same store reuses the stored link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.clock import FixedClock
from connector.db import Invoice, Organisation, OutboxMessage
from connector.runtime import Runtime, build_runtime
from connector.sync import sync_organisation
from tests.contract.harness import queue_reminder, send_reminders, text_of
from tests.contract.xero import XeroHarness
from tests.integration.smtp_server import SmtpServer
from tests.personas import NOW


@pytest.fixture
def xero(tmp_path: Path, db_url: str) -> Iterator[XeroHarness]:
    harness = XeroHarness(tmp_path, FixedClock(NOW), database_url=db_url)
    harness.connect()
    harness.sync()
    yield harness
    harness.close()


@pytest.fixture
def restarted(xero: XeroHarness) -> Iterator[Runtime]:
    """A second process on the same store: its own platform instance, nothing cached in memory."""
    runtime = build_runtime(
        xero.runtime.settings, configs=xero.runtime.configs, clock=xero.runtime.clock, sleep=xero.runtime.sleep
    )
    yield runtime
    runtime.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def _sync(runtime: Runtime, *, full: bool = False) -> None:
    with runtime.sessions() as session:
        org = session.scalars(select(Organisation)).one()
    sync_organisation(runtime.sessions, org.id, runtime.platform("xero"), runtime.access(org), runtime.clock, full=full)


def _stored_link(xero: XeroHarness, invoice: str) -> str | None:
    with xero.runtime.sessions() as session:
        return session.scalar(select(Invoice.pay_url).where(Invoice.external_id == invoice))


def _status(xero: XeroHarness, outbox_id: int) -> str | None:
    with xero.runtime.sessions() as session:
        return session.get_one(OutboxMessage, outbox_id).status


def test_syncs_ask_for_no_link(xero: XeroHarness, restarted: Runtime) -> None:
    _sync(restarted, full=True)
    assert xero.pay_link_calls() == 0
    assert _stored_link(xero, xero.open_invoice()) is None


def test_the_first_reminder_fetches_and_stores_the_link_and_another_process_reuses_it(
    xero: XeroHarness, restarted: Runtime, smtp: SmtpServer
) -> None:
    invoice = xero.open_invoice()
    queue_reminder(xero.runtime, invoice, "first")
    [first] = send_reminders(xero.runtime, smtp)
    url = _stored_link(xero, invoice)
    assert url and url in text_of(first) and xero.pay_link_calls() == 1

    _sync(restarted, full=True)  # a full re-read keeps the stored link
    assert _stored_link(xero, invoice) == url
    queue_reminder(restarted, invoice, "second")
    [second] = send_reminders(restarted, smtp)  # a process that has seen no link: the store has it
    assert url in text_of(second) and xero.pay_link_calls() == 1


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(429, id="rate-limited"),
        pytest.param(400, id="refused-as-a-draft"),
        pytest.param(503, id="outage"),
    ],
)
def test_a_link_xero_does_not_give_never_holds_the_reminder_and_the_next_one_asks_again(
    xero: XeroHarness, smtp: SmtpServer, status: int
) -> None:
    invoice = xero.open_invoice()
    xero.sandbox.inject_fault(f"*/Invoices/{invoice}/OnlineInvoice", status=status, retry_after=1)
    outbox_id = queue_reminder(xero.runtime, invoice, "first")
    [first] = send_reminders(xero.runtime, smtp)
    assert _status(xero, outbox_id) == "sent"
    assert _stored_link(xero, invoice) is None

    xero.runtime.clock.advance(timedelta(seconds=5))  # type: ignore[attr-defined]
    queue_reminder(xero.runtime, invoice, "second")
    [second] = send_reminders(xero.runtime, smtp)
    url = _stored_link(xero, invoice)
    assert url and url in text_of(second) and url not in text_of(first)


def test_a_draft_gets_no_link_and_costs_no_call(xero: XeroHarness) -> None:
    draft = next(
        r["InvoiceID"] for r in xero.sandbox.records("Invoices") if r["Type"] == "ACCREC" and r["Status"] == "DRAFT"
    )
    platform = xero.runtime.platform("xero")
    with xero.runtime.sessions() as session:
        access = xero.runtime.access(session.scalars(select(Organisation)).one())
    fetched = platform.with_pay_links(access, platform.fetch_invoices(access, [draft]))  # type: ignore[attr-defined]
    assert [f.record.pay_url for f in fetched] == [None] and xero.pay_link_calls() == 0
