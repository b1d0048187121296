"""Scale-out, proven with real processes: two and four ``arcadence worker`` processes (the real
command: its APScheduler scheduler firing the real job functions, with short intervals) share one
PostgreSQL database and 50 QuickBooks sandbox companies, and mail goes to aiosmtpd on loopback.

The 50 companies are 50 :class:`QuickBooksSandbox` instances behind one loopback address
(:class:`Companies` routes ``/v3/company/<realm>/…`` to its company; the OAuth endpoints are shared,
as at Intuit, through one token authority). Each is connected directly in the store with tokens the
sandbox's token endpoint issued for an authorization code from its token authority (no browser
consent), and gets an active, switched-on policy. The access tokens are stored as about to expire
and the authority's rotation grace is zero, so every worker refreshes the tokens it uses and any
lost rotated refresh token would be an ``invalid_grant`` at once.

Phase 1: the workers are ready, then all 50 organisations are made due; they sync them. Phase 2:
the organisations' daily collection run is made due (run time 00:00 UTC, so it is due whenever the
test runs); the workers' collection job claims and runs it (``connector.schedule``), which writes
the outbox, and the workers' dispatchers send it. The evidence comes from the records: the workers' one log line
per organisation and outcome (with worker id, start and end), the outbox, the SMTP server's
Message-IDs, the sandbox's count of token calls, and the connections' state.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from connector.clock import SystemClock
from connector.config import Settings
from connector.connect import store_grant
from connector.db import Activity, Connection, Organisation, OutboxMessage, Policy, PolicyStep, User
from connector.db.session import upgrade
from connector.platform import PlatformConfig
from connector.runtime import Runtime, build_runtime
from connector.sandboxkit import serve_in_thread
from plugins.quickbooks.sandbox import QuickBooksSandbox
from plugins.quickbooks.sandbox.oauth import ACCOUNTING_SCOPE
from tests.integration.smtp_server import SmtpServer

COMPANIES = 50
DEADLINE = 240.0  # seconds; a generous bound for a loaded 2-core machine, never a speed claim
SYNC_LINE = re.compile(r"job=sync organisation=(\d+) outcome=(\w+) worker=(\S+) started=(\S+) finished=(\S+)")
REDIRECT = "http://127.0.0.1:9/connect/quickbooks/callback"


class Companies:
    """Several QuickBooks sandbox companies behind one loopback address (a WSGI router).

    API calls go to the company named in their path; everything else (discovery, token, revoke)
    to the first company, whose token authority every company shares, so a token issued for one
    realm is accepted by that realm's company and by no other (the grant's subject is the realm).
    """

    def __init__(self, count: int, clock: SystemClock, *, customers: int = 20, invoices: int = 20) -> None:
        self.companies: dict[str, QuickBooksSandbox] = {}
        for n in range(count):
            realm = f"93414531{n:08d}"
            sandbox = QuickBooksSandbox(clock=clock, realm_id=realm, customers=customers, invoices=invoices)
            if self.companies:
                sandbox.tokens = self.front.tokens
            self.companies[realm] = sandbox
        self.base_url, self._stop = serve_in_thread(self, "127.0.0.1", 0)
        for sandbox in self.companies.values():
            sandbox.base_url = self.base_url

    @property
    def front(self) -> QuickBooksSandbox:
        return next(iter(self.companies.values()))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = re.match(r"/v3/company/([^/]+)/", environ.get("PATH_INFO", ""))
        company = self.companies.get(match.group(1), self.front) if match else self.front
        return company(environ, start_response)

    def config(self) -> PlatformConfig:
        front = self.front
        return PlatformConfig(
            client_id=front.client_id,
            client_secret=front.client_secret,
            redirect_uri=REDIRECT,
            identity_url=front.discovery_url,
            api_base=front.api_url_v3,
        )

    def token_calls(self) -> int:
        return self.front.call_counts().get("token", 0)

    def close(self) -> None:
        self._stop()


def connect_all(runtime: Runtime, companies: Companies) -> list[int]:
    """Connect every company in the store, as the OAuth callback would, without a browser."""
    platform = runtime.platform("quickbooks")
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        user = User(email="greta@example.test", name="Greta", created_at=now, is_active=True)
        session.add(user)
        session.flush()
        org_ids = []
        for realm in companies.companies:
            code = companies.front.tokens.issue_code(companies.front.client_id, REDIRECT, realm, [ACCOUNTING_SCOPE])
            grant = platform.exchange_code(
                code=code,
                redirect_uri=REDIRECT,
                code_verifier=None,
                callback_params={"code": code, "realmId": realm, "state": "s"},
                sign_in=False,
                now=now,
            )
            org = store_grant(session, runtime.cipher, platform="quickbooks", grant=grant, user=user, now=now)[0]
            org.name, org.next_sync_at, org.collections_enabled = f"Company {realm[-3:]}", None, True
            org.timezone, org.run_time = "UTC", "00:00"
            org.next_run_at = now + timedelta(days=1)  # not before phase 2 makes it due
            org.sender_email = f"ar-{realm[-3:]}@example.test"
            session.add(_policy(org.id, now))
            org_ids.append(org.id)
    return org_ids


def _policy(org_id: int, now: datetime) -> Policy:
    """One friendly email a day after the due date; every day is a sending day (the test may run
    on a weekend or a holiday)."""
    step = PolicyStep(
        organisation_id=org_id,
        step_key="s1",
        position=0,
        offset_days=1,
        level=1,
        action="email",
        template_key="friendly_reminder",
    )
    return Policy(
        organisation_id=org_id,
        name="Scale-out test",
        active=True,
        min_balance=Decimal("0"),
        business_days_only=False,
        switched_on_at=now,
        created_at=now,
        updated_at=now,
        steps=[step],
    )


@dataclass
class Rig:
    """The database, the companies, the SMTP server and the environment of the workers."""

    runtime: Runtime
    companies: Companies
    smtp: SmtpServer
    org_ids: list[int]
    env: dict[str, str]
    logs: Path


@pytest.fixture
def rig(tmp_path: Path, postgres_url: str) -> Iterator[Rig]:
    clock = SystemClock()
    companies = Companies(COMPANIES, clock)
    upgrade(postgres_url)
    keys = (Fernet.generate_key(),)
    settings = Settings(
        "test", tmp_path / "var", postgres_url, keys, "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:9"
    )
    runtime = build_runtime(settings, configs={"quickbooks": companies.config()}, clock=clock)
    with SmtpServer() as smtp:
        try:
            org_ids = connect_all(runtime, companies)
            env = {
                **os.environ,
                "ARCADENCE_ENV": "test",
                "ARCADENCE_VAR_DIR": str(tmp_path / "var"),
                "ARCADENCE_DATABASE_URL": postgres_url,
                "ARCADENCE_SECRET_KEYS": keys[0].decode(),
                "ARCADENCE_SESSION_SECRET": "s",
                "ARCADENCE_LOG_LEVEL": "INFO",
                "ARCADENCE_QUICKBOOKS_CLIENT_ID": companies.front.client_id,
                "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": companies.front.client_secret,
                "ARCADENCE_QUICKBOOKS_IDENTITY_URL": companies.front.discovery_url,
                "ARCADENCE_QUICKBOOKS_API_BASE": companies.front.api_url_v3,
                "ARCADENCE_SMTP_HOST": smtp.host,
                "ARCADENCE_SMTP_PORT": str(smtp.port),
                "ARCADENCE_SMTP_SECURITY": "none",
            }
            yield Rig(runtime, companies, smtp, org_ids, env, tmp_path)
        finally:
            runtime.close()
            companies.close()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start_workers(rig: Rig, count: int) -> list[Worker]:
    workers = []
    for n in range(count):
        log = rig.logs / f"worker-{n}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [".venv/bin/arcadence", "worker", "--tick", "0.5", "--minute", "1"],
                env=rig.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        workers.append(Worker(process, log))
    wait_until(lambda: all("is running" in w.text() for w in workers), workers, "the workers to start")
    return workers


def stop_workers(workers: list[Worker]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


def wait_until(done: Callable[[], bool], workers: list[Worker], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():
        for worker in workers:
            assert worker.process.poll() is None, f"a worker died while waiting for {what}:\n{worker.text()[-3000:]}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def sync_runs(workers: list[Worker]) -> dict[int, list[tuple[datetime, datetime, str, str]]]:
    """Every sync the workers logged: organisation -> (start, end, worker, outcome), by start."""
    runs: dict[int, list[tuple[datetime, datetime, str, str]]] = defaultdict(list)
    for worker in workers:
        for org, outcome, who, started, finished in SYNC_LINE.findall(worker.text()):
            runs[int(org)].append((datetime.fromisoformat(started), datetime.fromisoformat(finished), who, outcome))
    return {org: sorted(found) for org, found in runs.items()}


def _statuses(rig: Rig) -> Counter[str]:
    with rig.runtime.sessions() as session:
        return Counter(
            dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        )


@pytest.mark.postgres
@pytest.mark.parametrize("count", [2, 4])
def test_workers_share_fifty_organisations_with_no_double_work(rig: Rig, count: int) -> None:
    runtime, companies = rig.runtime, rig.companies
    soon = runtime.clock.now() + timedelta(minutes=2)  # inside the refresh margin: every use refreshes first
    with runtime.sessions.begin() as session:
        session.execute(update(Connection).values(access_expires_at=soon))
    companies.front.tokens.rotation_grace = timedelta(0)  # a superseded refresh token fails at once
    companies.front.reset_call_counts()

    workers = start_workers(rig, count)
    try:
        with runtime.sessions.begin() as session:  # phase 1: everything is due at once
            session.execute(update(Organisation).values(next_sync_at=runtime.clock.now()))
        wait_until(lambda: synced(rig) == set(rig.org_ids), workers, "every organisation to sync")

        with runtime.sessions.begin() as session:  # phase 2: every collection run is due now
            session.execute(update(Organisation).values(next_run_at=runtime.clock.now()))
        wait_until(lambda: len(collection_runs(rig)) >= COMPANIES, workers, "every collection run")
        open_states = {"pending", "claimed", "sending"}
        wait_until(lambda: not (set(_statuses(rig)) & open_states), workers, "the outbox to drain")
        wait_until(lambda: len(rig.smtp.inbox.messages) >= _statuses(rig)["sent"], workers, "the mail to arrive")
    finally:
        stop_workers(workers)

    logs = [w.text() for w in workers]
    assert all(w.process.returncode == 0 and "stopped" in w.text() for w in workers), logs[0][-2000:]

    # Every organisation synced once (the interval is 15 minutes: none missed, none twice), and
    # no organisation by two workers at once.
    runs = sync_runs(workers)
    synced_count = Counter({org: sum(r[3] == "synced" for r in found) for org, found in runs.items()})
    assert {org: synced_count[org] for org in rig.org_ids} == dict.fromkeys(rig.org_ids, 1)
    for org, found in runs.items():
        for (_, end, who, _), (start, _, other, _) in itertools.pairwise(found):
            assert start >= end, f"organisation {org} synced by {who} and {other} at once"
    busy_workers = {who for found in runs.values() for _, _, who, outcome in found if outcome == "synced"}
    assert len(busy_workers) == count, f"every worker took part: {busy_workers}"

    # Every organisation's collection run done once, by a worker; every planned message sent
    # exactly once: at the SMTP server by Message-ID, and in the outbox.
    runs_done = collection_runs(rig)
    assert sorted(org for org, _ in runs_done) == sorted(rig.org_ids), "one run per organisation"
    assert {data["outcome"] for _, data in runs_done} == {"queued"}
    planned = sum(int(data["created"]) for _, data in runs_done)
    assert planned >= COMPANIES, "each company has overdue invoices with a reminder address"
    with runtime.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert len(rows) == planned
    assert {r.status for r in rows} == {"sent"}, _statuses(rig)
    received = Counter(str(m.message["Message-ID"]) for m in rig.smtp.inbox.messages)
    assert all(n == 1 for n in received.values()), [mid for mid, n in received.items() if n > 1]
    assert set(received) == {r.message_id for r in rows}

    # Tokens: each connection refreshed exactly once in all, no rotated token lost, no invalid_grant.
    assert companies.token_calls() == COMPANIES
    with runtime.sessions() as session:
        assert set(session.scalars(select(Connection.status))) == {"active"}
    assert not any("invalid_grant" in text or "needs_reauth" in text for text in logs)


def collection_runs(rig: Rig) -> list[tuple[int, dict[str, Any]]]:
    """The ``collection_run`` activities: (organisation, data) each."""
    with rig.runtime.sessions() as session:
        rows = session.execute(select(Activity.organisation_id, Activity.data).where(Activity.kind == "collection_run"))
        return [(org_id, dict(data)) for org_id, data in rows]


def synced(rig: Rig) -> set[int]:
    with rig.runtime.sessions() as session:
        return set(session.scalars(select(Organisation.id).where(Organisation.last_sync_at.is_not(None))))
