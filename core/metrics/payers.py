"""Payer ratings: how each customer has paid its own invoices.

From a customer's paid invoices (those with ``paid_date``), oldest payment first:

- days late per invoice = ``paid_date - due_date``, floored at 0 (an early payment does not make up
  for a late one);
- average days late, and the share of invoices paid after their due date;
- trend: the average days late of the last 6 payments minus that of the earlier ones, both rounded
  to one decimal first (positive = paying later than before); None when there are no earlier ones.

Grade, on the average days late: A ≤ 3 days, B ≤ 10, C ≤ 30, D ≤ 60, E above. A worsening trend of
10 days or more moves the grade one step down (a payer sliding from 2 to 20 days late is not an A).
Customers with fewer than ``min_paid_invoices`` (default 3) paid invoices are ``"unrated"``: their
figures are shown but too few to judge; customers with none have no figures at all.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.metrics._ledger import mean_days_late, one_place, paid_history
from core.model import Invoice, Ledger

RECENT = 6
"""How many of the latest payments form the "recent" side of the trend."""

GRADE_LIMITS: tuple[tuple[Decimal, str], ...] = (
    (Decimal(3), "A"),
    (Decimal(10), "B"),
    (Decimal(30), "C"),
    (Decimal(60), "D"),
)
"""(highest average days late, grade); above the last limit the grade is ``"E"``."""

WORSENING_DAYS = Decimal(10)
"""A trend of at least this many days moves the grade one step down."""

UNRATED = "unrated"


@dataclass(frozen=True, slots=True)
class PayerRating:
    """One customer's payment behaviour.

    Attributes:
        customer_id: the customer.
        paid_invoices: how many paid invoices the rating is based on.
        average_days_late: mean days late (floored at 0 per invoice), one decimal; None without history.
        share_paid_late: fraction of paid invoices paid after their due date (0.00–1.00); None without history.
        recent_days_late: mean days late of the last 6 payments, one decimal; None without history.
        earlier_days_late: mean days late of the payments before those; None when there are none.
        trend_days: ``recent_days_late - earlier_days_late`` (positive = paying later); None without earlier.
        grade: ``"A"`` (pays on time) … ``"E"``, or ``"unrated"`` with too little history.
    """

    customer_id: str
    paid_invoices: int
    average_days_late: Decimal | None
    share_paid_late: Decimal | None
    recent_days_late: Decimal | None
    earlier_days_late: Decimal | None
    trend_days: Decimal | None
    grade: str


def _grade(average: Decimal, trend: Decimal | None) -> str:
    grades = [grade for _, grade in GRADE_LIMITS] + ["E"]
    index = next((i for i, (limit, _) in enumerate(GRADE_LIMITS) if average <= limit), len(GRADE_LIMITS))
    if trend is not None and trend >= WORSENING_DAYS:
        index = min(index + 1, len(grades) - 1)
    return grades[index]


def _rounded(value: Decimal | None) -> Decimal | None:
    return None if value is None else one_place(value)


def rate_payer(customer_id: str, invoices: list[Invoice], min_paid_invoices: int = 3) -> PayerRating:
    """Rate one customer from its own invoices.

    Args:
        customer_id: the customer.
        invoices: that customer's invoices (any status; only paid ones with ``paid_date`` count).
        min_paid_invoices: fewer paid invoices than this give the grade ``"unrated"``.

    Returns:
        The customer's :class:`PayerRating`.
    """
    history = paid_history(invoices)
    if not history:
        return PayerRating(customer_id, 0, None, None, None, None, None, UNRATED)
    recent, earlier = history[-RECENT:], history[:-RECENT]
    average = one_place(mean_days_late(history) or Decimal(0))
    late = sum(1 for inv in history if inv.paid_date is not None and inv.paid_date > inv.due_date)
    recent_mean = _rounded(mean_days_late(recent))
    earlier_mean = _rounded(mean_days_late(earlier))
    trend = recent_mean - earlier_mean if recent_mean is not None and earlier_mean is not None else None
    return PayerRating(
        customer_id=customer_id,
        paid_invoices=len(history),
        average_days_late=average,
        share_paid_late=(Decimal(late) / len(history)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        recent_days_late=recent_mean,
        earlier_days_late=earlier_mean,
        trend_days=trend,
        grade=_grade(average, trend) if len(history) >= min_paid_invoices else UNRATED,
    )


def payer_ratings(ledger: Ledger, min_paid_invoices: int = 3) -> tuple[PayerRating, ...]:
    """Rate every customer of the ledger (and any customer id an invoice names).

    Args:
        ledger: the organisation's ledger.
        min_paid_invoices: fewer paid invoices than this give the grade ``"unrated"``.

    Returns:
        One :class:`PayerRating` per customer, sorted by customer id.
    """
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in ledger.invoices:
        by_customer[inv.customer_id].append(inv)
    ids = sorted({customer.id for customer in ledger.customers} | set(by_customer))
    return tuple(rate_payer(cid, by_customer.get(cid, []), min_paid_invoices) for cid in ids)
