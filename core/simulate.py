"""Preview the cadence: the plans of today and the following days, as if nothing were paid.

Each day is planned by :func:`core.engine.plan` itself; its touches are added to the history as
sent before the next day is planned, so the preview shows exactly what the daily run would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from core.engine import Organisation, Plan, plan
from core.model import Ledger, PastTouch, TouchStatus
from core.policy import Policy


@dataclass(frozen=True, slots=True)
class DayPlan:
    """The plan of one day of a simulation.

    Attributes:
        day_date: the day.
        plan: what the engine decided that day.
    """

    day_date: date
    plan: Plan


def simulate(
    ledger: Ledger,
    policy: Policy,
    history: Sequence[PastTouch],
    start: date,
    days: int,
    organisation: Organisation | None = None,
) -> list[DayPlan]:
    """Plan ``days`` days from ``start``, feeding each day's touches into the next day's history.

    Args:
        ledger: the ledger, unchanged throughout (nothing gets paid).
        policy: the cadence.
        history: the touches made before ``start``.
        start: the first day.
        days: how many days, at least 1.
        organisation: the organisation's settings.

    Returns:
        One :class:`DayPlan` per day, in order.

    Raises:
        ValueError: for ``days`` below 1, and whatever :func:`core.engine.plan` raises.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    past = list(history)
    result = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        decided = plan(ledger, policy, past, day, organisation)
        past += (PastTouch(day, t.customer_id, TouchStatus.SENT, t.invoices) for t in decided.touches)
        result.append(DayPlan(day, decided))
    return result
