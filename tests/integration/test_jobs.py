"""Due syncs are claimed once each (SQLite and PostgreSQL), and only with a working connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from connector.clock import FixedClock
from connector.config import Settings
from connector.db import Connection, Firm, Organisation
from connector.jobs import SYNC_EVERY, claim_due
from connector.runtime import Runtime, build_runtime

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def _runtime(url: str) -> Runtime:
    settings = Settings(
        "test", Path("/tmp"), url, (Fernet.generate_key(),), "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:5000"
    )
    return build_runtime(settings, configs={}, clock=FixedClock(NOW))


@pytest.fixture
def runtime(engine: object, db_url: str) -> Iterator[Runtime]:
    built = _runtime(db_url)
    yield built
    built.close()


def _orgs(runtime: Runtime, n: int, *, status: str = "active", due: datetime = NOW) -> list[int]:
    tag = f"{status}-{due:%H%M}-"
    with runtime.sessions.begin() as session:
        firm = Firm(name="F", created_at=NOW)
        ids = []
        for i in range(n):
            connection = Connection(firm=firm, platform="quickbooks", status=status, created_at=NOW, updated_at=NOW)
            org = Organisation(
                firm=firm,
                connection=connection,
                platform="quickbooks",
                external_id=f"{tag}{i}",
                name=f"O{i}",
                created_at=NOW,
                next_sync_at=due,
            )
            session.add(org)
            session.flush()
            ids.append(org.id)
        return ids


def test_due_organisations_are_claimed_and_moved_forward(runtime: Runtime) -> None:
    due = _orgs(runtime, 3)
    _orgs(runtime, 2, due=NOW + timedelta(minutes=5))
    _orgs(runtime, 1, status="needs_reauth")
    assert sorted(claim_due(runtime)) == sorted(due)
    with runtime.sessions() as session:
        nexts = session.scalars(select(Organisation.next_sync_at).where(Organisation.id.in_(due))).all()
    assert set(nexts) == {NOW + SYNC_EVERY}
    assert claim_due(runtime) == []


def test_two_workers_never_claim_the_same_organisation(runtime: Runtime) -> None:
    due = _orgs(runtime, 40)
    claimed: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def worker(i: int) -> None:
        barrier.wait()
        claimed[i] = claim_due(runtime, limit=40)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(claimed[0] + claimed[1]) == sorted(due)  # every one once, none twice
