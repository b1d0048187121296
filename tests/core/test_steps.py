"""Rule 3: which step an invoice is chased at — reached steps, one level at a time."""

from __future__ import annotations

import pytest

from core.model import TouchStatus
from tests.builders import invoice, outcome, policy, run, touch

# The contract's cadence: s0 -3 (L0), s1 +1 (L1), s2 +14 (L2), s3 +30 (L3), s4 +60 (L4 agency).
STEP_TABLE = [
    # overdue, history as (days ago, step, level), first_touch_max_level, expected
    pytest.param(-10, (), 1, "no_step_reached", id="long-before-due"),
    pytest.param(-4, (), 1, "no_step_reached", id="day-before-courtesy"),
    pytest.param(-3, (), 1, "s0", id="courtesy-reached"),
    pytest.param(0, (), 1, "s0", id="due-today-courtesy"),
    pytest.param(1, (), 1, "s1", id="first-day-overdue"),
    pytest.param(14, (), 1, "s1", id="first-touch-capped-at-level-1"),
    pytest.param(90, (), 1, "s1", id="very-old-invoice-starts-friendly"),
    pytest.param(20, (), 2, "s2", id="higher-first-touch-cap"),
    pytest.param(-3, ((0, "s0", 0),), 1, "next_step_not_reached", id="step-sent-today-not-again"),
    pytest.param(-1, ((2, "s0", 0),), 1, "next_step_not_reached", id="courtesy-done-s1-not-reached"),
    pytest.param(1, ((10, "s0", 0),), 1, "s1", id="courtesy-then-friendly"),
    pytest.param(40, ((50, "s0", 0),), 1, "s1", id="courtesy-then-only-one-level-up"),
    pytest.param(14, ((13, "s1", 1),), 1, "s2", id="friendly-then-firm"),
    pytest.param(13, ((12, "s1", 1),), 1, "next_step_not_reached", id="firm-one-day-ahead"),
    pytest.param(40, ((20, "s1", 1),), 1, "s2", id="final-reached-but-only-firm-allowed"),
    pytest.param(40, ((10, "s2", 2),), 1, "s3", id="firm-then-final"),
    pytest.param(20, ((8, "s2", 2),), 1, "next_step_not_reached", id="firm-done-final-ahead"),
    pytest.param(90, ((20, "s4", 4),), 1, "next_step_not_reached", id="cadence-exhausted"),
    pytest.param(40, ((9, "s3", 3),), 1, "next_step_not_reached", id="passed-over-steps-never-sent"),
    pytest.param(70, ((9, "s3", 3),), 1, "s4", id="after-final-agency"),
    pytest.param(40, ((30, "s1", 1), (10, "s2", 2)), 1, "s3", id="level-of-last-touch-counts"),
    pytest.param(40, ((10, "s2", 2), (30, "s1", 1)), 1, "s3", id="history-order-does-not-matter"),
    pytest.param(40, ((10, "retired", 2),), 1, "s3", id="unknown-step-keeps-its-level"),
]


@pytest.mark.parametrize(("overdue", "past", "first_max", "expected"), STEP_TABLE)
def test_chases_at_the_last_reached_step_one_level_at_a_time(
    overdue: int, past: tuple[tuple[int, str, int], ...], first_max: int, expected: str
) -> None:
    history = tuple(touch(ago, ("I1", step, level)) for ago, step, level in past)
    result = run(invoice(overdue=overdue), history=history, policy_=policy(first_touch_max_level=first_max))
    assert outcome(result) == expected


@pytest.mark.parametrize(
    "status",
    [pytest.param(TouchStatus.SENT, id="sent"), pytest.param(TouchStatus.IN_DOUBT, id="in-doubt-counts-as-sent")],
)
def test_an_in_doubt_touch_counts_as_sent(status: TouchStatus) -> None:
    result = run(invoice(overdue=14), history=(touch(13, ("I1", "s1", 1), status=status),))
    assert outcome(result) == "s2"


def test_history_of_one_invoice_does_not_move_another() -> None:
    history = (touch(10, ("I1", "s2", 2)),)
    result = run(invoice("I1", overdue=20), invoice("I2", overdue=20), history=history)
    assert outcome(result, "I1") == "next_step_not_reached"
    assert outcome(result, "I2") == "s1"
