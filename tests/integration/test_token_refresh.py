"""Token refresh is serialised per connection and the rotated token is committed before use,
on SQLite and on PostgreSQL, with threads standing in for workers (each with its own source)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.db import Connection, ConnectionStatus, Firm
from connector.errors import AuthRevoked
from connector.tokens import StoredTokenSource, TokenCipher, TokenSet, TokenStore

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
KEYS = (Fernet.generate_key(),)
FIRST = TokenSet("access-1", "refresh-1", NOW + timedelta(hours=1), NOW + timedelta(days=100))


def _connection(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        row = Connection(firm=Firm(name="F", created_at=NOW), platform="quickbooks", created_at=NOW, updated_at=NOW)
        session.add(row)
        session.flush()
        TokenStore(TokenCipher(KEYS)).save(row, FIRST, now=NOW)
        return row.id


class Platform:
    """Counts refreshes; each one rotates both tokens (QBO and Xero rotate refresh tokens)."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.count = 0
        self.hold = hold
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def refresh(self, tokens: TokenSet) -> TokenSet:
        with self.lock:
            self.count += 1
            n = self.count + 1
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(timeout=10)
        return TokenSet(f"access-{n}", f"refresh-{n}", NOW + timedelta(hours=2), NOW + timedelta(days=100))


def _source(
    sessions: sessionmaker[Session], connection_id: int, platform: Platform, clock: FixedClock
) -> StoredTokenSource:
    return StoredTokenSource(sessions, TokenCipher(KEYS), connection_id, platform.refresh, clock)


def test_refresh_stores_the_rotated_tokens_before_returning_them(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)
    platform = Platform()
    fresh = _source(sessions, connection_id, platform, FixedClock(NOW)).refreshed(FIRST)
    assert fresh.refresh_token == "refresh-2"
    with sessions() as session:
        stored = TokenStore(TokenCipher(KEYS)).load(session.get_one(Connection, connection_id))
    assert stored == fresh


def test_two_workers_refreshing_the_same_stale_token_call_the_platform_once(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)
    release = threading.Event()
    platform = Platform(hold=release)
    results: dict[str, TokenSet] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            results[name] = _source(sessions, connection_id, platform, FixedClock(NOW)).refreshed(FIRST)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    first = threading.Thread(target=worker, args=("a",))
    first.start()
    assert platform.entered.wait(timeout=10)  # worker a is inside the platform call, holding the lock
    second = threading.Thread(target=worker, args=("b",))
    second.start()
    time.sleep(0.2)  # let b reach the lock; the assertions hold whichever way the race goes
    release.set()
    first.join(timeout=20)
    second.join(timeout=20)
    assert errors == []
    assert platform.count == 1
    assert results["a"] == results["b"]
    assert results["b"].refresh_token == "refresh-2"


def test_an_access_token_about_to_expire_is_refreshed_before_use(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)
    platform = Platform()
    clock = FixedClock(NOW + timedelta(minutes=56))  # 4 minutes left
    assert _source(sessions, connection_id, platform, clock).current().access_token == "access-2"
    assert platform.count == 1


def test_a_fresh_access_token_is_used_as_stored(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)
    platform = Platform()
    assert _source(sessions, connection_id, platform, FixedClock(NOW)).current() == FIRST
    assert platform.count == 0


def test_invalid_grant_marks_the_connection_for_reconnection(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)

    def refuse(tokens: TokenSet) -> TokenSet:
        raise AuthRevoked("invalid_grant: Incorrect or invalid refresh token")

    source = StoredTokenSource(sessions, TokenCipher(KEYS), connection_id, refuse, FixedClock(NOW))
    with pytest.raises(AuthRevoked):
        source.refreshed(FIRST)
    with sessions() as session:
        row = session.get_one(Connection, connection_id)
        assert row.status == ConnectionStatus.NEEDS_REAUTH.value
        assert row.last_error is not None and "invalid_grant" in row.last_error
        assert TokenStore(TokenCipher(KEYS)).load(row) == FIRST  # nothing lost
    with pytest.raises(AuthRevoked, match="needs to be reconnected"):
        source.refreshed(FIRST)


def test_invalid_grant_after_someone_else_rotated_is_not_a_disconnection(sessions: sessionmaker[Session]) -> None:
    connection_id = _connection(sessions)
    _source(sessions, connection_id, Platform(), FixedClock(NOW)).refreshed(FIRST)  # worker 1 rotates

    def refuse(tokens: TokenSet) -> TokenSet:  # worker 2 would have used the superseded refresh token
        raise AuthRevoked("invalid_grant")

    late = StoredTokenSource(sessions, TokenCipher(KEYS), connection_id, refuse, FixedClock(NOW))
    assert late.refreshed(FIRST).refresh_token == "refresh-2"
    with sessions() as session:
        assert session.get_one(Connection, connection_id).status == ConnectionStatus.ACTIVE.value
