"""Token keep-alive against the QuickBooks and Xero sandboxes over loopback, on SQLite and
PostgreSQL, with one fixed clock shared by the app and the sandbox: an access token about to
expire is refreshed, an idle refresh token is refreshed before Xero's 60 days run out, and a
refused grant marks its connection for reconnection while the others are still refreshed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from connector.clock import FixedClock
from connector.db import Connection, ConnectionStatus, Organisation
from connector.keepalive import ACCESS_WINDOW, IDLE_LIMIT, keep_alive
from connector.runtime import Runtime
from connector.tokens import TokenSet, TokenStore
from tests.contract.quickbooks import QuickBooksHarness
from tests.contract.xero import XeroHarness

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
Harness = QuickBooksHarness | XeroHarness


@pytest.fixture(params=["quickbooks", "xero"])
def harness(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[Harness]:
    """A platform sandbox and the app on loopback, on a migrated store (SQLite or PostgreSQL)."""
    kind = QuickBooksHarness if request.param == "quickbooks" else XeroHarness
    built = kind(tmp_path, FixedClock(NOW), database_url=db_url)
    yield built
    built.close()


@pytest.fixture
def xero(tmp_path: Path, db_url: str) -> Iterator[XeroHarness]:
    built = XeroHarness(tmp_path, FixedClock(NOW), database_url=db_url)
    yield built
    built.close()


def clock_of(runtime: Runtime) -> FixedClock:
    assert isinstance(runtime.clock, FixedClock)
    return runtime.clock


def connection_of(runtime: Runtime, org_id: int) -> Connection:
    with runtime.sessions() as session:
        connection_id = session.get_one(Organisation, org_id).connection_id
        assert connection_id is not None
        return session.get_one(Connection, connection_id)


def tokens_of(runtime: Runtime, connection_id: int) -> TokenSet:
    with runtime.sessions() as session:
        return TokenStore(runtime.cipher).load(session.get_one(Connection, connection_id))


def test_an_access_token_expiring_within_ten_minutes_is_refreshed(harness: Harness) -> None:
    runtime = harness.runtime
    before = connection_of(runtime, harness.connect())
    assert before.access_expires_at is not None
    clock_of(runtime).advance(before.access_expires_at - ACCESS_WINDOW - timedelta(minutes=1) - runtime.clock.now())
    assert keep_alive(runtime) == 0
    assert connection_of(runtime, harness.server.organisation_id(harness.name)).token_version == before.token_version

    clock_of(runtime).advance(timedelta(minutes=2))  # 9 minutes left
    assert keep_alive(runtime) == 1
    after = connection_of(runtime, harness.server.organisation_id(harness.name))
    assert after.token_version == before.token_version + 1
    assert after.access_expires_at is not None and after.access_expires_at > before.access_expires_at
    assert after.status == ConnectionStatus.ACTIVE.value
    assert tokens_of(runtime, after.id).refresh_token != TokenStore(runtime.cipher).load(before).refresh_token
    assert keep_alive(runtime) == 0  # fresh now: nothing to do

    clock_of(runtime).advance(timedelta(minutes=9))  # the old access token has expired
    harness.sync()  # the platform accepts the new one (no refresh needed on the way)
    assert connection_of(runtime, harness.server.organisation_id(harness.name)).token_version == after.token_version


def test_an_idle_xero_grant_outlives_its_60_days(xero: XeroHarness) -> None:
    runtime = xero.runtime
    org_id = xero.connect()
    for _ in range(3):  # 135 days in all, never more than 45 without a refresh
        clock_of(runtime).advance(timedelta(days=45))
        assert keep_alive(runtime) == 1
    assert connection_of(runtime, org_id).status == ConnectionStatus.ACTIVE.value
    xero.sync()  # the grant still works


def test_a_refresh_token_idle_for_thirty_days_is_refreshed_even_with_a_live_access_token(
    xero: XeroHarness, caplog: pytest.LogCaptureFixture
) -> None:
    xero.sandbox.tokens.access_ttl = timedelta(days=40)  # a platform whose access tokens outlive 30 days
    runtime = xero.runtime
    org_id = xero.connect()
    before = connection_of(runtime, org_id)
    clock_of(runtime).advance(IDLE_LIMIT - timedelta(hours=1))
    assert keep_alive(runtime) == 0
    clock_of(runtime).advance(timedelta(hours=2))
    with caplog.at_level(logging.INFO, logger="connector.keepalive"):
        assert keep_alive(runtime) == 1
    assert connection_of(runtime, org_id).token_version == before.token_version + 1
    assert f"keep_alive connection={before.id} platform=xero reason=refresh_idle outcome=refreshed" in caplog.text


def test_without_keep_alive_xero_forgets_the_grant_after_60_days(xero: XeroHarness) -> None:
    runtime = xero.runtime
    org_id = xero.connect()
    clock_of(runtime).advance(timedelta(days=61))
    assert keep_alive(runtime) == 0
    connection = connection_of(runtime, org_id)
    assert connection.status == ConnectionStatus.NEEDS_REAUTH.value
    assert connection.last_error is not None and "invalid_grant" in connection.last_error


def test_a_revoked_grant_needs_reauth_and_the_other_connections_are_still_refreshed(
    xero: XeroHarness, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = xero.runtime
    first_org = xero.connect()
    second_tenant = xero.sandbox.tenant_ids[1]
    xero.sandbox.set_consent_tenants([second_tenant])
    xero.server.connect("xero", _consent)
    with runtime.sessions() as session:
        second_org = session.scalars(select(Organisation.id).where(Organisation.external_id == second_tenant)).one()
    revoked, kept = connection_of(runtime, first_org), connection_of(runtime, second_org)
    assert revoked.id != kept.id
    assert xero.sandbox.tokens.revoke(tokens_of(runtime, revoked.id).refresh_token)  # the user disconnected the app

    clock_of(runtime).advance(timedelta(minutes=25))  # Xero access tokens last 30 minutes
    with caplog.at_level(logging.INFO, logger="connector.keepalive"):
        assert keep_alive(runtime) == 1
    assert connection_of(runtime, first_org).status == ConnectionStatus.NEEDS_REAUTH.value
    assert connection_of(runtime, second_org).status == ConnectionStatus.ACTIVE.value
    assert connection_of(runtime, second_org).token_version == kept.token_version + 1
    assert (
        f"keep_alive connection={revoked.id} platform=xero reason=access_expiring outcome=needs_reauth" in caplog.text
    )
    assert tokens_of(runtime, revoked.id).refresh_token not in caplog.text  # nothing secret in the log

    clock_of(runtime).advance(timedelta(minutes=25))
    assert keep_alive(runtime) == 1  # the one needing reauth is left alone


def _consent(authorize_url: str) -> str:
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])
