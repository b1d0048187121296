"""What the collection run works with and leaves behind: policies and their steps, message
templates, pauses, tasks, the append-only activity log and the outbox."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.db.base import Base, CurrencyCode, OrgOwned


class OutboxStatus(StrEnum):
    """Life of an outbox row: claim, then act, then record."""

    PENDING = "pending"
    CLAIMED = "claimed"
    """Taken by one dispatcher; being re-checked and rendered (nothing has been sent)."""
    SENDING = "sending"
    """Committed before SMTP starts: a crash from here on leaves the row in doubt."""
    SENT = "sent"
    IN_DOUBT = "in_doubt"
    """Crashed between SMTP accept and commit: never re-sent automatically; an admin confirms."""
    CANCELLED = "cancelled"
    FAILED = "failed"
    HELD = "held"
    """Not sent because its template failed; an admin fixes the template and releases it."""
    STALE = "stale"
    """Left pending past its day (dispatcher down): superseded by the next run's plan, never sent."""
    HANDED_OVER = "handed_over"
    """A heavy step (call, letter, agency, legal, write-off review) given to a person as a task."""


class TaskStatus(StrEnum):
    """Where a task for a person stands."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Policy(OrgOwned, Base):
    """A cadence: spacing and thresholds, and its ordered steps."""

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    min_days_between_touches: Mapped[int] = mapped_column(Integer, default=7)
    min_balance: Mapped[Decimal]
    first_touch_max_level: Mapped[int] = mapped_column(Integer, default=1)
    promise_grace_days: Mapped[int] = mapped_column(Integer, default=2)
    statutory_claims: Mapped[bool] = mapped_column(Boolean, default=False)
    business_days_only: Mapped[bool] = mapped_column(Boolean, default=True)
    switched_on_at: Mapped[datetime | None]
    """None: test mode (everything planned and shown, nothing sent). A new or changed policy starts
    in test mode until an admin has looked at the preview and switched it on."""
    switched_on_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    steps: Mapped[list[PolicyStep]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="PolicyStep.position"
    )


class PolicyStep(OrgOwned, Base):
    """One step of a cadence: offset from the due date, level, action, template."""

    __tablename__ = "policy_steps"
    __table_args__ = (UniqueConstraint("policy_id", "step_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policies.id", ondelete="CASCADE"), index=True)
    step_key: Mapped[str] = mapped_column(String(40))
    """The step's id in the policy (``s1``): history records it."""
    position: Mapped[int] = mapped_column(Integer)
    offset_days: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    template_key: Mapped[str] = mapped_column(String(60))

    policy: Mapped[Policy] = relationship(back_populates="steps")


class MessageTemplate(OrgOwned, Base):
    """A user-editable message (rendered in Jinja2's sandbox) per template key, language and channel."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("organisation_id", "template_key", "language", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_key: Mapped[str] = mapped_column(String(60))
    level: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    """email or letter."""
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]


class Pause(OrgOwned, Base):
    """A dispute, promise to pay, payment plan or hold, for a customer or one invoice."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    since_date: Mapped[date]
    until_date: Mapped[date | None]
    lifted_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(100))
    """A user id, ``payer`` (self-service page) or ``system``."""
    created_at: Mapped[datetime]


class Task(OrgOwned, Base):
    """Work for a person: call, letter, agency hand-off, find an email address, check a payment."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index(
            "ix_tasks_open",
            "organisation_id",
            "status",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.OPEN.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    due_date: Mapped[date | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    """What came of it, written when the task is done."""
    created_by: Mapped[str] = mapped_column(String(100), default="system", server_default="system")
    """A user id, ``system`` or ``payer``."""
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class Activity(OrgOwned, Base):
    """One entry of the append-only activity log: a message, call, note, promise, dispute or
    status change. There is no update or delete path (see ``connector.db.activity``)."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_customer_time", "organisation_id", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    occurred_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    """A user id, ``system``, ``scheduler`` or ``payer``."""
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(OrgOwned, Base):
    """A planned touch waiting to be sent, made unique by ``dedupe_key``."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("organisation_id", "dedupe_key"),
        Index(
            "ix_outbox_pending",
            "organisation_id",
            "planned_date",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    """Hash of (organisation, customer, currency, step, sorted invoice ids, planned date)."""
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(CurrencyCode)
    step_key: Mapped[str] = mapped_column(String(40))
    level: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    template_key: Mapped[str] = mapped_column(String(60))
    planned_date: Mapped[date]
    invoice_ids: Mapped[str] = mapped_column(Text)
    """Sorted external invoice ids, comma-separated."""
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    not_before: Mapped[datetime | None]
    """Retry backoff: the dispatcher leaves the row alone until then."""
    sent_at: Mapped[datetime | None]
    note_written_at: Mapped[datetime | None]
    """When the reminder note was written back to the platform (retried separately, never resends)."""
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
