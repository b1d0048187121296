"""A valid scenario document (the contract's example) and a helper to break one field of it."""

from __future__ import annotations

import copy
import json
from typing import Any

DELETE = object()
"""Pass as the value to remove the field."""

EXAMPLE: dict[str, Any] = {
    "version": 1,
    "today": "2026-03-10",
    "organisation": {"country": "DE", "timezone": "Europe/Berlin", "business_days_only": True},
    "policy": {
        "min_days_between_touches": 7,
        "min_balance": "10.00",
        "first_touch_max_level": 1,
        "promise_grace_days": 2,
        "statutory_claims": False,
        "steps": [
            {"id": "s0", "offset_days": -3, "level": 0, "action": "email", "template": "courtesy"},
            {"id": "s1", "offset_days": 1, "level": 1, "action": "email", "template": "friendly"},
            {"id": "s2", "offset_days": 14, "level": 2, "action": "email", "template": "firm"},
            {"id": "s3", "offset_days": 30, "level": 3, "action": "email", "template": "final"},
            {"id": "s4", "offset_days": 60, "level": 4, "action": "agency", "template": "agency_handoff"},
        ],
    },
    "customers": [
        {"id": "C1", "name": "Acme GmbH", "emails": ["ap@acme.example"], "language": "de", "excluded": False}
    ],
    "invoices": [
        {
            "id": "I1",
            "customer": "C1",
            "number": "1001",
            "issue_date": "2026-01-15",
            "due_date": "2026-02-14",
            "total": "1190.00",
            "balance": "1190.00",
            "currency": "EUR",
            "status": "open",
        }
    ],
    "credits": [{"id": "CN1", "customer": "C1", "amount": "50.00", "currency": "EUR", "kind": "credit_note"}],
    "pauses": [{"kind": "dispute", "customer": "C1", "invoice": "I1", "until": None, "reason": "wrong quantity"}],
    "history": [
        {"date": "2026-02-15", "customer": "C1", "status": "sent", "invoices": [{"id": "I1", "step": "s1", "level": 1}]}
    ],
}


def changed(path: str, value: Any, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of ``doc`` (default: the example) with the field at ``path`` (``invoices.0.due_date``) set."""
    result = copy.deepcopy(doc or EXAMPLE)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        if value is DELETE:
            del target[int(last)]
        elif int(last) == len(target):
            target.append(value)
        else:
            target[int(last)] = value
    elif value is DELETE:
        del target[last]
    else:
        target[last] = value
    return result


def text(doc: dict[str, Any]) -> str:
    """The document as JSON text."""
    return json.dumps(doc, indent=2)
