"""A Xero 429 never puts a worker to sleep: the tenant is parked until ``Retry-After`` and its sync
is rescheduled, while the other tenants go on (notes/xero.md §0.3, §3).

Real parts: the sandbox's own per-tenant limits over loopback (a small daily budget set through
its controls, then its minute limit), the real scheduler job ``connector.jobs.sync_due``, the
real rate limiter and the store on SQLite and PostgreSQL. The runtime's ``sleep`` fails the test
when asked to wait longer than a minute (a short wait advances the fixed clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.clock import FixedClock
from connector.db import Invoice, Organisation
from connector.errors import RateLimited
from connector.jobs import sync_due
from tests.personas import NOW
from tests.plugins.xero.webapp import XeroWeb

LONGEST_SLEEP = 60.0
"""Seconds a worker may be made to wait in place (the limiter spaces calls by about a second)."""
DAY = timedelta(days=1)


class NoLongSleep:
    """The runtime's sleep: a short wait advances the clock, a long one fails the test."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.longest = 0.0

    def __call__(self, seconds: float) -> None:
        if seconds > LONGEST_SLEEP:
            pytest.fail(f"a worker was put to sleep for {seconds:.0f} s instead of being rescheduled")
        self.longest = max(self.longest, seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sleep(clock: FixedClock) -> NoLongSleep:
    return NoLongSleep(clock)


@pytest.fixture
def web(tmp_path: Path, db_url: str, clock: FixedClock, sleep: NoLongSleep) -> Iterator[XeroWeb]:
    """Both sample organisations connected with one consent, on ``db_url``, with the guarded sleep."""
    built = XeroWeb(tmp_path, clock, database_url=db_url, sleep=sleep)
    built.connect()
    built.sandbox.reset_call_counts()  # fresh budgets: connecting cost a few calls
    yield built
    built.close()


def _org(web: XeroWeb, tenant: str) -> Organisation:
    with web.runtime.sessions() as session:
        return session.get_one(Organisation, web.organisation_ids()[tenant])


def _open_invoices(web: XeroWeb, tenant: str) -> set[str]:
    """The tenant's open sales invoices as the sandbox holds them."""
    rows = web.sandbox.records("Invoices", tenant_id=tenant)
    return {
        str(r["InvoiceID"])
        for r in rows
        if r["Type"] == "ACCREC" and r["Status"] == "AUTHORISED" and Decimal(str(r["AmountDue"])) > 0
    }


def _stored_open(web: XeroWeb, tenant: str) -> dict[str, str | None]:
    """The organisation's stored open invoices and their pay links."""
    with web.runtime.sessions() as session:
        rows = session.execute(
            select(Invoice.external_id, Invoice.pay_url).where(
                Invoice.organisation_id == web.organisation_ids()[tenant], Invoice.status == "open"
            )
        )
        return {ext: url for ext, url in rows}


def _calls(web: XeroWeb) -> int:
    return web.sandbox.call_details().get("total", 0)


def test_the_daily_limit_parks_the_tenant_until_retry_after_and_the_other_tenant_goes_on(web: XeroWeb) -> None:
    main, other = web.sandbox.tenant_ids
    # 40 calls a day, of which the main organisation has spent all but 3 already (reminders, notes):
    # a first sync needs one list per entity (no pay links, issue 7), so the main one runs out.
    web.sandbox.set_rate_limits(per_day=40)
    for _ in range(37):
        web.sandbox.day_budget.take(main)
    assert sync_due(web.runtime) == 1
    assert web.sandbox.call_details()["throttled:day"] == 1  # one 429, taken as final: no retry loop
    assert web.sandbox.call_details().get("throttled:minute", 0) == 0

    now = web.runtime.clock.now()
    freed_at = now + timedelta(seconds=web.sandbox.day_budget.retry_after(main))  # what Retry-After said
    parked = _org(web, main)
    assert parked.next_sync_at is not None and parked.last_sync_at is None
    assert abs((parked.next_sync_at - freed_at).total_seconds()) <= 2 and parked.next_sync_at > now + timedelta(
        hours=23
    )
    limiter_until = web.runtime.limiter("xero").parked_until(f"xero:{main}")
    assert limiter_until is not None and abs((limiter_until - freed_at).total_seconds()) <= 2

    assert _org(web, other).last_sync_at is not None  # the other tenant's job went on
    assert set(_stored_open(web, other)) == _open_invoices(web, other)

    calls = _calls(web)
    assert sync_due(web.runtime) == 0  # nothing is due: the parked tenant is not even asked
    with pytest.raises(RateLimited) as refused:  # any other work for it stops at once, without a call
        web.runtime.platform("xero").fetch_invoices(web.runtime.access(parked), sorted(_open_invoices(web, main))[:1])
    assert refused.value.retry_after > 23 * 3600
    assert _calls(web) == calls

    web.runtime.clock.advance(parked.next_sync_at - now)  # type: ignore[attr-defined]
    web.sandbox.set_rate_limits(per_day=5000)  # a new day, Xero's real budget (notes §3)
    assert sync_due(web.runtime) == 2  # the parked tenant, and the other one's incremental sync
    assert (_org(web, main).last_sync_at or NOW) >= parked.next_sync_at
    assert set(_stored_open(web, main)) == _open_invoices(web, main)


def test_the_minute_limit_reschedules_by_retry_after_until_the_sync_is_done(web: XeroWeb, sleep: NoLongSleep) -> None:
    main = web.sandbox.tenant_ids[0]
    # A first sync needs one list per entity (6 calls, no pay links: issue 7). Other work of the
    # tenant (re-checks, notes) leaves it one call of its minute budget in each of the first rounds.
    web.sandbox.set_rate_limits(per_minute=6)
    rounds, waits = 0, []
    while _org(web, main).last_sync_at is None:
        rounds += 1
        assert rounds <= 20, "the sync does not get anywhere"
        while rounds <= 3 and web.sandbox.minute_budget.remaining(main) > 1:
            web.sandbox.minute_budget.take(main)
        sync_due(web.runtime)
        org = _org(web, main)
        assert org.next_sync_at is not None
        if org.last_sync_at is None:  # rescheduled by Retry-After (at most a minute), not slept through
            wait = org.next_sync_at - web.runtime.clock.now()
            assert timedelta(0) < wait <= timedelta(seconds=60)
            waits.append(wait)
            web.runtime.clock.advance(wait)  # type: ignore[attr-defined]
    assert web.sandbox.call_details()["throttled:minute"] == len(waits) >= 3
    assert sleep.longest <= LONGEST_SLEEP
    assert set(_stored_open(web, main)) == _open_invoices(web, main)
    with web.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) >= len(_open_invoices(web, main))
