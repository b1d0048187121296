"""The collection run: plan with the engine, then record each touch once in the outbox.

Each touch becomes one outbox row with a **unique key** (organisation, customer, currency, step,
sorted invoice ids, planned date): a second run the same day, a second process, a retried job
insert nothing new. Email touches wait (``pending``) for the dispatcher; heavy steps (call,
letter, notify owner, agency, legal, write-off review) are handed to a person as a task, never
sent by themselves. An email touch for a customer without an address creates a task to find one.

Each customer is planned with its own policy (:mod:`connector.ledger`). A policy in **test mode**
plans and shows but queues nothing: its touches are in the result's plan and counted in
``in_test_mode``, and no outbox row, task or "find an address" task is made for them, so the
dispatcher has nothing of theirs to send. Switching it on lets the next run queue them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock, local_today
from connector.db import Customer, OutboxMessage, OutboxStatus, Task, TaskStatus, User
from connector.db import Organisation as OrganisationRow
from connector.db.activity import ActivityLog
from connector.ledger import Snapshot, load_snapshot, merge, plan_groups
from core.engine import Plan, Touch
from core.policy import Action
from core.reasons import SkipReason

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What one collection run did.

    Attributes:
        today: the run's date in the organisation's time zone.
        plan: the engine's decision (touches and skipped invoices with reasons).
        created: outbox rows inserted now.
        existing: touches already in the outbox (a repeated run).
        tasks: tasks created for people.
        in_test_mode: touches planned under a policy in test mode, and so not queued.
    """

    today: date
    plan: Plan
    created: int
    existing: int
    tasks: int
    in_test_mode: int = 0


def dedupe_key(organisation_id: int, touch: Touch, planned: date) -> str:
    """The outbox key of a touch: the same touch on the same day always has the same key."""
    invoices = ",".join(sorted(i.invoice_id for i in touch.invoices))
    raw = f"{organisation_id}|{touch.customer_id}|{touch.currency}|{touch.step_id}|{invoices}|{planned.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()


def collect(
    sessions: sessionmaker[Session], organisation_id: int, clock: Clock, *, dry_run: bool = False
) -> CollectResult:
    """Plan today's touches for one organisation, each customer with its own policy, and record
    the new ones of policies that are switched on (nothing at all when ``dry_run``)."""
    with sessions() as session:
        org = session.get_one(OrganisationRow, organisation_id)
        today = local_today(clock, org.timezone)
        snapshot = load_snapshot(session, org)
    planned = plan_groups(snapshot, today)
    decided = merge(p for _, p in planned)
    testing = sum(len(p.touches) for g, p in planned if not g.sending)
    if dry_run:
        return CollectResult(today, decided, 0, 0, 0, testing)
    sending = merge(p for g, p in planned if g.sending)
    created = existing = tasks = 0
    now = clock.now()
    for touch in sending.touches:
        with sessions.begin() as session:
            inserted = _insert(session, organisation_id, snapshot, touch, today, now)
            if inserted is None:
                existing += 1
                continue
            created += 1
            if touch.action is not Action.EMAIL:
                _hand_over(session, organisation_id, snapshot, touch, inserted, now)
                tasks += 1
    with sessions.begin() as session:
        tasks += _find_email_tasks(session, organisation_id, snapshot, sending, now)
    log.info(
        "collection run of organisation %s on %s: %d new, %d already planned, %d task(s), %d in test mode (not queued)",
        organisation_id,
        today,
        created,
        existing,
        tasks,
        testing,
    )
    return CollectResult(today, decided, created, existing, tasks, testing)


def cancel_pending(
    session: Session, organisation_id: int, customer_ids: Collection[int], *, reason: str, actor: str, now: datetime
) -> int:
    """Cancel the reminders still waiting for the dispatcher (``pending``) of these customers, each
    logged: a policy put back in test mode sends nothing more, not even what an earlier run queued.
    Rows a dispatcher has already claimed are in flight and left to it. A cancelled touch is not
    history, so the next run after switching on plans it again.

    Returns:
        How many were cancelled.
    """
    if not customer_ids:
        return 0
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.organisation_id == organisation_id,
            OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.customer_id.in_(sorted(customer_ids)),
        )
    ).all()
    for row in rows:
        row.status, row.last_error = OutboxStatus.CANCELLED.value, reason
        ActivityLog(session, organisation_id).append(
            kind="reminder_cancelled",
            actor=actor,
            occurred_at=now,
            customer_id=row.customer_id,
            summary=f"cancelled before sending: {reason}",
            data={"outbox_id": row.id, "invoices": row.payload.get("invoices", [])},
        )
    return len(rows)


def _payload(touch: Touch) -> dict[str, Any]:
    return {
        "language": touch.language,
        "amount_due": touch.amount_due.cents(),
        "invoices": [{"id": i.invoice_id, "step": i.step_id, "level": i.level} for i in touch.invoices],
        "flags": list(touch.flags),
        "unapplied_credit": touch.unapplied_credit.cents() if touch.unapplied_credit else None,
        "claim": {
            "interest": touch.claim.interest.cents(),
            "fixed_fees": touch.claim.fixed_fees.cents(),
            "rate_percent": str(touch.claim.rate_percent),
            "basis": touch.claim.basis,
        }
        if touch.claim
        else None,
    }


def _insert(
    session: Session, org_id: int, snapshot: Snapshot, touch: Touch, today: date, now: datetime
) -> OutboxMessage | None:
    """Insert the touch's outbox row; None when the key is already there (this or another run)."""
    key = dedupe_key(org_id, touch, today)
    if (
        session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.organisation_id == org_id, OutboxMessage.dedupe_key == key)
        )
        is not None
    ):
        return None
    heavy = touch.action is not Action.EMAIL
    row = OutboxMessage(
        organisation_id=org_id,
        dedupe_key=key,
        customer_id=snapshot.customer_rows[touch.customer_id],
        currency=touch.currency,
        step_key=touch.step_id,
        level=touch.level,
        action=touch.action.value,
        template_key=touch.template,
        planned_date=today,
        invoice_ids=",".join(sorted(i.invoice_id for i in touch.invoices)),
        payload=_payload(touch),
        status=(OutboxStatus.HANDED_OVER if heavy else OutboxStatus.PENDING).value,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent run may insert the same key meanwhile
            session.add(row)
    except IntegrityError:
        return None
    ActivityLog(session, org_id).append(
        kind="task_planned" if heavy else "reminder_planned",
        actor="scheduler",
        occurred_at=now,
        customer_id=row.customer_id,
        summary=f"{touch.action.value} at level {touch.level} ({touch.step_id}) for {touch.amount_due}",
        data={"outbox_id": row.id, "invoices": row.payload["invoices"]},
    )
    return row


def _assignee(session: Session, snapshot: Snapshot, customer_external_id: str) -> int | None:
    customer = session.get_one(Customer, snapshot.customer_rows[customer_external_id])
    if customer.owner_user_id is not None:
        return customer.owner_user_id
    org = session.get_one(OrganisationRow, customer.organisation_id)
    return org.default_collector_id


def _hand_over(
    session: Session, org_id: int, snapshot: Snapshot, touch: Touch, row: OutboxMessage, now: datetime
) -> None:
    numbers = ", ".join(i.invoice_id for i in touch.invoices)
    session.add(
        Task(
            organisation_id=org_id,
            customer_id=row.customer_id,
            outbox_id=row.id,
            kind=touch.action.value,
            title=f"{touch.action.value.replace('_', ' ')} (level {touch.level}): invoices {numbers}, "
            f"{touch.amount_due} open"
            + (f"; print it with: arcadence letter {row.id}" if touch.action is Action.LETTER else ""),
            assignee_id=_assignee(session, snapshot, touch.customer_id),
            due_date=row.planned_date,
            created_at=now,
        )
    )


def _find_email_tasks(session: Session, org_id: int, snapshot: Snapshot, decided: Plan, now: datetime) -> int:
    """One open "find an email address" task per customer whose email touch could not be made."""
    customers = sorted({s.customer_id for s in decided.skipped if s.reason is SkipReason.NO_EMAIL_ADDRESS})
    created = 0
    for external_id in customers:
        customer_row = snapshot.customer_rows[external_id]
        open_task = session.scalar(
            select(Task.id).where(
                Task.organisation_id == org_id,
                Task.customer_id == customer_row,
                Task.kind == "find_email",
                Task.status == TaskStatus.OPEN.value,
            )
        )
        if open_task is None:
            session.add(
                Task(
                    organisation_id=org_id,
                    customer_id=customer_row,
                    kind="find_email",
                    title="Find an email address: a reminder is due but the customer has none",
                    assignee_id=_assignee(session, snapshot, external_id),
                    created_at=now,
                )
            )
            created += 1
    return created


#: What a person may do with a row that needs them, and the state it moves to.
RESOLUTIONS = {
    "confirm_sent": ({OutboxStatus.IN_DOUBT.value}, OutboxStatus.SENT),
    "resend": ({OutboxStatus.IN_DOUBT.value, OutboxStatus.FAILED.value}, OutboxStatus.PENDING),
    "release": ({OutboxStatus.HELD.value}, OutboxStatus.PENDING),
    "cancel": (
        {OutboxStatus.IN_DOUBT.value, OutboxStatus.HELD.value, OutboxStatus.FAILED.value},
        OutboxStatus.CANCELLED,
    ),
}


class NotResolvable(Exception):
    """The row is not in a state that action applies to; the message says which."""


def resolve(
    sessions: sessionmaker[Session], outbox_id: int, action: str, *, actor: str, now: datetime
) -> OutboxMessage:
    """A person's decision on a row that needs one: an in-doubt reminder was sent (``confirm_sent``)
    or must go again (``resend``, same Message-ID so mail clients can tell), a held one is released
    after its template was fixed, or one is cancelled. Logged with who decided.

    Raises:
        NotResolvable: unknown action, unknown row, or a row in another state.
    """
    if action not in RESOLUTIONS:
        raise NotResolvable(f"unknown action {action!r} (one of {', '.join(RESOLUTIONS)})")
    allowed, target = RESOLUTIONS[action]
    with sessions.begin() as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:
            raise NotResolvable(f"no outbox row {outbox_id}")
        if row.status not in allowed:
            raise NotResolvable(
                f"outbox row {outbox_id} is {row.status}; {action} applies to {', '.join(sorted(allowed))}"
            )
        before, row.status, row.not_before, row.claimed_by = row.status, target.value, None, None
        if target is OutboxStatus.SENT and row.sent_at is None:
            row.sent_at = now
        ActivityLog(session, row.organisation_id).append(
            kind=f"reminder_{action}",
            actor=actor,
            occurred_at=now,
            customer_id=row.customer_id,
            summary=f"{action.replace('_', ' ')} by {_who(session, actor)}: {before} -> {target.value}",
            data={"outbox_id": row.id, "message_id": row.message_id},
        )
        return row


def _who(session: Session, actor: str) -> str:
    """How the log names the actor: a person by name (else e-mail), anything else as given."""
    user = session.get(User, int(actor)) if actor.isdigit() else None
    return (user.name or user.email) if user is not None else actor
