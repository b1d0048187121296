"""Policy validation names every violation by field; the shipped default cadences are valid."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.policy import DEFAULT_POLICIES, MAHNWESEN_STANDARD_DE, Action, Policy, validate
from tests.builders import STEPS, policy, step

VIOLATIONS = [
    # overrides of the contract's example policy, expected first violation (field, words in the message)
    pytest.param({"steps": (STEPS[1], STEPS[0], *STEPS[2:])}, ("steps[1].offset_days", "after"), id="out-of-order"),
    pytest.param(
        {"steps": (*STEPS[:2], step("s2", 1, 2), *STEPS[3:])}, ("steps[2].offset_days", "after"), id="same-offset"
    ),
    pytest.param({"steps": (*STEPS[:2], step("s2", 14, 0), *STEPS[3:])}, ("steps[2].level", "below"), id="level-drops"),
    pytest.param({"steps": (*STEPS[:2], step("s1", 14, 2), *STEPS[3:])}, ("steps[2].id", "duplicate"), id="dup-id"),
    pytest.param(
        {"steps": tuple(replace(s, action=Action.LETTER) for s in STEPS)}, ("steps", "email"), id="no-email-step"
    ),
    pytest.param({"first_touch_max_level": 0}, ("first_touch_max_level", "first step after the due"), id="cap-low"),
    pytest.param({"steps": ()}, ("steps", "at least one step"), id="no-steps"),
    pytest.param({"min_days_between_touches": -1}, ("min_days_between_touches", "between"), id="negative-spacing"),
    pytest.param({"promise_grace_days": 400}, ("promise_grace_days", "between"), id="grace-too-long"),
    pytest.param({"min_balance": "-1"}, ("min_balance", "non-negative"), id="negative-minimum"),
    pytest.param({"first_touch_max_level": 7}, ("first_touch_max_level", "between"), id="cap-out-of-range"),
    pytest.param({"steps": (*STEPS[:4], step("s4", 60, 7))}, ("steps[4].level", "between"), id="level-out-of-range"),
    pytest.param({"steps": (*STEPS[:4], step("s4", 4000, 4))}, ("steps[4].offset_days", "within"), id="offset-absurd"),
    pytest.param({"steps": (step("", 1, 1),)}, ("steps[0].id", "empty"), id="empty-id"),
]


@pytest.mark.parametrize(("overrides", "expected"), VIOLATIONS)
def test_validation_names_the_field_at_fault(overrides: dict[str, object], expected: tuple[str, str]) -> None:
    errors = validate(policy(**overrides))
    assert errors, "expected a violation"
    field, words = expected
    assert errors[0].field == field
    assert words in errors[0].message
    assert str(errors[0]).startswith(f"{field}: ")


def test_the_contract_example_policy_is_valid() -> None:
    assert validate(policy()) == []


def test_a_cadence_without_a_courtesy_step_is_valid() -> None:
    assert validate(policy(steps=STEPS[1:])) == []


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in DEFAULT_POLICIES])
def test_default_policies_are_valid(name: str) -> None:
    assert validate(DEFAULT_POLICIES[name]) == []


def test_german_default_climbs_from_reminder_to_collection_agency() -> None:
    german: Policy = MAHNWESEN_STANDARD_DE
    assert [s.template for s in german.steps] == [
        "zahlungserinnerung",
        "mahnung_1",
        "mahnung_2",
        "letzte_mahnung_mit_fristsetzung",
        "uebergabe_inkasso",
    ]
    assert german.steps[-1].action is Action.AGENCY
    assert german.statutory_claims
    gaps = [b.offset_days - a.offset_days for a, b in zip(german.steps, german.steps[1:], strict=False)]
    assert all(10 <= gap <= 14 for gap in gaps)
    assert german.min_days_between_touches <= min(gaps)
