"""A worker that loses its database retries with backoff and carries on (issue 8, "Bad input").

The database is the real PostgreSQL server, reached through :class:`Link`, a TCP relay on loopback
that the test can cut: every open connection is dropped and new ones are refused until it is
restored, which is what a worker sees when the server restarts or the network between them goes.
(The shared server itself is never restarted: other tests use it.) ``pg_terminate_backend`` covers
the other case, a server that kills the worker's sessions and stays up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from connector.clock import FixedClock, SystemClock
from connector.config import Settings
from connector.db import Connection, Firm, Organisation
from connector.db.session import make_engine, upgrade
from connector.jobs import BACKOFF_MAX, SYNC_EVERY, Guarded, claim_due, sync_due
from connector.locks import organisation_lock
from connector.runtime import Runtime, build_runtime
from tests.integration.smtp_server import SmtpServer
from tests.integration.test_workers import (
    Companies,
    Rig,
    Worker,
    connect_all,
    start_workers,
    stop_workers,
    sync_runs,
    wait_until,
)

pytestmark = pytest.mark.postgres

COMPANIES = 3


class Link:
    """A TCP relay from a loopback port to PostgreSQL that can be cut and restored."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._cut = False
        self._threads = [threading.Thread(target=self._accept, name="link", daemon=True)]
        self._threads[0].start()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        with self._guard:
            self._cut = True
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """Relay new connections again."""
        with self._guard:
            self._cut = False

    def close(self) -> None:
        self.cut()
        _close(self._listener)
        for thread in self._threads:
            thread.join(timeout=10)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._guard:
                refused = self._cut
            if refused:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._guard:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with self._guard:
            self._open -= {source, sink}
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def link(postgres_url: str) -> Iterator[Link]:
    url = make_url(postgres_url)
    relay = Link(url.host or "127.0.0.1", url.port or 5432)
    yield relay
    relay.close()


def _via(postgres_url: str, link: Link) -> str:
    return make_url(postgres_url).set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False)


def _settings(url: str, var: Path, key: bytes) -> Settings:
    return Settings("test", var, url, (key,), "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:9")


def _terminate_sessions(postgres_url: str) -> int:
    """Kill every session on the test database (as an administrator or a failover would)."""
    url = make_url(postgres_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        killed = connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (url.database,),
        ).fetchone()
    return int(killed[0]) if killed else 0


class Monotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def runtime(postgres_url: str, link: Link, tmp_path: Path) -> Iterator[Runtime]:
    upgrade(postgres_url)
    built = build_runtime(
        _settings(_via(postgres_url, link), tmp_path, Fernet.generate_key()), configs={}, clock=SystemClock()
    )
    yield built
    built.close()


def test_a_job_backs_off_while_the_database_is_gone_and_resumes_when_it_is_back(
    runtime: Runtime, link: Link, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    monotonic = Monotonic()

    def counted(rt: Runtime) -> int:
        calls.append(1)
        return sync_due(rt)

    job = Guarded("sync_due", counted, runtime, monotonic=monotonic)
    assert job() == 0 and job.failures == 0

    link.cut()
    caplog.set_level(logging.INFO, logger="connector.jobs")
    delays = []
    for _ in range(8):
        before = len(calls)
        assert job() is None  # the lost database is no crash
        assert len(calls) == before + 1
        delays.append(float(re.findall(r"retry_in=(\d+)s", caplog.text)[-1]))
        assert job() is None and len(calls) == before + 1, "no attempt before the delay is over"
        monotonic.now += delays[-1]
    assert delays == [1, 2, 4, 8, 16, 32, BACKOFF_MAX, BACKOFF_MAX]
    assert "outcome=database_unavailable" in caplog.text

    link.restore()
    assert job() == 0 and job.failures == 0
    assert "job=sync_due outcome=database_back" in caplog.text


def test_a_terminated_session_is_replaced_without_a_failed_pass(
    runtime: Runtime, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    job = Guarded("sync_due", sync_due, runtime, monotonic=Monotonic())
    assert job() == 0
    assert _terminate_sessions(postgres_url) >= 1, "the runtime's pooled session was there to kill"
    assert job() == 0 and job.failures == 0  # the pool's pre-ping found it dead and reconnected
    assert "database_unavailable" not in caplog.text


def test_other_errors_are_logged_and_do_not_back_off(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_rt: Runtime) -> int:
        raise RuntimeError("a bug")

    job = Guarded("broken", broken, runtime, monotonic=Monotonic())
    assert job() is None and job() is None
    assert job.failures == 0
    assert caplog.text.count("job=broken outcome=error") == 2


def test_a_lost_connection_frees_the_organisation_lock_for_the_other_workers(
    runtime: Runtime, link: Link, postgres_url: str
) -> None:
    other = make_engine(postgres_url)  # another worker, with its own way to the server
    try:
        with organisation_lock(runtime.engine, 7) as held:
            assert held
            with organisation_lock(other, 7) as taken:
                assert not taken, "held by the first worker"
            link.cut()  # the first worker's connection, and with it its session, is gone
            with organisation_lock(other, 7, wait=30.0) as taken:
                assert taken, "the server released the dead session's lock"
        link.restore()
        with organisation_lock(runtime.engine, 7) as held:
            assert held, "the first worker works again once the database is back"
    finally:
        other.dispose()


def test_a_sync_claimed_by_a_worker_that_died_is_due_again_after_one_interval(postgres_url: str) -> None:
    upgrade(postgres_url)
    clock = FixedClock(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    runtime = build_runtime(_settings(postgres_url, Path("/tmp"), Fernet.generate_key()), configs={}, clock=clock)
    try:
        now = clock.now()
        with runtime.sessions.begin() as session:
            firm = Firm(name="F", created_at=now)
            connection = Connection(firm=firm, platform="quickbooks", status="active", created_at=now, updated_at=now)
            org = Organisation(
                firm=firm, connection=connection, platform="quickbooks", external_id="r1", name="O",
                created_at=now, next_sync_at=now,
            )  # fmt: skip
            session.add(org)
            session.flush()
            org_id = org.id
        assert claim_due(runtime) == [org_id]  # the worker that took it dies here, before syncing
        clock.advance(SYNC_EVERY - timedelta(seconds=1))
        assert claim_due(runtime) == [], "still leased to the dead worker"
        clock.advance(timedelta(seconds=1))
        assert claim_due(runtime) == [org_id], "the lease has ended: another worker takes it"
    finally:
        runtime.close()


# -- a real worker process ------------------------------------------------------------------------


@pytest.fixture
def rig(tmp_path: Path, postgres_url: str, link: Link) -> Iterator[Rig]:
    clock = SystemClock()
    companies = Companies(COMPANIES, clock)
    upgrade(postgres_url)
    key = Fernet.generate_key()
    runtime = build_runtime(
        _settings(postgres_url, tmp_path / "var", key), configs={"quickbooks": companies.config()}, clock=clock
    )
    with SmtpServer() as smtp:
        try:
            org_ids = connect_all(runtime, companies)
            env = _worker_env(_via(postgres_url, link), tmp_path, key, companies, smtp)
            yield Rig(runtime, companies, smtp, org_ids, env, tmp_path)
        finally:
            runtime.close()
            companies.close()


def _worker_env(url: str, tmp_path: Path, key: bytes, companies: Companies, smtp: SmtpServer) -> dict[str, str]:
    return {
        **os.environ,
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": str(tmp_path / "var"),
        "ARCADENCE_DATABASE_URL": url,
        "ARCADENCE_SECRET_KEYS": key.decode(),
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


def _make_due(rig: Rig) -> datetime:
    now = rig.runtime.clock.now()
    with rig.runtime.sessions.begin() as session:
        session.execute(update(Organisation).values(next_sync_at=now))
    return now


def _synced_since(rig: Rig, since: datetime) -> Callable[[], bool]:
    def done() -> bool:
        with rig.runtime.sessions() as session:
            stamps = session.scalars(select(Organisation.last_sync_at)).all()
        return len(stamps) == COMPANIES and all(s is not None and s >= since for s in stamps)

    return done


@pytest.mark.parametrize("loss", ["server_gone_for_a_while", "sessions_terminated"])
def test_a_worker_process_survives_losing_the_database_and_goes_on_syncing(
    rig: Rig, link: Link, postgres_url: str, loss: str
) -> None:
    (worker,) = workers = start_workers(rig, 1)
    try:
        wait_until(_synced_since(rig, _make_due(rig)), workers, "the first syncs")
        if loss == "server_gone_for_a_while":
            link.cut()
            wait_until(lambda: "retry_in=2s" in worker.text(), workers, "the worker to back off twice")
            link.restore()
        else:
            _terminate_sessions(postgres_url)
        wait_until(_synced_since(rig, _make_due(rig)), workers, "the syncs after the loss")
    finally:
        stop_workers(workers)
    _assert_survived(worker, rig, gone=loss == "server_gone_for_a_while")


def _assert_survived(worker: Worker, rig: Rig, *, gone: bool) -> None:
    text = worker.text()
    assert worker.process.returncode == 0 and "stopped" in text, text[-3000:]
    assert "outcome=error" not in text, text[-3000:]  # every failure was the lost database, handled
    if gone:
        assert "outcome=database_unavailable" in text and "outcome=database_back" in text
    synced = sync_runs([worker])
    assert {org: sum(r[3] == "synced" for r in synced.get(org, [])) for org in rig.org_ids} == dict.fromkeys(
        rig.org_ids, 2
    )
