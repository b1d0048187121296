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
- :mod:`core.metrics.risk` — the riskiest customers (payer rating × amount at stake);
- :mod:`core.metrics.messages` — messages sent per week and level;
- :mod:`core.metrics._ledger` — shared helpers, including how past AR balances are reconstructed.

This package is pure: standard library only, no clock, no I/O.
"""

from core.metrics.aging import AgingBuckets, CustomerAging, aging, aging_by_customer, combine_aging, overdue
from core.metrics.cash import CashForecast, CashWeek, expected_cash
from core.metrics.dso import PeriodMetrics, dso_trend, period_metrics
from core.metrics.messages import MessageWeek, SentMessage, messages_per_week
from core.metrics.payers import UNRATED, PayerRating, payer_ratings, rate_payer
from core.metrics.promises import PromiseOutcome, PromiseStatus, PromiseSummary, promises_kept
from core.metrics.risk import GRADE_WEIGHTS, CustomerRisk, riskiest_customers

__all__ = [
    "GRADE_WEIGHTS",
    "UNRATED",
    "AgingBuckets",
    "CashForecast",
    "CashWeek",
    "CustomerAging",
    "CustomerRisk",
    "MessageWeek",
    "PayerRating",
    "PeriodMetrics",
    "PromiseOutcome",
    "PromiseStatus",
    "PromiseSummary",
    "SentMessage",
    "aging",
    "aging_by_customer",
    "combine_aging",
    "dso_trend",
    "expected_cash",
    "messages_per_week",
    "overdue",
    "payer_ratings",
    "period_metrics",
    "promises_kept",
    "rate_payer",
    "riskiest_customers",
]
