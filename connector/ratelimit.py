"""Rate limiting per organisation and per app: budgets, concurrent slots, and parking after a 429.

Both platforms limit per organisation (QBO: 500 requests/minute per realm, about 10 at once;
Xero: 60/minute, 5,000/day and 5 at once per tenant, 10,000/minute per app). Two limiters share
one interface, which the transport and the plugins use (``acquire``, ``slot``, ``park``,
``parked_until``):

- :class:`RateLimiter` keeps a token bucket per key in this process: the embedded default, one
  process on SQLite.
- :class:`SharedRateLimiter` keeps the budgets in PostgreSQL (``rate_budgets``), so N worker
  processes on N machines share them. Each decision is one short transaction that locks the rows
  of the key (and of the app) with ``SELECT … FOR UPDATE``, in key order.

A 429 parks the key for its ``Retry-After`` in every worker. ``acquire`` waits out short pauses
only: a wait longer than ``max_wait`` (Xero's daily limit can say 66,975 s) raises
:class:`connector.errors.RateLimited` at once, so the job reschedules the organisation and the
worker thread goes on with other work.

The limiters take a clock and a sleep function, so tests run on a :class:`FixedClock` whose
sleep advances the clock.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock
from connector.db import Organisation, RateBudget
from connector.errors import RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """The budgets of one platform's keys.

    Attributes:
        per_minute: sustained calls per minute per key.
        burst: calls that may go back to back after an idle spell. In any 60 s a key makes at most
            ``burst + per_minute`` calls, which stays under the platform's limit: both platforms
            (and their sandboxes) count over a sliding minute.
        per_day: sustained calls per day per key (None: no daily budget).
        day_burst: the daily counterpart of ``burst`` (``day_burst + per_day`` under the daily limit).
        concurrent: calls in flight per key at once, across workers (None: not limited).
        app_per_minute: a budget every key of the platform shares (None: none).
        app_burst: its ``burst``.
    """

    per_minute: float
    burst: int
    per_day: float | None = None
    day_burst: int = 0
    concurrent: int | None = None
    app_per_minute: float | None = None
    app_burst: int = 0


#: Budgets below the platforms' limits.
LIMITS = {
    # 500/min per realm, 800/min and 10 per second per realm+app, "10 concurrent" (notes/quickbooks.md §0.3).
    "quickbooks": Limits(per_minute=450, burst=10, concurrent=8),
    # 60/min, 5,000/day, 5 concurrent per tenant; 10,000/min per app (notes/xero.md §3).
    "xero": Limits(
        per_minute=50, burst=5, per_day=3900, day_burst=1000, concurrent=5, app_per_minute=9000, app_burst=500
    ),
}
DEFAULT_LIMITS = Limits(per_minute=60, burst=5)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_at: datetime
    parked_until: datetime | None = None


class RateLimiter:
    """A token bucket per key (``"quickbooks:<realm>"``) plus Retry-After parking, in this process.

    Args:
        per_minute: sustained calls per minute per key.
        burst: how many calls may go back to back after an idle spell.
        clock: where the time comes from.
        sleep: how to wait (``time.sleep`` in production; a clock-advancing fake in tests).
        max_wait: the longest wait (seconds) ``acquire`` sits out; longer waits raise ``RateLimited``.
        on_park: told ``(key, until)`` after each park (the runtime records it on the organisation).
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Clock,
        sleep: Callable[[float], None],
        max_wait: float = 30.0,
        on_park: Callable[[str, datetime], None] | None = None,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be positive and burst at least 1")
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._on_park = on_park
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

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Budget for one call, held while the call is in flight (``with limiter.slot(key): send()``).

        One process limits its own concurrency by its threads, so this is ``acquire`` here.
        """
        self.acquire(key)
        yield

    def park(self, key: str, retry_after: float, problem: str | None = None) -> None:
        """Stop calls for ``key`` for ``retry_after`` seconds (after a 429; ``problem`` as Xero names it)."""
        with self._lock:
            now = self._clock.now()
            bucket = self._bucket(key, now)
            until = now + timedelta(seconds=retry_after)
            if bucket.parked_until is None or until > bucket.parked_until:
                bucket.parked_until = until
            bucket.tokens = 0.0
            until = bucket.parked_until
        log.warning("rate limit: %s parked until %s (%s)", key, until.isoformat(), problem or "throttled")
        if self._on_park is not None:
            self._on_park(key, until)

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
            return _whole_ms((1.0 - bucket.tokens) / self._rate)


# -- shared across processes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meter:
    """A leaky bucket in whole calls, as stored in a ``rate_budgets`` row: ``used`` calls still
    count against the budget, and they drain at the budget's rate from ``since`` on.

    Whole calls and one instant are all a row needs, and unlike a fixed-window counter the bucket
    never allows twice the limit across a window's edge.
    """

    used: int
    since: datetime | None

    def drained(self, per_second: float, now: datetime) -> Meter:
        """The meter at ``now``: the calls that have drained since ``since`` are gone."""
        if self.since is None or self.used <= 0:
            return Meter(0, now)
        elapsed = (now - self.since).total_seconds()
        if elapsed <= 0:  # parked into the future, or another machine's clock is ahead
            return self
        leaked = math.floor(elapsed * per_second)
        if leaked >= self.used:
            return Meter(0, now)
        # ``since`` moves by the leaked calls only, rounded up: a fraction of a call is never lost
        # and never granted twice.
        step = timedelta(microseconds=math.ceil(leaked * 1_000_000 / per_second))
        return Meter(self.used - leaked, self.since + step)

    def wait(self, per_second: float, capacity: int, now: datetime) -> float:
        """Seconds until one more call fits (0: it fits now); call on a drained meter."""
        if self.used < capacity or self.since is None:
            return 0.0
        free_at = self.since + timedelta(seconds=(self.used - capacity + 1) / per_second)
        return max(0.001, _whole_ms((free_at - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class _Refusal:
    problem: str
    """``parked``, ``minute``, ``day`` or ``concurrent``."""
    wait: float


@dataclass(frozen=True, slots=True)
class _RowLimits:
    per_minute: float
    burst: int
    per_day: float | None
    day_burst: int
    concurrent: int | None


class SharedRateLimiter(RateLimiter):
    """The budgets of one platform held in PostgreSQL, shared by every worker process.

    A drop-in for :class:`RateLimiter`. Each key has a row in ``rate_budgets``: a minute meter
    (``minute_used`` draining from ``minute_start``), a day meter (``day_used``/``day_start``), the
    calls ``in_flight`` and ``parked_until``. A Xero call also takes from the app row
    (``xero:app``).

    Concurrent slots are given back when the call ends, exception or not (:meth:`slot`). A worker
    killed during a call cannot give its slot back: once a row has not changed for
    ``slot_lease`` seconds (longer than any request may take), its ``in_flight`` counts as zero.

    Args:
        sessions: session factory of the PostgreSQL store.
        platform: the platform's name (the app row is ``<platform>:app``).
        limits: the platform's budgets.
        clock, sleep, max_wait: as for :class:`RateLimiter`; ``max_wait`` bounds the total wait
            of one ``acquire``.
        slot_lease: seconds after which an untouched row's ``in_flight`` is taken as leaked.
        poll: first pause (seconds) while waiting for a concurrent slot; it doubles up to 1 s.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        platform: str,
        limits: Limits,
        clock: Clock,
        sleep: Callable[[float], None],
        max_wait: float = 10.0,
        slot_lease: float = 300.0,
        poll: float = 0.05,
    ) -> None:
        super().__init__(per_minute=limits.per_minute, burst=limits.burst, clock=clock, sleep=sleep, max_wait=max_wait)
        self._sessions = sessions
        self._limits = limits
        self._app_key = f"{platform}:app" if limits.app_per_minute else None
        self._lease = timedelta(seconds=slot_lease)
        self._poll = poll
        self._known: set[str] = set()
        self._key_limits = _RowLimits(
            limits.per_minute, limits.burst, limits.per_day, limits.day_burst, limits.concurrent
        )
        self._app_limits = _RowLimits(limits.app_per_minute or 1.0, limits.app_burst or 1, None, 0, None)

    def acquire(self, key: str) -> None:
        """Take one call of ``key``'s budgets (and the app's), waiting at most ``max_wait`` in all.

        Raises:
            RateLimited: the key is parked, or a budget is empty, for longer than that.
        """
        self._take(key, slot=False)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Budget and a concurrent slot for one call; the slot is given back however the call ends."""
        holds = self._take(key, slot=True)
        try:
            yield
        finally:
            if holds:
                self._release(key)

    def park(self, key: str, retry_after: float, problem: str | None = None) -> None:
        """Stop calls for ``key`` (for the whole app when Xero names an app limit) in every worker,
        and mark its organisation parked. The meter is left full, so calls restart at the rate."""
        target = self._app_key if self._app_key and (problem or "").lower().startswith("app") else key
        now = self._clock.now()
        until = now + timedelta(seconds=retry_after)
        with self._sessions.begin() as session:
            row = self._locked(session, [target], now)[target]
            if row.parked_until is None or row.parked_until < until:
                row.parked_until = until
            row.problem = (problem or "throttled")[:20]
            limits = self._app_limits if target == self._app_key else self._key_limits
            row.minute_used, row.minute_start = max(row.minute_used, limits.burst), row.parked_until
            row.updated_at = now
            until = row.parked_until
            if target == key:
                park_organisation(session, key, until)
        log.warning("rate limit: %s parked until %s (%s) for every worker", target, until.isoformat(), row.problem)

    def parked_until(self, key: str) -> datetime | None:
        """When calls for ``key`` may resume, if it (or the app) is parked now."""
        now = self._clock.now()
        keys = [k for k in (key, self._app_key) if k]
        with self._sessions() as session:
            untils = session.scalars(select(RateBudget.parked_until).where(RateBudget.key.in_(keys))).all()
        future = [u for u in untils if u is not None and u > now]
        return max(future) if future else None

    def _take(self, key: str, *, slot: bool) -> bool:
        """Take the budgets (and a slot when asked and limited); True when a slot is held."""
        slot = slot and self._limits.concurrent is not None
        waited, pause = 0.0, self._poll
        while True:
            refusal = self._try(key, slot=slot)
            if refusal is None:
                return slot
            wait = pause if refusal.problem == "concurrent" else refusal.wait
            if waited + wait > self._max_wait:
                raise RateLimited(
                    f"rate limit for {key} ({refusal.problem}): retry in {refusal.wait:.0f} s",
                    retry_after=refusal.wait,
                )
            self._sleep(wait)
            waited += wait
            if refusal.problem == "concurrent":
                pause = min(pause * 2, 1.0)

    def _try(self, key: str, *, slot: bool) -> _Refusal | None:
        """One transaction: lock the rows, and take from every budget or from none."""
        now = self._clock.now()
        keys = sorted(k for k in (key, self._app_key) if k)
        with self._sessions() as session:
            rows = self._locked(session, keys, now)
            for name in keys:
                limits = self._app_limits if name == self._app_key else self._key_limits
                refusal = self._check(rows[name], limits, now, slot=slot and name == key)
                if refusal is not None:
                    session.rollback()  # also undoes what an earlier row of this call took
                    return refusal
            session.commit()
        return None

    def _check(self, row: RateBudget, limits: _RowLimits, now: datetime, *, slot: bool) -> _Refusal | None:
        """Refuse, or take one call from ``row`` (changing it in the session)."""
        if row.parked_until is not None and row.parked_until > now:
            return _Refusal("parked", _whole_ms((row.parked_until - now).total_seconds()))
        minute_rate = limits.per_minute / 60.0
        minute = Meter(row.minute_used, row.minute_start).drained(minute_rate, now)
        if wait := minute.wait(minute_rate, limits.burst, now):
            return _Refusal("minute", wait)
        day = None
        if limits.per_day is not None:
            day_rate = limits.per_day / 86_400.0
            day = Meter(row.day_used, row.day_start).drained(day_rate, now)
            if wait := day.wait(day_rate, limits.day_burst, now):
                return _Refusal("day", wait)
        in_flight = row.in_flight
        if row.updated_at is not None and now - row.updated_at >= self._lease:
            in_flight = 0  # nothing touched the row for longer than any call takes: the slots leaked
        if slot and limits.concurrent is not None and in_flight >= limits.concurrent:
            return _Refusal("concurrent", 1.0)
        row.minute_used, row.minute_start = minute.used + 1, minute.since
        if day is not None:
            row.day_used, row.day_start = day.used + 1, day.since
        row.in_flight = in_flight + (1 if slot else 0)
        row.updated_at = now
        return None

    def _release(self, key: str) -> None:
        """Give a slot back; a failure here is logged (the lease frees the slot later)."""
        try:
            with self._sessions.begin() as session:
                session.execute(
                    update(RateBudget)
                    .where(RateBudget.key == key, RateBudget.in_flight > 0)
                    .values(in_flight=RateBudget.in_flight - 1, updated_at=self._clock.now())
                )
        except SQLAlchemyError as exc:
            log.warning("rate limit: could not give back a slot of %s (%s); it frees after the lease", key, exc)

    def _locked(self, session: Session, keys: list[str], now: datetime) -> dict[str, RateBudget]:
        """The rows of ``keys``, created if missing, locked until the transaction ends."""
        missing = [k for k in keys if k not in self._known]
        if missing:
            session.execute(
                pg_insert(RateBudget)
                .values(
                    [{"key": k, "minute_used": 0, "day_used": 0, "in_flight": 0, "updated_at": now} for k in missing]
                )
                .on_conflict_do_nothing(index_elements=["key"])
            )
            self._known.update(missing)
        found = session.scalars(
            select(RateBudget).where(RateBudget.key.in_(keys)).order_by(RateBudget.key).with_for_update()
        ).all()
        return {row.key: row for row in found}


def park_organisation(session: Session, key: str, until: datetime) -> None:
    """Mark the organisation behind ``key`` (``<platform>:<realm or tenant>``) parked until ``until``."""
    platform, _, external_id = key.partition(":")
    session.execute(
        update(Organisation)
        .where(
            Organisation.platform == platform,
            Organisation.external_id == external_id,
            (Organisation.parked_until.is_(None)) | (Organisation.parked_until < until),
        )
        .values(parked_until=until)
    )


def organisation_parker(sessions: sessionmaker[Session]) -> Callable[[str, datetime], None]:
    """An ``on_park`` hook for :class:`RateLimiter` that records the park on the organisation."""

    def record(key: str, until: datetime) -> None:
        with sessions.begin() as session:
            park_organisation(session, key, until)

    return record


def make_limiter(
    sessions: sessionmaker[Session], *, platform: str, shared: bool, clock: Clock, sleep: Callable[[float], None]
) -> RateLimiter:
    """The limiter of ``platform``: shared through the database on PostgreSQL, in-process on SQLite."""
    limits = LIMITS.get(platform, DEFAULT_LIMITS)
    if shared:
        return SharedRateLimiter(sessions, platform=platform, limits=limits, clock=clock, sleep=sleep)
    return RateLimiter(
        per_minute=limits.per_minute,
        burst=limits.burst,
        clock=clock,
        sleep=sleep,
        on_park=organisation_parker(sessions),
    )


def _whole_ms(seconds: float) -> float:
    """Whole milliseconds, rounded up: a sub-microsecond wait would not move a clock at all."""
    return math.ceil(seconds * 1000) / 1000
