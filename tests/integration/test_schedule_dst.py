"""The daily collection run on a real migrated store (SQLite and PostgreSQL), ticked with a fixed
clock every 10 minutes across the 2026 DST switches (New York 8 March and 1 November, Berlin
29 March and 25 October): exactly one run per local business day at the local run time, none
skipped, none doubled; a run time in the spring gap runs when the gap ends, one in the autumn fold
at its first occurrence only; a process down over the morning runs once when it is back, and a
process down until the next day does not replay yesterday.

Runs are counted from what the store recorded (the ``collection_run`` activities and
``last_run_on``), never from the job's return value. The expected days and instants are written
out from the calendar (weekdays; no public holiday of DE or the US falls in these windows) and
the standard library's ``fold=0`` reading, independently of ``core.schedule``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from connector.clock import FixedClock
from connector.config import Settings
from connector.db import (
    Activity,
    Connection,
    ConnectionStatus,
    Contact,
    Customer,
    Firm,
    Invoice,
    Organisation,
    OutboxMessage,
    Policy,
    PolicyStep,
)
from connector.runtime import Runtime, build_runtime
from connector.schedule import (
    RETRY_AFTER_FAILURE,
    RUN_LEASE,
    claim_due_runs,
    run_due_collections,
    schedule_organisation,
)

TICK = timedelta(minutes=10)


@dataclass(frozen=True)
class Org:
    """An organisation under test and what its runs must look like."""

    name: str
    timezone: str
    run_time: time
    country: str
    every_day: bool = False
    enabled: bool = False


BERLIN = Org("berlin", "Europe/Berlin", time(7, 0), "DE", enabled=True)
NEW_YORK = Org("new-york", "America/New_York", time(7, 0), "US")
BERLIN_0230 = Org("berlin-0230-daily", "Europe/Berlin", time(2, 30), "DE", every_day=True)
NEW_YORK_0230 = Org("new-york-0230-daily", "America/New_York", time(2, 30), "US", every_day=True)
NEW_YORK_0130 = Org("new-york-0130-daily", "America/New_York", time(1, 30), "US", every_day=True)
ALL = (BERLIN, NEW_YORK, BERLIN_0230, NEW_YORK_0230, NEW_YORK_0130)

#: Where the run time does not exist (the spring gap): the run is when the gap ends, 03:00 local.
GAP_ENDS = {
    ("Europe/Berlin", date(2026, 3, 29)): datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    ("America/New_York", date(2026, 3, 8)): datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
}

#: Four windows of ticks, Friday to Tuesday around each switch (a Sunday); the clock jumps between
#: them, as if the process had been off, so nothing of those weeks may be replayed.
WINDOWS = [
    (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 10, 12, tzinfo=UTC)),
    (datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, 12, tzinfo=UTC)),
    (datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 27, 12, tzinfo=UTC)),
    (datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 3, 12, tzinfo=UTC)),
]


def expected_instant(org: Org, day: date) -> datetime:
    """The run's UTC instant: the local run time read with ``fold=0`` (the first occurrence in the
    autumn fold), or the end of the spring gap."""
    gap_end = GAP_ENDS.get((org.timezone, day))
    if gap_end is not None and org.run_time in (time(2, 0), time(2, 30)):
        return gap_end
    return datetime.combine(day, org.run_time, tzinfo=ZoneInfo(org.timezone)).astimezone(UTC)


def is_run_day(org: Org, day: date) -> bool:
    return org.every_day or day.weekday() < 5  # no public holiday of DE or the US in the windows


def whole_local_days(org: Org, start: datetime, end: datetime) -> list[date]:
    """The local days that lie entirely inside [start, end)."""
    zone = ZoneInfo(org.timezone)
    day = start.astimezone(zone).date()
    days: list[date] = []
    while True:
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        if next_midnight > end:
            return days
        if midnight >= start:
            days.append(day)
        day += timedelta(days=1)


# -- the store -------------------------------------------------------------------------------------


@pytest.fixture
def runtime(engine: object, db_url: str) -> Iterator[Runtime]:
    settings = Settings("test", Path("/tmp"), db_url, (Fernet.generate_key(),), "s", "127.0.0.1", 5000, "INFO")
    built = build_runtime(settings, configs={}, clock=FixedClock(WINDOWS[0][0]))
    yield built
    built.close()


def clock_of(runtime: Runtime) -> FixedClock:
    assert isinstance(runtime.clock, FixedClock)
    return runtime.clock


def add_orgs(runtime: Runtime, orgs: tuple[Org, ...], *, last_run_on: date | None = None) -> dict[str, int]:
    """The organisations on an empty ledger, each with a working connection, scheduled as the
    settings page will schedule them (``schedule_organisation``)."""
    now = runtime.clock.now()
    ids = {}
    with runtime.sessions.begin() as session:
        firm = Firm(name="Kanzlei", created_at=now)
        for org in orgs:
            row = Organisation(
                firm=firm,
                connection=Connection(firm=firm, platform="quickbooks", created_at=now, updated_at=now),
                platform="quickbooks",
                external_id=org.name,
                name=org.name,
                country=org.country,
                timezone=org.timezone,
                run_time=org.run_time.strftime("%H:%M"),
                collections_enabled=org.enabled,
                last_run_on=last_run_on,
                created_at=now,
            )
            session.add(row)
            session.flush()
            if org.every_day:
                session.add(every_day_policy(row.id, now))
                session.flush()
            schedule_organisation(session, row, now)
            ids[org.name] = row.id
    return ids


def every_day_policy(org_id: int, now: datetime) -> Policy:
    """An active policy that also sends on weekends and holidays (so the org runs every day)."""
    policy = Policy(
        organisation_id=org_id,
        name="every day",
        active=True,
        min_balance=Decimal("0"),
        business_days_only=False,
        created_at=now,
        updated_at=now,
    )
    policy.steps.append(
        PolicyStep(
            organisation_id=org_id,
            step_key="s1",
            position=0,
            offset_days=3,
            level=1,
            action="email",
            template_key="friendly_reminder",
        )
    )
    return policy


def recorded_runs(runtime: Runtime, org_id: int) -> list[tuple[date, datetime]]:
    """(run date, instant) of every run the store recorded for the organisation."""
    with runtime.sessions() as session:
        rows = session.scalars(
            select(Activity)
            .where(Activity.organisation_id == org_id, Activity.kind == "collection_run")
            .order_by(Activity.occurred_at, Activity.id)
        ).all()
        return [(date.fromisoformat(a.data["run_on"]), a.occurred_at) for a in rows]


def tick(runtime: Runtime, start: datetime, end: datetime, *, skip: tuple[datetime, datetime] | None = None) -> None:
    """Tick every 10 minutes over [start, end), not ticking inside ``skip`` (the process is down)."""
    clock = clock_of(runtime)
    at = start
    while at < end:
        if skip is None or not skip[0] <= at < skip[1]:
            clock.advance(at - clock.now())
            run_due_collections(runtime)
        at += TICK


def local(org: Org, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(org.timezone)).astimezone(UTC)


# -- the walk across the switches ----------------------------------------------------------------


def test_one_run_per_local_business_day_across_both_dst_switches(runtime: Runtime) -> None:
    ids = add_orgs(runtime, ALL)
    for start, end in WINDOWS:
        tick(runtime, start, end)
    for org in ALL:
        runs = recorded_runs(runtime, ids[org.name])
        counted = Counter(day for day, _ in runs)
        assert [day for day, n in counted.items() if n > 1] == [], f"{org.name}: a day ran twice"
        for day, at in runs:
            assert is_run_day(org, day), f"{org.name}: ran on {day}, not a run day"
            assert at.astimezone(ZoneInfo(org.timezone)).date() == day, f"{org.name}: {day} ran on another day"
            assert any(s <= at < e for s, e in WINDOWS)
        for start, end in WINDOWS:
            for day in whole_local_days(org, start, end):
                if is_run_day(org, day):
                    when = dict(runs).get(day)
                    assert when == expected_instant(org, day), f"{org.name}: {day} ran at {when}"
                else:
                    assert day not in counted, f"{org.name}: ran on {day}"
        with runtime.sessions() as session:
            assert session.get_one(Organisation, ids[org.name]).last_run_on == max(counted)


@pytest.mark.parametrize(
    ("org", "day"),
    [
        pytest.param(BERLIN, date(2026, 3, 30), id="berlin-monday-after-spring-switch"),
        pytest.param(NEW_YORK, date(2026, 11, 2), id="new-york-monday-after-autumn-switch"),
    ],
)
def test_a_process_down_over_the_morning_runs_once_at_eleven(runtime: Runtime, org: Org, day: date) -> None:
    clock_of(runtime).advance(local(org, day - timedelta(days=3), 18) - runtime.clock.now())  # Friday evening
    ids = add_orgs(runtime, (org,), last_run_on=day - timedelta(days=3))
    tick(
        runtime,
        local(org, day, 0),
        local(org, day + timedelta(days=1), 0),
        skip=(local(org, day, 5), local(org, day, 11)),
    )
    assert recorded_runs(runtime, ids[org.name]) == [(day, local(org, day, 11))]


@pytest.mark.parametrize("back_at", [6, 9], ids=["back-before-run-time", "back-after-run-time"])
@pytest.mark.parametrize(
    ("org", "day"),
    [
        pytest.param(BERLIN, date(2026, 3, 30), id="berlin"),
        pytest.param(NEW_YORK, date(2026, 11, 2), id="new-york"),
    ],
)
def test_a_process_down_until_the_next_day_does_not_replay_yesterday(
    runtime: Runtime, org: Org, day: date, back_at: int
) -> None:
    clock_of(runtime).advance(local(org, day - timedelta(days=3), 18) - runtime.clock.now())
    ids = add_orgs(runtime, (org,), last_run_on=day - timedelta(days=3))
    tomorrow = day + timedelta(days=1)
    tick(
        runtime, local(org, day, 0), local(org, tomorrow, 23), skip=(local(org, day, 6), local(org, tomorrow, back_at))
    )
    expected_at = local(org, tomorrow, max(back_at, 7))
    assert recorded_runs(runtime, ids[org.name]) == [(tomorrow, expected_at)]
    with runtime.sessions() as session:
        assert session.get_one(Organisation, ids[org.name]).last_run_on == tomorrow


def add_overdue_invoice(runtime: Runtime, org_id: int, due: date) -> None:
    """A customer with an address and one open invoice due on ``due``."""
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        customer = Customer(organisation_id=org_id, external_id="C1", name="Müller GmbH", synced_at=now)
        customer.contacts.append(Contact(organisation_id=org_id, email="ap@mueller.example"))
        session.add(customer)
        session.flush()
        session.add(
            Invoice(organisation_id=org_id, customer_id=customer.id, external_id="I1", number="2026-001",
                    issue_date=due - timedelta(days=14), due_date=due, currency="EUR", total=Decimal("800.00"),
                    balance=Decimal("800.00"), status="open", synced_at=now)
        )  # fmt: skip


def run_records(runtime: Runtime, org_id: int) -> list[dict[str, object]]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(Activity).where(Activity.organisation_id == org_id, Activity.kind == "collection_run")
        ).all()
        return [dict(a.data) for a in rows]


def test_a_run_queues_only_when_collections_are_on_and_the_connection_works(runtime: Runtime) -> None:
    day = date(2026, 3, 30)
    clock_of(runtime).advance(local(BERLIN, day, 6) - runtime.clock.now())
    off, on, reauth = (
        Org(name, "Europe/Berlin", time(7, 0), "DE", enabled=name != "off") for name in ("off", "on", "reauth")
    )
    ids = add_orgs(runtime, (off, on, reauth))
    with runtime.sessions.begin() as session:
        session.get_one(Organisation, ids["reauth"]).connection.status = ConnectionStatus.NEEDS_REAUTH.value  # type: ignore[union-attr]
    for org_id in ids.values():
        add_overdue_invoice(runtime, org_id, day - timedelta(days=20))
    tick(runtime, local(BERLIN, day, 6), local(BERLIN, day, 7, 10))
    records = {name: run_records(runtime, org_id) for name, org_id in ids.items()}
    with runtime.sessions() as session:
        queued = Counter(session.scalars(select(OutboxMessage.organisation_id)).all())
    assert queued == {ids["on"]: 1}
    assert [(r["outcome"], r["reason"], r["planned"], r["created"]) for r in records["on"]] == [("queued", None, 1, 1)]
    assert [(r["outcome"], r["reason"], r["planned"], r["created"]) for r in records["off"]] == [
        ("dry_run", "collections_off", 1, 0)
    ]
    assert [(r["outcome"], r["reason"], r["planned"]) for r in records["reauth"]] == [
        ("dry_run", "connection_needs_reauth", 1)
    ]


# -- isolation and claims ----------------------------------------------------------------------------


def test_a_failing_organisation_does_not_stop_the_others_and_is_retried_the_same_day(runtime: Runtime) -> None:
    day = date(2026, 3, 30)
    clock_of(runtime).advance(local(BERLIN, day, 6) - runtime.clock.now())
    ids = add_orgs(runtime, (BERLIN, BERLIN_0230, NEW_YORK))
    with runtime.sessions.begin() as session:  # a step the engine cannot read: the run raises
        step = session.scalars(select(PolicyStep).where(PolicyStep.organisation_id == ids[BERLIN_0230.name])).one()
        step.action = "carrier_pigeon"
    tick(runtime, local(BERLIN, day, 6), local(BERLIN, day, 7, 10))
    assert [d for d, _ in recorded_runs(runtime, ids[BERLIN.name])] == [day]
    assert recorded_runs(runtime, ids[BERLIN_0230.name]) == []
    with runtime.sessions() as session:
        broken = session.get_one(Organisation, ids[BERLIN_0230.name])
        assert broken.last_run_on is None
        assert broken.next_run_at is not None and broken.next_run_at > runtime.clock.now()
    with runtime.sessions.begin() as session:
        session.scalars(
            select(PolicyStep).where(PolicyStep.organisation_id == ids[BERLIN_0230.name])
        ).one().action = "email"
    tick(runtime, local(BERLIN, day, 7, 10), local(BERLIN, day, 7, 10) + RETRY_AFTER_FAILURE + TICK)
    assert [d for d, _ in recorded_runs(runtime, ids[BERLIN_0230.name])] == [day]


def test_unusable_settings_are_logged_and_the_others_run(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    day = date(2026, 3, 30)
    clock_of(runtime).advance(local(BERLIN, day, 6) - runtime.clock.now())
    ids = add_orgs(runtime, (BERLIN,))
    with runtime.sessions.begin() as session:
        firm = session.scalars(select(Firm)).one()
        session.add(
            Organisation(firm=firm, platform="xero", external_id="mars", name="Mars", timezone="Mars/Olympus",
                         created_at=runtime.clock.now())
        )  # fmt: skip
    tick(runtime, local(BERLIN, day, 6), local(BERLIN, day, 7, 10))
    assert [d for d, _ in recorded_runs(runtime, ids[BERLIN.name])] == [day]
    assert "outcome=bad_settings" in caplog.text and "Mars/Olympus" in caplog.text


def test_two_workers_ticking_at_once_record_one_run_per_organisation(runtime: Runtime) -> None:
    day = date(2026, 3, 30)
    clock_of(runtime).advance(local(BERLIN, day, 7) - runtime.clock.now())
    orgs = tuple(Org(f"berlin-{i}", "Europe/Berlin", time(7, 0), "DE") for i in range(12))
    ids = add_orgs(runtime, orgs)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            run_due_collections(runtime)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for org in orgs:
        assert [d for d, _ in recorded_runs(runtime, ids[org.name])] == [day]


def test_one_call_runs_every_due_organisation_past_a_batch_that_only_needed_rescheduling(runtime: Runtime) -> None:
    saturday = date(2026, 3, 28)
    clock_of(runtime).advance(local(BERLIN, saturday, 8) - runtime.clock.now())
    weekday_orgs = tuple(Org(f"weekdays-{i}", "Europe/Berlin", time(7, 0), "DE") for i in range(12))
    daily_orgs = tuple(Org(f"daily-{i}", "Europe/Berlin", time(7, 30), "DE", every_day=True) for i in range(3))
    ids = add_orgs(runtime, weekday_orgs + daily_orgs)
    with runtime.sessions.begin() as session:  # as if settings had changed: looked at first, not due today
        session.execute(
            update(Organisation)
            .where(Organisation.id.in_([ids[org.name] for org in weekday_orgs]))
            .values(next_run_at=local(BERLIN, saturday, 7))
        )
    assert run_due_collections(runtime, batch=5) == len(daily_orgs)
    for org in daily_orgs:
        assert [d for d, _ in recorded_runs(runtime, ids[org.name])] == [saturday]
    with runtime.sessions() as session:
        monday = local(BERLIN, date(2026, 3, 30), 7)
        assert {session.get_one(Organisation, ids[org.name]).next_run_at for org in weekday_orgs} == {monday}


def test_a_run_claimed_by_a_worker_that_died_runs_once_when_its_lease_ends(runtime: Runtime) -> None:
    day = date(2026, 3, 30)
    clock = clock_of(runtime)
    clock.advance(local(BERLIN, day, 7, 5) - runtime.clock.now())
    ids = add_orgs(runtime, (BERLIN,))
    with runtime.sessions.begin() as session:  # a worker claims the run, then dies before acting
        (claim,) = claim_due_runs(session, runtime.clock.now(), 10)
    assert claim.run_on == day and claim.lease_until == runtime.clock.now() + RUN_LEASE
    tick(runtime, runtime.clock.now(), claim.lease_until)
    assert recorded_runs(runtime, ids[BERLIN.name]) == [], "nobody else runs it while the lease holds"
    tick(runtime, claim.lease_until, claim.lease_until + 3 * TICK)
    assert [d for d, _ in recorded_runs(runtime, ids[BERLIN.name])] == [day]


def test_a_run_claimed_before_midnight_by_a_worker_that_died_is_not_replayed_the_next_day(
    runtime: Runtime,
) -> None:
    day = date(2026, 3, 30)
    clock = clock_of(runtime)
    clock.advance(local(BERLIN, day, 23, 50) - runtime.clock.now())
    ids = add_orgs(runtime, (BERLIN_0230,), last_run_on=day - timedelta(days=1))
    with runtime.sessions.begin() as session:  # due since 02:30; claimed at 23:50, then the worker dies
        (claim,) = claim_due_runs(session, runtime.clock.now(), 10)
    assert claim.run_on == day
    tick(runtime, claim.lease_until, local(BERLIN, day + timedelta(days=1), 2, 0))
    assert recorded_runs(runtime, ids[BERLIN_0230.name]) == []
    tick(runtime, local(BERLIN, day + timedelta(days=1), 2, 0), local(BERLIN, day + timedelta(days=1), 3, 0))
    assert [d for d, _ in recorded_runs(runtime, ids[BERLIN_0230.name])] == [day + timedelta(days=1)]
