"""Rate budgets shared across worker processes, on the real PostgreSQL (``rate_budgets``).

Every worker holds its own :class:`SharedRateLimiter`; the budgets they share live in the database.
The proofs use threads (each with its own limiter, as separate workers would) and a second real
process, driven line by line over a pipe. Each process's clock is a :class:`FixedClock` set to the
instant the test names, so no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.db import Firm, Organisation, RateBudget
from connector.db.session import make_engine, session_factory, upgrade
from connector.errors import RateLimited, TemporaryFailure
from connector.ratelimit import Limits, RateLimiter, SharedRateLimiter
from connector.tokens import TokenSet
from connector.transport import Transport, TransportOptions

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
ONE_A_SECOND = Limits(per_minute=60, burst=5)
#: Budgets that never run out in these tests, three calls at once per tenant, and an app row.
LIMITS_XERO = Limits(per_minute=6000, burst=1000, concurrent=3, app_per_minute=60000, app_burst=1000)

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield session_factory(engine)
    engine.dispose()


def _limiter(
    sessions: sessionmaker[Session], at: datetime | FixedClock, limits: Limits = ONE_A_SECOND, **options: Any
) -> SharedRateLimiter:
    clock = at if isinstance(at, FixedClock) else FixedClock(at)
    options.setdefault("max_wait", 0)  # refuse at once: the tests count what goes through
    options.setdefault("sleep", lambda seconds: None)
    return SharedRateLimiter(sessions, platform="xero", limits=limits, clock=clock, **options)


def _passes(limiter: RateLimiter, key: str) -> bool:
    try:
        limiter.acquire(key)
    except RateLimited:
        return False
    return True


def _org(sessions: sessionmaker[Session], platform: str, external_id: str) -> int:
    with sessions.begin() as session:
        org = Organisation(
            firm=Firm(name="F", created_at=T0), platform=platform, external_id=external_id, name="O", created_at=T0
        )
        session.add(org)
        session.flush()
        return org.id


def _row(sessions: sessionmaker[Session], key: str) -> RateBudget:
    with sessions() as session:
        return session.get_one(RateBudget, key)


# -- a second worker process ----------------------------------------------------------------------


def worker_main() -> None:
    """The other process: ``python -c '…worker_main()' URL LIMITS_JSON``, then one JSON command per
    line on stdin, one JSON answer per line on stdout."""
    url, limits = sys.argv[1], Limits(**json.loads(sys.argv[2]))
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        session.execute(select(1))
    held = ExitStack()  # slots taken by "hold" stay taken until the process dies
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        limiter = _limiter(sessions, datetime.fromisoformat(command["at"]), limits)
        answer: dict[str, Any]
        if command["op"] == "hammer":
            answer = {"passed": _hammer(limiter, command["key"], threads=4, attempts=10)}
        elif command["op"] == "hold":
            for _ in range(command["n"]):
                held.enter_context(limiter.slot(command["key"]))
            answer = {"held": command["n"]}
        else:  # "try": budget only; "slot": budget and a concurrent slot, given back at once
            try:
                if command["op"] == "slot":
                    with limiter.slot(command["key"]):
                        pass
                else:
                    limiter.acquire(command["key"])
                answer = {"ok": True}
            except RateLimited as exc:
                answer = {"ok": False, "retry_after": exc.retry_after, "message": str(exc)}
        print(json.dumps(answer), flush=True)


def _hammer(limiter: RateLimiter, key: str, *, threads: int, attempts: int) -> int:
    passed = []

    def run() -> None:
        passed.append(sum(_passes(limiter, key) for _ in range(attempts)))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(passed)


class Worker:
    """The parent's handle on a :func:`worker_main` process."""

    def __init__(self, url: str, limits: Limits) -> None:
        code = "from tests.integration.test_shared_budgets import worker_main; worker_main()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, url, json.dumps(dataclasses.asdict(limits))],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.read() == {"ready": True}

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({**command, "at": command["at"].isoformat()}) + "\n")
        self.process.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(
                f"the worker process died: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, **command: Any) -> dict[str, Any]:
        self.send(**command)
        return self.read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def workers(postgres_url: str, pg: sessionmaker[Session]) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.close()


# -- budgets --------------------------------------------------------------------------------------


def test_two_processes_with_four_threads_each_share_one_budget(
    postgres_url: str, pg: sessionmaker[Session], workers: list[Worker]
) -> None:
    workers.extend([Worker(postgres_url, ONE_A_SECOND), Worker(postgres_url, ONE_A_SECOND)])

    def hammer(at: datetime) -> int:
        for worker in workers:  # both start before either answers: they race for the same row
            worker.send(op="hammer", key="quickbooks:r1", at=at)
        return sum(worker.read()["passed"] for worker in workers)

    assert hammer(T0) == 5  # the burst, whoever takes it
    assert hammer(T0) == 0
    assert hammer(T0 + timedelta(seconds=1)) == 1  # one call a second drains
    assert hammer(T0 + timedelta(seconds=1, milliseconds=900)) == 0
    assert hammer(T0 + timedelta(seconds=30)) == 5  # never more than the burst at once
    assert _row(pg, "quickbooks:r1").minute_used == 5


def test_workers_in_threads_never_exceed_the_budget_in_any_sliding_minute(pg: sessionmaker[Session]) -> None:
    clock = FixedClock(T0)
    limiters = [_limiter(pg, clock) for _ in range(4)]  # four workers
    steps = 260  # 130 s in half seconds
    barrier = threading.Barrier(len(limiters) + 1)
    passed: list[datetime] = []
    lock = threading.Lock()

    def worker(limiter: SharedRateLimiter) -> None:
        for _ in range(steps):
            barrier.wait()
            if _passes(limiter, "xero:t1"):
                with lock:
                    passed.append(clock.now())
            barrier.wait()

    threads = [threading.Thread(target=worker, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for _ in range(steps):
        barrier.wait()  # the workers try at this instant
        barrier.wait()  # all have tried
        clock.advance(timedelta(milliseconds=500))
    for thread in threads:
        thread.join()
    passed.sort()
    for i, at in enumerate(passed):  # any sliding minute holds at most burst + per_minute calls
        in_window = [p for p in passed[: i + 1] if p > at - timedelta(minutes=1)]
        assert len(in_window) <= 5 + 60
    assert len(passed) >= 5 + 129  # and the budget was used, not just refused


def test_the_app_budget_is_shared_by_every_tenant(pg: sessionmaker[Session]) -> None:
    limits = Limits(per_minute=600, burst=50, app_per_minute=60, app_burst=3)
    limiter = _limiter(pg, T0, limits)
    passed = [_passes(limiter, f"xero:t{i}") for i in range(6)]
    assert passed == [True, True, True, False, False, False]
    assert _row(pg, "xero:app").minute_used == 3


def test_the_day_budget_holds_when_the_minute_budget_would_not(pg: sessionmaker[Session]) -> None:
    limits = Limits(per_minute=6000, burst=100, per_day=8640, day_burst=4)  # one call per 10 s a day
    limiter = _limiter(pg, T0, limits)
    assert [_passes(limiter, "xero:t1") for _ in range(5)] == [True] * 4 + [False]
    with pytest.raises(RateLimited, match=r"\(day\)") as caught:
        limiter.acquire("xero:t1")
    assert caught.value.retry_after == pytest.approx(10.0)
    assert _passes(_limiter(pg, T0 + timedelta(seconds=9.9), limits), "xero:t1") is False
    assert _passes(_limiter(pg, T0 + timedelta(seconds=10), limits), "xero:t1") is True


def test_a_short_wait_is_waited_out_and_a_long_one_raises(pg: sessionmaker[Session]) -> None:
    clock = FixedClock(T0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    limiter = _limiter(pg, clock, sleep=sleep, max_wait=2)
    for _ in range(7):
        limiter.acquire("xero:t1")
    assert slept == pytest.approx([1.0, 1.0])
    limiter.park("xero:t1", 600, "minute")
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("xero:t1")
    assert caught.value.retry_after == pytest.approx(600)
    assert slept == pytest.approx([1.0, 1.0])  # the worker thread did not sit out ten minutes


# -- parking after a 429 --------------------------------------------------------------------------

URL = "https://api.xero.test/api.xro/2.0/Invoices"
XERO = TransportOptions(platform="xero", trace_header="Xero-Correlation-Id")


class _Tokens:
    def current(self) -> TokenSet:
        return TokenSet("access-secret", "refresh-secret", T0 + timedelta(hours=1))

    def refreshed(self, stale: TokenSet) -> TokenSet:
        return stale


def _transport(limiter: RateLimiter, key: str = "xero:t1") -> Transport:
    return Transport(key=key, tokens=_Tokens(), limiter=limiter, options=XERO, clock=FixedClock(T0))


@responses.activate
def test_a_429_parks_the_tenant_for_every_worker_process(
    postgres_url: str, pg: sessionmaker[Session], workers: list[Worker]
) -> None:
    org_id = _org(pg, "xero", "t1")
    other = _org(pg, "xero", "t2")
    workers.append(Worker(postgres_url, LIMITS_XERO))
    responses.get(URL, status=429, headers={"Retry-After": "120", "X-Rate-Limit-Problem": "minute"})
    with pytest.raises(RateLimited) as caught:
        _transport(_limiter(pg, T0, LIMITS_XERO)).request("GET", URL)
    assert caught.value.retry_after == 120
    seen = workers[0].ask(op="try", key="xero:t1", at=T0 + timedelta(seconds=10))
    assert seen["ok"] is False and seen["retry_after"] == pytest.approx(110)
    assert workers[0].ask(op="try", key="xero:t2", at=T0 + timedelta(seconds=10)) == {"ok": True}
    assert workers[0].ask(op="try", key="xero:t1", at=T0 + timedelta(seconds=121)) == {"ok": True}
    with pg() as session:
        assert session.get_one(Organisation, org_id).parked_until == T0 + timedelta(seconds=120)
        assert session.get_one(Organisation, other).parked_until is None
    row = _row(pg, "xero:t1")
    assert (row.problem, row.in_flight) == ("minute", 0)  # the slot came back after the 429


def test_an_app_wide_429_parks_every_tenant(
    postgres_url: str, pg: sessionmaker[Session], workers: list[Worker]
) -> None:
    org_id = _org(pg, "xero", "t1")
    workers.append(Worker(postgres_url, LIMITS_XERO))
    _limiter(pg, T0, LIMITS_XERO).park("xero:t1", 30, "appminute")
    seen = workers[0].ask(op="try", key="xero:t2", at=T0 + timedelta(seconds=1))
    assert seen["ok"] is False and seen["retry_after"] == pytest.approx(29)
    assert _limiter(pg, T0, LIMITS_XERO).parked_until("xero:t9") == T0 + timedelta(seconds=30)
    with pg() as session:
        assert session.get_one(Organisation, org_id).parked_until is None  # the tenant itself is fine


def test_a_shorter_park_never_shortens_a_longer_one(pg: sessionmaker[Session]) -> None:
    _org(pg, "xero", "t1")
    _limiter(pg, T0).park("xero:t1", 3600, "day")
    _limiter(pg, T0 + timedelta(seconds=5)).park("xero:t1", 60, "minute")
    assert _limiter(pg, T0 + timedelta(seconds=6)).parked_until("xero:t1") == T0 + timedelta(hours=1)
    with pg() as session:
        parked = session.scalars(select(Organisation.parked_until)).one()
    assert parked == T0 + timedelta(hours=1)


# -- concurrent slots -----------------------------------------------------------------------------


def test_concurrent_slots_are_capped_and_given_back_however_the_call_ends(pg: sessionmaker[Session]) -> None:
    inside, most, errors = 0, 0, 0
    lock = threading.Lock()

    def call(limiter: SharedRateLimiter, n: int) -> None:
        nonlocal inside, most, errors
        for i in range(n):
            try:
                with limiter.slot("xero:t1"):
                    with lock:
                        inside += 1
                        most = max(most, inside)
                    time.sleep(0.002)
                    with lock:
                        inside -= 1
                    if (i + n) % 3 == 0:
                        raise ValueError("the call failed")
            except ValueError:
                with lock:
                    errors += 1

    # real waits while polling for a slot; a generous total so a slow machine only takes longer
    limiters = [_limiter(pg, T0, LIMITS_XERO, sleep=time.sleep, max_wait=300) for _ in range(6)]
    threads = [threading.Thread(target=call, args=(limiter, 10 + i)) for i, limiter in enumerate(limiters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= most <= 3
    assert errors == sum(1 for n in range(10, 16) for i in range(n) if (i + n) % 3 == 0)
    assert _row(pg, "xero:t1").in_flight == 0  # no slot leaked, exceptions or not


@responses.activate
def test_a_failed_connection_gives_its_slot_back(pg: sessionmaker[Session]) -> None:
    responses.get(URL, body=requests.ConnectionError("connection reset by peer"))
    with pytest.raises(TemporaryFailure):
        _transport(_limiter(pg, T0, LIMITS_XERO)).request("GET", URL)
    assert _row(pg, "xero:t1").in_flight == 0


def test_a_full_key_refuses_another_process_until_a_slot_is_free(
    postgres_url: str, pg: sessionmaker[Session], workers: list[Worker]
) -> None:
    workers.append(Worker(postgres_url, LIMITS_XERO))
    limiter = _limiter(pg, T0, LIMITS_XERO)
    with ExitStack() as held:
        for _ in range(3):
            held.enter_context(limiter.slot("xero:t1"))
        refused = workers[0].ask(op="slot", key="xero:t1", at=T0)
        assert refused["ok"] is False and "(concurrent)" in refused["message"]
        assert workers[0].ask(op="slot", key="xero:t2", at=T0) == {"ok": True}  # another tenant is not held up
    assert workers[0].ask(op="slot", key="xero:t1", at=T0) == {"ok": True}
    assert _row(pg, "xero:t1").in_flight == 0


def test_a_killed_worker_s_slots_are_freed_after_the_lease(
    postgres_url: str, pg: sessionmaker[Session], workers: list[Worker]
) -> None:
    workers.append(Worker(postgres_url, LIMITS_XERO))
    assert workers[0].ask(op="hold", key="xero:t1", n=3, at=T0) == {"held": 3}
    workers[0].process.kill()  # SIGKILL while its three calls are "in flight"
    workers[0].process.wait(timeout=30)
    assert _row(pg, "xero:t1").in_flight == 3
    with (
        pytest.raises(RateLimited, match="concurrent"),
        _limiter(pg, T0 + timedelta(seconds=60), LIMITS_XERO).slot("xero:t1"),
    ):
        pass
    with _limiter(pg, T0 + timedelta(seconds=301), LIMITS_XERO).slot("xero:t1"):
        assert _row(pg, "xero:t1").in_flight == 1
    assert _row(pg, "xero:t1").in_flight == 0


# -- wiring ---------------------------------------------------------------------------------------


def test_the_runtime_shares_budgets_on_postgresql_and_keeps_them_in_memory_on_sqlite(db_url: str) -> None:
    from cryptography.fernet import Fernet

    from connector.config import Settings
    from connector.runtime import build_runtime

    upgrade(db_url)
    settings = Settings("test", Path("/tmp"), db_url, (Fernet.generate_key(),), "s", "127.0.0.1", 5000, "INFO", "x")
    runtime = build_runtime(settings, configs={}, clock=FixedClock(T0))
    try:
        org_id = _org(runtime.sessions, "xero", "t1")
        limiter = runtime.limiter("xero")
        assert isinstance(limiter, SharedRateLimiter) == db_url.startswith("postgresql")
        assert runtime.limiter("xero") is limiter
        limiter.park("xero:t1", 90, "minute")
        with runtime.sessions() as session:  # either way the organisation shows it is parked
            assert session.get_one(Organisation, org_id).parked_until == T0 + timedelta(seconds=90)
        assert limiter.parked_until("xero:t1") == T0 + timedelta(seconds=90)
    finally:
        runtime.close()
