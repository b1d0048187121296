"""Xero pay links are stored and fetched once per invoice, ever (notes/xero.md §5: the OnlineInvoice
URL is stable), on SQLite and PostgreSQL: a later sync in another process reuses the stored URL,
and only an open invoice without one (new, or approved since it was a draft) costs a call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.clock import FixedClock
from connector.db import Invoice, Organisation
from connector.runtime import Runtime, build_runtime
from connector.sync import sync_organisation
from tests.contract.xero import XeroHarness
from tests.personas import NOW


@pytest.fixture
def xero(tmp_path: Path, db_url: str) -> Iterator[XeroHarness]:
    harness = XeroHarness(tmp_path, FixedClock(NOW), database_url=db_url)
    harness.connect()
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


def _sync(runtime: Runtime, *, full: bool = False) -> None:
    with runtime.sessions() as session:
        org = session.scalars(select(Organisation)).one()
    sync_organisation(runtime.sessions, org.id, runtime.platform("xero"), runtime.access(org), runtime.clock, full=full)


def _online_invoice_calls(xero: XeroHarness) -> int:
    return xero.sandbox.call_counts().get("api_online_invoice", 0)


def _stored_links(xero: XeroHarness) -> dict[str, tuple[str | None, object]]:
    with xero.runtime.sessions() as session:
        rows = session.execute(
            select(Invoice.external_id, Invoice.pay_url, Invoice.pay_url_fetched_at).where(Invoice.status == "open")
        )
        return {external_id: (url, fetched_at) for external_id, url, fetched_at in rows}


def test_a_later_sync_in_another_process_makes_no_online_invoice_call(xero: XeroHarness, restarted: Runtime) -> None:
    xero.sync()
    first = _stored_links(xero)
    opened = {i for i, (status, _) in xero.truth().items() if status == "open"}
    assert set(first) == opened and all(url for url, _ in first.values())
    assert _online_invoice_calls(xero) == len(opened)  # one call per open invoice

    xero.runtime.clock.advance(timedelta(minutes=15))  # type: ignore[attr-defined]
    before = _online_invoice_calls(xero)
    _sync(restarted, full=True)  # every open invoice read again, by a process that has seen none
    assert _online_invoice_calls(xero) == before
    assert _stored_links(xero) == first  # same URLs, same fetch instants


def test_only_an_invoice_without_a_stored_link_costs_a_call(xero: XeroHarness, restarted: Runtime) -> None:
    xero.sync()
    paid_in_part = xero.open_invoice()
    draft = next(
        r["InvoiceID"] for r in xero.sandbox.records("Invoices") if r["Type"] == "ACCREC" and r["Status"] == "DRAFT"
    )
    xero.runtime.clock.advance(timedelta(minutes=15))  # type: ignore[attr-defined]
    xero.pay(paid_in_part, "1.00")  # changed, still open: its stored link is kept
    xero.sandbox.authorise_invoice(draft)  # approved: now it has an online page
    new = xero.create_invoice(xero.some_customer(), "120.00")
    before, started = _online_invoice_calls(xero), xero.runtime.clock.now()
    _sync(restarted)
    assert _online_invoice_calls(xero) - before == 2  # the approved draft and the new invoice
    links = _stored_links(xero)
    assert links[draft][0] and links[new][0] and links[paid_in_part][0]
    fetched = {name: links[i][1] for name, i in (("draft", draft), ("new", new), ("kept", paid_in_part))}
    assert all(isinstance(at, datetime) for at in fetched.values())
    assert fetched["draft"] >= started and fetched["new"] >= started > fetched["kept"]  # type: ignore[operator]
