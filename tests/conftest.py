"""Shared fixtures: databases on SQLite and on the real PostgreSQL, settings, fixed instants.

PostgreSQL runs on 127.0.0.1:5432 (``make test`` starts it). Each test that asks for it gets a
throw-away database, created and dropped here; an unreachable server is an error, not a skip.
Set ``ARCADENCE_TEST_PG`` to point at another server (a psycopg URL of its maintenance database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db.session import make_engine, session_factory, upgrade
from connector.runtime import build_runtime
from tests.contract.quickbooks import QuickBooksHarness
from tests.personas import World, make_world

PG_ADMIN = os.environ.get("ARCADENCE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
SESSION_TAG = uuid.uuid4().hex[:8]


def _pg_admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} (run `make test`, which starts it): {exc}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path}/arcadence.sqlite3"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    name = f"arcadence_test_{SESSION_TAG}_{uuid.uuid4().hex[:8]}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head (SQLite and PostgreSQL)."""
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the migrated database."""
    return session_factory(engine)


@pytest.fixture
def secret_keys() -> tuple[bytes, ...]:
    """Two fresh Fernet keys, newest first."""
    return (Fernet.generate_key(), Fernet.generate_key())


@pytest.fixture
def env(tmp_path: Path, sqlite_url: str, secret_keys: tuple[bytes, ...]) -> dict[str, str]:
    """A complete, valid environment for the ``arcadence`` command, confined to tmp_path."""
    return {
        **os.environ,
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": f"{tmp_path}/var",
        "ARCADENCE_DATABASE_URL": sqlite_url,
        "ARCADENCE_SECRET_KEYS": ",".join(k.decode() for k in secret_keys),
        "ARCADENCE_SESSION_SECRET": "test-session-secret",
    }


@pytest.fixture
def world(env: dict[str, str], sqlite_url: str) -> Iterator[World]:
    """The web app on a migrated SQLite store with the three personas (no platform configured)."""
    upgrade(sqlite_url)
    runtime = build_runtime(load_settings(env), configs={}, clock=FixedClock(NOW))
    yield make_world(runtime)
    runtime.close()


@pytest.fixture
def qbo_connected(tmp_path: Path) -> Iterator[QuickBooksHarness]:
    """The QuickBooks sandbox and the app on loopback, with the sample company connected through
    the real OAuth flow (see ``tests/contract/quickbooks.py``)."""
    harness = QuickBooksHarness(tmp_path, FixedClock(NOW))
    harness.connect()
    yield harness
    harness.close()
