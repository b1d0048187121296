"""The per-organisation rate limiter, on a fixed clock whose sleep advances it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from connector.clock import FixedClock
from connector.errors import RateLimited
from connector.ratelimit import Meter, RateLimiter

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


def test_a_slot_takes_budget_like_acquire() -> None:
    clock = SleepingClock()
    limiter = _limiter(clock, per_minute=60, burst=2)
    for _ in range(3):
        with limiter.slot("k"):
            pass
    assert clock.slept == pytest.approx([1.0])


def test_a_park_is_reported_with_its_end() -> None:
    clock = SleepingClock()
    seen: list[tuple[str, datetime]] = []
    limiter = RateLimiter(
        per_minute=60, burst=5, clock=clock, sleep=clock.sleep, on_park=lambda key, until: seen.append((key, until))
    )
    limiter.park("xero:t1", 60, "minute")
    limiter.park("xero:t1", 5, "minute")
    assert seen == [("xero:t1", START + timedelta(seconds=60))] * 2  # the longer park stands


# -- the meter the shared limiter keeps in each rate_budgets row (pure: no database here) ----------


def _calls_through(meter: Meter, per_second: float, capacity: int, instants: list[datetime]) -> list[datetime]:
    """The instants at which a call was let through, trying once at each of ``instants``."""
    passed = []
    for at in instants:
        meter = meter.drained(per_second, at)
        if meter.wait(per_second, capacity, at) == 0:
            meter = Meter(meter.used + 1, meter.since)
            passed.append(at)
    return passed


@pytest.mark.parametrize(
    ("per_minute", "burst", "step_ms"),
    [
        pytest.param(50, 5, 100, id="xero-tenant-every-100ms"),
        pytest.param(450, 10, 7, id="qbo-realm-every-7ms"),
        pytest.param(50, 5, 1190, id="just-under-the-rate"),
    ],
)
def test_the_meter_never_lets_more_than_burst_plus_rate_through_in_any_sliding_minute(
    per_minute: int, burst: int, step_ms: int
) -> None:
    per_second = per_minute / 60
    instants = [START + timedelta(milliseconds=step_ms * i) for i in range(int(300_000 / step_ms))]
    passed = _calls_through(Meter(0, None), per_second, burst, instants)
    start = 0
    for end, at in enumerate(passed):  # the sliding window (at - 60 s, at], as the sandboxes count
        while passed[start] <= at - timedelta(minutes=1):
            start += 1
        assert end - start + 1 <= burst + per_minute
    # and it is a budget, not a wall: over five minutes the whole rate went through
    assert len(passed) >= min(len(instants), burst + math.floor(per_second * 300) - 1)


def test_the_meter_says_how_long_until_the_next_call_fits() -> None:
    meter = Meter(5, START).drained(1.0, START + timedelta(milliseconds=400))
    assert meter == Meter(5, START)  # less than one whole call has drained
    assert meter.wait(1.0, 5, START + timedelta(milliseconds=400)) == pytest.approx(0.6)
    later = meter.drained(1.0, START + timedelta(seconds=2, milliseconds=500))
    assert later == Meter(3, START + timedelta(seconds=2))  # the half call is kept, not lost
    assert later.wait(1.0, 5, START + timedelta(seconds=2, milliseconds=500)) == 0


def test_a_meter_parked_into_the_future_does_not_drain_before_then() -> None:
    parked = Meter(5, START + timedelta(seconds=30))
    assert parked.drained(1.0, START + timedelta(seconds=10)) == parked
    assert parked.wait(1.0, 5, START + timedelta(seconds=10)) == pytest.approx(21.0)
