"""Period metrics per currency: DSO, best possible DSO, average days delinquent, collection effectiveness.

Definitions (standard credit-management formulas, as used e.g. by the Credit Research Foundation):

- DSO = AR balance at period end ÷ credit sales in the period × days in the period.
- Best possible DSO = *current* (not yet due) AR at period end ÷ credit sales × days.
- Average days delinquent (ADD) = DSO − best possible DSO: the days of sales outstanding because
  customers pay late rather than because of the terms granted. (The alternative definition, the
  balance-weighted days past due of overdue invoices, is not used.)
- Collection effectiveness index (CEI) = (AR at start + credit sales − AR at end)
  ÷ (AR at start + credit sales − current AR at end) × 100.

Credit sales are the totals of open and paid invoices issued in the period; past AR balances are
reconstructed as described in :mod:`core.metrics._ledger`. Ratios are rounded half-up to one
decimal place, and ADD is the difference of the rounded figures, so the three shown values add up.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.metrics._ledger import RECEIVABLE, Allocations, add_days, allocations_by_invoice, one_place, outstanding_on
from core.model import Invoice, Ledger, Money, money


@dataclass(frozen=True, slots=True)
class PeriodMetrics:
    """Receivables metrics of one currency over one period.

    Attributes:
        currency: the ISO 4217 code of all amounts.
        start_date: first day of the period.
        end_date: last day of the period (inclusive).
        days: days in the period, both ends included.
        credit_sales: totals of the invoices issued in the period.
        ar_start: AR balance at the end of the day before the period.
        ar_end: AR balance at the end of ``end_date``.
        current_ar_end: the part of ``ar_end`` not yet due on ``end_date``.
        dso: days sales outstanding; None without credit sales.
        best_possible_dso: DSO had every customer paid on time; None without credit sales.
        average_days_delinquent: ``dso - best_possible_dso``; None without credit sales.
        collection_effectiveness: CEI in percent; None when its denominator is zero.
    """

    currency: str
    start_date: date
    end_date: date
    days: int
    credit_sales: Money
    ar_start: Money
    ar_end: Money
    current_ar_end: Money
    dso: Decimal | None
    best_possible_dso: Decimal | None
    average_days_delinquent: Decimal | None
    collection_effectiveness: Decimal | None


def _sum(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _one_currency(
    invoices: list[Invoice], allocations: Allocations, currency: str, start_date: date, end_date: date
) -> PeriodMetrics:
    days = (end_date - start_date).days + 1
    before = add_days(start_date, -1)
    sales = _sum([inv.total.amount for inv in invoices if start_date <= inv.issue_date <= end_date])
    ar_start = _sum([outstanding_on(inv, allocations, before) for inv in invoices])
    ar_end = _sum([outstanding_on(inv, allocations, end_date) for inv in invoices])
    current_end = _sum([outstanding_on(inv, allocations, end_date) for inv in invoices if inv.due_date >= end_date])
    dso = best = add = None
    if sales > 0:
        dso = one_place(ar_end / sales * days)
        best = one_place(current_end / sales * days)
        add = dso - best
    denominator = ar_start + sales - current_end
    cei = one_place((ar_start + sales - ar_end) / denominator * 100) if denominator > 0 else None
    return PeriodMetrics(
        currency=currency,
        start_date=start_date,
        end_date=end_date,
        days=days,
        credit_sales=money(sales, currency),
        ar_start=money(ar_start, currency),
        ar_end=money(ar_end, currency),
        current_ar_end=money(current_end, currency),
        dso=dso,
        best_possible_dso=best,
        average_days_delinquent=add,
        collection_effectiveness=cei,
    )


def period_metrics(ledger: Ledger, start_date: date, end_date: date) -> tuple[PeriodMetrics, ...]:
    """DSO, best possible DSO, ADD and CEI of every currency over ``start_date`` … ``end_date``.

    Args:
        ledger: the organisation's ledger (invoices and payments are read).
        start_date: first day of the period.
        end_date: last day of the period, inclusive; not before ``start_date``.

    Returns:
        One :class:`PeriodMetrics` per currency with a receivable issued by ``end_date``, sorted by currency.

    Raises:
        ValueError: ``end_date`` is before ``start_date``.
    """
    if end_date < start_date:
        raise ValueError(f"period ends {end_date.isoformat()} before it starts {start_date.isoformat()}")
    allocations = allocations_by_invoice(ledger.payments)
    issued = [inv for inv in ledger.invoices if inv.status in RECEIVABLE and inv.issue_date <= end_date]
    return tuple(
        _one_currency([inv for inv in issued if inv.currency == currency], allocations, currency, start_date, end_date)
        for currency in sorted({inv.currency for inv in issued})
    )


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def dso_trend(ledger: Ledger, today: date, months: int = 6) -> tuple[PeriodMetrics, ...]:
    """Monthly period metrics for the last ``months`` complete calendar months before ``today``'s month.

    The month ``today`` falls in is left out (it is not over). Each month is its own period (DSO with
    that month's days and sales).

    Args:
        ledger: the organisation's ledger.
        today: the day the trend is drawn.
        months: how many complete months to show.

    Returns:
        The metrics sorted by currency, then month, oldest first.
    """
    rows: list[PeriodMetrics] = []
    for back in range(months, 0, -1):
        start = _month_start(today.year, today.month - back)
        end = add_days(_month_start(start.year, start.month + 1), -1)
        rows.extend(period_metrics(ledger, start, end))
    return tuple(sorted(rows, key=lambda row: (row.currency, row.start_date)))
