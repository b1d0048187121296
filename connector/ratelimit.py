"""Per-organisation rate limiting: a token bucket per key, and parking after a 429.

Both platforms limit per organisation (QBO: 500 requests/minute per realm; Xero: 60/minute and
5,000/day per tenant). :class:`RateLimiter` spaces our calls so we stay under the per-minute
budget, and :meth:`RateLimiter.park` honours a ``Retry-After``: calls for that key wait out a
short pause, and a long one (Xero's daily limit can say 66,975 s) raises
:class:`connector.errors.RateLimited` at once so the job is rescheduled instead of sleeping.

The limiter takes a clock and a sleep function, so tests run on a :class:`FixedClock` whose
sleep advances the clock. (State shared across worker processes lands with the scale-out issue.)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.clock import Clock
from connector.errors import RateLimited


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: datetime
    parked_until: datetime | None = None


class RateLimiter:
    """A token bucket per key (``"quickbooks:<realm>"``) plus Retry-After parking.

    Args:
        per_minute: sustained calls per minute per key.
        burst: how many calls may go back to back after an idle spell.
        clock: where the time comes from.
        sleep: how to wait (``time.sleep`` in production; a clock-advancing fake in tests).
        max_wait: the longest wait (seconds) ``acquire`` sits out; longer waits raise ``RateLimited``.
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Clock,
        sleep: Callable[[float], None],
        max_wait: float = 30.0,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> None:
        """Take one call's worth of budget for ``key``, waiting if need be.

        Raises:
            RateLimited: the key is parked (or the budget empty) for longer than ``max_wait``.
        """
        while True:
            wait = self._try_take(key)
            if wait <= 0:
                return
            if wait > self._max_wait:
                raise RateLimited(f"rate limit for {key}: retry in {wait:.0f} s", retry_after=wait)
            self._sleep(wait)

    def park(self, key: str, retry_after: float) -> None:
        """Stop calls for ``key`` for ``retry_after`` seconds (after a 429)."""
        with self._lock:
            now = self._clock.now()
            bucket = self._bucket(key, now)
            until = now + timedelta(seconds=retry_after)
            if bucket.parked_until is None or until > bucket.parked_until:
                bucket.parked_until = until
            bucket.tokens = 0.0

    def parked_until(self, key: str) -> datetime | None:
        """When calls for ``key`` may resume, if it is parked now."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.parked_until is None or bucket.parked_until <= self._clock.now():
                return None
            return bucket.parked_until

    def _bucket(self, key: str, now: datetime) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._burst, updated_at=now)
        return bucket

    def _try_take(self, key: str) -> float:
        """Take a token and return 0, or return how many seconds to wait."""
        with self._lock:
            now = self._clock.now()
            bucket = self._bucket(key, now)
            if bucket.parked_until is not None:
                if bucket.parked_until > now:
                    return (bucket.parked_until - now).total_seconds()
                bucket.parked_until = None
                bucket.updated_at = now
            elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
            bucket.updated_at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            # Whole milliseconds, rounded up: a sub-microsecond wait would not move a clock at all.
            return math.ceil((1.0 - bucket.tokens) / self._rate * 1000) / 1000
