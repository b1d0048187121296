"""Aging buckets: open balances by how many days past due they are at ``today``, per currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.metrics._ledger import currencies_of, is_open
from core.model import Ledger, Money, money

# Upper bound of days overdue of each bucket (current, 1–30, 31–60, 61–90); above the last is "90+".
_BOUNDS: tuple[int, ...] = (0, 30, 60, 90)


@dataclass(frozen=True, slots=True)
class AgingBuckets:
    """Open receivables of one currency by days overdue.

    Attributes:
        currency: the ISO 4217 code all amounts are in.
        current: not yet due (due today or later).
        days_1_30: 1 to 30 days overdue.
        days_31_60: 31 to 60 days overdue.
        days_61_90: 61 to 90 days overdue.
        days_over_90: more than 90 days overdue.
        total: the sum of the five buckets.
    """

    currency: str
    current: Money
    days_1_30: Money
    days_31_60: Money
    days_61_90: Money
    days_over_90: Money
    total: Money


def _bucket(days_overdue: int) -> int:
    for index, bound in enumerate(_BOUNDS):
        if days_overdue <= bound:
            return index
    return len(_BOUNDS)


def aging(ledger: Ledger, today: date) -> tuple[AgingBuckets, ...]:
    """Aging buckets of the open invoices, one row per currency.

    Only open invoices with a positive balance count (credit balances are not receivables); days
    overdue are ``today - due_date``.

    Args:
        ledger: the organisation's ledger.
        today: the day the aging is taken.

    Returns:
        One :class:`AgingBuckets` per currency with open invoices, sorted by currency code.
    """
    open_invoices = [inv for inv in ledger.invoices if is_open(inv)]
    rows = []
    for currency in currencies_of(open_invoices):
        sums = [Decimal(0)] * (len(_BOUNDS) + 1)
        for inv in open_invoices:
            if inv.currency == currency:
                sums[_bucket((today - inv.due_date).days)] += inv.balance.amount
        current, days_1_30, days_31_60, days_61_90, days_over_90 = (money(value, currency) for value in sums)
        rows.append(
            AgingBuckets(
                currency=currency,
                current=current,
                days_1_30=days_1_30,
                days_31_60=days_31_60,
                days_61_90=days_61_90,
                days_over_90=days_over_90,
                total=money(sum(sums, Decimal(0)), currency),
            )
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class CustomerAging:
    """The aging of one customer's open invoices in one currency (a line of the aging report).

    Attributes:
        customer_id: the customer.
        buckets: that customer's buckets in one currency.
    """

    customer_id: str
    buckets: AgingBuckets


def overdue(row: AgingBuckets) -> Money:
    """The overdue part of ``row``: every bucket but ``current``."""
    return money(row.total.amount - row.current.amount, row.currency)


def aging_by_customer(ledger: Ledger, today: date) -> tuple[CustomerAging, ...]:
    """The aging report: :func:`aging` per customer and currency.

    Args:
        ledger: the organisation's ledger.
        today: the day the aging is taken.

    Returns:
        One :class:`CustomerAging` per customer and currency with open invoices, sorted by customer id,
        then currency.
    """
    customers = sorted({inv.customer_id for inv in ledger.invoices if is_open(inv)})
    return tuple(
        CustomerAging(customer_id, row)
        for customer_id in customers
        for row in aging(Ledger(invoices=tuple(i for i in ledger.invoices if i.customer_id == customer_id)), today)
    )


def combine_aging(rows: Iterable[AgingBuckets]) -> tuple[AgingBuckets, ...]:
    """Add up aging rows bucket by bucket, per currency (e.g. the organisations of a firm).

    Amounts of different currencies are never added together.

    Args:
        rows: aging rows, any currencies, any order.

    Returns:
        One row per currency met, sorted by currency code.
    """
    names = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "total")
    sums: dict[str, list[Decimal]] = {}
    for row in rows:
        into = sums.setdefault(row.currency, [Decimal(0)] * len(names))
        for i, name in enumerate(names):
            into[i] += getattr(row, name).amount
    return tuple(
        AgingBuckets(currency, *(money(value, currency) for value in values))
        for currency, values in sorted(sums.items())
    )
