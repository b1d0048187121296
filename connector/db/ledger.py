"""The local copy of each organisation's receivables: customers and their contacts, invoices,
payments and credits (credit notes, overpayments, prepayments) with their allocations.

``external_id`` is the platform's id; rows are upserted by (organisation, external id).
Allocations name the invoice by its external id, since a payment can arrive before its invoice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connector.db.base import Base, CurrencyCode, OrgOwned


class Customer(OrgOwned, Base):
    """A payer (QBO Customer, Xero Contact)."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("organisation_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8), default="en")
    country: Mapped[str | None] = mapped_column(String(2))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    """Never chased (Mahnsperre)."""
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id", ondelete="SET NULL"))
    """The customer's own cadence; the organisation's active policy when empty."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    platform_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime]

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", cascade="all, delete-orphan")


class Contact(OrgOwned, Base):
    """An address of a customer that may receive reminders."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    include_in_reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Invoice(OrgOwned, Base):
    """A sales invoice."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("organisation_id", "external_id"),
        Index("ix_invoices_open_by_due", "organisation_id", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(100), default="")
    issue_date: Mapped[date]
    due_date: Mapped[date]
    currency: Mapped[str] = mapped_column(CurrencyCode)
    total: Mapped[Decimal]
    balance: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    """open, paid, voided, draft, deleted (core.model.InvoiceStatus)."""
    paid_date: Mapped[date | None]
    terms: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """Payment terms as the platform names them (``Net 30``)."""
    pay_url: Mapped[str | None] = mapped_column(Text)
    """QBO InvoiceLink / Xero OnlineInvoiceUrl, fetched once and cached."""
    pay_url_fetched_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime]


class Payment(OrgOwned, Base):
    """A payment received."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("organisation_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    payment_date: Mapped[date]
    currency: Mapped[str] = mapped_column(CurrencyCode)
    amount: Mapped[Decimal]
    unapplied_amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), default="active")
    """active, voided or deleted."""
    platform_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime]

    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="payment", cascade="all, delete-orphan")


class PaymentAllocation(OrgOwned, Base):
    """Part of a payment applied to an invoice."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_external_id: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[Decimal]

    payment: Mapped[Payment] = relationship(back_populates="allocations")


class Credit(OrgOwned, Base):
    """A credit note, overpayment or prepayment (``kind``), with what remains unapplied."""

    __tablename__ = "credits"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    """credit_note, overpayment, prepayment (core.model.CreditKind)."""
    number: Mapped[str] = mapped_column(String(100), default="")
    issue_date: Mapped[date | None]
    currency: Mapped[str] = mapped_column(CurrencyCode)
    total: Mapped[Decimal]
    remaining: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16), default="open")
    platform_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime]


class CreditAllocation(OrgOwned, Base):
    """Part of a credit applied to an invoice."""

    __tablename__ = "credit_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    credit_id: Mapped[int] = mapped_column(ForeignKey("credits.id", ondelete="CASCADE"), index=True)
    invoice_external_id: Mapped[str] = mapped_column(String(100), index=True)
    amount: Mapped[Decimal]
    allocated_date: Mapped[date | None]
