"""The cadence preview: what a policy would do over the next days on the organisation's real
ledger, as a calendar (touches per day and level) and a list of the first touches.

It is :func:`core.simulate.simulate` on the customers the policy plans (its group in the
snapshot); a policy no customer follows yet is previewed across every customer, and the page
says so. Nothing is written: the preview is the engine's answer, read-only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from connector.clock import Clock, local_today
from connector.db import Organisation
from connector.db import Policy as PolicyRow
from connector.ledger import PolicyGroup, Snapshot, load_snapshot, policy_group, simulate_group
from core.model import Money
from core.policy import MAX_LEVEL

DAYS = 90
"""How far the preview looks ahead (the product promise: the next 90 days)."""
FIRST = 50
"""How many touches the list shows."""


@dataclass(frozen=True, slots=True)
class PreviewTouch:
    """One touch of the preview, ready to show.

    Attributes:
        day_date: the day it would be made.
        customer: the customer's name.
        level: its level.
        action: ``email`` or a task for a person (``call``, ``letter`` …).
        invoices: the invoice numbers it covers.
        amount: the amount due.
    """

    day_date: date
    customer: str
    level: int
    action: str
    invoices: tuple[str, ...]
    amount: Money


@dataclass(frozen=True, slots=True)
class Preview:
    """A policy's next days.

    Attributes:
        start: the first day (today in the organisation's time zone).
        per_day: touches per day and level: ``{day: {level: count}}`` (days without touches absent).
        per_level: touches per level over the whole period.
        touches: the first :data:`FIRST` touches, in order.
        total: every touch of the period.
        customers: how many customers were planned.
        whole_ledger: True when no customer follows the policy yet and it was tried on all of them.
    """

    start: date
    per_day: dict[date, dict[int, int]]
    per_level: dict[int, int]
    touches: tuple[PreviewTouch, ...]
    total: int
    customers: int
    whole_ledger: bool

    def weeks(self) -> list[list[date]]:
        """The calendar: whole weeks (Monday first) covering the period."""
        first = self.start - timedelta(days=self.start.weekday())
        last = self.start + timedelta(days=DAYS - 1)
        weeks, day = [], first
        while day <= last:
            weeks.append([day + timedelta(days=n) for n in range(7)])
            day += timedelta(days=7)
        return weeks

    def in_period(self, day: date) -> bool:
        """True for the days the preview covers."""
        return self.start <= day < self.start + timedelta(days=DAYS)


LEVELS = tuple(range(MAX_LEVEL + 1))


def group_for(snapshot: Snapshot, org: Organisation, row: PolicyRow) -> tuple[PolicyGroup, bool]:
    """The group the policy plans, or the policy on every customer when it plans none yet."""
    group = next((g for g in snapshot.groups if g.policy_id == row.id and g.customers), None)
    if group is not None:
        return group, False
    return policy_group(org, row, (c.id for c in snapshot.ledger.customers)), True


def preview(session: Session, org: Organisation, row: PolicyRow, clock: Clock, days: int = DAYS) -> Preview:
    """Simulate ``row`` on the organisation's ledger from today for ``days`` days."""
    snapshot = load_snapshot(session, org)
    group, whole = group_for(snapshot, org, row)
    start = local_today(clock, org.timezone)
    plans = simulate_group(snapshot, group, start, days)
    names = {c.id: c.name for c in snapshot.ledger.customers}
    numbers = {i.id: i.number or i.id for i in snapshot.ledger.invoices}
    per_day: dict[date, dict[int, int]] = {}
    per_level: Counter[int] = Counter()
    touches: list[PreviewTouch] = []
    for day in plans:
        if not day.plan.touches:
            continue
        counts = Counter(t.level for t in day.plan.touches)
        per_day[day.day_date] = dict(sorted(counts.items()))
        per_level.update(counts)
        touches += (
            PreviewTouch(
                day.day_date,
                names.get(t.customer_id, t.customer_id),
                t.level,
                t.action.value,
                tuple(numbers.get(i.invoice_id, i.invoice_id) for i in t.invoices),
                t.amount_due,
            )
            for t in day.plan.touches
        )
    return Preview(
        start=start,
        per_day=per_day,
        per_level=dict(sorted(per_level.items())),
        touches=tuple(touches[:FIRST]),
        total=len(touches),
        customers=len(group.customers),
        whole_ledger=whole,
    )
