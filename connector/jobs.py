"""The work that runs by itself: due syncs, the webhook inbox, the daily collection runs
(``connector.schedule``), the dispatcher, token keep-alive (``connector.keepalive``) and the
nightly reconcile. Each job is a small function
of a :class:`connector.runtime.Runtime`; :func:`start` fires them from an APScheduler 3
background scheduler with an in-memory job store.

Any number of processes may run these jobs against one PostgreSQL database (``arcadence worker``
on N machines). Coordination is the database's, never the scheduler's (ARCHITECTURE.md
"Scale-out", notes/deps.md §4):

- organisations due for sync are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (SQLite: a
  conditional UPDATE) that moves ``next_sync_at`` one interval on: that is also the claim's lease,
  so an organisation whose worker died is due again one interval later;
- the outbox and the webhook inbox are claimed the same way, with leases (``connector.dispatch``,
  ``connector.webhooks``);
- each organisation's work holds its lock (``connector.locks``: a PostgreSQL advisory lock), so no
  two workers sync, reconcile or re-check one organisation at once;
- the nightly reconcile is done once per organisation and night, whichever worker gets there
  first (the invoice cursor's ``last_full_at`` says it is done).

Every job logs one line per organisation and outcome (``job=sync organisation=12 outcome=synced
worker=host:pid started=… finished=…``). A job that loses the database backs off (1 s, 2 s … 60 s)
and the worker carries on; see :class:`Guarded`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from connector.db import Connection, ConnectionStatus, Organisation, SyncCursor
from connector.errors import AuthRevoked, PlatformError, PluginError, RateLimited
from connector.keepalive import keep_alive
from connector.locks import organisation_lock
from connector.mail import Mailer
from connector.observe import log_outcome, worker_id
from connector.platform import Entity
from connector.runtime import Runtime
from connector.schedule import run_due_collections
from connector.sync import reconcile_open_invoices, sync_organisation
from connector.webhooks import process_pending

log = logging.getLogger(__name__)

SYNC_EVERY = timedelta(minutes=15)
"""Default interval of incremental syncs per organisation (``arcadence worker --sync-interval``)."""
RETRY_AFTER_FAILURE = timedelta(minutes=5)
BUSY_RETRY = timedelta(minutes=1)
"""A claimed organisation that another worker is busy with is due again this much later."""
RECONCILED_WITHIN = timedelta(hours=20)
"""A reconcile this recent means tonight's is done (another worker did it)."""
BUSY_WAIT = 30.0
"""Seconds the reconcile's second pass waits for an organisation another worker is busy with."""
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0
DISPATCH_BATCH, DISPATCH_PASSES = 50, 20
"""Outbox rows claimed per dispatcher pass, and passes per run of the dispatch job at most."""


def report(
    job: str, organisation_id: int, outcome: str, *, started: datetime, finished: datetime, **extra: Any
) -> None:
    """The one structured line of a job's work on one organisation (:func:`connector.observe.log_outcome`)."""
    log_outcome(job, organisation_id, outcome, worker=worker_id(), started=started, finished=finished, **extra)


# -- due syncs -------------------------------------------------------------------------------------


def _due(now: datetime, limit: int) -> Select[int, datetime | None]:
    return (
        select(Organisation.id, Organisation.next_sync_at)
        .join(Connection, Organisation.connection_id == Connection.id)
        .where(
            Organisation.next_sync_at <= now,
            Connection.status == ConnectionStatus.ACTIVE.value,
            or_(Organisation.parked_until.is_(None), Organisation.parked_until <= now),
        )
        .order_by(Organisation.next_sync_at, Organisation.id)
        .limit(limit)
    )


def claim_due(runtime: Runtime, *, limit: int = 10, every: timedelta = SYNC_EVERY) -> list[int]:
    """Organisations due for sync with a working connection, each claimed for this worker by moving
    its ``next_sync_at`` one interval on (the lease: a worker that dies gives it back then).

    PostgreSQL: ``SELECT … FOR UPDATE OF organisations SKIP LOCKED`` and the UPDATE in one
    transaction, so concurrent workers take disjoint sets without waiting for each other.
    SQLite: a conditional UPDATE per organisation whose rowcount must be 1.
    """
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            locked = _due(now, limit).with_for_update(of=Organisation, skip_locked=True)
            ids = [org_id for org_id, _ in session.execute(locked)]
            if ids:
                session.execute(update(Organisation).where(Organisation.id.in_(ids)).values(next_sync_at=now + every))
            return ids
    with runtime.sessions() as session:
        due = session.execute(_due(now, limit)).all()
    claimed = []
    for org_id, seen in due:
        with runtime.sessions.begin() as session:
            result = session.execute(
                update(Organisation)
                .where(Organisation.id == org_id, Organisation.next_sync_at == seen)
                .values(next_sync_at=now + every)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(org_id)
    return claimed


def sync_due(runtime: Runtime, *, every: timedelta = SYNC_EVERY, limit: int = 10) -> int:
    """Sync the organisations this worker claims; returns how many synced completely."""
    return sum(sync_claimed(runtime, org_id) == "synced" for org_id in claim_due(runtime, limit=limit, every=every))


def sync_claimed(runtime: Runtime, org_id: int) -> str:
    """Sync one claimed organisation under its lock; returns the outcome (``synced``, ``busy``,
    ``rate_limited``, ``needs_reauth``, ``failed``)."""
    with organisation_lock(runtime.engine, org_id) as held:
        started = runtime.clock.now()
        if not held:
            _reschedule(runtime, org_id, BUSY_RETRY)
            outcome, extra = "busy", dict[str, Any]()
        else:
            outcome, extra = _sync(runtime, org_id)
        report("sync", org_id, outcome, started=started, finished=runtime.clock.now(), **extra)
    return outcome


def _sync(runtime: Runtime, org_id: int) -> tuple[str, dict[str, Any]]:
    with runtime.sessions() as session:
        org = session.get_one(Organisation, org_id)
    try:
        reports = sync_organisation(
            runtime.sessions, org.id, runtime.platform(org.platform), runtime.access(org), runtime.clock
        )
    except RateLimited as exc:
        _reschedule(runtime, org.id, timedelta(seconds=exc.retry_after))
        return "rate_limited", {"retry_after": exc.retry_after}
    except AuthRevoked as exc:
        return "needs_reauth", {"error": exc}
    except (PlatformError, PluginError) as exc:
        _reschedule(runtime, org.id, RETRY_AFTER_FAILURE)
        return "failed", {"error": exc, "retry_in": RETRY_AFTER_FAILURE}
    return "synced", {"written": sum(r.written for r in reports), "deleted": sum(r.deleted for r in reports)}


def _reschedule(runtime: Runtime, org_id: int, after: timedelta) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Organisation).where(Organisation.id == org_id).values(next_sync_at=runtime.clock.now() + after)
        )


# -- nightly reconcile -----------------------------------------------------------------------------


def reconcile_all(runtime: Runtime) -> int:
    """The nightly safety net: re-read every open invoice of every connected organisation by id
    (catches what incremental sync can miss: QBO deletions inside a capped CDC window, Xero's
    If-Modified-Since gaps). Every worker runs it at the same hour; each organisation is done once:
    a first pass takes the organisations nobody else is on, a second waits for the busy ones, and
    one reconciled within :data:`RECONCILED_WITHIN` is skipped. Returns how many invoices were re-read."""
    with runtime.sessions() as session:
        pending: Sequence[int] = session.scalars(
            select(Organisation.id)
            .join(Connection, Organisation.connection_id == Connection.id)
            .where(Connection.status == ConnectionStatus.ACTIVE.value)
            .order_by(Organisation.id)
        ).all()
    total = 0
    for wait in (0.0, BUSY_WAIT):
        busy = []
        for org_id in pending:
            count = _reconcile_one(runtime, org_id, wait)
            if count is None:
                busy.append(org_id)
            else:
                total += count
        pending = busy
    return total


def _reconcile_one(runtime: Runtime, org_id: int, wait: float) -> int | None:
    """Invoices re-read for one organisation (0 when already done tonight); None when busy."""
    with organisation_lock(runtime.engine, org_id, wait=wait, sleep=runtime.sleep) as held:
        if not held:
            return None
        started = runtime.clock.now()
        with runtime.sessions() as session:
            org = session.get_one(Organisation, org_id)
            cursor = session.scalar(
                select(SyncCursor).where(
                    SyncCursor.organisation_id == org_id, SyncCursor.entity == Entity.INVOICE.value
                )
            )
        if cursor is None or (cursor.last_full_at is not None and cursor.last_full_at > started - RECONCILED_WITHIN):
            return 0  # never synced yet (the first sync reads everything), or done tonight
        try:
            count = reconcile_open_invoices(
                runtime.sessions, org.id, runtime.platform(org.platform), runtime.access(org), runtime.clock
            )
        except (PlatformError, PluginError) as exc:
            report("reconcile", org_id, "failed", started=started, finished=runtime.clock.now(), error=exc)
            return 0
        with runtime.sessions.begin() as session:
            session.execute(
                update(SyncCursor).where(SyncCursor.id == cursor.id).values(last_full_at=runtime.clock.now())
            )
        report("reconcile", org_id, "reconciled", started=started, finished=runtime.clock.now(), invoices=count)
        return count


# -- webhooks and dispatch -------------------------------------------------------------------------


def process_webhooks(runtime: Runtime) -> int:
    """Process the webhook inbox; returns how many events were done."""
    return process_pending(runtime.sessions, runtime.platform, runtime.access, clock=runtime.clock, worker=worker_id())


def dispatch(runtime: Runtime, mailer: Mailer) -> int:
    """Send what the collection runs queued (re-checked, rendered, exactly once); returns how many
    went out. Reminder notes that could not be written back are retried here too."""
    from connector.delivery import dispatcher

    worker = dispatcher(runtime, mailer, worker=worker_id())
    sent = 0
    for _ in range(DISPATCH_PASSES):  # a busy morning is sent now, not 50 reminders a minute
        result = worker.run_once(limit=DISPATCH_BATCH)
        sent += result.sent
        handled = result.sent + result.cancelled + result.postponed + result.held + result.failed + result.stale
        if handled + result.lost < DISPATCH_BATCH:
            break  # the queue is empty for now
    worker.retry_notes()
    return sent


# -- the scheduler ---------------------------------------------------------------------------------


class Guarded:
    """A job as the scheduler runs it: a lost database (server restarted, connection cut, failover)
    makes it skip its next runs for 1 s, 2 s, 4 s … up to 60 s, then try again, and the worker
    never dies of it; any other error is logged with its traceback and the next run goes ahead.
    Claims taken before the failure simply expire (see the module docstring).

    Args:
        name: the job's name in log lines.
        job: the function, called with ``args``.
        args: its arguments.
        monotonic: the clock of the backoff (tests pass their own).
    """

    def __init__(
        self, name: str, job: Callable[..., object], *args: object, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.name, self.job, self.args = name, job, args
        self.failures = 0
        self._resume_at = 0.0
        self._monotonic = monotonic

    def __call__(self) -> object:
        if self._monotonic() < self._resume_at:
            return None
        try:
            result = self.job(*self.args)
        except (OperationalError, InterfaceError) as exc:
            self.failures += 1
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.failures - 1))
            self._resume_at = self._monotonic() + delay
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            log.warning(
                "job=%s outcome=database_unavailable retry_in=%.0fs worker=%s: %s",
                self.name,
                delay,
                worker_id(),
                reason,
            )
            return None
        except Exception:
            log.exception("job=%s outcome=error worker=%s", self.name, worker_id())
            return None
        if self.failures:
            log.info("job=%s outcome=database_back worker=%s after=%d", self.name, worker_id(), self.failures)
        self.failures = 0
        return result


@dataclass(frozen=True, slots=True)
class Pace:
    """How often the jobs fire.

    Attributes:
        tick: seconds between runs of the due syncs and the webhook inbox.
        minute: seconds between runs of the dispatcher and the due collection runs ("every minute").
        keep_alive: seconds between token keep-alive passes.
        sync_every: the interval of each organisation's incremental sync.
    """

    tick: float = 10.0
    minute: float = 60.0
    keep_alive: float = 300.0
    sync_every: timedelta = SYNC_EVERY


def start(runtime: Runtime, mailer: Mailer | None = None, *, pace: Pace | None = None) -> BackgroundScheduler:
    """Fire the jobs in this process: due syncs and the webhook inbox every ``tick``; the due
    collection runs and the dispatcher (when a mailer is given) every ``minute``; token keep-alive
    every ``keep_alive`` seconds; the reconcile of open invoices at 02:15 UTC each night. Every job is
    :class:`Guarded`, at most one instance of each runs at a time, and missed runs are coalesced."""
    pace = pace or Pace()
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # APScheduler logs every run at INFO; the jobs' own lines say what happened.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # A pass still running when its next tick comes is the normal case under load (the tick is
    # skipped, max_instances=1), not a warning an operator should be paged for.
    logging.getLogger("apscheduler.scheduler").addFilter(_not_still_running)
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )

    def add(name: str, job: Callable[..., object], trigger: str, *args: object, **when: Any) -> None:
        scheduler.add_job(Guarded(name, job, *args), trigger, id=name, name=name, **when)

    add("sync_due", _sync_due_every, "interval", runtime, pace.sync_every, seconds=pace.tick)
    add("webhooks", process_webhooks, "interval", runtime, seconds=pace.tick)
    add("collect", run_due_collections, "interval", runtime, seconds=pace.minute)
    add("keep_alive", keep_alive, "interval", runtime, seconds=pace.keep_alive)
    add("reconcile", reconcile_all, "cron", runtime, hour=2, minute=15)
    if mailer is not None:
        add("dispatch", dispatch, "interval", runtime, mailer, seconds=pace.minute)
    scheduler.start()
    return scheduler


def _not_still_running(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()


def _sync_due_every(runtime: Runtime, every: timedelta) -> int:
    return sync_due(runtime, every=every)
