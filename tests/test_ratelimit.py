"""The per-organisation rate limiter, on a fixed clock whose sleep advances it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.clock import FixedClock
from connector.errors import RateLimited
from connector.ratelimit import RateLimiter

START = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


class SleepingClock(FixedClock):
    def __init__(self) -> None:
        super().__init__(START)
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(timedelta(seconds=seconds))


def _limiter(clock: SleepingClock, per_minute: float = 60, burst: int = 5) -> RateLimiter:
    return RateLimiter(per_minute=per_minute, burst=burst, clock=clock, sleep=clock.sleep, max_wait=30)


def test_a_burst_goes_through_then_calls_are_spaced_to_the_rate() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock, per_minute=60, burst=5)
    for _ in range(5):
        limiter.acquire("quickbooks:1")
    assert clock.slept == []
    for _ in range(3):
        limiter.acquire("quickbooks:1")
    assert clock.slept == pytest.approx([1.0, 1.0, 1.0])


def test_sixty_calls_a_minute_never_exceed_the_budget_over_ten_minutes() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock, per_minute=60, burst=10)
    stamps = []
    for _ in range(700):
        limiter.acquire("xero:t1")
        stamps.append(clock.now())
    for i in range(len(stamps) - 71):  # any 60-second window holds at most 60 + burst calls
        window = [s for s in stamps[i : i + 80] if s - stamps[i] < timedelta(seconds=60)]
        assert len(window) <= 70


def test_keys_do_not_share_a_budget() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock, burst=1)
    limiter.acquire("quickbooks:1")
    limiter.acquire("quickbooks:2")
    assert clock.slept == []


def test_a_short_park_is_waited_out() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock)
    limiter.park("quickbooks:1", 12)
    assert limiter.parked_until("quickbooks:1") == START + timedelta(seconds=12)
    limiter.acquire("quickbooks:1")
    assert clock.now() >= START + timedelta(seconds=12)
    assert limiter.parked_until("quickbooks:1") is None


def test_a_long_park_raises_instead_of_sleeping_for_hours() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock)
    limiter.park("xero:t1", 66975)  # Xero's daily limit (notes/xero.md §3)
    with pytest.raises(RateLimited) as caught:
        limiter.acquire("xero:t1")
    assert caught.value.retry_after == pytest.approx(66975)
    assert clock.slept == []


def test_a_shorter_park_never_shortens_a_longer_one() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock)
    limiter.park("k", 120)
    limiter.park("k", 5)
    assert limiter.parked_until("k") == START + timedelta(seconds=120)


def test_a_tiny_shortfall_still_waits_a_whole_millisecond() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock, per_minute=450, burst=10)
    for _ in range(10):
        limiter.acquire("k")
    clock.advance(timedelta(microseconds=133332))  # 0.99999 of a token at 450 per minute
    limiter.acquire("k")
    assert clock.slept and all(wait >= 0.001 for wait in clock.slept)
