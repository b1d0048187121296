"""One organisation's work at a time, across threads and worker processes.

Syncing, processing its webhooks, the nightly reconcile, the collection run and the dispatcher's
re-check all write the same organisation's rows (match by external id, then insert or update), so
two of them at once on one organisation could collide. :func:`organisation_lock` serialises them:

- inside a process, a set of held organisation ids (the scheduler runs jobs in threads);
- across processes on PostgreSQL, a session-level advisory lock keyed by (:data:`NAMESPACE`,
  organisation id), taken with ``pg_try_advisory_lock`` on a connection kept for the work's
  duration. If the worker dies, or its connection is cut, the server releases the lock at once.

On SQLite only one process runs the jobs (ARCHITECTURE.md "Scale-out"), so the in-process part is
all there is. The lock is for work, not for correctness of claims: those are rows in the database
(``next_sync_at``, outbox and inbox leases) and stay safe if a lock is lost midway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

NAMESPACE = 0x61726361
"""First key of arcadence's advisory locks ("arca"): keeps clear of other applications' locks."""
POLL = 0.2
"""Seconds between attempts while waiting for a busy organisation."""
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:namespace, :organisation)")
_UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :organisation)")

_held: set[tuple[str, int]] = set()
"""(database, organisation) pairs this process works on."""
_held_guard = threading.Lock()


@contextmanager
def organisation_lock(
    engine: Engine,
    organisation_id: int,
    *,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bool]:
    """Hold the organisation's work lock for the ``with`` block.

    Args:
        engine: the store's engine (PostgreSQL: an advisory lock; SQLite: this process only).
        organisation_id: whose work.
        wait: how long to keep trying when another thread or worker holds it (0: one try).
        sleep: how to wait between tries.

    Yields:
        True when the lock is held; False when someone else kept it for the whole ``wait``
        (the block then must not do the organisation's work).
    """
    attempts = max(1, int(wait / POLL) + 1)
    key = (engine.url.render_as_string(hide_password=True), organisation_id)
    if not _retry(lambda: _take_local(key), attempts, sleep):
        yield False
        return
    try:
        if engine.dialect.name != "postgresql":
            yield True
            return
        with _advisory(engine, organisation_id, attempts, sleep) as held:
            yield held
    finally:
        with _held_guard:
            _held.discard(key)


def _retry(take: Callable[[], bool], attempts: int, sleep: Callable[[float], None]) -> bool:
    for attempt in range(attempts):
        if take():
            return True
        if attempt + 1 < attempts:
            sleep(POLL)
    return False


def _take_local(key: tuple[str, int]) -> bool:
    with _held_guard:
        if key in _held:
            return False
        _held.add(key)
        return True


@contextmanager
def _advisory(engine: Engine, organisation_id: int, attempts: int, sleep: Callable[[float], None]) -> Iterator[bool]:
    """The PostgreSQL part: a session lock on a connection of its own, never left idle in a
    transaction (each statement is committed), released before the connection goes back to the pool."""
    with engine.connect() as connection:
        held = _retry(lambda: bool(_call(connection, _TRY_LOCK, organisation_id)), attempts, sleep)
        try:
            yield held
        finally:
            if held:
                _release(connection, organisation_id)


def _call(connection: Connection, statement: TextClause, organisation_id: int) -> object:
    value = connection.execute(statement, {"namespace": NAMESPACE, "organisation": organisation_id}).scalar()
    connection.commit()
    return value


def _release(connection: Connection, organisation_id: int) -> None:
    try:
        _call(connection, _UNLOCK, organisation_id)
    except DBAPIError as exc:
        # The connection is gone, and with it the lock (the server releases a dead session's locks).
        log.warning("organisation %s: lock connection lost before unlock (%s)", organisation_id, type(exc).__name__)
        connection.invalidate()


def held_here(engine: Engine) -> frozenset[int]:
    """The organisations this process is working on right now in ``engine``'s database."""
    database = engine.url.render_as_string(hide_password=True)
    with _held_guard:
        return frozenset(org for db, org in _held if db == database)
