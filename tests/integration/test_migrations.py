"""One migration history for SQLite and PostgreSQL: up, down, up again, and in step with the models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from connector.db import Base, Customer, Firm, Invoice, Organisation
from connector.db.session import downgrade, make_engine, upgrade

TABLES = {
    "users", "firms", "memberships", "organisations", "connections", "sync_cursors", "customers", "contacts",
    "invoices", "payments", "payment_allocations", "credits", "credit_allocations", "policies", "policy_steps",
    "message_templates", "pauses", "tasks", "activities", "outbox", "webhook_inbox", "quarantine",
}  # fmt: skip


def test_upgrade_to_head_creates_every_table_and_downgrade_to_base_removes_them(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        downgrade(db_url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(db_url)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_every_organisation_row_carries_organisation_id() -> None:
    outside = {
        "users",
        "firms",
        "memberships",
        "invitations",
        "login_attempts",
        "rate_budgets",
        "organisations",
        "connections",
        "webhook_inbox",
    }
    for name, table in Base.metadata.tables.items():
        if name not in outside:
            assert "organisation_id" in table.c, name
            assert not table.c.organisation_id.nullable, name
    # The inbox may hold events for an organisation we do not know (yet), so its column is nullable.
    assert "organisation_id" in Base.metadata.tables["webhook_inbox"].c


def test_money_columns_are_numeric_never_float() -> None:
    from sqlalchemy import Float, Numeric

    money_columns = [
        column
        for table in Base.metadata.tables.values()
        for column in table.c
        if column.name in {"total", "balance", "amount", "remaining", "unapplied_amount", "min_balance"}
    ]
    assert len(money_columns) >= 9
    for column in money_columns:
        assert isinstance(column.type, Numeric) and not isinstance(column.type, Float), column
        assert column.type.asdecimal, column


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_instants_are_stored_in_utc_and_come_back_aware(engine: object, sessions: object) -> None:
    berlin = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 10, 9, 30, tzinfo=berlin)
    with sessions.begin() as session:  # type: ignore[attr-defined]
        session.add(Firm(name="Kanzlei Weber", created_at=local))
    with sessions() as session:  # type: ignore[operator]
        stored = session.scalar(select(Firm.created_at))
    assert stored == datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)


def test_naive_instants_are_refused(sessions: object) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:  # type: ignore[attr-defined]
        session.add(Firm(name="Naive", created_at=datetime(2026, 3, 10, 9, 30)))


def test_money_round_trips_exactly(sessions: object) -> None:
    now = datetime(2026, 3, 10, tzinfo=UTC)
    with sessions.begin() as session:  # type: ignore[attr-defined]
        org = Organisation(
            firm=Firm(name="F", created_at=now), platform="xero", external_id="t1", name="O", created_at=now
        )
        customer = Customer(external_id="C1", name="Acme GmbH", synced_at=now)
        session.add(org)
        session.flush()
        customer.organisation_id = org.id
        session.add(customer)
        session.flush()
        session.add(
            Invoice(
                organisation_id=org.id,
                customer_id=customer.id,
                external_id="I1",
                number="1001",
                issue_date=date(2026, 1, 15),
                due_date=date(2026, 2, 14),
                currency="EUR",
                total=Decimal("1190.00"),
                balance=Decimal("1234567890.0125"),
                status="open",
                synced_at=now,
            )
        )
    with sessions() as session:  # type: ignore[operator]
        balance = session.scalar(select(Invoice.balance))
    assert isinstance(balance, Decimal)
    assert balance == Decimal("1234567890.0125")
