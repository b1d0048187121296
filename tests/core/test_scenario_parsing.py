"""Scenario input is parsed strictly; every error is one line naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.model import InvoiceStatus, PauseKind, TouchStatus
from core.scenario import ScenarioError, parse
from tests.core.scenario_doc import DELETE, EXAMPLE, changed, text

INVOICE = EXAMPLE["invoices"][0]

ERRORS = [
    pytest.param(changed("version", 2), "version: unsupported version 2 (expected 1)", id="version-2"),
    pytest.param(changed("version", "1"), "version: unsupported version '1' (expected 1)", id="version-string"),
    pytest.param(changed("version", DELETE), "version: missing field", id="version-missing"),
    pytest.param(changed("colour", "red"), "colour: unknown field", id="unknown-top-level-field"),
    pytest.param(changed("today", "2026-02-30"), "today: not a date: '2026-02-30'", id="today-impossible"),
    pytest.param(changed("today", "10.03.2026"), "today: not a date: '10.03.2026'", id="today-german-format"),
    pytest.param(
        changed("invoices.0.due_date", "2026-02-30"), "invoices[0].due_date: not a date: '2026-02-30'", id="due-date"
    ),
    pytest.param(changed("invoices.0.due_date", DELETE), "invoices[0].due_date: missing field", id="due-missing"),
    pytest.param(changed("invoices.0.colour", "red"), "invoices[0].colour: unknown field", id="unknown-nested"),
    pytest.param(
        changed("invoices.0.balance", 1190.0),
        'invoices[0].balance: float money: 1190.0 must be a decimal string like "1190.00"',
        id="float-money",
    ),
    pytest.param(
        changed("invoices.0.balance", 1190),
        'invoices[0].balance: expected a decimal string like "10.00", got a number (1190)',
        id="integer-money",
    ),
    pytest.param(
        changed("invoices.0.balance", "1.190,00"), "invoices[0].balance: not a decimal amount: '1.190,00'", id="comma"
    ),
    pytest.param(
        changed("policy.min_balance", 10.0),
        'policy.min_balance: float money: 10.0 must be a decimal string like "10.00"',
        id="float-min-balance",
    ),
    pytest.param(
        changed("credits.0.amount", 50.5),
        'credits[0].amount: float money: 50.5 must be a decimal string like "50.50"',
        id="float-credit",
    ),
    pytest.param(
        changed("invoices.0.currency", "EURO"), "invoices[0].currency: unknown currency code: 'EURO'", id="currency"
    ),
    pytest.param(changed("credits.0.currency", "XYZ"), "credits[0].currency: unknown currency code: 'XYZ'", id="cur2"),
    pytest.param(
        changed("invoices.0.status", "overdue"),
        "invoices[0].status: expected one of open, paid, voided, draft, deleted, got a string ('overdue')",
        id="status",
    ),
    pytest.param(changed("invoices.0.customer", "C9"), "invoices[0].customer: unknown customer 'C9'", id="no-customer"),
    pytest.param(
        changed("invoices.1", dict(INVOICE)), "invoices[1].id: duplicate invoice id 'I1'", id="duplicate-invoice"
    ),
    pytest.param(
        changed("customers.1", {"id": "C1"}), "customers[1].id: duplicate customer id 'C1'", id="duplicate-customer"
    ),
    pytest.param(
        changed("credits.1", dict(EXAMPLE["credits"][0])), "credits[1].id: duplicate credit id 'CN1'", id="dup-credit"
    ),
    pytest.param(changed("policy.steps.1.id", "s0"), "policy.steps[1].id: duplicate step id 's0'", id="duplicate-step"),
    pytest.param(
        changed("policy.steps.2.level", 0),
        "policy.steps[2].level: 0 is below the previous step's level 1",
        id="policy-validation",
    ),
    pytest.param(
        changed("policy.steps.1.action", "fax"),
        "policy.steps[1].action: expected one of email, call, letter, notify_owner, agency, legal, writeoff_review,"
        " got a string ('fax')",
        id="unknown-action",
    ),
    pytest.param(
        changed("policy.steps.1.offset_days", 1.0),
        "policy.steps[1].offset_days: expected a whole number, got a number (1.0)",
        id="float-offset",
    ),
    pytest.param(
        changed("policy.statutory_claims", "yes"),
        "policy.statutory_claims: expected true or false, got a string ('yes')",
        id="bool-as-string",
    ),
    pytest.param(
        changed("history.0.invoices.0.step", "s9"), "history[0].invoices[0].step: unknown step 's9'", id="unknown-step"
    ),
    pytest.param(
        changed("history.0.invoices.0.id", "I9"), "history[0].invoices[0].id: unknown invoice 'I9'", id="hist-invoice"
    ),
    pytest.param(changed("history.0.customer", "C9"), "history[0].customer: unknown customer 'C9'", id="hist-customer"),
    pytest.param(
        changed("history.0.status", "bounced"),
        "history[0].status: expected one of sent, in_doubt, got a string ('bounced')",
        id="hist-status",
    ),
    pytest.param(changed("pauses.0.kind", "snooze"), "pauses[0].kind: ", id="pause-kind"),
    pytest.param(changed("pauses.0.invoice", "I9"), "pauses[0].invoice: unknown invoice 'I9'", id="pause-invoice"),
    pytest.param(
        changed("organisation.country", "Germany"),
        "organisation.country: expected an ISO 3166 country code like 'DE', got 'Germany'",
        id="country-name",
    ),
    pytest.param(changed("organisation.subdivision", "XX"), "organisation.subdivision: ", id="unknown-subdivision"),
    pytest.param(
        changed("customers.0.emails", "ap@acme.example"), "customers[0].emails: expected a list", id="emails-no-list"
    ),
    pytest.param(changed("customers", {}), "customers: expected a list, got an object", id="customers-object"),
]


@pytest.mark.parametrize(("doc", "expected"), ERRORS)
def test_bad_input_is_one_line_naming_the_field(doc: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(text(doc))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(expected)  # rows ending in ": " or "list" leave the wording to a library
    if not expected.endswith((": ", "list")):
        assert message == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("{", "scenario: not valid JSON: ", id="truncated"),
        pytest.param("[]", "scenario: expected an object, got a list", id="not-an-object"),
        pytest.param('{"version": 1, "version": 1}', "version: appears twice", id="duplicate-key"),
        pytest.param('{"version": NaN}', "scenario: not valid JSON: NaN", id="nan"),
    ],
)
def test_bad_json_is_one_line(raw: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(raw)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_the_contract_example_parses_into_core_records() -> None:
    scenario = parse(text(EXAMPLE))
    (invoice,) = scenario.ledger.invoices
    assert invoice.balance.amount == Decimal("1190.00")
    assert invoice.status is InvoiceStatus.OPEN
    assert scenario.ledger.pauses[0].kind is PauseKind.DISPUTE
    assert scenario.ledger.pauses[0].until_date is None
    assert scenario.history[0].status is TouchStatus.SENT
    assert scenario.organisation.business_days_only
    assert scenario.policy.steps[4].offset_days == 60


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        pytest.param("organisation.subdivision", "DE-BY", lambda s: s.organisation.subdivision == "DE-BY", id="subdiv"),
        pytest.param(
            "organisation.reference_rate_percent",
            "1.27",
            lambda s: s.organisation.reference_rate_percent == Decimal("1.27"),
            id="rate-string",
        ),
        pytest.param(
            "organisation.reference_rate_percent",
            1.27,
            lambda s: s.organisation.reference_rate_percent == Decimal("1.27"),
            id="rate-number-exact",
        ),
        pytest.param("credits", DELETE, lambda s: s.ledger.credits == (), id="credits-optional"),
        pytest.param("history.0.status", "in_doubt", lambda s: s.history[0].status is TouchStatus.IN_DOUBT, id="doubt"),
        pytest.param("history.0.invoices.0.level", DELETE, lambda s: s.history[0].invoices[0].level == 1, id="level"),
        pytest.param("pauses.0.invoice", DELETE, lambda s: s.ledger.pauses[0].invoice_id is None, id="whole-customer"),
    ],
)
def test_optional_fields_have_their_documented_defaults(path: str, value: object, check: Any) -> None:
    assert check(parse(text(changed(path, value))))
