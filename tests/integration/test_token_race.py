"""A refresh-token race between two real processes on PostgreSQL, against the QuickBooks sandbox.

Two processes (``python -c``, each its own runtime and connection pool) find the same connection's
access token about to expire and refresh it at the same moment. To make "the same moment" certain
rather than likely, the test holds the connection's row lock while both start, waits until
PostgreSQL shows both of them waiting for that lock, and then lets go: both are inside
``StoredTokenSource.refreshed`` at once. The sandbox's rotation grace is zero, so a superseded
refresh token is refused at once: a lost rotated token would show as ``invalid_grant``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from connector.clock import SystemClock
from connector.config import Settings, load_settings
from connector.db import Connection, Organisation
from connector.db.session import upgrade
from connector.errors import AuthRevoked
from connector.runtime import build_runtime
from connector.tokens import TokenStore, lock_connection
from tests.integration.test_workers import Companies, connect_all

DEADLINE = 120.0


def child() -> None:
    """One racer: refresh the organisation's tokens through the real token source, report hashes."""
    runtime = build_runtime(load_settings(os.environ))
    try:
        with runtime.sessions() as session:
            org = session.get_one(Organisation, int(os.environ["RACE_ORG"]))
        out = Path(os.environ["RACE_OUT"])
        Path(f"{out}.ready").write_text("ready")
        tokens = runtime.access(org).tokens.current()  # expires within the margin: refreshes first
        out.write_text(json.dumps({"access": _digest(tokens.access_token), "refresh": _digest(tokens.refresh_token)}))
    finally:
        runtime.close()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _waiting_for_locks(database: str) -> int:
    admin = os.environ.get("ARCADENCE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
def test_two_processes_refreshing_at_once_make_one_refresh_and_keep_the_rotated_token(
    tmp_path: Path, postgres_url: str
) -> None:
    clock = SystemClock()
    companies = Companies(1, clock)
    upgrade(postgres_url)
    key = Fernet.generate_key()
    settings = Settings("test", tmp_path / "var", postgres_url, (key,), "s", "127.0.0.1", 5000, "INFO", "http://x")
    runtime = build_runtime(settings, configs={"quickbooks": companies.config()}, clock=clock)
    try:
        (org_id,) = connect_all(runtime, companies)
        with runtime.sessions.begin() as session:
            org = session.get_one(Organisation, org_id)
            connection_id = org.connection_id
            session.execute(update(Connection).values(access_expires_at=clock.now() + timedelta(minutes=1)))
        with runtime.sessions() as session:
            before = TokenStore(runtime.cipher).load(session.get_one(Connection, connection_id))
        companies.front.tokens.rotation_grace = timedelta(0)
        companies.front.reset_call_counts()
        config = companies.config()
        env = {
            **os.environ,
            "ARCADENCE_ENV": "test",
            "ARCADENCE_VAR_DIR": str(tmp_path / "var"),
            "ARCADENCE_DATABASE_URL": postgres_url,
            "ARCADENCE_SECRET_KEYS": key.decode(),
            "ARCADENCE_SESSION_SECRET": "s",
            "ARCADENCE_QUICKBOOKS_CLIENT_ID": config.client_id,
            "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": config.client_secret,
            "ARCADENCE_QUICKBOOKS_IDENTITY_URL": config.identity_url,
            "ARCADENCE_QUICKBOOKS_API_BASE": config.api_base,
            "RACE_ORG": str(org_id),
        }
        outs = [tmp_path / f"racer-{n}.json" for n in range(2)]
        code = "from tests.integration.test_token_race import child; child()"
        with runtime.sessions.begin() as session:
            lock_connection(session, connection_id)  # both racers will queue behind this lock
            racers = [
                subprocess.Popen(
                    [sys.executable, "-c", code],
                    env={**env, "RACE_OUT": str(out)},
                    cwd=os.getcwd(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for out in outs
            ]
            database = str(make_url(postgres_url).database)
            deadline = time.monotonic() + DEADLINE
            while _waiting_for_locks(database) < 2:
                assert all(r.poll() is None for r in racers), [r.communicate() for r in racers]
                assert time.monotonic() < deadline, "the racers never met at the lock"
                time.sleep(0.05)
            assert companies.token_calls() == 0  # nobody got past the lock yet
        results = [r.communicate(timeout=DEADLINE) for r in racers]
        assert all(r.returncode == 0 for r in racers), results

        # Exactly one refresh reached the sandbox; the loser re-read and uses the winner's tokens.
        assert companies.token_calls() == 1
        seen = [json.loads(out.read_text()) for out in outs]
        assert seen[0] == seen[1]
        with runtime.sessions() as session:
            row = session.get_one(Connection, connection_id)
            stored = TokenStore(runtime.cipher).load(row)
            assert row.status == "active" and row.token_version == 2  # stored at connect, then once
        assert seen[0] == {"access": _digest(stored.access_token), "refresh": _digest(stored.refresh_token)}
        assert stored.refresh_token != before.refresh_token

        # The rotated refresh token was kept: the next refresh works; the superseded one is refused.
        platform = runtime.platform("quickbooks")
        with pytest.raises(AuthRevoked, match="invalid_grant"):
            platform.refresh(before, now=clock.now())
        with runtime.sessions() as session:
            source = runtime.access(session.get_one(Organisation, org_id)).tokens
        after = source.refreshed(stored)  # type: ignore[attr-defined]
        assert after.refresh_token != stored.refresh_token
        with runtime.sessions() as session:
            assert session.scalar(select(Connection.status).where(Connection.id == connection_id)) == "active"
        assert not any("invalid_grant" in err for _, err in results)
    finally:
        runtime.close()
        companies.close()
