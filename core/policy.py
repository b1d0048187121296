"""A cadence (policy): the ordered steps of chasing, and how to validate one.

A :class:`Policy` is an ordered tuple of :class:`Step` values (offset from the due date, level,
action, template) plus the rules that hold across steps: the spacing between touches, the
minimum amount worth chasing, how high a first contact may start, the grace after a promise and
whether final notices state the statutory claim. :func:`validate` names every violation by
field, and :data:`DEFAULT_POLICIES` ships two cadences as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

MAX_LEVEL = 6
"""Levels run from 0 (courtesy) to 6 (write-off review)."""

MAX_OFFSET_DAYS = 3650
"""No step sensibly waits longer than ten years, before or after the due date."""

MAX_SPACING_DAYS = 365
"""Spacing or grace beyond a year would stop chasing altogether; it is a typo."""


class Action(StrEnum):
    """What a step does. Only ``email`` goes out by itself; the others become tasks for a person."""

    EMAIL = "email"
    CALL = "call"
    LETTER = "letter"
    NOTIFY_OWNER = "notify_owner"
    AGENCY = "agency"
    LEGAL = "legal"
    WRITEOFF_REVIEW = "writeoff_review"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a cadence.

    Attributes:
        id: unique in the policy; history refers to steps by it.
        offset_days: days after the due date the step is reached (negative: before it).
        level: 0 courtesy, 1 friendly, 2 firm, 3 final notice, 4 agency, 5 legal, 6 write-off review.
        action: what the step does.
        template: the name of the message or task template.
    """

    id: str
    offset_days: int
    level: int
    action: Action
    template: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A cadence and the rules around it.

    Attributes:
        min_days_between_touches: no touch when the customer's last touch is fewer days ago.
        min_balance: a touch whose amount due is below this is not made (any currency).
        first_touch_max_level: the highest level an invoice's first touch may have.
        promise_grace_days: days after a promised date before the promise counts as broken.
        statutory_claims: True to add the late-payment claim to touches of level 3 and above.
        steps: the steps, in order of their offsets.
        name: a display name (the shipped defaults have one).
    """

    min_days_between_touches: int
    min_balance: Decimal
    first_touch_max_level: int
    promise_grace_days: int
    statutory_claims: bool
    steps: tuple[Step, ...]
    name: str = ""


@dataclass(frozen=True, slots=True)
class PolicyError:
    """One violation found by :func:`validate`.

    Attributes:
        field: the field at fault, as a path (``"steps[2].level"``).
        message: what is wrong, in one line (English).
        code: which rule, a key of :data:`POLICY_MESSAGES` (empty for a finding made elsewhere).
        params: the values filled into that rule's wording, by placeholder name.
    """

    field: str
    message: str
    code: str = ""
    params: tuple[tuple[str, str | int], ...] = ()

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


#: The English wording of each violation, by code, with named placeholders (a UI translates the
#: code with the same placeholders; the message is this text filled in).
POLICY_MESSAGES: dict[str, str] = {
    "no_email_step": "needs at least one email step",
    "first_touch_too_low": (
        "%(value)s is below the level of the first step after the due date (%(step)s, level %(level)s): "
        "overdue invoices could never be chased"
    ),
    "days_range": "must be between 0 and %(max)s days, not %(value)s",
    "negative_amount": "must be a non-negative amount, not %(value)s",
    "level_range": "must be between 0 and %(max)s, not %(value)s",
    "no_steps": "a policy needs at least one step",
    "empty": "must not be empty",
    "duplicate_step": "duplicate step id %(value)s",
    "offset_range": "must be within ±%(max)s days",
    "offset_order": "%(value)s must be after the previous step's %(before)s (steps go by offset)",
    "level_order": "%(value)s is below the previous step's level %(before)s",
}


def _error(field: str, code: str, **params: str | int) -> PolicyError:
    return PolicyError(field, POLICY_MESSAGES[code] % params, code, tuple(params.items()))


def validate(policy: Policy) -> list[PolicyError]:
    """Check a policy for every rule a usable cadence must keep.

    Args:
        policy: the policy to check.

    Returns:
        The violations, in field order (empty when the policy is valid).
    """
    errors = _check_settings(policy)
    errors += _check_steps(policy.steps)
    if not any(step.action is Action.EMAIL for step in policy.steps):
        errors.append(_error("steps", "no_email_step"))
    first_after_due = next((step for step in policy.steps if step.offset_days > 0), None)
    if first_after_due is not None and policy.first_touch_max_level < first_after_due.level:
        errors.append(
            _error(
                "first_touch_max_level",
                "first_touch_too_low",
                value=policy.first_touch_max_level,
                step=repr(first_after_due.id),
                level=first_after_due.level,
            )
        )
    return errors


def _check_settings(policy: Policy) -> list[PolicyError]:
    errors: list[PolicyError] = []
    for field, value in (
        ("min_days_between_touches", policy.min_days_between_touches),
        ("promise_grace_days", policy.promise_grace_days),
    ):
        if not 0 <= value <= MAX_SPACING_DAYS:
            errors.append(_error(field, "days_range", max=MAX_SPACING_DAYS, value=value))
    if not policy.min_balance.is_finite() or policy.min_balance < 0:
        errors.append(_error("min_balance", "negative_amount", value=str(policy.min_balance)))
    if not 0 <= policy.first_touch_max_level <= MAX_LEVEL:
        errors.append(_error("first_touch_max_level", "level_range", max=MAX_LEVEL, value=policy.first_touch_max_level))
    if not policy.steps:
        errors.append(_error("steps", "no_steps"))
    return errors


def _check_steps(steps: tuple[Step, ...]) -> list[PolicyError]:
    errors: list[PolicyError] = []
    seen: set[str] = set()
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not step.id:
            errors.append(_error(f"{where}.id", "empty"))
        elif step.id in seen:
            errors.append(_error(f"{where}.id", "duplicate_step", value=repr(step.id)))
        seen.add(step.id)
        if not -MAX_OFFSET_DAYS <= step.offset_days <= MAX_OFFSET_DAYS:
            errors.append(_error(f"{where}.offset_days", "offset_range", max=MAX_OFFSET_DAYS))
        if not 0 <= step.level <= MAX_LEVEL:
            errors.append(_error(f"{where}.level", "level_range", max=MAX_LEVEL, value=step.level))
        if not step.template:
            errors.append(_error(f"{where}.template", "empty"))
        if index:
            errors += _check_order(where, steps[index - 1], step)
    return errors


def _check_order(where: str, before: Step, step: Step) -> list[PolicyError]:
    # Two steps on the same day: the engine sends the later one and the earlier is never sent,
    # which is never what the admin meant.
    errors: list[PolicyError] = []
    if step.offset_days <= before.offset_days:
        errors.append(_error(f"{where}.offset_days", "offset_order", value=step.offset_days, before=before.offset_days))
    if step.level < before.level:
        errors.append(_error(f"{where}.level", "level_order", value=step.level, before=before.level))
    return errors


def _steps(*rows: tuple[str, int, int, Action, str]) -> tuple[Step, ...]:
    return tuple(Step(id=i, offset_days=o, level=lvl, action=a, template=t) for i, o, lvl, a, t in rows)


# Standard B2B (EN), from PRODUCT.md's practice notes: a courtesy note before the due date, a
# reminder just after it, then a fixed sequence spaced 7-10 days apart ("persistent, never
# harassing"); a final notice at 30 days, a demand letter at 60 and an agency hand-off at 90 (the
# 30/60/90 ladder); the account owner is brought in after the third reminder. Levels climb one at
# a time, so a touch is never more than one level firmer than the last one.
STANDARD_B2B_EN = Policy(
    name="Standard B2B (EN)",
    min_days_between_touches=7,
    min_balance=Decimal("10.00"),
    first_touch_max_level=1,
    promise_grace_days=2,
    statutory_claims=False,
    steps=_steps(
        ("courtesy", -3, 0, Action.EMAIL, "courtesy_reminder"),
        ("friendly", 1, 1, Action.EMAIL, "friendly_reminder"),
        ("firm", 14, 2, Action.EMAIL, "firm_reminder"),
        ("final", 30, 3, Action.EMAIL, "final_notice"),
        ("owner", 37, 3, Action.NOTIFY_OWNER, "notify_account_owner"),
        ("demand", 60, 3, Action.LETTER, "demand_letter"),
        ("agency", 90, 4, Action.AGENCY, "agency_handoff"),
    ),
)

# Mahnwesen Standard (DE). Where the numbers come from:
# - § 286 BGB: a reminder (Mahnung) after the due date puts the debtor in default (Abs. 1), and a
#   business debtor is in default 30 days after the due date and receipt of the invoice even
#   without one (Abs. 3). By the last reminder (day 49) default is certain, so that step (level
#   3) states default interest (§ 288 Abs. 2 BGB) and the EUR 40 flat fee (§ 288 Abs. 5 BGB).
# - Common German credit-management practice: Zahlungserinnerung about a week after the due
#   date, then Mahnstufen 10-14 days apart, a last reminder with a firm deadline (Fristsetzung)
#   and the hand-off to a collection agency about two weeks after that deadline; two to three
#   reminders before Inkasso keep its cost recoverable as damage for delay (§§ 280, 286 BGB).
# - The spacing of 10 days sits inside PRODUCT.md's 7-10 days and lets a late start catch up
#   with the 14-day rhythm; three days of grace after a Zahlungszusage cover a transfer
#   started on the promised day (SEPA credit transfer D+1) and a weekend.
MAHNWESEN_STANDARD_DE = Policy(
    name="Mahnwesen Standard (DE)",
    min_days_between_touches=10,
    min_balance=Decimal("10.00"),
    first_touch_max_level=1,
    promise_grace_days=3,
    statutory_claims=True,
    steps=_steps(
        ("zahlungserinnerung", 7, 1, Action.EMAIL, "zahlungserinnerung"),
        ("mahnung_1", 21, 2, Action.EMAIL, "mahnung_1"),
        ("mahnung_2", 35, 2, Action.EMAIL, "mahnung_2"),
        ("letzte_mahnung", 49, 3, Action.EMAIL, "letzte_mahnung_mit_fristsetzung"),
        ("inkasso", 63, 4, Action.AGENCY, "uebergabe_inkasso"),
    ),
)

DEFAULT_POLICIES: dict[str, Policy] = {policy.name: policy for policy in (STANDARD_B2B_EN, MAHNWESEN_STANDARD_DE)}
"""The cadences a new organisation can start from, by name."""
