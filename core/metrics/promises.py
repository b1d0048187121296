"""Promises to pay: kept, broken or still pending.

Every promise pause with a promised date (``until_date``) is judged against the invoices it covers:

- an invoice promise covers that invoice;
- a customer-wide promise covers the customer's invoices that were open when it was made: issued
  by ``since_date`` and not paid before it (without ``since_date`` the promised date stands in).

Only open and paid invoices count (a voided invoice is owed by nobody).

The deadline is ``until_date + grace_days`` (the engine's ``promise_grace_days``). A promise is

- **kept** when every covered invoice has a ``paid_date`` on or before the deadline;
- **broken** when the deadline has passed (``today`` is after it) and it was not kept;
- **pending** otherwise (deadline not reached, something still unpaid).

"Paid" means the balance reached zero (``paid_date``): a partial payment does not keep a promise.
A promise covering no known invoice is left out. ``kept_percent`` is kept ÷ (kept + broken) × 100.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.metrics._ledger import RECEIVABLE, add_days, one_place
from core.model import Invoice, Ledger, Pause, PauseKind


class PromiseStatus(StrEnum):
    """How a promise to pay turned out."""

    KEPT = "kept"
    BROKEN = "broken"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PromiseOutcome:
    """One promise to pay and how it turned out.

    Attributes:
        customer_id: who promised.
        invoice_id: the invoice promised, or None for a customer-wide promise.
        since_date: when the promise was made, when known.
        until_date: the promised payment date.
        invoice_ids: the invoices it covers, sorted.
        status: kept, broken or pending.
    """

    customer_id: str
    invoice_id: str | None
    since_date: date | None
    until_date: date
    invoice_ids: tuple[str, ...]
    status: PromiseStatus


@dataclass(frozen=True, slots=True)
class PromiseSummary:
    """Promises kept vs broken.

    Attributes:
        kept: how many promises were kept.
        broken: how many were broken.
        pending: how many are not decided yet.
        kept_percent: kept ÷ (kept + broken) × 100, one decimal; None when none is decided.
        outcomes: every judged promise, by promised date, customer, invoice.
    """

    kept: int
    broken: int
    pending: int
    kept_percent: Decimal | None
    outcomes: tuple[PromiseOutcome, ...]


def _covered(pause: Pause, until: date, invoices: tuple[Invoice, ...]) -> list[Invoice]:
    mine = [inv for inv in invoices if inv.customer_id == pause.customer_id and inv.status in RECEIVABLE]
    if pause.invoice_id is not None:
        return [inv for inv in mine if inv.id == pause.invoice_id]
    made = pause.since_date or until
    return [inv for inv in mine if inv.issue_date <= made and (inv.paid_date is None or inv.paid_date >= made)]


def _status(covered: list[Invoice], deadline: date, today: date) -> PromiseStatus:
    if all(inv.paid_date is not None and inv.paid_date <= deadline for inv in covered):
        return PromiseStatus.KEPT
    return PromiseStatus.BROKEN if today > deadline else PromiseStatus.PENDING


def promises_kept(ledger: Ledger, today: date, grace_days: int = 0) -> PromiseSummary:
    """Judge every dated promise to pay of the ledger.

    Args:
        ledger: the organisation's ledger (pauses and invoices are read).
        today: the day of the judgement.
        grace_days: days after the promised date a payment still keeps the promise.

    Returns:
        The counts and the individual outcomes.
    """
    outcomes = []
    for pause in ledger.pauses:
        if pause.kind is not PauseKind.PROMISE or pause.until_date is None:
            continue
        covered = _covered(pause, pause.until_date, ledger.invoices)
        if not covered:
            continue
        status = _status(covered, add_days(pause.until_date, grace_days), today)
        outcomes.append(
            PromiseOutcome(
                customer_id=pause.customer_id,
                invoice_id=pause.invoice_id,
                since_date=pause.since_date,
                until_date=pause.until_date,
                invoice_ids=tuple(sorted(inv.id for inv in covered)),
                status=status,
            )
        )
    outcomes.sort(key=lambda o: (o.until_date, o.customer_id, o.invoice_id or "", o.since_date or o.until_date))
    kept = sum(1 for o in outcomes if o.status is PromiseStatus.KEPT)
    broken = sum(1 for o in outcomes if o.status is PromiseStatus.BROKEN)
    decided = kept + broken
    return PromiseSummary(
        kept=kept,
        broken=broken,
        pending=len(outcomes) - decided,
        kept_percent=one_place(Decimal(kept) * 100 / decided) if decided else None,
        outcomes=tuple(outcomes),
    )
