"""Rule 5: spacing between touches, and the broken-promise exception."""

from __future__ import annotations

import pytest

from core.model import PauseKind, TouchStatus
from tests.builders import invoice, outcome, outcomes, pause, policy, run, touch


@pytest.mark.parametrize(
    ("ago", "min_days", "expected"),
    [
        pytest.param(0, 7, "too_soon", id="touched-today"),
        pytest.param(6, 7, "too_soon", id="six-days-ago"),
        pytest.param(7, 7, "s1", id="exactly-the-spacing"),
        pytest.param(30, 7, "s1", id="long-ago"),
        pytest.param(9, 10, "too_soon", id="german-ten-days"),
        pytest.param(0, 0, "s1", id="no-spacing"),
    ],
)
def test_no_touch_within_the_spacing(ago: int, min_days: int, expected: str) -> None:
    # I2's touch counts for the customer; I1 itself was never chased.
    history = (touch(ago, ("I2", "s1", 1)),)
    result = run(
        invoice("I1"), invoice("I2", overdue=3), history=history, policy_=policy(min_days_between_touches=min_days)
    )
    assert outcome(result, "I1") == expected


@pytest.mark.parametrize(
    ("touched_customer", "currency", "status", "expected"),
    [
        pytest.param("C1", "USD", TouchStatus.SENT, "too_soon", id="any-currency-counts"),
        pytest.param("C1", "EUR", TouchStatus.IN_DOUBT, "too_soon", id="in-doubt-counts"),
        pytest.param("C2", "EUR", TouchStatus.SENT, "s1", id="other-customer-does-not-count"),
    ],
)
def test_spacing_is_per_customer_across_currencies(
    touched_customer: str, currency: str, status: TouchStatus, expected: str
) -> None:
    other = invoice("I9", customer=touched_customer, currency=currency, overdue=3)
    history = (touch(3, ("I9", "s1", 1), customer=touched_customer, status=status),)
    result = run(invoice("I1"), other, history=history)
    assert outcome(result, "I1") == expected


BROKEN_PROMISE_TABLE = [
    # promise until (days from today), history as (days ago, invoice, step, level), expected for I1, flags
    pytest.param(-5, ((3, "I2", "s1", 1),), "s1", ("broken_promise",), id="broken-promise-ignores-spacing"),
    pytest.param(-3, ((3, "I2", "s1", 1),), "s1", ("broken_promise",), id="first-day-after-grace"),
    pytest.param(-2, ((3, "I2", "s1", 1),), "paused_promise", (), id="still-in-grace"),
    pytest.param(-5, ((30, "I2", "s1", 1),), "s1", ("broken_promise",), id="flagged-even-outside-spacing"),
    pytest.param(-10, ((4, "I1", "s1", 1),), "too_soon", (), id="broken-promise-chased-once"),
    pytest.param(
        -10, ((12, "I1", "s1", 1), (3, "I2", "s1", 1)), "s2", ("broken_promise",), id="touch-before-break-is-no-chase"
    ),
]


@pytest.mark.parametrize(("until", "past", "expected", "flags"), BROKEN_PROMISE_TABLE)
def test_a_broken_promise_ignores_the_spacing_once(
    until: int, past: tuple[tuple[int, str, str, int], ...], expected: str, flags: tuple[str, ...]
) -> None:
    history = tuple(touch(ago, (inv, step, level)) for ago, inv, step, level in past)
    result = run(
        invoice("I1"), invoice("I2", overdue=3), history=history, pauses=(pause(PauseKind.PROMISE, until=until),)
    )
    assert outcome(result, "I1") == expected
    assert next((t.flags for t in result.touches if any(i.invoice_id == "I1" for i in t.invoices)), ()) == flags


def test_broken_promise_of_the_whole_customer_carries_its_invoices() -> None:
    result = run(
        invoice("I1"),
        invoice("I2", overdue=16),
        history=(touch(2, ("I2", "s1", 1)),),
        pauses=(pause(PauseKind.PROMISE, invoice=None, until=-4),),
    )
    assert outcomes(result) == {"I1": "s1", "I2": "s2"}
    assert result.touches[0].flags == ("broken_promise",)


def test_a_kept_promise_is_not_broken_by_an_open_ended_pause() -> None:
    result = run(invoice(), history=(touch(3, ("I2", "s1", 1)),), pauses=(pause(PauseKind.PROMISE, until=None),))
    assert outcome(result) == "paused_promise"
