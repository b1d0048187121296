"""Builders for rendering tests: a German seller, a customer, realistic invoices on TODAY."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

from connector.render import InvoiceLine, MessageContext, Party
from core.interest import statutory_claim
from core.model import money

TODAY = date(2026, 3, 10)

SELLER = Party("Müller & Söhne GmbH", ("Hauptstraße 1", "80331 München"), "buchhaltung@mueller.example")
BUYER = Party("Beispiel AG", ("Musterweg 5", "10115 Berlin"), "kreditoren@beispiel.example")


def invoice_line(number: str, overdue: int, amount: str, currency: str = "EUR", **changes: Any) -> InvoiceLine:
    """An invoice due ``overdue`` days before TODAY (negative: not yet due), issued 14 days before that."""
    due = TODAY - timedelta(days=overdue)
    line = InvoiceLine(
        number=number,
        issue_date=due - timedelta(days=14),
        due_date=due,
        open_amount=money(amount, currency),
        pay_url=f"https://pay.example/inv/{number}",
        terms="14 Tage netto",
    )
    return dataclasses.replace(line, **changes)


def make_context(
    *,
    template: str = "zahlungserinnerung",
    language: str = "de",
    level: int = 1,
    locale: str = "de_DE",
    invoices: tuple[InvoiceLine, ...] | None = None,
    with_claim: bool | None = None,
    count: int = 2,
    **changes: Any,
) -> MessageContext:
    """A context like the dispatcher builds; the claim is computed by core.interest at level ≥ 3."""
    if invoices is None:
        overdue = -3 if level == 0 else 40
        invoices = (invoice_line("RE-1001", overdue, "1234.50"), invoice_line("RE-1002", overdue - 10, "99.00"))[:count]
    currency = invoices[0].open_amount.currency
    total = money(sum((line.open_amount.amount for line in invoices), start=money(0, currency).amount), currency)
    claim = None
    if with_claim if with_claim is not None else level >= 3:
        country = "GB" if currency == "GBP" else "DE"
        claim = statutory_claim(country, [(line.open_amount, line.due_date) for line in invoices], TODAY)
    ctx = MessageContext(
        organisation=SELLER,
        locale=locale,
        customer=BUYER,
        language=language,
        today=TODAY,
        level=level,
        template=template,
        invoices=invoices,
        total=total,
        claim=claim,
        reference="OB-42",
    )
    return dataclasses.replace(ctx, **changes)
