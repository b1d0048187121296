"""Helpers shared by the metrics: which invoices count, and an invoice's balance on a past day.

Reconstructing a past balance (``outstanding_on``) — the approximation, stated once:

- Only ``open`` and ``paid`` invoices were ever receivables; voided, draft and deleted ones count as zero.
- An invoice is outstanding from its ``issue_date``.
- Payments are known through their allocations (``Payment.allocations`` dated by ``payment_date``):
  the balance on day *d* is today's balance plus everything allocated to the invoice after *d*.
- Reductions no allocation explains (``total - balance - allocations``: credit notes, write-offs,
  payments the platform did not report) are dated at ``paid_date`` when the invoice has one (the day
  its balance reached zero) and otherwise at the issue date (a credit note usually corrects an
  invoice soon after it is issued). So the reconstruction at ``today`` equals the open balances.
- A paid invoice without ``paid_date`` and without allocations cannot be dated: it counts as never
  outstanding (this understates past balances; mappings should set ``paid_date``).

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.model import Invoice, InvoiceStatus, Payment

RECEIVABLE = frozenset({InvoiceStatus.OPEN, InvoiceStatus.PAID})
"""Statuses of invoices that were real receivables at some time."""

TENTH = Decimal("0.1")

Allocations = dict[str, list[tuple[date, Decimal]]]
"""Per invoice id: (payment_date, amount) of every allocation to it."""


def is_open(invoice: Invoice) -> bool:
    """True for an open invoice with a positive balance (what aging and forecasts look at)."""
    return invoice.status is InvoiceStatus.OPEN and invoice.balance.is_positive()


def allocations_by_invoice(payments: Iterable[Payment]) -> Allocations:
    """Index the payments' allocations by invoice id.

    Args:
        payments: payments received, with their allocations.

    Returns:
        For each invoice id, the (payment_date, amount) pairs applied to it.
    """
    index: Allocations = defaultdict(list)
    for payment in payments:
        for allocation in payment.allocations:
            index[allocation.invoice_id].append((payment.payment_date, allocation.amount.amount))
    return index


def outstanding_on(invoice: Invoice, allocations: Allocations, day: date) -> Decimal:
    """The invoice's open balance at the end of ``day``, reconstructed as the module docstring says.

    Args:
        invoice: the invoice.
        allocations: the payments' allocations, from :func:`allocations_by_invoice`.
        day: a day in the past (or today).

    Returns:
        The amount outstanding, between zero and the invoice total.
    """
    if invoice.status not in RECEIVABLE or invoice.issue_date > day:
        return Decimal(0)
    if invoice.paid_date is not None and invoice.paid_date <= day:
        return Decimal(0)
    applied = allocations.get(invoice.id, [])
    explained = sum((amount for _, amount in applied), Decimal(0))
    after = sum((amount for paid, amount in applied if paid > day), Decimal(0))
    total = invoice.total.amount
    unexplained_later = total - invoice.balance.amount - explained if invoice.paid_date is not None else Decimal(0)
    return min(total, max(Decimal(0), invoice.balance.amount + after + unexplained_later))


def currencies_of(invoices: Iterable[Invoice]) -> list[str]:
    """The currency codes of ``invoices``, sorted."""
    return sorted({invoice.currency for invoice in invoices})


def one_place(value: Decimal) -> Decimal:
    """``value`` rounded half-up to one decimal place (how day counts and ratios are reported)."""
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def days_late(invoice: Invoice) -> int:
    """Days between due date and payment, floored at 0 (paying early does not offset paying late).

    Args:
        invoice: an invoice with ``paid_date`` set.

    Returns:
        ``max(0, paid_date - due_date)`` in days.
    """
    assert invoice.paid_date is not None
    return max(0, (invoice.paid_date - invoice.due_date).days)


def paid_history(invoices: Sequence[Invoice]) -> list[Invoice]:
    """The paid invoices with a payment date, oldest payment first (then due date, then id)."""
    paid = [inv for inv in invoices if inv.status in RECEIVABLE and inv.paid_date is not None]
    return sorted(paid, key=lambda inv: (inv.paid_date or inv.due_date, inv.due_date, inv.id))


def mean_days_late(invoices: Sequence[Invoice]) -> Decimal | None:
    """The unrounded mean of :func:`days_late` over ``invoices``; None for none."""
    if not invoices:
        return None
    return Decimal(sum(days_late(inv) for inv in invoices)) / len(invoices)


def add_days(day: date, days: int) -> date:
    """``day`` moved by ``days`` days."""
    return day + timedelta(days=days)
