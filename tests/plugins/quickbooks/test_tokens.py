"""QuickBooks tokens against the sandbox: rotation, the 24-hour grace of a superseded refresh
token, invalid_grant, and what the store does with each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db import Connection, Organisation
from connector.errors import AuthRevoked
from connector.tokens import TokenStore
from tests.contract.quickbooks import QuickBooksHarness
from tests.personas import NOW


@pytest.fixture
def qbo(qbo_connected: QuickBooksHarness) -> QuickBooksHarness:
    return qbo_connected


def _stored(h: QuickBooksHarness) -> tuple[Connection, object]:
    with h.runtime.sessions() as session:
        connection = session.scalars(select(Connection)).one()
        return connection, TokenStore(h.runtime.cipher).load(connection)


def test_refresh_rotates_the_refresh_token_and_keeps_the_hard_expiry(qbo: QuickBooksHarness) -> None:
    _, first = _stored(qbo)
    platform = qbo.runtime.platform("quickbooks")
    fresh = platform.refresh(first, now=qbo.runtime.clock.now())  # type: ignore[arg-type]
    assert fresh.refresh_token != first.refresh_token  # type: ignore[attr-defined]
    assert fresh.refresh_hard_expires_at == first.refresh_hard_expires_at  # type: ignore[attr-defined]


def test_a_superseded_refresh_token_works_for_24_hours_then_is_refused(qbo: QuickBooksHarness) -> None:
    _, first = _stored(qbo)
    platform = qbo.runtime.platform("quickbooks")
    platform.refresh(first, now=qbo.runtime.clock.now())  # type: ignore[arg-type]
    qbo.runtime.clock.advance(timedelta(hours=23))  # type: ignore[attr-defined]
    platform.refresh(first, now=qbo.runtime.clock.now())  # type: ignore[arg-type]  # a lost response, retried
    qbo.runtime.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    with pytest.raises(AuthRevoked, match="invalid_grant"):
        platform.refresh(first, now=qbo.runtime.clock.now())  # type: ignore[arg-type]


def test_expiry_is_computed_by_us_and_the_store_refreshes_ahead_of_it(qbo: QuickBooksHarness) -> None:
    connection, first = _stored(qbo)
    assert connection.access_expires_at == NOW + timedelta(seconds=3600)
    qbo.runtime.clock.advance(timedelta(minutes=57))  # type: ignore[attr-defined]
    with qbo.runtime.sessions() as session:
        org = session.scalars(select(Organisation)).one()
    current = qbo.runtime.access(org).tokens.current()
    assert current.access_token != first.access_token  # type: ignore[attr-defined]
    _, stored = _stored(qbo)
    assert stored == current


def test_a_revoked_grant_marks_the_connection_for_reconnection(qbo: QuickBooksHarness) -> None:
    connection, tokens = _stored(qbo)
    qbo.runtime.platform("quickbooks").revoke(tokens)  # type: ignore[arg-type]  # e.g. the user disconnected in QBO
    qbo.expire_access_tokens()
    with pytest.raises(AuthRevoked):
        qbo.sync()
    with qbo.runtime.sessions() as session:
        row = session.get_one(Connection, connection.id)
        assert row.status == "needs_reauth" and row.last_error
    page = qbo.http.get(f"{qbo.app_url}/", timeout=10).text
    assert "needs_reauth" in page and "Reconnect" in page
