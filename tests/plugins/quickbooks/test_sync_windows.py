"""QuickBooks' CDC limits, against the sandbox: a cursor older than 30 days means a full query;
more than 1000 changes are split per entity and, for an entity still capped alone, re-read by
``MetaData.LastUpdatedTime`` paging (notes/quickbooks.md §0.4). Each ends with store == truth."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db import QuarantinedRecord
from tests.contract.quickbooks import QuickBooksHarness


@pytest.fixture
def qbo(qbo_connected: QuickBooksHarness) -> QuickBooksHarness:
    qbo_connected.sync()
    return qbo_connected


def _calls(h: QuickBooksHarness) -> dict[str, int]:
    return h.sandbox.call_details()


def test_a_cursor_older_than_the_cdc_window_is_a_full_query(qbo: QuickBooksHarness) -> None:
    qbo.runtime.clock.advance(timedelta(days=31))  # type: ignore[attr-defined]
    qbo.pay(qbo.open_invoice())
    qbo.sandbox.reset_call_counts()
    qbo.sync()
    counts = qbo.sandbox.call_counts()
    assert counts.get("api_cdc", 0) == 0 and counts.get("api_query", 0) >= 4
    assert qbo.stored() == qbo.truth()


def test_more_than_1000_changes_are_split_and_nothing_is_missed(qbo: QuickBooksHarness) -> None:
    customer = qbo.some_customer()
    created = [qbo.create_invoice(customer, f"{100 + i}.00") for i in range(1050)]
    qbo.pay(qbo.open_invoice(), "1.00")
    qbo.set_email(customer, "capped@example.test")
    qbo.runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    qbo.sandbox.reset_call_counts()
    qbo.sync()
    counts = qbo.sandbox.call_counts()
    assert counts["api_cdc"] >= 2  # all entities capped, then one call per entity
    assert _calls(qbo).get("query:Invoice", 0) >= 2  # invoices alone still capped: paged by LastUpdatedTime
    stored = qbo.stored()
    assert all(stored[i][0] == "open" for i in created)
    assert stored == qbo.truth()
    assert qbo.stored_emails(customer)[0] == "capped@example.test"


def test_every_kind_of_malformed_record_is_quarantined_and_the_sync_goes_on(qbo: QuickBooksHarness) -> None:
    kinds = ("total_not_a_number", "missing_customer_ref", "unknown_currency", "xml_record")
    bad = {kind: str(qbo.sandbox.add_malformed_invoice(kind)["Id"]) for kind in kinds}
    qbo.pay(qbo.open_invoice())
    qbo.sync()
    assert qbo.stored() == qbo.truth()  # the good change arrived
    with qbo.runtime.sessions() as session:
        rows = {r.external_id: r for r in session.scalars(select(QuarantinedRecord))}
    assert set(rows) == set(bad.values())
    assert "CustomerRef" in rows[bad["missing_customer_ref"]].field
    assert "XXY" in rows[bad["unknown_currency"]].error
    assert "<IntuitResponse" in rows[bad["xml_record"]].payload


def test_the_nightly_reconcile_catches_a_deletion_that_incremental_sync_missed(qbo: QuickBooksHarness) -> None:
    from connector.jobs import reconcile_all

    invoice = qbo.open_invoice()
    qbo.delete(invoice)
    assert qbo.stored()[invoice][0] == "open"  # no sync since: as if CDC had not paged it
    qbo.runtime.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]  # the next night
    assert reconcile_all(qbo.runtime) > 0
    assert qbo.stored()[invoice][0] == "deleted"
