"""Rule 9: an email touch for a customer without an email address is not made."""

from __future__ import annotations

import pytest

from core.policy import Action
from tests.builders import STEPS, customer, invoice, outcomes, policy, run, step, touch

REACHABILITY_TABLE = [
    # emails, overdue per invoice, history, lead action, expected
    pytest.param((), {"I1": 20}, (), "no_email_address", id="email-without-address"),
    pytest.param(("ap@c1.example",), {"I1": 20}, (), "s1", id="email-with-address"),
    pytest.param((), {"I1": 70}, (("I1", "s3", 3),), "s4", id="agency-needs-no-address"),
    pytest.param((), {"I1": 70, "I2": 20}, (("I1", "s3", 3),), "s4", id="email-invoice-rides-on-agency-task"),
]


@pytest.mark.parametrize(("emails", "overdue", "past", "expected"), REACHABILITY_TABLE)
def test_email_needs_an_address(
    emails: tuple[str, ...], overdue: dict[str, int], past: tuple[tuple[str, str, int], ...], expected: str
) -> None:
    result = run(
        *(invoice(i, overdue=d) for i, d in overdue.items()),
        history=tuple(touch(10, item) for item in past),
        customers=(customer("C1", emails=emails),),
    )
    assert outcomes(result)["I1"] == expected


@pytest.mark.parametrize(
    "action",
    [pytest.param(a, id=a.value) for a in Action if a is not Action.EMAIL],
)
def test_human_steps_reach_customers_without_address(action: Action) -> None:
    steps = (*STEPS[:2], step("s2", 14, 2, action))
    result = run(
        invoice(),
        history=(touch(10, ("I1", "s1", 1)),),
        customers=(customer("C1", emails=()),),
        policy_=policy(steps=steps),
    )
    assert [(t.step_id, t.action) for t in result.touches] == [("s2", action)]
