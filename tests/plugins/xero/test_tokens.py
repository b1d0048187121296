"""Xero tokens in the store, against the sandbox over loopback, on SQLite and on PostgreSQL: the
same guarantees as for QuickBooks (notes/xero.md §0.4, §2).

- Tokens are encrypted at rest: no token appears in the ``connections`` row or in a log line.
- Refresh is serialised per connection: two workers refreshing the same stale token at once make
  one call to Xero's token endpoint, and both get the new tokens.
- The rotated refresh token is committed before the new access token is first sent to Xero.
- A worker holding superseded tokens re-reads the stored row before it would send a refresh token
  Xero no longer accepts (another process rotated it): no ``invalid_grant``, no false disconnection.
- A refresh whose answer was lost is retried with the old refresh token within Xero's 30-minute
  grace; after it the grant is gone, the connection asks to be reconnected and nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.wrappers import Request, Response

from connector.clock import FixedClock
from connector.db import Connection, ConnectionStatus, Organisation
from connector.db.session import make_engine, session_factory
from connector.errors import AuthRevoked, TemporaryFailure
from connector.jobs import sync_due
from connector.keepalive import keep_alive
from connector.platform import OrgAccess
from connector.tokens import StoredTokenSource, TokenSet, TokenStore
from tests.contract.xero import XeroHarness
from tests.personas import NOW
from tests.plugins.xero.webapp import XeroWeb

GRACE = timedelta(minutes=30)  # the superseded refresh token works this long (notes §0.4)


@pytest.fixture
def xero(tmp_path: Path, db_url: str) -> Iterator[XeroHarness]:
    """The Xero sandbox and the app on ``db_url`` (SQLite, PostgreSQL), connected through OAuth."""
    harness = XeroHarness(tmp_path, FixedClock(NOW), database_url=db_url)
    harness.connect()
    yield harness
    harness.close()


def _connection_id(h: XeroHarness) -> int:
    with h.runtime.sessions() as session:
        return session.scalars(select(Connection.id)).one()


def _stored(h: XeroHarness, sessions: sessionmaker[Session] | None = None) -> tuple[Connection, TokenSet]:
    """The connection row and its tokens, read in a session of its own (committed data only)."""
    with (sessions or h.runtime.sessions)() as session:
        row = session.get_one(Connection, _connection_id(h))
        return row, TokenStore(h.runtime.cipher).load(row)


def _source(h: XeroHarness, sessions: sessionmaker[Session] | None = None, *, hold: Any = None) -> StoredTokenSource:
    """A worker's token source (its own cache), refreshing through the real Xero platform."""
    platform = h.runtime.platform("xero")

    def refresh(tokens: TokenSet) -> TokenSet:
        if hold is not None:
            hold()
        return platform.refresh(tokens, now=h.runtime.clock.now())

    return StoredTokenSource(
        sessions or h.runtime.sessions, h.runtime.cipher, _connection_id(h), refresh, h.runtime.clock
    )


def _token_calls(h: XeroHarness) -> int:
    return h.sandbox.call_counts().get("token", 0)


def _organisation_call(h: XeroHarness, tokens: TokenSet) -> int:
    """The status of ``GET Organisation`` with ``tokens`` (does Xero accept the access token?)."""
    headers = {"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json",
               "xero-tenant-id": h.tenant}  # fmt: skip
    return requests.get(f"{h.sandbox.api_base}/Organisation", headers=headers, timeout=10).status_code


def _org_access(h: XeroHarness, source: StoredTokenSource) -> OrgAccess:
    return OrgAccess(h.tenant, source, base_currency="GBP")


def test_tokens_are_encrypted_at_rest_and_never_logged(xero: XeroHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, first = _stored(xero)
    fresh = _source(xero).refreshed(first)
    assert _organisation_call(xero, fresh) == 200  # the tokens checked below are the live ones
    secrets_ = [t for t in (first.access_token, first.refresh_token, fresh.access_token, fresh.refresh_token) if t]
    secrets_ += [t for t in (first.id_token, fresh.id_token) if t]
    with xero.runtime.engine.connect() as db:
        row = db.execute(text("SELECT * FROM connections")).mappings().one()
    cells = [v if isinstance(v, bytes) else str(v).encode() for v in row.values() if v is not None]
    for secret in secrets_:
        assert not any(secret.encode() in cell for cell in cells), "a token is stored in the clear"
        assert secret not in caplog.text, "a token reached a log line"
    assert row["access_token_enc"] and row["refresh_token_enc"]
    _, stored = _stored(xero)
    assert stored == fresh


def test_two_workers_refreshing_at_once_make_one_refresh_call(xero: XeroHarness) -> None:
    _, first = _stored(xero)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(timeout=10)

    results: dict[str, TokenSet] = {}
    errors: list[BaseException] = []
    engine = make_engine(xero.runtime.settings.database_url)  # the second worker's own connections
    other = session_factory(engine)

    def worker(name: str, source: StoredTokenSource) -> None:
        try:
            results[name] = source.refreshed(first)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    before = _token_calls(xero)
    a = threading.Thread(target=worker, args=("a", _source(xero, hold=hold)))
    a.start()
    assert entered.wait(timeout=10)  # worker a holds the connection's lock and is talking to Xero
    b = threading.Thread(target=worker, args=("b", _source(xero, other)))
    b.start()
    time.sleep(0.2)  # let b reach the lock; the assertions hold whichever way the race goes
    release.set()
    a.join(timeout=30)
    b.join(timeout=30)
    engine.dispose()
    assert errors == []
    assert _token_calls(xero) - before == 1
    assert results["a"] == results["b"] and results["a"].refresh_token != first.refresh_token
    assert _organisation_call(xero, results["b"]) == 200
    assert _stored(xero)[1] == results["a"]


def test_the_rotated_refresh_token_is_committed_before_the_new_access_token_is_used(
    xero: XeroHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox reads the store (in a session of its own) whenever a bearer token it has not
    seen reaches the API: by then the refresh token that came with it must be committed."""
    _, first = _stored(xero)
    seen: dict[str, TokenSet] = {}
    dispatch: Callable[[Request], Response] = xero.sandbox.dispatch

    def spy(request: Request) -> Response:
        bearer = request.headers.get("Authorization", "")[7:]
        if request.path.startswith("/api.xro/2.0") and bearer and bearer not in seen:
            seen[bearer] = _stored(xero)[1]
        return dispatch(request)

    monkeypatch.setattr(xero.sandbox, "dispatch", spy)
    xero.expire_access_tokens()
    with xero.runtime.sessions() as session:
        org = session.scalars(select(Organisation)).one()
    fetched = xero.runtime.platform("xero").fetch_invoices(xero.runtime.access(org), [xero.open_invoice()])
    assert fetched and not fetched[0].deleted  # the call went through after the refresh
    _, final = _stored(xero)
    assert final.refresh_token != first.refresh_token
    assert seen[final.access_token] == final  # committed (access and refresh token) before its first use
    assert seen[first.access_token] == first  # the expired token, sent once, before the refresh


def test_a_worker_with_superseded_tokens_rereads_the_store_instead_of_failing(xero: XeroHarness) -> None:
    engine = make_engine(xero.runtime.settings.database_url)  # "another process": its own connections
    other = session_factory(engine)
    late = _source(xero, other)
    first = late.current()  # the late worker caches the first tokens
    fresh = _source(xero).refreshed(first)  # a worker elsewhere rotates them
    xero.runtime.clock.advance(GRACE + timedelta(minutes=1))  # type: ignore[attr-defined]
    calls = _token_calls(xero)
    assert late.refreshed(first) == fresh  # re-read under the lock: no call with the dead token
    assert _token_calls(xero) == calls
    platform = xero.runtime.platform("xero")
    assert platform.fetch_invoices(_org_access(xero, late), [xero.open_invoice()])  # 401, one refresh, done
    assert _token_calls(xero) == calls + 1
    row, _ = _stored(xero, other)
    assert row.status == ConnectionStatus.ACTIVE.value and row.last_error is None
    engine.dispose()
    with pytest.raises(AuthRevoked, match="invalid_grant"):  # what the late worker would have got
        platform.refresh(first, now=xero.runtime.clock.now())


def test_a_lost_refresh_answer_is_retried_with_the_old_token_within_the_grace(xero: XeroHarness) -> None:
    _, first = _stored(xero)
    source = _source(xero)
    xero.sandbox.lose_next_response("/connect/token")
    with pytest.raises(TemporaryFailure):
        source.refreshed(first)  # Xero rotated, but the answer never arrived
    row, stored = _stored(xero)
    assert stored == first and row.status == ConnectionStatus.ACTIVE.value
    xero.runtime.clock.advance(GRACE - timedelta(minutes=1))  # type: ignore[attr-defined]
    fresh = source.refreshed(first)  # the old refresh token still works
    assert fresh.refresh_token != first.refresh_token and _stored(xero)[1] == fresh
    assert _organisation_call(xero, fresh) == 200


def test_after_the_grace_a_lost_rotation_asks_for_reconnection_and_keeps_the_tokens(xero: XeroHarness) -> None:
    _, first = _stored(xero)
    source = _source(xero)
    xero.sandbox.lose_next_response("/connect/token")
    with pytest.raises(TemporaryFailure):
        source.refreshed(first)
    xero.runtime.clock.advance(GRACE + timedelta(minutes=1))  # type: ignore[attr-defined]
    with pytest.raises(AuthRevoked, match="invalid_grant"):
        source.refreshed(first)
    row, stored = _stored(xero)
    assert row.status == ConnectionStatus.NEEDS_REAUTH.value
    assert row.last_error is not None and "invalid_grant" in row.last_error
    assert stored == first  # nothing overwritten: a reconnect replaces them
    page = xero.http.get(f"{xero.app_url}/", timeout=10).text
    assert "needs_reauth" in page and "Reconnect" in page


def test_a_revoked_grant_is_detected_at_the_next_refresh(xero: XeroHarness) -> None:
    _, tokens = _stored(xero)
    xero.runtime.platform("xero").revoke(tokens)  # e.g. the user disconnected the app in Xero
    xero.expire_access_tokens()
    with pytest.raises(AuthRevoked):
        xero.sync()
    row, _ = _stored(xero)
    assert row.status == ConnectionStatus.NEEDS_REAUTH.value and row.last_error


@pytest.mark.parametrize(
    "pace",
    [
        pytest.param(timedelta(days=1), id="keep-alive-daily"),
        pytest.param(timedelta(days=20), id="keep-alive-every-20-days"),
    ],
)
def test_a_tenant_idle_for_80_days_keeps_its_grant(tmp_path: Path, pace: timedelta) -> None:
    """Xero forgets a refresh token unused for 60 days (notes §0.4): keep-alive rotates it while the
    organisation makes no call of its own, so after 80 idle days it still syncs without reconnecting."""
    web = XeroWeb(tmp_path, FixedClock(NOW))
    try:
        web.connect()
        idle = web.sandbox.tenant_ids[1]
        with web.runtime.sessions() as session:
            org = session.get_one(Organisation, web.organisation_ids()[idle])
            connection_id, first = org.connection_id, TokenStore(web.runtime.cipher).load(org.connection)  # type: ignore[arg-type]
        elapsed = timedelta(0)
        while elapsed < timedelta(days=80):
            web.clock.advance(pace)
            elapsed += pace
            assert keep_alive(web.runtime) == 1  # this grant, refreshed at the platform
        with web.runtime.sessions() as session:
            connection = session.get_one(Connection, connection_id)
            assert connection.status == ConnectionStatus.ACTIVE.value
            assert connection.refreshed_at is not None and web.clock.now() - connection.refreshed_at < pace
        assert sync_due(web.runtime) == 2  # both organisations, the idle one too, on the same grant
        with web.runtime.sessions() as session:
            assert session.get_one(Organisation, web.organisation_ids()[idle]).last_sync_at == web.clock.now()
        with pytest.raises(AuthRevoked):  # the first refresh token has long been rotated away
            web.runtime.platform("xero").refresh(first, now=web.clock.now())
    finally:
        web.close()
