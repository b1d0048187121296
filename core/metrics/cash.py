"""Expected cash by week: when the open invoices are likely to be paid, per currency.

Each open invoice (positive balance) is expected on:

- the promised date, when a promise-to-pay pause covers it today and that date is today or later;
- otherwise its due date shifted by its payer's average days late (from :mod:`core.metrics.payers`,
  rounded half-up to whole days; 0 for a customer without paid history);
- an expected day already past (the invoice is overdue beyond its payer's usual lateness, or a
  promise was broken) is moved to ``today``, i.e. into the first week: it is due now and is what the
  collectors work on.

Invoices under a dispute pause covering today are not forecast; they are summed in ``disputed``.
Weeks are ``today`` … ``today + 6``, then the following seven days, and so on; what falls after the
last week is summed in ``later``.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from core.metrics._ledger import add_days, currencies_of, is_open, mean_days_late, paid_history
from core.model import Invoice, Ledger, Money, Pause, PauseKind, money


@dataclass(frozen=True, slots=True)
class CashWeek:
    """Cash expected in one week.

    Attributes:
        start_date: first day of the week.
        end_date: last day of the week (``start_date + 6``).
        amount: the open balances expected to be paid in it.
    """

    start_date: date
    end_date: date
    amount: Money


@dataclass(frozen=True, slots=True)
class CashForecast:
    """The expected cash of one currency.

    Attributes:
        currency: the ISO 4217 code of all amounts.
        weeks: the weeks from ``today`` on, in order.
        later: balances expected after the last week.
        disputed: balances under a dispute, not forecast.
    """

    currency: str
    weeks: tuple[CashWeek, ...]
    later: Money
    disputed: Money


def pause_covers(pause: Pause, invoice: Invoice, today: date) -> bool:
    """True when ``pause`` applies to ``invoice`` on ``today`` (set by then, not yet ended)."""
    if pause.customer_id != invoice.customer_id or pause.invoice_id not in (None, invoice.id):
        return False
    started = pause.since_date is None or pause.since_date <= today
    return started and (pause.until_date is None or pause.until_date >= today)


def _lateness_by_customer(ledger: Ledger) -> dict[str, int]:
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in ledger.invoices:
        by_customer[inv.customer_id].append(inv)
    lateness = {}
    for customer_id, invoices in by_customer.items():
        mean = mean_days_late(paid_history(invoices))
        lateness[customer_id] = int(mean.quantize(Decimal(1), rounding=ROUND_HALF_UP)) if mean is not None else 0
    return lateness


def expected_date(invoice: Invoice, pauses: tuple[Pause, ...], lateness: dict[str, int], today: date) -> date | None:
    """The day ``invoice`` is expected to be paid, or None when a dispute holds it.

    Args:
        invoice: an open invoice.
        pauses: the ledger's pauses.
        lateness: average days late per customer id (whole days).
        today: the day of the forecast.

    Returns:
        The expected day (never before ``today``), or None for a disputed invoice.
    """
    active = [pause for pause in pauses if pause_covers(pause, invoice, today)]
    if any(pause.kind is PauseKind.DISPUTE for pause in active):
        return None
    promised = [p.until_date for p in active if p.kind is PauseKind.PROMISE and p.until_date is not None]
    expected = min(promised) if promised else add_days(invoice.due_date, lateness.get(invoice.customer_id, 0))
    return max(expected, today)


def expected_cash(ledger: Ledger, today: date, weeks: int = 8) -> tuple[CashForecast, ...]:
    """Open balances spread over the coming weeks by when they are expected to be paid.

    Args:
        ledger: the organisation's ledger.
        today: the first day of the first week.
        weeks: how many weeks to show.

    Returns:
        One :class:`CashForecast` per currency with open invoices, sorted by currency.
    """
    lateness = _lateness_by_customer(ledger)
    open_invoices = [inv for inv in ledger.invoices if is_open(inv)]
    forecasts = []
    for currency in currencies_of(open_invoices):
        sums = [Decimal(0)] * (weeks + 2)  # the weeks, then "later", then "disputed"
        for inv in (inv for inv in open_invoices if inv.currency == currency):
            expected = expected_date(inv, ledger.pauses, lateness, today)
            slot = weeks + 1 if expected is None else min((expected - today).days // 7, weeks)
            sums[slot] += inv.balance.amount
        forecasts.append(
            CashForecast(
                currency=currency,
                weeks=tuple(
                    CashWeek(add_days(today, 7 * i), add_days(today, 7 * i + 6), money(sums[i], currency))
                    for i in range(weeks)
                ),
                later=money(sums[weeks], currency),
                disputed=money(sums[weeks + 1], currency),
            )
        )
    return tuple(forecasts)
