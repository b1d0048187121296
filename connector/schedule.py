"""The daily collection run of every organisation, at its own local run time (rules in
:mod:`core.schedule`): claim, then act, then record.

- **Claim** (:func:`claim_due_runs`): an organisation whose ``next_run_at`` has come is taken by a
  conditional UPDATE that only matches while ``next_run_at`` and ``last_run_on`` are still what
  this worker read (rowcount 1: it is ours). A run that is due moves ``next_run_at`` to a lease
  (now + :data:`RUN_LEASE`); one that is not (the process was down past midnight, so yesterday's
  run is gone; settings changed) just gets its next run instant.
- **Act**: :func:`connector.outbox.collect` plans and queues the day's touches.
- **Record**: ``last_run_on``, the next ``next_run_at`` and one ``collection_run`` activity, in one
  transaction, and only if nobody recorded that local day yet.

A worker that dies between claim and record leaves the lease to run out; the organisation is then
claimed again and, on the same local day, runs again. That is harmless: the outbox key makes a
repeated run insert nothing, and the record step writes one activity per day. After local midnight
the missed day is not replayed. A failed run is retried after :data:`RETRY_AFTER_FAILURE`, the
same day only; one organisation's failure never stops the others.

**Dry runs.** The run happens every run day whatever the switches say, so the firm sees what would
go out (the ``collection_run`` activity counts it), but it queues nothing — planned, not sent —
while the organisation's ``collections_enabled`` is off, or its connection is not active (the local
ledger can no longer be brought up to date, so nothing is queued from it). A policy in **test
mode** (``policies.switched_on_at`` empty) is honoured inside ``collect`` per policy: its
customers' touches are planned and counted (``in_test_mode``), never queued, while customers whose
own policy is switched on are still served; so the run is not made dry for the whole organisation
because its main policy is in test mode.

**Run days.** Business days of the organisation's country and subdivision, unless a policy in use
(the active one, or one a customer follows) sends on every day: the engine itself keeps the
business-days-only policies quiet on days off, so the run must happen on the days the others need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from connector.db import Connection, ConnectionStatus, Customer, Organisation, Policy
from connector.db.activity import ActivityLog
from connector.observe import log_outcome, worker_id
from connector.outbox import CollectResult, collect
from connector.runtime import Runtime
from core.schedule import RunSchedule, ScheduleError, due_run, next_run_at, parse_run_time

#: How long a claimed run is ours before another worker may take it over (a run takes seconds).
RUN_LEASE = timedelta(minutes=30)
#: When a failed run is tried again (the same local day only).
RETRY_AFTER_FAILURE = timedelta(minutes=15)
#: When an organisation whose schedule settings are unusable is looked at again.
RETRY_AFTER_BAD_SETTINGS = timedelta(hours=1)
#: Organisations claimed at a time: small, so that several workers share a busy morning evenly.
RUN_BATCH = 10
#: Organisations run per call of :func:`run_due_collections` at most (the next tick goes on).
RUN_LIMIT = 100


@dataclass(frozen=True, slots=True)
class RunClaim:
    """One organisation's run, claimed by this worker.

    Attributes:
        organisation_id: the organisation.
        run_on: the local date the run is for.
        lease_until: ``next_run_at`` as the claim set it; the run is this worker's until then.
    """

    organisation_id: int
    run_on: date
    lease_until: datetime


def schedule_of(session: Session, org: Organisation) -> RunSchedule:
    """The organisation's schedule from its settings and the policies in use.

    Raises:
        ScheduleError: an unusable time zone, run time or holiday region (the message names it).
    """
    return RunSchedule(
        timezone=org.timezone,
        run_time=parse_run_time(org.run_time),
        country=org.country,
        subdivision=org.subdivision,
        business_days_only=_business_days_only(session, org.id),
    )


def schedule_organisation(session: Session, org: Organisation, now: datetime) -> datetime:
    """(Re)compute ``org.next_run_at`` in the caller's transaction, when the organisation is
    created or its run time, time zone, country, subdivision or policies change.

    ``last_run_on`` is kept: a run time moved later on a day that already ran does not run twice;
    moved earlier to a time already past on a day that has not run, the run is due at once.

    Returns:
        The new ``next_run_at``.

    Raises:
        ScheduleError: unusable settings (nothing is changed then).
    """
    org.next_run_at = next_run_at(schedule_of(session, org), org.last_run_on, now)
    return org.next_run_at


def claim_due_runs(session: Session, now: datetime, limit: int) -> list[RunClaim]:
    """Claim up to ``limit`` organisations whose ``next_run_at`` has come (or was never set), in
    the caller's transaction; returns the runs that are due. See the module docstring."""
    return _claim_batch(session, now, limit)[1]


def _claim_batch(session: Session, now: datetime, limit: int) -> tuple[int, list[RunClaim]]:
    """:func:`claim_due_runs`, plus how many organisations it looked at (fewer than ``limit``:
    nothing else is due now)."""
    due = session.scalars(
        select(Organisation)
        .where(or_(Organisation.next_run_at <= now, Organisation.next_run_at.is_(None)))
        .order_by(Organisation.next_run_at, Organisation.id)
        .limit(limit)
    ).all()
    claims = []
    for org in due:
        run_on, new_next = _decide(session, org, now)
        seen_next = (
            Organisation.next_run_at.is_(None)
            if org.next_run_at is None
            else Organisation.next_run_at == org.next_run_at
        )
        seen_last = (
            Organisation.last_run_on.is_(None)
            if org.last_run_on is None
            else Organisation.last_run_on == org.last_run_on
        )
        result = session.execute(
            update(Organisation)
            .where(Organisation.id == org.id, seen_next, seen_last)
            .values(next_run_at=new_next)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker got there first
        if run_on is not None:
            claims.append(RunClaim(org.id, run_on, new_next))
        else:
            log_outcome("collect", org.id, "rescheduled", worker=worker_id(), next_run_at=new_next)
    return len(due), claims


def run_due_collections(runtime: Runtime, *, limit: int = RUN_LIMIT, batch: int = RUN_BATCH) -> int:
    """Run the collection of every organisation whose run is due now, claiming ``batch`` at a
    time and looking at ``limit`` organisations per call at most; returns how many runs were
    recorded (dry runs included)."""
    recorded = looked_at = 0
    while looked_at < limit:
        size = min(batch, limit - looked_at)
        with runtime.sessions.begin() as session:
            examined, claims = _claim_batch(session, runtime.clock.now(), size)
        looked_at += examined
        recorded += sum(1 for claim in claims if _run(runtime, claim))
        if examined < size:
            break
    return recorded


def _decide(session: Session, org: Organisation, now: datetime) -> tuple[date | None, datetime]:
    """The local date due now (or None) and the ``next_run_at`` the claim sets."""
    try:
        schedule = schedule_of(session, org)
    except ScheduleError as exc:
        log_outcome("collect", org.id, "bad_settings", worker=worker_id(), error=exc)
        return None, now + RETRY_AFTER_BAD_SETTINGS
    run_on = due_run(schedule, org.last_run_on, now)
    if run_on is not None:
        return run_on, now + RUN_LEASE
    return None, next_run_at(schedule, org.last_run_on, now)


def _run(runtime: Runtime, claim: RunClaim) -> bool:
    """Act and record one claimed run; False when it failed (retried later the same day)."""
    with runtime.sessions() as session:
        reason = dry_run_reason(session, session.get_one(Organisation, claim.organisation_id))
    try:
        result = collect(runtime.sessions, claim.organisation_id, runtime.clock, dry_run=reason is not None)
    except Exception:  # a job loop: any failure of one organisation is logged, the others go on
        log_outcome(
            "collect",
            claim.organisation_id,
            "failed",
            exc_info=True,
            worker=worker_id(),
            run_on=claim.run_on,
            retry_in=RETRY_AFTER_FAILURE,
        )
        _retry_later(runtime, claim)
        return False
    return _record(runtime, claim, result, reason)


def dry_run_reason(session: Session, org: Organisation) -> str | None:
    """Why the organisation's run plans without queuing, or None when it queues."""
    if not org.collections_enabled:
        return "collections_off"
    if org.connection_id is None:
        return "not_connected"
    status = session.scalar(select(Connection.status).where(Connection.id == org.connection_id))
    if status != ConnectionStatus.ACTIVE.value:
        return f"connection_{status}"
    return None


def _record(runtime: Runtime, claim: RunClaim, result: CollectResult, reason: str | None) -> bool:
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        org = session.get_one(Organisation, claim.organisation_id)
        try:
            following = next_run_at(schedule_of(session, org), claim.run_on, now)
        except ScheduleError:
            following = now + RETRY_AFTER_BAD_SETTINGS
        recorded = session.execute(
            update(Organisation)
            .where(
                Organisation.id == org.id,
                or_(Organisation.last_run_on.is_(None), Organisation.last_run_on < claim.run_on),
            )
            .values(last_run_on=claim.run_on, next_run_at=following)
            .execution_options(synchronize_session=False)
        )
        if recorded.rowcount != 1:  # type: ignore[attr-defined]
            log_outcome("collect", org.id, "already_recorded", worker=worker_id(), run_on=claim.run_on)
            return False
        counts: dict[str, Any] = {
            "planned": len(result.plan.touches),
            "created": result.created,
            "existing": result.existing,
            "tasks": result.tasks,
            "in_test_mode": result.in_test_mode,
        }
        outcome = "queued" if reason is None else "dry_run"
        ActivityLog(session, org.id).append(
            kind="collection_run",
            actor="scheduler",
            occurred_at=now,
            summary=_summary(claim.run_on, outcome, reason, counts),
            data={"run_on": claim.run_on.isoformat(), "outcome": outcome, "reason": reason, **counts},
        )
    fields: dict[str, Any] = {"worker": worker_id(), "run_on": claim.run_on}
    fields.update({"reason": reason} if reason else {})
    log_outcome("collect", claim.organisation_id, outcome, **fields, **counts, next_run_at=following)
    return True


def _summary(run_on: date, outcome: str, reason: str | None, counts: dict[str, int]) -> str:
    if outcome == "dry_run":
        return f"collection run of {run_on} planned {counts['planned']} touch(es), queued none ({reason})"
    return (
        f"collection run of {run_on}: {counts['created']} new, {counts['existing']} already planned, "
        f"{counts['tasks']} task(s), {counts['in_test_mode']} in test mode"
    )


def _retry_later(runtime: Runtime, claim: RunClaim) -> None:
    """Give the failed run back for a retry, unless someone else took it over meanwhile."""
    with runtime.sessions.begin() as session:
        session.execute(
            update(Organisation)
            .where(Organisation.id == claim.organisation_id, Organisation.next_run_at == claim.lease_until)
            .values(next_run_at=runtime.clock.now() + RETRY_AFTER_FAILURE)
            .execution_options(synchronize_session=False)
        )


def _business_days_only(session: Session, org_id: int) -> bool:
    """False when a policy in use (the active one, or one a customer follows) sends every day."""
    followed = select(Customer.policy_id).where(Customer.organisation_id == org_id, Customer.policy_id.is_not(None))
    flags = session.scalars(
        select(Policy.business_days_only).where(
            Policy.organisation_id == org_id, or_(Policy.active.is_(True), Policy.id.in_(followed))
        )
    ).all()
    return all(flags)
