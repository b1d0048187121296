"""Rule 10: actions other than email are touches too — tasks for a person, never sent by themselves."""

from __future__ import annotations

import pytest

from core.policy import Action
from tests.builders import STEPS, invoice, policy, run, step, touch


@pytest.mark.parametrize(
    ("action", "automatic"),
    [
        pytest.param(Action.EMAIL, True, id="email-goes-out"),
        pytest.param(Action.CALL, False, id="call"),
        pytest.param(Action.LETTER, False, id="letter"),
        pytest.param(Action.NOTIFY_OWNER, False, id="notify-owner"),
        pytest.param(Action.AGENCY, False, id="agency"),
        pytest.param(Action.LEGAL, False, id="legal"),
        pytest.param(Action.WRITEOFF_REVIEW, False, id="writeoff-review"),
    ],
)
def test_heavy_steps_are_touches_for_a_person(action: Action, automatic: bool) -> None:
    steps = (*STEPS[:3], step("s3", 30, 3, action, template=f"{action}_task"))
    result = run(invoice(overdue=35), history=(touch(10, ("I1", "s2", 2)),), policy_=policy(steps=steps))
    (made,) = result.touches
    assert (made.step_id, made.action, made.template) == ("s3", action, f"{action}_task")
    assert made.automatic is automatic


def test_heavy_step_obeys_the_same_spacing_as_email() -> None:
    result = run(invoice(overdue=70), history=(touch(3, ("I1", "s3", 3)),))
    assert result.touches == ()
    assert [s.reason for s in result.skipped] == ["too_soon"]
