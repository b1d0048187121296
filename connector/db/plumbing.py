"""Rows that carry data between the platforms and arcadence: the inbox of verified webhook
events and the quarantine of records that could not be mapped."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from connector.db.base import Base, OrgOwned


class WebhookEvent(Base):
    """A verified webhook delivery, stored raw and processed asynchronously (fetch by id).

    ``organisation_id`` is resolved from the realm / tenant id when the event is received; it is
    empty for an event about an organisation arcadence does not know (kept for support).
    """

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_key"),
        Index(
            "ix_webhook_inbox_pending",
            "received_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    external_org_id: Mapped[str] = mapped_column(String(100))
    event_key: Mapped[str] = mapped_column(String(200))
    """Deduplicates redeliveries (entity, id, operation, event time)."""
    entity: Mapped[str] = mapped_column(String(40))
    entity_external_id: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class QuarantinedRecord(OrgOwned, Base):
    """A platform record that failed to map: kept with its raw payload and the error, and skipped."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("organisation_id", "entity", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
