"""Statements of account from the store: one customer's open invoices and credits on one day,
ready for :mod:`connector.render.statement` (HTML, PDF, or an attachment of a message).

What counts is what the engine counts (``connector.ledger``): open invoices with a balance, open
credit notes, overpayments and prepayments with something remaining, and the unapplied part of
active payments. Totals are per currency, never converted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import Credit, Customer, Invoice, Organisation, Payment
from connector.render import Party, Statement, StatementCredit, StatementLine, StatementTotal
from core.model import money


def load_statement(session: Session, org: Organisation, customer: Customer, today: date) -> Statement:
    """The statement of ``customer`` (a customer of ``org``) as the store has it on ``today``.

    Args:
        session: an open session.
        org: the issuing organisation.
        customer: the customer, which must belong to ``org``.
        today: the statement's day (the organisation's local day).

    Returns:
        Open invoices (oldest due first), credits (oldest first) and one total per currency.

    Raises:
        ValueError: the customer is not one of the organisation's (a bug in the caller).
    """
    if customer.organisation_id != org.id:
        raise ValueError(f"customer {customer.id} is not a customer of organisation {org.id}")
    lines = tuple(_line(row) for row in _open_invoices(session, org.id, customer.id))
    credits = tuple(sorted(_credits(session, org.id, customer.id), key=lambda c: (c.issue_date or date.min, c.number)))
    return Statement(
        organisation=Party(name=org.name, email=org.sender_email or ""),
        customer=Party(name=customer.name),
        locale=org.locale,
        language=customer.language,
        today=today,
        lines=lines,
        credits=credits,
        totals=_totals(lines, credits),
        reference=customer.external_id,
    )


def _open_invoices(session: Session, org_id: int, customer_id: int) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.organisation_id == org_id,
                Invoice.customer_id == customer_id,
                Invoice.status == "open",
                Invoice.balance > 0,
            )
            .order_by(Invoice.due_date, Invoice.number, Invoice.id)
        )
    )


def _line(row: Invoice) -> StatementLine:
    return StatementLine(
        number=row.number or row.external_id,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total=money(row.total, row.currency),
        open_amount=money(row.balance, row.currency),
        pay_url=row.pay_url,
    )


def _credits(session: Session, org_id: int, customer_id: int) -> list[StatementCredit]:
    notes = session.scalars(
        select(Credit).where(
            Credit.organisation_id == org_id,
            Credit.customer_id == customer_id,
            Credit.status == "open",
            Credit.remaining > 0,
        )
    )
    payments = session.scalars(
        select(Payment).where(
            Payment.organisation_id == org_id,
            Payment.customer_id == customer_id,
            Payment.status == "active",
            Payment.unapplied_amount > 0,
        )
    )
    found = [StatementCredit(c.kind, c.number, c.issue_date, money(c.remaining, c.currency)) for c in notes]
    found += [
        StatementCredit("unapplied_payment", "", p.payment_date, money(p.unapplied_amount, p.currency))
        for p in payments
    ]
    return found


def _totals(lines: tuple[StatementLine, ...], credits: tuple[StatementCredit, ...]) -> tuple[StatementTotal, ...]:
    open_sums: dict[str, Decimal] = defaultdict(Decimal)
    credit_sums: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        open_sums[line.open_amount.currency] += line.open_amount.amount
    for credit in credits:
        credit_sums[credit.amount.currency] += credit.amount.amount
    return tuple(
        StatementTotal(
            open=money(open_sums[c], c),
            credits=money(credit_sums[c], c),
            balance=money(open_sums[c] - credit_sums[c], c),
        )
        for c in sorted(set(open_sums) | set(credit_sums))
    )
