"""Core records → the scenario contract's output JSON, byte-stable.

Keys keep the contract's order (not alphabetical); lists are already sorted by the engine (rule
12). The text is ``json.dumps(..., indent=2, ensure_ascii=False)`` plus one trailing newline.
Amounts are decimal strings with two places; ``rate_percent`` is the rate as computed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from core.engine import Plan, Skipped, Touch
from core.scenario.parse import VERSION
from core.simulate import DayPlan

JsonObject = dict[str, object]


def touch_json(touch: Touch) -> JsonObject:
    """One touch as the contract shows it; ``unapplied_credit`` and ``claim`` only when present."""
    result: JsonObject = {
        "customer": touch.customer_id,
        "currency": touch.currency,
        "step": touch.step_id,
        "level": touch.level,
        "action": str(touch.action),
        "template": touch.template,
        "language": touch.language,
        "amount_due": touch.amount_due.cents(),
        "invoices": [{"id": i.invoice_id, "step": i.step_id, "level": i.level} for i in touch.invoices],
        "flags": [str(flag) for flag in touch.flags],
    }
    if touch.unapplied_credit is not None:
        result["unapplied_credit"] = touch.unapplied_credit.cents()
    if touch.claim is not None:
        result["claim"] = {
            "interest": touch.claim.interest.cents(),
            "fixed_fees": touch.claim.fixed_fees.cents(),
            "rate_percent": str(touch.claim.rate_percent),
            "basis": touch.claim.basis,
        }
    return result


def skipped_json(skipped: Skipped) -> JsonObject:
    """One skipped invoice."""
    return {"invoice": skipped.invoice_id, "customer": skipped.customer_id, "reason": str(skipped.reason)}


def plan_json(plan: Plan, today: date) -> JsonObject:
    """The output of ``simulate FILE``."""
    return {
        "version": VERSION,
        "today": today.isoformat(),
        "touches": [touch_json(t) for t in plan.touches],
        "skipped": [skipped_json(s) for s in plan.skipped],
    }


def days_json(days: Sequence[DayPlan]) -> JsonObject:
    """The output of ``simulate FILE --days N``."""
    return {
        "version": VERSION,
        "days": [
            {
                "date": day.day_date.isoformat(),
                "touches": [touch_json(t) for t in day.plan.touches],
                "skipped": [skipped_json(s) for s in day.plan.skipped],
            }
            for day in days
        ],
    }


def dumps(document: JsonObject) -> str:
    """The byte-stable text of an output document."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
