"""explain: why this message or why nothing, from the engine's own facts, in English and German."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.engine import Organisation, plan
from core.explain import as_json, explain, words
from core.model import InvoiceStatus, PauseKind
from core.scenario import parse
from tests.builders import TODAY, credit, customer, invoice, ledger, pause, policy, touch

SCENARIOS = Path(__file__).parent / "scenarios"

EXPLAIN_TABLE = [
    # ledger arguments, history, today, organisation, expected (reason or None, last rule, facts subset)
    pytest.param(
        {"invoices": (invoice(status=InvoiceStatus.PAID),)},
        (),
        TODAY,
        None,
        ("paid", "status", {"status": "paid"}),
        id="paid",
    ),
    pytest.param(
        {"invoices": (invoice(),), "customers": (customer(excluded=True),)},
        (),
        TODAY,
        None,
        ("customer_excluded", "customer", {"excluded": True}),
        id="excluded",
    ),
    pytest.param(
        {"invoices": (invoice(),), "pauses": (pause(PauseKind.PROMISE, until=1),)},
        (),
        TODAY,
        None,
        ("paused_promise", "pause", {"pause": "promise", "until": "2026-03-11", "covers_until": "2026-03-13"}),
        id="promise-with-grace",
    ),
    pytest.param(
        {"invoices": (invoice(overdue=20),)},
        (touch(10, ("I1", "s2", 2)),),
        TODAY,
        None,
        ("next_step_not_reached", "step", {"next_step": "s3", "next_step_date": "2026-03-20", "allowed_level": 3}),
        id="next-step-date",
    ),
    pytest.param(
        {"invoices": (invoice(overdue=-10),)},
        (),
        TODAY,
        None,
        ("no_step_reached", "step", {"days_overdue": -10, "reached_step": None, "next_step": "s0"}),
        id="not-due-yet",
    ),
    pytest.param(
        {"invoices": (invoice(overdue=20), invoice("I2", overdue=3))},
        (touch(3, ("I2", "s1", 1)),),
        TODAY,
        None,
        ("too_soon", "spacing", {"days_since": 3, "min_days_between_touches": 7}),
        id="too-soon",
    ),
    pytest.param(
        {"invoices": (invoice(),), "credits": (credit(amount="100.00"),)},
        (),
        TODAY,
        None,
        ("covered_by_credit", "credit", {"credit": "100.00", "open_balance": "100.00"}),
        id="credit",
    ),
    pytest.param(
        {"invoices": (invoice(balance="9.00"),)},
        (),
        TODAY,
        None,
        ("below_min_balance", "threshold", {"amount_due": "9.00", "min_balance": "10.00"}),
        id="threshold",
    ),
    pytest.param(
        {"invoices": (invoice(due_date=date(2025, 12, 20)),)},
        (),
        date(2026, 1, 6),
        Organisation("DE", "BY", business_days_only=True),
        ("not_a_business_day", "calendar", {"holiday": "Epiphany", "next_business_day": "2026-01-07"}),
        id="bavarian-holiday",
    ),
    pytest.param(
        {"invoices": (invoice(),), "customers": (customer(emails=()),)},
        (),
        TODAY,
        None,
        ("no_email_address", "reachability", {"action": "email", "has_email": False}),
        id="no-email",
    ),
    pytest.param(
        {"invoices": (invoice(),)},
        (),
        TODAY,
        None,
        (None, "reachability", {"action": "email", "has_email": True}),
        id="touched",
    ),
]


@pytest.mark.parametrize(("ledger_args", "history", "today", "org", "expected"), EXPLAIN_TABLE)
def test_explains_the_deciding_rule_with_its_facts(
    ledger_args: dict[str, Any],
    history: tuple[Any, ...],
    today: date,
    org: Organisation | None,
    expected: tuple[str | None, str, dict[str, Any]],
) -> None:
    args = dict(ledger_args)
    invoices = args.pop("invoices")
    found = explain(ledger(*invoices, **args), policy(), history, today, "I1", org)
    reason, rule, facts = expected
    assert (str(found.reason) if found.reason else None) == reason
    assert found.checks[-1].rule == rule
    assert {k: found.checks[-1].facts.get(k) for k in facts} == facts
    assert all(c.ok for c in found.checks[:-1])
    assert found.checks[-1].ok is (reason is None)
    assert (found.touch is not None) is (reason is None)


def test_holiday_is_named_in_the_readers_language() -> None:
    org = Organisation("DE", "BY", business_days_only=True)
    found = explain(ledger(invoice(due_date=date(2025, 12, 20))), policy(), (), date(2026, 1, 6), "I1", org)
    assert "Heilige Drei Könige" in words(found, "de")
    assert "Epiphany" in words(found, "en")


@pytest.mark.parametrize("language", [pytest.param("en", id="english"), pytest.param("de", id="german")])
def test_words_say_the_same_in_each_language(language: str) -> None:
    found = explain(ledger(invoice(overdue=20)), policy(), (touch(10, ("I1", "s1", 1)),), TODAY, "I1")
    text = words(found, language)
    first = text.splitlines()[0]
    assert first.startswith("Today: email 'firm'" if language == "en" else "Heute: E-Mail 'firm'")
    assert len(text.splitlines()) == 1 + len(found.checks)
    data = as_json(found, language)
    assert data["outcome"] == "touch"
    assert [c["text"] for c in data["checks"]] == [c.texts[language] for c in found.checks]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.stem) for c in sorted(SCENARIOS.glob("*.json")) if not c.name.endswith(".expected.json")],
)
def test_explain_agrees_with_the_plan_for_every_invoice(case: Path) -> None:
    scenario = parse(case.read_text(encoding="utf-8"))
    args = (scenario.ledger, scenario.policy, scenario.history, scenario.today)
    result = plan(*args, scenario.organisation)
    reasons = {s.invoice_id: s.reason for s in result.skipped}
    for inv in scenario.ledger.invoices:
        found = explain(*args, inv.id, scenario.organisation)
        assert found.reason == reasons.get(inv.id), inv.id
        if found.touch is not None:
            assert found.touch in result.touches
