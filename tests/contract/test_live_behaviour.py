"""One contract, every platform: what delivery relies on (re-check, pay link, write-back) and what
happens when the platform misbehaves (expired token, rate limit, webhook redeliveries)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db import Connection, Organisation, SyncCursor, WebhookEvent
from connector.errors import AuthRevoked, RateLimited
from connector.tokens import TokenStore
from tests.contract.harness import Harness


def _org(h: Harness) -> Organisation:
    with h.runtime.sessions() as session:
        return session.scalars(select(Organisation)).one()


def test_recheck_sees_a_payment_made_after_the_last_sync(connected: Harness) -> None:
    connected.sync()
    invoice = connected.open_invoice()
    connected.pay(invoice)
    org = _org(connected)
    fetched = connected.runtime.platform(org.platform).fetch_invoices(connected.runtime.access(org), [invoice])
    assert [(f.external_id, f.record.status.value) for f in fetched] == [(invoice, "paid")]  # type: ignore[union-attr]


def test_recheck_reports_a_deleted_invoice(connected: Harness) -> None:
    connected.sync()
    invoice = connected.open_invoice()
    connected.delete(invoice)
    org = _org(connected)
    fetched = connected.runtime.platform(org.platform).fetch_invoices(connected.runtime.access(org), [invoice])
    assert fetched[0].deleted


def test_an_open_invoice_has_a_pay_now_link(connected: Harness) -> None:
    connected.sync()
    org = _org(connected)
    url = connected.runtime.platform(org.platform).pay_now_url(
        connected.runtime.access(org), connected.payable_invoice()
    )
    assert url is not None and re.match(r"https?://", url)


def test_writing_the_same_note_twice_leaves_one_note(connected: Harness) -> None:
    org = _org(connected)
    invoice = connected.open_invoice()
    platform, access = connected.runtime.platform(org.platform), connected.runtime.access(org)
    for _ in range(2):  # a retry after a lost response
        platform.write_note(
            access, invoice, "1. Mahnung sent to ap@acme.example", idempotency_key="outbox-1-" + invoice
        )
    assert connected.notes_on(invoice) == ["1. Mahnung sent to ap@acme.example"]


def test_an_access_token_expiring_mid_sync_is_refreshed_once_and_stored(connected: Harness) -> None:
    with connected.runtime.sessions() as session:
        before = session.scalars(select(Connection)).one().token_version
    connected.expire_access_tokens()
    connected.sync()
    assert connected.stored() == connected.truth()
    with connected.runtime.sessions() as session:
        connection = session.scalars(select(Connection)).one()
        assert connection.token_version == before + 1 and connection.status == "active"


def test_a_rate_limit_mid_sync_stops_cleanly_and_the_next_sync_completes(connected: Harness) -> None:
    connected.throttle_after(3)
    with pytest.raises(RateLimited):
        connected.sync()
    with connected.runtime.sessions() as session:
        cursors = {c.entity: c.cursor_at for c in session.scalars(select(SyncCursor))}
    stored_early = connected.stored()
    assert set(stored_early) <= set(connected.truth())  # nothing invented, cursors only where data is
    assert len(cursors) < 4
    connected.unthrottle()
    connected.runtime.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    connected.sync()
    assert connected.stored() == connected.truth()


def test_an_idle_incremental_sync_costs_one_call(connected: Harness) -> None:
    connected.sync()
    before = connected.api_calls()
    connected.sync()
    # One call per change feed: QBO's CDC covers every entity (1); Xero has none, so one
    # If-Modified-Since list per entity (6; notes/xero.md §3). The harness says which.
    assert connected.api_calls() - before == connected.idle_sync_calls


def test_a_webhook_round_trip_brings_the_change_and_redeliveries_do_nothing(connected: Harness) -> None:
    connected.sync()
    invoice = connected.open_invoice()
    connected.pay(invoice, "1.00")
    statuses = connected.deliver_webhooks()
    assert statuses and set(statuses) == {200}
    with connected.runtime.sessions() as session:
        pending = session.scalars(select(WebhookEvent)).all()
        assert pending and all(e.organisation_id is not None for e in pending)
    assert connected.process_webhooks() >= 1
    assert connected.stored() == connected.truth()
    assert connected.process_webhooks() == 0


def test_disconnect_revokes_and_forgets_the_tokens(connected: Harness) -> None:
    page = connected.http.get(f"{connected.app_url}/", timeout=10).text
    org = _org(connected)
    org_id = org.id
    with connected.runtime.sessions() as session:
        tokens = TokenStore(connected.runtime.cipher).load(session.scalars(select(Connection)).one())
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = connected.http.post(f"{connected.app_url}/orgs/{org_id}/disconnect", data={"csrf_token": token},
                               allow_redirects=False, timeout=10)  # fmt: skip
    assert done.status_code == 302
    with connected.runtime.sessions() as session:
        connection = session.scalars(select(Connection)).one()
        assert connection.status == "revoked" and connection.refresh_token_enc is None
    with pytest.raises(AuthRevoked):  # revoked at the platform too, not only forgotten here
        connected.runtime.platform(org.platform).refresh(tokens, now=connected.runtime.clock.now())
