"""The work that runs by itself: syncing organisations that are due and processing the webhook
inbox. Each job is a small function of a :class:`connector.runtime.Runtime`; :func:`start`
fires them from an APScheduler 3 background scheduler (in-memory job store: coordination is the
database's claims, never the scheduler's; see ARCHITECTURE.md "Scale-out").

Organisation time zones, the morning collection run, token keep-alive and several workers on
PostgreSQL come with the scheduler issue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select, update

from connector.db import Connection, ConnectionStatus, Organisation
from connector.errors import AuthRevoked, PlatformError, PluginError, RateLimited
from connector.mail import Mailer
from connector.runtime import Runtime
from connector.sync import reconcile_open_invoices, sync_organisation
from connector.webhooks import process_pending

log = logging.getLogger(__name__)

SYNC_EVERY = timedelta(minutes=15)
RETRY_AFTER_FAILURE = timedelta(minutes=5)


def claim_due(runtime: Runtime, *, limit: int = 10) -> list[int]:
    """Organisations due for sync with a working connection, each claimed by moving its
    ``next_sync_at`` forward with a conditional UPDATE (rowcount 1: it is ours)."""
    now = runtime.clock.now()
    with runtime.sessions() as session:
        due = session.execute(
            select(Organisation.id, Organisation.next_sync_at)
            .join(Connection, Organisation.connection_id == Connection.id)
            .where(Organisation.next_sync_at <= now, Connection.status == ConnectionStatus.ACTIVE.value)
            .order_by(Organisation.next_sync_at)
            .limit(limit)
        ).all()
    claimed = []
    for org_id, seen in due:
        with runtime.sessions.begin() as session:
            result = session.execute(
                update(Organisation)
                .where(Organisation.id == org_id, Organisation.next_sync_at == seen)
                .values(next_sync_at=now + SYNC_EVERY)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(org_id)
    return claimed


def sync_due(runtime: Runtime) -> int:
    """Sync every organisation that is due; returns how many synced completely."""
    done = 0
    for org_id in claim_due(runtime):
        with runtime.sessions() as session:
            org = session.get_one(Organisation, org_id)
        try:
            sync_organisation(
                runtime.sessions, org.id, runtime.platform(org.platform), runtime.access(org), runtime.clock
            )
            done += 1
        except RateLimited as exc:
            _reschedule(runtime, org.id, timedelta(seconds=exc.retry_after))
        except AuthRevoked as exc:
            log.warning("organisation %s needs to be reconnected: %s", org.id, exc)
        except (PlatformError, PluginError) as exc:
            log.warning("sync of organisation %s failed, retrying in %s: %s", org.id, RETRY_AFTER_FAILURE, exc)
            _reschedule(runtime, org.id, RETRY_AFTER_FAILURE)
    return done


def reconcile_all(runtime: Runtime) -> int:
    """The nightly safety net: re-read every open invoice of every connected organisation by id
    (catches what incremental sync can miss: QBO deletions inside a capped CDC window, Xero's
    If-Modified-Since gaps). Returns how many invoices were re-read."""
    with runtime.sessions() as session:
        orgs = session.scalars(
            select(Organisation)
            .join(Connection, Organisation.connection_id == Connection.id)
            .where(Connection.status == ConnectionStatus.ACTIVE.value)
        ).all()
    total = 0
    for org in orgs:
        try:
            total += reconcile_open_invoices(
                runtime.sessions, org.id, runtime.platform(org.platform), runtime.access(org), runtime.clock
            )
        except (PlatformError, PluginError) as exc:
            log.warning("nightly reconcile of organisation %s failed: %s", org.id, exc)
    return total


def process_webhooks(runtime: Runtime) -> int:
    """Process the webhook inbox; returns how many events were done."""
    return process_pending(runtime.sessions, runtime.platform, runtime.access, clock=runtime.clock)


def _reschedule(runtime: Runtime, org_id: int, after: timedelta) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(Organisation).where(Organisation.id == org_id).values(next_sync_at=runtime.clock.now() + after)
        )


def dispatch(runtime: Runtime, mailer: Mailer) -> int:
    """Send what the collection runs queued (re-checked, rendered, exactly once); returns how many
    went out. Reminder notes that could not be written back are retried here too."""
    from connector.delivery import dispatcher

    worker = dispatcher(runtime, mailer, worker="scheduler")
    report = worker.run_once()
    worker.retry_notes()
    return report.sent


def start(runtime: Runtime, mailer: Mailer | None = None) -> BackgroundScheduler:
    """Fire the jobs in this process: due syncs and the webhook inbox every 10 s, the dispatcher
    every minute (when a mailer is given), the reconcile of open invoices at 02:15 UTC each night.
    Collection runs are started by ``arcadence collect``; the daily run at each organisation's local
    time comes with the scheduler issue."""
    scheduler = BackgroundScheduler(
        timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    )
    scheduler.add_job(sync_due, "interval", seconds=10, args=[runtime], id="sync_due")
    scheduler.add_job(process_webhooks, "interval", seconds=10, args=[runtime], id="webhooks")
    scheduler.add_job(reconcile_all, "cron", hour=2, minute=15, args=[runtime], id="reconcile")
    if mailer is not None:
        scheduler.add_job(dispatch, "interval", seconds=60, args=[runtime, mailer], id="dispatch")
    scheduler.start()
    return scheduler
