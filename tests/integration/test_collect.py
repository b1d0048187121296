"""The collection run: each touch recorded once, whatever repeats it; heavy steps and missing
addresses become tasks; today is the organisation's today (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.db import Activity, Contact, Customer, Firm, Invoice, Organisation, OutboxMessage, Task
from connector.outbox import NotResolvable, collect, resolve

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> Iterator[tuple[sessionmaker[Session], int]]:
    """An English organisation (Standard B2B cadence) with three customers and overdue invoices."""
    with sessions.begin() as session:
        org = Organisation(
            firm=Firm(name="F", created_at=NOW),
            platform="quickbooks",
            external_id="r1",
            name="Acme Ltd",
            country="GB",
            timezone="Europe/London",
            base_currency="GBP",
            created_at=NOW,
        )
        session.add(org)
        session.flush()
        for cid, email in (("C1", "ap@one.example"), ("C2", "ap@two.example"), ("C3", None)):
            customer = Customer(organisation_id=org.id, external_id=cid, name=f"Customer {cid}", synced_at=NOW)
            if email:
                customer.contacts.append(Contact(organisation_id=org.id, email=email))
            session.add(customer)
            session.flush()
            for n, days in enumerate((5, 20)):
                session.add(
                    Invoice(
                        organisation_id=org.id,
                        customer_id=customer.id,
                        external_id=f"{cid}-{n}",
                        number=f"{cid}-{n}",
                        issue_date=date(2026, 1, 1),
                        due_date=NOW.date() - timedelta(days=days),
                        currency="GBP",
                        total=Decimal("500.00"),
                        balance=Decimal("500.00"),
                        status="open",
                        synced_at=NOW,
                    )
                )
        org_id = org.id
    yield sessions, org_id


def _count(sessions: sessionmaker[Session], what: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(what)) or 0


def test_a_run_queues_each_touch_and_a_second_run_queues_nothing(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    first = collect(sessions, org_id, FixedClock(NOW))
    assert first.created == len([t for t in first.plan.touches]) == 2  # C1 and C2; C3 has no address
    assert _count(sessions, OutboxMessage) == 2
    again = collect(sessions, org_id, FixedClock(NOW + timedelta(hours=3)))
    assert (again.created, again.existing) == (0, 0)  # queued touches are history: spacing skips them
    assert _count(sessions, OutboxMessage) == 2


def test_a_touch_still_queued_the_next_day_is_not_queued_again(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    collect(sessions, org_id, FixedClock(NOW))
    later = collect(sessions, org_id, FixedClock(NOW + timedelta(days=1)))  # the dispatcher never ran
    assert later.created == 0 and _count(sessions, OutboxMessage) == 2


def test_the_same_touch_planned_twice_the_same_day_is_one_row(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    first = collect(sessions, org_id, FixedClock(NOW))
    with sessions.begin() as session:  # a cancelled touch leaves the history, so it is planned again …
        session.execute(OutboxMessage.__table__.update().values(status="cancelled"))
        session.execute(OutboxMessage.__table__.update().values(status="pending"))
    again = collect(sessions, org_id, FixedClock(NOW))
    assert first.created == 2 and again.created == 0 and _count(sessions, OutboxMessage) == 2


def test_a_dry_run_plans_but_writes_nothing(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    result = collect(sessions, org_id, FixedClock(NOW), dry_run=True)
    assert len(result.plan.touches) == 2 and result.created == 0
    assert _count(sessions, OutboxMessage) == _count(sessions, Task) == _count(sessions, Activity) == 0


def test_a_customer_without_an_address_gets_one_find_email_task(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    collect(sessions, org_id, FixedClock(NOW))
    collect(sessions, org_id, FixedClock(NOW + timedelta(days=1)))
    with sessions() as session:
        tasks = session.scalars(select(Task).where(Task.kind == "find_email")).all()
    assert len(tasks) == 1 and tasks[0].status == "open"


def test_two_runs_at_once_queue_each_touch_once(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    results = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(collect(sessions, org_id, FixedClock(NOW)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2
    assert sum(r.created for r in results) == 2 and _count(sessions, OutboxMessage) == 2


def test_heavy_steps_are_handed_to_a_person(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    clock = FixedClock(NOW)
    for _ in range(12):  # walk the cadence forward, one run a week
        collect(sessions, org_id, clock)
        clock.advance(timedelta(days=7))
    with sessions() as session:
        handed = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "handed_over")).all()
        tasks = session.scalars(select(Task).where(Task.outbox_id.is_not(None))).all()
    assert handed and {t.outbox_id for t in tasks} == {h.id for h in handed}
    assert {h.action for h in handed} <= {"notify_owner", "letter", "agency"}


def test_today_is_the_organisation_s_today(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    with sessions.begin() as session:
        session.get_one(Organisation, org_id).timezone = "Pacific/Auckland"  # UTC+13 in March
    result = collect(sessions, org_id, FixedClock(datetime(2026, 3, 10, 20, 0, tzinfo=UTC)))
    assert result.today == date(2026, 3, 11)


@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        pytest.param("in_doubt", "confirm_sent", "sent", id="confirm"),
        pytest.param("in_doubt", "resend", "pending", id="resend"),
        pytest.param("held", "release", "pending", id="release"),
        pytest.param("failed", "cancel", "cancelled", id="cancel"),
    ],
)
def test_a_person_resolves_what_needs_a_decision_and_it_is_logged(
    store: tuple[sessionmaker[Session], int], status: str, action: str, after: str
) -> None:
    sessions, org_id = store
    collect(sessions, org_id, FixedClock(NOW))
    with sessions.begin() as session:
        row = session.scalars(select(OutboxMessage)).first()
        assert row is not None
        row.status, row_id = status, row.id
    assert resolve(sessions, row_id, action, actor="alice@example.test", now=NOW).status == after
    with sessions() as session:
        entry = session.scalars(select(Activity).where(Activity.kind == f"reminder_{action}")).one()
        assert "alice@example.test" in entry.summary and entry.data["outbox_id"] == row_id


def test_a_decision_that_does_not_fit_the_state_is_refused(store: tuple[sessionmaker[Session], int]) -> None:
    sessions, org_id = store
    collect(sessions, org_id, FixedClock(NOW))
    with sessions() as session:
        row_id = session.scalars(select(OutboxMessage.id)).first()
    with pytest.raises(NotResolvable, match="is pending; confirm_sent applies to in_doubt"):
        resolve(sessions, row_id, "confirm_sent", actor="bob", now=NOW)  # type: ignore[arg-type]
