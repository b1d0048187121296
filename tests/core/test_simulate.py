"""simulate: today and the following days, each day's touches fed into the next, nothing paid."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.engine import Organisation
from core.simulate import simulate
from tests.builders import TODAY, invoice, ledger, policy

SIMULATE_TABLE = [
    # overdue on the first day, first day, days, organisation, expected (day index, step) sends
    pytest.param(-5, TODAY, 60, None, [(2, "s0"), (9, "s1"), (19, "s2"), (35, "s3")], id="from-courtesy-to-final"),
    pytest.param(100, TODAY, 30, None, [(0, "s1"), (7, "s2"), (14, "s3"), (21, "s4")], id="old-invoice-climbs"),
    pytest.param(
        100,
        date(2026, 3, 14),
        30,
        Organisation("DE", business_days_only=True),
        [(2, "s1"), (9, "s2"), (16, "s3"), (24, "s4")],  # day 23 is Easter Monday
        id="weekend-start-waits-for-monday",
    ),
    pytest.param(
        100,
        date(2026, 3, 27),
        26,
        Organisation("DE", "BY", business_days_only=True),
        [(0, "s1"), (11, "s2"), (18, "s3"), (25, "s4")],
        id="easter-in-bavaria",
    ),
]


@pytest.mark.parametrize(("overdue", "start", "days", "org", "expected"), SIMULATE_TABLE)
def test_simulation_sends_each_step_once_at_its_spacing(
    overdue: int, start: date, days: int, org: Organisation | None, expected: list[tuple[int, str]]
) -> None:
    due = start - timedelta(days=overdue)
    result = simulate(ledger(invoice(due_date=due)), policy(), (), start, days, org)
    assert [d.day_date for d in result] == [start + timedelta(days=n) for n in range(days)]
    sent = [((d.day_date - start).days, i.step_id) for d in result for t in d.plan.touches for i in t.invoices]
    assert sent == expected


def test_simulation_of_one_day_is_the_plan_of_that_day() -> None:
    (day,) = simulate(ledger(invoice()), policy(), (), TODAY, 1)
    assert [t.step_id for t in day.plan.touches] == ["s1"]


def test_simulation_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        simulate(ledger(invoice()), policy(), (), TODAY, 0)
