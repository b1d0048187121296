"""Where each organisation stands, for operators: the queries behind ``arcadence status`` and the
health endpoints (``web/health.py``), in one place so both say the same.

Every measure is one grouped query over all the organisations asked for, not one per organisation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connector.db import (
    Connection,
    ConnectionStatus,
    Invoice,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    QuarantinedRecord,
    RateBudget,
    WebhookEvent,
)

#: A grant that ends for good within this time is flagged (QBO grants end after 5 years).
GRANT_ENDING = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class OrgStatus:
    """Where one organisation stands."""

    organisation_id: int
    name: str
    platform: str
    external_id: str
    """QBO realm id or Xero tenant id."""
    connection: str
    """``active``, ``needs_reauth``, ``revoked`` or ``none``."""
    connection_note: str
    """What to do about the connection, if anything (reconnect, the grant's end is near)."""
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    next_run_at: datetime | None
    """The next collection run (the organisation's local run time on its next business day)."""
    parked_until: datetime | None
    """No call to the platform before then (a 429 said so); None when not parked now."""
    parked_for: str | None
    """The limit that parked it (``minute``, ``day``, ``concurrent``, ``throttled``)."""
    open_invoices: int
    outbox_pending: int
    """Reminders queued and not sent yet (the backlog)."""
    in_doubt: int
    """Sends that crashed between SMTP and the record: a person decides (``arcadence outbox``)."""
    quarantined: int
    """Platform records that could not be mapped and are not resolved."""
    webhooks_pending: int

    @property
    def healthy(self) -> bool:
        """Connected, not parked, nothing in doubt."""
        return self.connection == ConnectionStatus.ACTIVE.value and self.parked_until is None and not self.in_doubt

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (instants in ISO 8601)."""
        values: dict[str, Any] = {}
        for column in fields(self):
            value = getattr(self, column.name)
            values[column.name] = value.isoformat() if isinstance(value, datetime) else value
        values["healthy"] = self.healthy
        return values


def organisation_statuses(session: Session, now: datetime, org_ids: Collection[int] | None = None) -> list[OrgStatus]:
    """Every organisation (or those in ``org_ids``), in id order."""
    query = (
        select(Organisation, Connection)
        .outerjoin(Connection, Organisation.connection_id == Connection.id)
        .order_by(Organisation.id)
    )
    if org_ids is not None:
        query = query.where(Organisation.id.in_(org_ids))
    rows = session.execute(query).all()
    ids = [org.id for org, _ in rows]
    if not ids:
        return []
    outbox = _counts(
        session, OutboxMessage.organisation_id, ids, OutboxMessage.status, (OutboxStatus.PENDING, OutboxStatus.IN_DOUBT)
    )
    invoices = _counts(session, Invoice.organisation_id, ids, Invoice.status, ("open",))
    webhooks = _counts(session, WebhookEvent.organisation_id, ids, WebhookEvent.status, ("pending",))
    quarantined = dict(
        session.execute(
            select(QuarantinedRecord.organisation_id, func.count())
            .where(QuarantinedRecord.organisation_id.in_(ids), QuarantinedRecord.resolved_at.is_(None))
            .group_by(QuarantinedRecord.organisation_id)
        ).all()
    )
    problems = _park_problems(session, [f"{org.platform}:{org.external_id}" for org, _ in rows])
    statuses = []
    for org, connection in rows:
        parked = org.parked_until if org.parked_until is not None and org.parked_until > now else None
        state, note = connection_state(connection, now)
        statuses.append(
            OrgStatus(
                organisation_id=org.id,
                name=org.name,
                platform=org.platform,
                external_id=org.external_id,
                connection=state,
                connection_note=note,
                last_sync_at=org.last_sync_at,
                next_sync_at=org.next_sync_at,
                next_run_at=org.next_run_at,
                parked_until=parked,
                parked_for=problems.get(f"{org.platform}:{org.external_id}") if parked else None,
                open_invoices=invoices.get((org.id, "open"), 0),
                outbox_pending=outbox.get((org.id, OutboxStatus.PENDING.value), 0),
                in_doubt=outbox.get((org.id, OutboxStatus.IN_DOUBT.value), 0),
                quarantined=quarantined.get(org.id, 0),
                webhooks_pending=webhooks.get((org.id, "pending"), 0),
            )
        )
    return statuses


def open_quarantine(session: Session, org_id: int, limit: int = 5) -> Sequence[QuarantinedRecord]:
    """The first ``limit`` unresolved quarantined records of an organisation (oldest first)."""
    return session.scalars(
        select(QuarantinedRecord)
        .where(QuarantinedRecord.organisation_id == org_id, QuarantinedRecord.resolved_at.is_(None))
        .order_by(QuarantinedRecord.id)
        .limit(limit)
    ).all()


def connection_state(connection: Connection | None, now: datetime) -> tuple[str, str]:
    """The connection's state and what to do about it (empty when nothing)."""
    if connection is None:
        return "none", "connect the organisation in the web app"
    notes = []
    if connection.status == ConnectionStatus.NEEDS_REAUTH.value:
        notes.append(f"reconnect in the web app: {connection.last_error or 'grant refused'}")
    hard = connection.refresh_hard_expires_at
    if hard is not None and hard - now < GRANT_ENDING:
        notes.append(f"the grant ends for good on {hard:%Y-%m-%d}: reconnect before then")
    return connection.status, "; ".join(notes)


def database_answers(engine: Engine) -> bool:
    """Whether the store answers a trivial query now."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return False
    return True


def _counts(
    session: Session, org_column: Any, ids: list[int], status_column: Any, statuses: Sequence[str]
) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(org_column, status_column, func.count())
        .where(org_column.in_(ids), status_column.in_([str(s) for s in statuses]))
        .group_by(org_column, status_column)
    ).all()
    return {(org_id, status): count for org_id, status, count in rows}


def _park_problems(session: Session, keys: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(RateBudget.key, RateBudget.problem).where(RateBudget.key.in_(keys), RateBudget.problem.is_not(None))
    ).all()
    return {key: problem for key, problem in rows if problem is not None}
