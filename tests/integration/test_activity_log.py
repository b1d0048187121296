"""The activity log is append-only: the repository can only append, the ORM refuses updates and
deletes, and the database refuses them in raw SQL too (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from connector.db import Activity, Firm, Organisation
from connector.db.activity import ActivityLog, AppendOnlyViolation

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


def _org(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        org = Organisation(
            firm=Firm(name="Kanzlei", created_at=NOW),
            platform="quickbooks",
            external_id="4620816365",
            name="Weber Maschinenbau GmbH",
            created_at=NOW,
        )
        session.add(org)
        session.flush()
        ActivityLog(session, org.id).append(
            kind="reminder_sent",
            actor="system",
            summary="1. Mahnung an ap@acme.example",
            occurred_at=NOW,
            data={"level": 1},
        )
        return org.id


def test_repository_appends_and_reads_in_order(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    with sessions.begin() as session:
        ActivityLog(session, org_id).append(
            kind="note", actor="7", summary="called AP, promised Friday", occurred_at=NOW.replace(hour=10)
        )
    with sessions() as session:
        entries = session.scalars(select(Activity).order_by(Activity.occurred_at)).all()
    assert [e.kind for e in entries] == ["reminder_sent", "note"]
    assert entries[0].data == {"level": 1}


def test_repository_has_no_update_or_delete_path() -> None:
    public = {name for name in dir(ActivityLog) if not name.startswith("_")}
    assert public == {"append", "for_customer", "for_invoice"}


def test_update_through_the_orm_is_refused(sessions: sessionmaker[Session]) -> None:
    _org(sessions)
    with pytest.raises(AppendOnlyViolation), sessions.begin() as session:
        entry = session.scalars(select(Activity)).one()
        entry.summary = "rewritten history"
    with sessions() as session:
        assert session.scalars(select(Activity.summary)).one() == "1. Mahnung an ap@acme.example"


def test_delete_through_the_orm_is_refused(sessions: sessionmaker[Session]) -> None:
    _org(sessions)
    with pytest.raises(AppendOnlyViolation), sessions.begin() as session:
        session.delete(session.scalars(select(Activity)).one())
    with sessions() as session:
        assert len(session.scalars(select(Activity)).all()) == 1


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(update(Activity).values(summary="rewritten"), id="orm-bulk-update"),
        pytest.param(text("UPDATE activities SET summary = 'rewritten'"), id="raw-update"),
        pytest.param(text("DELETE FROM activities"), id="raw-delete"),
    ],
)
def test_database_refuses_changes_to_activities(sessions: sessionmaker[Session], statement: object) -> None:
    _org(sessions)
    with pytest.raises(DatabaseError, match="append-only"), sessions.begin() as session:
        session.execute(statement)  # type: ignore[call-overload]
    with sessions() as session:
        assert session.scalars(select(Activity.summary)).one() == "1. Mahnung an ap@acme.example"
