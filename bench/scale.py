"""Scale-out benchmark: a busy day of 500 QuickBooks sandbox organisations on 4 ``arcadence worker``
processes sharing one PostgreSQL database (issue 8, point 4).

Everything is real: the workers are the ``arcadence worker`` command (APScheduler firing the real
jobs; ticks shortened to 0.5 s and 1 s so the day fits in minutes), the database is the local
PostgreSQL server (a throw-away database, dropped afterwards), the companies are sandboxes served
over loopback HTTP by this process, and mail goes to an SMTP server on loopback (aiosmtpd). Three phases:

1. **Morning sync**: every organisation is due at once. Reports syncs per minute, each sync's
   duration, claims per worker, and duplicate work (an organisation synced twice, or by two workers
   at once): the goal is 0.
2. **Webhooks**: one payment in each of 50 companies, its signed notification put in the inbox as
   the web tier would; reports the lag from receipt to the invoice stored with its new balance.
3. **Collection runs and sending**: every organisation's run is due at once; reports the latency
   from due to recorded per organisation, runs per worker, messages sent and duplicates (goal 0).

Then API calls, 429s (goal 0) and each worker's peak memory (VmHWM). The sandboxes share this
process's interpreter, so on a small machine they, not the workers, may set the pace.

Run: ``python bench/scale.py [--orgs 500] [--workers 4]`` (``ARCADENCE_BENCH_PG``: a psycopg URL of
the server's maintenance database, default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ADMIN = os.environ.get("ARCADENCE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIRECT = "http://127.0.0.1:9/connect/quickbooks/callback"
SYNC_LINE = re.compile(r"job=sync organisation=(\d+) outcome=(\w+) worker=(\S+) started=(\S+) finished=(\S+)")
RUN_LINE = re.compile(r"job=collect organisation=(\d+) outcome=(queued|dry_run) ")
WEBHOOK_SAMPLE = 50
DEADLINE = 1800.0  # seconds per phase before the benchmark gives up


class Companies:
    """Many sandbox companies behind one loopback address; the first one's token authority is
    everyone's (as at Intuit), API calls go to the company named in the path."""

    def __init__(self, count: int, clock: Any) -> None:
        from connector.sandboxkit import serve_in_thread
        from plugins.quickbooks.sandbox import QuickBooksSandbox

        self.companies: dict[str, Any] = {}
        for n in range(count):
            sandbox = QuickBooksSandbox(clock=clock, realm_id=f"93414531{n:08d}", customers=20, invoices=20)
            if self.companies:
                sandbox.tokens = self.front.tokens
            self.companies[sandbox.realm_id] = sandbox
        self.base_url, self.stop = serve_in_thread(self, "127.0.0.1", 0)
        for sandbox in self.companies.values():
            sandbox.base_url = self.base_url

    @property
    def front(self) -> Any:
        return next(iter(self.companies.values()))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = re.match(r"/v3/company/([^/]+)/", environ.get("PATH_INFO", ""))
        company = self.companies.get(match.group(1), self.front) if match else self.front
        return company(environ, start_response)  # type: ignore[no-any-return]

    def totals(self) -> Counter[str]:
        """Calls per endpoint and the throttled (429) count, over every company."""
        total: Counter[str] = Counter()
        for sandbox in self.companies.values():
            total.update(sandbox.call_counts())
            total["throttled"] += sandbox.call_details().get("throttled", 0)
        return total


class Inbox:
    """An SMTP server on loopback (aiosmtpd) counting what arrives by Message-ID."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: Counter[str] = Counter()
        with socket.socket() as probe:  # aiosmtpd cannot take port 0
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()
        self.port = port

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        from email import message_from_bytes

        self.received[str(message_from_bytes(envelope.content)["Message-ID"])] += 1
        return "250 OK"


@contextmanager
def database() -> Iterator[str]:
    """A fresh PostgreSQL database at head, dropped afterwards."""
    import psycopg
    from psycopg import sql

    from connector.db.session import upgrade

    name = f"arcadence_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise SystemExit(f"bench/scale.py needs PostgreSQL (ARCADENCE_BENCH_PG, `make postgres`): {exc}") from None
    url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def connect_all(runtime: Any, companies: Companies) -> list[int]:
    """Connect every company as the OAuth callback would (no browser), each with an every-day
    policy that is switched on, run time 00:00 UTC, nothing due yet."""
    from connector.connect import store_grant
    from connector.db import User
    from plugins.quickbooks.sandbox.oauth import ACCOUNTING_SCOPE

    platform, front, now = runtime.platform("quickbooks"), companies.front, runtime.clock.now()
    with runtime.sessions.begin() as session:
        user = User(email="greta@example.test", name="Greta", created_at=now, is_active=True)
        session.add(user)
        session.flush()
        org_ids = []
        for realm in companies.companies:
            code = front.tokens.issue_code(front.client_id, REDIRECT, realm, [ACCOUNTING_SCOPE])
            params = {"code": code, "realmId": realm, "state": "s"}
            grant = platform.exchange_code(
                code=code, redirect_uri=REDIRECT, code_verifier=None, callback_params=params, sign_in=False, now=now
            )
            org = store_grant(session, runtime.cipher, platform="quickbooks", grant=grant, user=user, now=now)[0]
            org.name, org.sender_email, org.collections_enabled = f"Company {realm[-3:]}", "ar@example.test", True
            org.timezone, org.run_time, org.next_sync_at = "UTC", "00:00", now + timedelta(days=1)
            org.next_run_at = now + timedelta(days=1)
            session.add(_policy(org.id, now))
            org_ids.append(org.id)
    return org_ids


def _policy(org_id: int, now: datetime) -> Any:
    from connector.db import Policy, PolicyStep

    step = PolicyStep(
        organisation_id=org_id, step_key="s1", position=0, offset_days=1, level=1, action="email",
        template_key="friendly_reminder",
    )  # fmt: skip
    return Policy(
        organisation_id=org_id, name="Busy day", active=True, min_balance=Decimal("0"), business_days_only=False,
        switched_on_at=now, created_at=now, updated_at=now, steps=[step],
    )  # fmt: skip


class Workers:
    """``count`` ``arcadence worker`` processes, each logging to its own file."""

    def __init__(self, count: int, env: dict[str, str], folder: Path) -> None:
        command = [sys.executable, "-c", "from connector.cli import main; main()", "worker", "--tick", "0.5"]
        self.logs = [folder / f"worker-{n}.log" for n in range(count)]
        self.processes = []
        for log in self.logs:
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen([*command, "--minute", "1"], env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        self.wait(lambda: all("is running" in text for text in self.texts()), "the workers to start")

    def texts(self) -> list[str]:
        return [log.read_text(errors="replace") for log in self.logs]

    def wait(self, done: Callable[[], bool], what: str) -> float:
        """Seconds until ``done()``; raises when a worker dies or the deadline passes."""
        started = time.monotonic()
        while not done():
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a worker died while waiting for {what}")
            if time.monotonic() - started > DEADLINE:
                raise RuntimeError(f"gave up waiting for {what}")
            time.sleep(0.2)
        return time.monotonic() - started

    def peak_memory_mb(self) -> list[float]:
        """Each worker's peak resident memory so far (VmHWM)."""
        peaks = []
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)  # type: ignore[union-attr]
        return peaks

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def morning_sync(runtime: Any, workers: Workers, org_ids: list[int]) -> None:
    from sqlalchemy import func, select, update

    from connector.db import Organisation

    def synced() -> bool:
        with runtime.sessions() as session:
            return bool(
                session.scalar(select(func.count()).where(Organisation.last_sync_at.is_not(None))) == len(org_ids)
            )

    with runtime.sessions.begin() as session:
        session.execute(update(Organisation).values(next_sync_at=runtime.clock.now()))
    seconds = workers.wait(synced, "every organisation to sync")
    runs: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    for text in workers.texts():
        for org, outcome, who, started, finished in SYNC_LINE.findall(text):
            if outcome == "synced":
                runs[int(org)].append((datetime.fromisoformat(started), datetime.fromisoformat(finished), who))
    durations = sorted((end - start).total_seconds() for found in runs.values() for start, end, _ in found)
    twice = sum(len(found) - 1 for found in runs.values())
    overlapping = sum(
        1 for found in runs.values() for a, b in zip(sorted(found), sorted(found)[1:], strict=False) if b[0] < a[1]
    )
    per_worker = [sum(outcome == "synced" for _, outcome, *_ in SYNC_LINE.findall(text)) for text in workers.texts()]
    print(
        f"phase 1, morning sync of {len(org_ids)} organisations: {seconds:.1f} s,"
        f" {len(org_ids) / seconds * 60:.0f} syncs/min"
    )
    print(f"  sync duration per organisation: {_spread(durations)}")
    print(f"  claims (syncs) per worker: {sorted(per_worker, reverse=True)}")
    print(f"  duplicate work: {twice} extra sync(s), {overlapping} at once by two workers (goal 0, 0)")
    print(f"  organisations never synced: {len(set(org_ids) - set(runs))} (goal 0)")


def webhooks(runtime: Any, workers: Workers, companies: Companies) -> None:
    from sqlalchemy import select

    from connector.db import Invoice, Organisation, WebhookEvent
    from connector.webhooks import receive
    from plugins.quickbooks.sandbox.webhooks import Event

    platform, lags_done = runtime.platform("quickbooks"), []
    sample = list(companies.companies.values())[:WEBHOOK_SAMPLE]
    paid = {}
    for sandbox in sample:
        invoice = next(i for i in sandbox.records("Invoice") if Decimal(str(i.get("Balance", 0))) > 0)
        sandbox.apply_payment(invoice["Id"])
        paid[(sandbox.realm_id, invoice["Id"])] = sandbox.record("Invoice", invoice["Id"])["Balance"]
        events = [Event(e["name"], e["id"], e["operation"], runtime.clock.now()) for e in sandbox.webhooks.pending()]
        sandbox.webhooks.clear()
        receive(runtime.sessions, platform, sandbox.webhooks.body(events), now=runtime.clock.now())

    def stored() -> bool:
        query = select(Organisation.external_id, Invoice.external_id, Invoice.balance).join(
            Organisation, Invoice.organisation_id == Organisation.id
        )
        with runtime.sessions() as session:
            balances = {(realm, ext): balance for realm, ext, balance in session.execute(query)}
        return all(balances.get(key) == Decimal(str(value)) for key, value in paid.items())

    workers.wait(stored, "the webhooks' invoices to be stored")
    with runtime.sessions() as session:
        for received, processed in session.execute(select(WebhookEvent.received_at, WebhookEvent.processed_at)):
            if processed is not None:
                lags_done.append((processed - received).total_seconds())
    print(f"phase 2, webhooks: {len(sample)} payments, {len(lags_done)} events processed")
    print(f"  lag from receipt to stored invoice: {_spread(sorted(lags_done))} (worker --tick 0.5)")


def collection_day(runtime: Any, workers: Workers, org_ids: list[int], inbox: Inbox) -> None:
    from sqlalchemy import func, select, update

    from connector.db import Activity, Organisation, OutboxMessage

    due = runtime.clock.now()
    with runtime.sessions.begin() as session:
        session.execute(update(Organisation).values(next_run_at=due))

    def runs() -> list[tuple[int, datetime]]:
        with runtime.sessions() as session:
            query = select(Activity.organisation_id, Activity.occurred_at).where(Activity.kind == "collection_run")
            return list(session.execute(query).all())

    seconds = workers.wait(lambda: len(runs()) >= len(org_ids), "every collection run")
    open_states = ("pending", "claimed", "sending")

    def drained() -> bool:
        with runtime.sessions() as session:
            return not session.scalar(select(func.count()).where(OutboxMessage.status.in_(open_states)))

    send_seconds = workers.wait(drained, "the outbox to drain")
    done = runs()
    per_worker = sorted((len(RUN_LINE.findall(text)) for text in workers.texts()), reverse=True)
    print(f"phase 3, collection runs: all {len(org_ids)} recorded {seconds:.1f} s after they fell due")
    print(
        "  latency from due to recorded, per organisation:",
        _spread(sorted((at - due).total_seconds() for _, at in done)),
    )
    print(f"  runs per worker: {per_worker}; organisations run twice: {len(done) - len({o for o, _ in done})} (goal 0)")
    statuses = _outbox_statuses(runtime)
    print(f"  outbox: {dict(statuses)}; sending took {send_seconds:.1f} s more")
    twice = sum(n - 1 for n in inbox.received.values())
    print(f"  SMTP: {sum(inbox.received.values())} messages received for {statuses.get('sent', 0)} sent rows,"
          f" {twice} received twice (goal 0)")  # fmt: skip


def _outbox_statuses(runtime: Any) -> Counter[str]:
    from sqlalchemy import func, select

    from connector.db import OutboxMessage

    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    with runtime.sessions() as session:
        return Counter(dict(session.execute(query).all()))


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):.3f} s, p95 {p95:.3f} s, max {values[-1]:.3f} s (n={len(values)})"


def _worker_env(url: str, var: Path, key: bytes, companies: Companies, inbox: Inbox) -> dict[str, str]:
    front = companies.front
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCADENCE_")}
    return {
        **env,
        "PYTHONPATH": str(HERE.parent),
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": str(var),
        "ARCADENCE_DATABASE_URL": url,
        "ARCADENCE_SECRET_KEYS": key.decode(),
        "ARCADENCE_SESSION_SECRET": "bench",
        "ARCADENCE_LOG_LEVEL": "INFO",
        "ARCADENCE_QUICKBOOKS_CLIENT_ID": front.client_id,
        "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": front.client_secret,
        "ARCADENCE_QUICKBOOKS_IDENTITY_URL": front.discovery_url,
        "ARCADENCE_QUICKBOOKS_API_BASE": front.api_url_v3,
        "ARCADENCE_SMTP_HOST": "127.0.0.1",
        "ARCADENCE_SMTP_PORT": str(inbox.port),
        "ARCADENCE_SMTP_SECURITY": "none",
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orgs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    return parser.parse_args()


def _print_totals(companies: Companies, peaks: list[float], workers: Workers) -> None:
    calls = companies.totals()
    print(f"API calls: {sum(v for k, v in calls.items() if k != 'throttled')} in all "
          f"({', '.join(f'{k} {v}' for k, v in sorted(calls.items()) if k != 'throttled')})")  # fmt: skip
    print(f"429 responses: {calls['throttled']} (goal 0)")
    print(f"peak memory per worker (VmHWM): {', '.join(f'{p:.0f} MB' for p in peaks)}")
    print(f"worker exit codes: {[p.returncode for p in workers.processes]}")


def main() -> None:
    from cryptography.fernet import Fernet

    from connector.clock import SystemClock
    from connector.config import Settings
    from connector.platform import PlatformConfig
    from connector.runtime import build_runtime

    args = _arguments()
    clock, key = SystemClock(), Fernet.generate_key()
    started = time.monotonic()
    companies = Companies(args.orgs, clock)
    front = companies.front
    config = PlatformConfig(front.client_id, front.client_secret, REDIRECT, front.discovery_url, front.api_url_v3)
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings("test", Path(tmp), url, (key,), "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:9")
        runtime = build_runtime(settings, configs={"quickbooks": config}, clock=clock)
        org_ids = connect_all(runtime, companies)
        print(
            f"{args.orgs} sandbox companies connected in {time.monotonic() - started:.1f} s;",
            f"{args.workers} workers on PostgreSQL",
        )
        inbox = Inbox()
        workers = Workers(args.workers, _worker_env(url, Path(tmp) / "var", key, companies, inbox), Path(tmp))
        try:
            morning_sync(runtime, workers, org_ids)
            webhooks(runtime, workers, companies)
            collection_day(runtime, workers, org_ids, inbox)
            peaks = workers.peak_memory_mb()
        finally:
            workers.stop()
            runtime.close()
            inbox.controller.stop()
        _print_totals(companies, peaks, workers)
    companies.stop()


if __name__ == "__main__":
    main()
