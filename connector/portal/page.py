"""What the payer's page shows, read from the store for one customer of one organisation.

The page lists the customer's open invoices (with the platform's pay-now link and whether a
pause covers them), the credits and balances of its statement of account, the invoices paid
lately (so a link used after paying says so), the reminders sent to it, and what it has told us
that still stands (pauses). Everything is scoped by the link's organisation and customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import Customer, Invoice, Organisation, OutboxMessage, OutboxStatus, Pause
from connector.render.formatting import safe_url
from connector.render.statement import Statement
from connector.statements import load_statement

PAID_LATELY_DAYS = 60
"""Invoices paid within this many days are listed as paid (a link outlives the invoice it came for)."""
#: Outbox states of a message that reached (or may have reached) the customer.
DELIVERED = (OutboxStatus.SENT.value, OutboxStatus.IN_DOUBT.value)


@dataclass(frozen=True, slots=True)
class PayerInvoice:
    """One invoice as the payer sees it.

    Attributes:
        id: the store row id (what the dispute form names).
        number: the invoice number.
        issue_date: the invoice date.
        due_date: the due date.
        currency: ISO 4217 code.
        balance: what is still open (zero once paid).
        pay_url: the platform's pay-now page (http(s) only), if any.
        paused: the kind of pause in force on it (``dispute``, ``promise``, ``plan``, ``hold``), if any.
        paid_date: when it was paid (paid invoices only).
    """

    id: int
    number: str
    issue_date: date
    due_date: date
    currency: str
    balance: Decimal
    pay_url: str | None
    paused: str | None = None
    paid_date: date | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A reminder sent to the customer.

    Attributes:
        sent_on: the day it went out.
        level: its level (0 courtesy … 4 agency).
        invoice_numbers: the invoices it was about.
    """

    sent_on: date
    level: int
    invoice_numbers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PayerPage:
    """Everything the payer's page shows.

    Attributes:
        organisation_name: who sends the reminders.
        customer_name: the customer.
        language: the customer's language (``de`` or ``en``).
        today: the organisation's day.
        open_invoices: open invoices with a balance, oldest due first.
        paid_lately: invoices paid in the last :data:`PAID_LATELY_DAYS` days, newest first.
        statement: the statement of account (credits and totals per currency).
        sent: reminders sent, newest first.
        pauses: pauses in force on the customer or its invoices, newest first.
    """

    organisation_name: str
    customer_name: str
    language: str
    today: date
    open_invoices: tuple[PayerInvoice, ...]
    paid_lately: tuple[PayerInvoice, ...]
    statement: Statement
    sent: tuple[SentMessage, ...]
    pauses: tuple[Pause, ...]

    @property
    def all_paid(self) -> bool:
        """Nothing is open any more."""
        return not self.open_invoices


def payer_language(language: str) -> str:
    """The page's language for a customer's language: German for ``de*``, else English."""
    return "de" if language.lower().startswith("de") else "en"


def in_force(pause: Pause, today: date) -> bool:
    """True while the pause stops chasing (not lifted, not past its last day)."""
    return pause.lifted_at is None and (pause.until_date is None or pause.until_date >= today)


def load_payer_page(session: Session, org: Organisation, customer: Customer, today: date) -> PayerPage:
    """The payer's page of ``customer`` (one of ``org``'s) on ``today``."""
    pauses = tuple(
        p
        for p in session.scalars(
            select(Pause)
            .where(Pause.organisation_id == org.id, Pause.customer_id == customer.id)
            .order_by(Pause.created_at.desc(), Pause.id.desc())
        )
        if in_force(p, today)
    )
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.organisation_id == org.id, Invoice.customer_id == customer.id)
        .order_by(Invoice.due_date, Invoice.number, Invoice.id)
    ).all()
    numbers = {i.external_id: i.number or i.external_id for i in invoices}
    whole = next((p.kind for p in pauses if p.invoice_id is None), None)
    by_invoice = {p.invoice_id: p.kind for p in reversed(pauses) if p.invoice_id is not None}
    open_rows = [i for i in invoices if i.status == "open" and i.balance > 0]
    paid_since = today - timedelta(days=PAID_LATELY_DAYS)
    paid_rows = [i for i in invoices if i.status == "paid" and (i.paid_date or today) >= paid_since]
    return PayerPage(
        organisation_name=org.name,
        customer_name=customer.name,
        language=payer_language(customer.language),
        today=today,
        open_invoices=tuple(_invoice(i, by_invoice.get(i.id) or whole) for i in open_rows),
        paid_lately=tuple(sorted((_invoice(i) for i in paid_rows), key=lambda i: i.paid_date or today, reverse=True)),
        statement=load_statement(session, org, customer, today),
        sent=_sent(session, org.id, customer.id, numbers),
        pauses=pauses,
    )


def _invoice(row: Invoice, paused: str | None = None) -> PayerInvoice:
    return PayerInvoice(
        id=row.id,
        number=row.number or row.external_id,
        issue_date=row.issue_date,
        due_date=row.due_date,
        currency=row.currency,
        balance=row.balance,
        pay_url=safe_url(row.pay_url),
        paused=paused,
        paid_date=row.paid_date if row.status == "paid" else None,
    )


def _sent(session: Session, org_id: int, customer_id: int, numbers: dict[str, str]) -> tuple[SentMessage, ...]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.organisation_id == org_id,
            OutboxMessage.customer_id == customer_id,
            OutboxMessage.status.in_(DELIVERED),
        )
        .order_by(OutboxMessage.planned_date.desc(), OutboxMessage.id.desc())
    )
    return tuple(
        SentMessage(
            sent_on=(row.sent_at.date() if row.sent_at else row.planned_date),
            level=row.level,
            invoice_numbers=tuple(numbers.get(i, i) for i in row.invoice_ids.split(",") if i),
        )
        for row in rows
    )
