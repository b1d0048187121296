"""Receivables metrics for the dashboard: aging, DSO and its trend, average days delinquent,
collection effectiveness, payer ratings, expected cash by week, promises kept vs broken.

Every function takes ``core.model`` records and ``today`` (or a period) and returns frozen
dataclasses; amounts stay :class:`~core.model.Money`, ratios ``Decimal``; results are sorted
deterministically (by currency, customer id or date). One module per concern:

- :mod:`core.metrics.aging` — aging buckets per currency;
- :mod:`core.metrics.dso` — DSO, best possible DSO, ADD, CEI over a period, monthly trend;
- :mod:`core.metrics.payers` — payer rating (grade A–E) per customer;
- :mod:`core.metrics.cash` — expected cash by week per currency;
- :mod:`core.metrics.promises` — promises kept vs broken;
- :mod:`core.metrics._ledger` — shared helpers, including how past AR balances are reconstructed.

This package is pure: standard library only, no clock, no I/O.
"""

from core.metrics.aging import AgingBuckets, aging
from core.metrics.cash import CashForecast, CashWeek, expected_cash
from core.metrics.dso import PeriodMetrics, dso_trend, period_metrics
from core.metrics.payers import UNRATED, PayerRating, payer_ratings, rate_payer
from core.metrics.promises import PromiseOutcome, PromiseStatus, PromiseSummary, promises_kept

__all__ = [
    "UNRATED",
    "AgingBuckets",
    "CashForecast",
    "CashWeek",
    "PayerRating",
    "PeriodMetrics",
    "PromiseOutcome",
    "PromiseStatus",
    "PromiseSummary",
    "aging",
    "dso_trend",
    "expected_cash",
    "payer_ratings",
    "period_metrics",
    "promises_kept",
    "rate_payer",
]
