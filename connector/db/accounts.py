"""Who uses arcadence and what they connected: users, firms, memberships, organisations,
connections (encrypted tokens) and sync cursors."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.db.base import Base, CurrencyCode, OrgOwned


class Role(StrEnum):
    """What a member may do in a firm's organisations."""

    ADMIN = "admin"
    """Everything, including policies, templates and connections."""
    COLLECTOR = "collector"
    """Works the ledger and tasks; no policy or connection changes."""
    VIEWER = "viewer"
    """Reads only."""


class ConnectionStatus(StrEnum):
    """Whether the platform grant still works."""

    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    REVOKED = "revoked"


class User(Base):
    """A person who signs in (local password and/or Intuit / Xero OpenID Connect)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    """The UI language the user chose (``de`` / ``en``); the browser's when empty."""
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Firm(Base):
    """An accounting firm or a business: the unit that owns organisations and members."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(back_populates="firm")
    organisations: Mapped[list[Organisation]] = relationship(back_populates="firm")
    connections: Mapped[list[Connection]] = relationship(back_populates="firm")


class Membership(Base):
    """A user's role in a firm."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "firm_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.VIEWER.value)
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="memberships")
    firm: Mapped[Firm] = relationship(back_populates="memberships")


class Connection(Base):
    """One OAuth grant to a platform. Tokens are stored encrypted (see ``connector.tokens``).

    A QuickBooks grant covers one realm; a Xero grant may cover several tenants, so one
    connection can serve several organisations.
    """

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    grant_ref: Mapped[str | None] = mapped_column(String(200))
    """Platform-side id of the grant (Xero authEventId, QBO realm), for revocation and support."""
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.ACTIVE.value)
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(Text, default="")
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    refresh_hard_expires_at: Mapped[datetime | None]
    """The grant's absolute end (QBO: 5 years, notes/quickbooks.md §2.3): reconnect before it."""
    refreshed_at: Mapped[datetime | None]
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped on every token write, so a refresh race can tell it lost."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    firm: Mapped[Firm] = relationship(back_populates="connections")
    organisations: Mapped[list[Organisation]] = relationship(back_populates="connection")


class Organisation(Base):
    """One QuickBooks realm or one Xero tenant, looked after by a firm."""

    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    """QBO realm id or Xero tenant id."""
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    subdivision: Mapped[str | None] = mapped_column(String(10))
    """Region for public holidays (e.g. BY for Bavaria)."""
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Berlin")
    base_currency: Mapped[str] = mapped_column(CurrencyCode, default="EUR")
    locale: Mapped[str] = mapped_column(String(16), default="de_DE")
    run_time: Mapped[str] = mapped_column(String(5), default="07:00")
    """Local time of the daily collection run, HH:MM."""
    sender_email: Mapped[str | None] = mapped_column(String(320))
    collections_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    """Off until an admin has previewed and switched the cadence on."""
    default_collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    last_sync_at: Mapped[datetime | None]
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    """The UTC instant of the next collection run (the org's ``run_time`` on its next business day)."""
    last_run_on: Mapped[date | None]
    """The local date of the last collection run: at most one run per local day."""
    parked_until: Mapped[datetime | None]
    """Set after a 429: no call to the platform for this organisation before then (all workers)."""
    created_at: Mapped[datetime]

    firm: Mapped[Firm] = relationship(back_populates="organisations")
    connection: Mapped[Connection | None] = relationship(back_populates="organisations")


class SyncCursor(OrgOwned, Base):
    """Where incremental sync of one entity of one organisation stands."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("organisation_id", "entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(40))
    """invoice, customer, payment, credit_note, overpayment, prepayment."""
    cursor_at: Mapped[datetime | None]
    """QBO CDC changedSince / Xero If-Modified-Since of the next fetch."""
    last_full_at: Mapped[datetime | None]
    """When the last full read (first sync, nightly reconcile) finished."""
    updated_at: Mapped[datetime]


class Invitation(Base):
    """An emailed invitation to join a firm with a role; the link carries a token whose hash is kept."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), default=Role.VIEWER.value)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the token in the link (the token itself is never stored)."""
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One sign-in attempt, kept briefly to rate-limit guessing per e-mail address and per client."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key_time", "key", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    """``email:<address>`` or ``ip:<address>``."""
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    attempted_at: Mapped[datetime]


class RateBudget(Base):
    """Shared API budget of one key (``xero:<tenant>``, ``quickbooks:<realm>``, ``xero:app``) across
    worker processes: the calls used in the current minute and day windows, and a 429 parking."""

    __tablename__ = "rate_budgets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    minute_start: Mapped[datetime | None]
    minute_used: Mapped[int] = mapped_column(Integer, default=0)
    day_start: Mapped[datetime | None]
    day_used: Mapped[int] = mapped_column(Integer, default=0)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
    parked_until: Mapped[datetime | None]
    problem: Mapped[str | None] = mapped_column(String(20))
    """``minute``, ``day`` or ``concurrent`` (Xero's X-Rate-Limit-Problem) of the last 429."""
    updated_at: Mapped[datetime]
