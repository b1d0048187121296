"""The nightly reconcile on Xero: a change that makes no journal does not bump ``UpdatedDateUTC``, so
``If-Modified-Since`` never returns it (notes/xero.md §0.7); the reconcile re-reads every open
invoice with ``Invoices?IDs=`` (50 a call, notes §1.4) and picks it up, without asking for pay
links again."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.clock import FixedClock
from connector.db import Invoice
from connector.jobs import reconcile_all
from tests.contract.xero import XeroHarness
from tests.personas import NOW

NEW_DUE = date(2026, 4, 30)


@pytest.fixture
def xero(tmp_path: Path, db_url: str) -> Iterator[XeroHarness]:
    harness = XeroHarness(tmp_path, FixedClock(NOW), database_url=db_url)
    harness.connect()
    harness.sync()
    yield harness
    harness.close()


def _due(xero: XeroHarness, invoice: str) -> date:
    with xero.runtime.sessions() as session:
        return session.scalars(select(Invoice.due_date).where(Invoice.external_id == invoice)).one()


def test_the_reconcile_sees_a_due_date_change_that_if_modified_since_misses(xero: XeroHarness) -> None:
    part_paid = next(
        str(r["InvoiceID"])
        for r in xero.sandbox.records("Invoices", tenant_id=xero.tenant)
        if r["Type"] == "ACCREC" and r["Status"] == "AUTHORISED" and Decimal(str(r["AmountPaid"])) > 0
    )
    xero.runtime.clock.advance(timedelta(hours=21))  # type: ignore[attr-defined]  # the next night
    assert xero.sandbox.update_invoice(part_paid, tenant_id=xero.tenant, DueDate=NEW_DUE.isoformat())["bumped"] is False

    xero.sync()
    assert _due(xero, part_paid) != NEW_DUE  # the incremental sync cannot see it

    with xero.runtime.sessions() as session:
        open_ = session.scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "open"))
    calls, links = xero.sandbox.call_details().get("list:Invoices", 0), xero.sandbox.call_counts()
    assert reconcile_all(xero.runtime) == open_
    assert _due(xero, part_paid) == NEW_DUE
    assert xero.sandbox.call_details()["list:Invoices"] - calls == math.ceil(open_ / 50)
    assert xero.sandbox.call_counts().get("api_online_invoice", 0) == links.get("api_online_invoice", 0)
    assert xero.stored() == xero.truth()
