"""Exactly once, proven with real processes: a dispatcher subprocess is killed with SIGKILL at each
point of the state machine and started again; two dispatcher processes share one PostgreSQL
database. What the SMTP server (aiosmtpd on loopback) received is the evidence: no reminder twice,
and none lost without a visible state (``in_doubt`` is shown to a person, never re-sent).

The kill is real: the dispatcher honours ``ARCADENCE_TEST_CRASH_AT`` (only with ``ARCADENCE_ENV=test``)
by sending itself SIGKILL at that point. A dead dispatcher's lease is ended by moving its claim
back in time, as if ten minutes had passed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connector.clock import SystemClock
from connector.db import OutboxMessage
from connector.outbox import collect
from tests.contract.quickbooks import QuickBooksHarness
from tests.integration.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def _live(tmp_path: Path, database_url: str | None = None, **sandbox: int) -> QuickBooksHarness:
    harness = QuickBooksHarness(tmp_path, SystemClock(), database_url, **sandbox)
    harness.connect()
    harness.sync()
    collect(harness.runtime.sessions, harness.server.organisation_id("quickbooks"), harness.runtime.clock)
    return harness


def _env(h: QuickBooksHarness, smtp: SmtpServer, **extra: str) -> dict[str, str]:
    settings, config = h.runtime.settings, h.runtime.configs["quickbooks"]
    return {
        **os.environ,
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": str(settings.var_dir),
        "ARCADENCE_DATABASE_URL": settings.database_url,
        "ARCADENCE_SECRET_KEYS": ",".join(k.decode() for k in settings.secret_keys),
        "ARCADENCE_SESSION_SECRET": "x",
        "ARCADENCE_PUBLIC_URL": settings.public_url,
        "ARCADENCE_QUICKBOOKS_CLIENT_ID": config.client_id,
        "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": config.client_secret,
        "ARCADENCE_QUICKBOOKS_IDENTITY_URL": config.identity_url,
        "ARCADENCE_QUICKBOOKS_API_BASE": config.api_base,
        "ARCADENCE_SMTP_HOST": smtp.host,
        "ARCADENCE_SMTP_PORT": str(smtp.port),
        "ARCADENCE_SMTP_SECURITY": "none",
        **extra,
    }


def _dispatch(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [".venv/bin/arcadence", "dispatch"], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _received(smtp: SmtpServer) -> Counter[int]:
    return Counter(int(r.message["X-Arcadence-Outbox"]) for r in smtp.inbox.messages)


def _rows(h: QuickBooksHarness) -> dict[int, str]:
    with h.runtime.sessions() as session:
        return {r.id: r.status for r in session.scalars(select(OutboxMessage))}


def _end_the_lease(h: QuickBooksHarness) -> None:
    past = h.runtime.clock.now() - timedelta(minutes=11)
    with h.runtime.sessions.begin() as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.status.in_(("claimed", "sending"))).values(claimed_at=past)
        )


@pytest.mark.parametrize("point", ["claimed", "sending", "accepted", "sent"])
def test_a_killed_dispatcher_never_sends_twice_and_loses_nothing_silently(
    tmp_path: Path, smtp: SmtpServer, point: str
) -> None:
    h = _live(tmp_path)
    try:
        queued = set(_rows(h))
        assert len(queued) > 5
        killed = _dispatch(_env(h, smtp, ARCADENCE_TEST_CRASH_AT=point))
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        before = dict(_rows(h))
        _end_the_lease(h)
        again = _dispatch(_env(h, smtp))
        assert again.returncode == 0, again.stderr
        received, after = _received(smtp), _rows(h)
        assert all(count == 1 for count in received.values()), received  # never twice
        for outbox_id in queued:  # every row is sent, or visibly in doubt
            assert after[outbox_id] in {"sent", "in_doubt", "cancelled"}, (outbox_id, after[outbox_id])
            if after[outbox_id] == "sent":
                assert received[outbox_id] == 1
        in_doubt = [i for i, s in after.items() if s == "in_doubt"]
        if point in ("claimed", "sent"):
            assert in_doubt == []  # nothing had left, or it was recorded as sent
        else:
            assert len(in_doubt) == 1 and before[in_doubt[0]] == "sending"
            assert received[in_doubt[0]] == (1 if point == "accepted" else 0)
    finally:
        h.close()


@pytest.mark.postgres
def test_two_dispatcher_processes_on_postgresql_send_each_reminder_once(
    tmp_path: Path, smtp: SmtpServer, postgres_url: str
) -> None:
    h = _live(tmp_path, postgres_url, customers=260, invoices=900)
    try:
        queued = set(_rows(h))
        assert len(queued) >= 200
        env = _env(h, smtp)
        workers = [
            subprocess.Popen(
                [".venv/bin/arcadence", "dispatch", "--limit", "20"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [w.communicate(timeout=600) for w in workers]
        assert all(w.returncode == 0 for w in workers), outputs
        sent_by = [int(re.search(r"\bsent (\d+)", out).group(1)) for out, _ in outputs]  # type: ignore[union-attr]
        assert all(n > 0 for n in sent_by), outputs  # both processes took part
        received, after = _received(smtp), _rows(h)
        assert all(count == 1 for count in received.values())
        assert set(received) == {i for i, s in after.items() if s == "sent"}
        assert set(after.values()) <= {"sent", "cancelled"}
    finally:
        h.close()
