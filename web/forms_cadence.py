"""The cadence editor's forms: a policy's settings and its steps, starting from a default, switching
on, and a customer's own policy or exclusion.

The forms only parse what was typed (a number is a number); whether the policy makes sense is
decided by :func:`core.policy.validate`, the same check the engine and ``arcadence simulate`` run,
and its findings are put next to the field they name (:func:`place_errors`).
"""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import InputRequired, Length, Optional

from connector.render import default_keys
from core.policy import MAHNWESEN_STANDARD_DE, STANDARD_B2B_EN, Action, Policy, PolicyError, Step
from web.i18n import ACTION_NAMES

#: The shipped policies an admin can start from, by the form's value.
DEFAULTS: dict[str, Policy] = {"en": STANDARD_B2B_EN, "de": MAHNWESEN_STANDARD_DE}
#: Room for a new step or two under the existing ones.
BLANK_STEPS = 2
#: :data:`core.policy.POLICY_MESSAGES` in the UI's language (the same English text, extracted for
#: the catalog; a test keeps the two in step).
POLICY_WORDING = {
    "no_email_step": _l("needs at least one email step"),
    "first_touch_too_low": _l(
        "%(value)s is below the level of the first step after the due date (%(step)s, level %(level)s): "
        "overdue invoices could never be chased"
    ),
    "days_range": _l("must be between 0 and %(max)s days, not %(value)s"),
    "negative_amount": _l("must be a non-negative amount, not %(value)s"),
    "level_range": _l("must be between 0 and %(max)s, not %(value)s"),
    "no_steps": _l("a policy needs at least one step"),
    "empty": _l("must not be empty"),
    "duplicate_step": _l("duplicate step id %(value)s"),
    "offset_range": _l("must be within ±%(max)s days"),
    "offset_order": _l("%(value)s must be after the previous step's %(before)s (steps go by offset)"),
    "level_order": _l("%(value)s is below the previous step's level %(before)s"),
}
MAX_MIN_BALANCE = Decimal("1000000000")
"""A threshold above a billion is a typo (and would not fit the money column for long)."""
_STEP_KEY = re.compile(r"[a-z0-9_]{1,40}")


def _action_choices() -> list[SelectChoice]:
    return [SelectChoice(a.value, ACTION_NAMES[a.value]) for a in Action]


def _template_choices() -> list[SelectChoice]:
    return [SelectChoice(key, key) for key in default_keys()]


class StepForm(Form):
    """One row of the steps table (no CSRF of its own: it is part of :class:`PolicyForm`)."""

    step_key = HiddenField()
    offset_days = IntegerField(_l("Days after due"), validators=[Optional()])
    level = IntegerField(_l("Level"), validators=[Optional()])
    action = SelectField(_l("Action"), choices=_action_choices(), validate_choice=False)
    template = SelectField(_l("Template"), choices=_template_choices(), validate_choice=False)
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        """A new row left empty (no offset, no level): ignored, not an error."""
        return not self.step_key.data and self.offset_days.raw_data in ([], [""]) and self.level.raw_data in ([], [""])


class PolicyForm(FlaskForm):
    """A policy's name, settings and steps."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    min_days_between_touches = IntegerField(_l("Minimum days between touches"), validators=[InputRequired()])
    min_balance = DecimalField(_l("Minimum balance worth chasing"), places=2, validators=[InputRequired()])
    first_touch_max_level = IntegerField(_l("Highest level of a first touch"), validators=[InputRequired()])
    promise_grace_days = IntegerField(_l("Grace days after a promise to pay"), validators=[InputRequired()])
    statutory_claims = BooleanField(_l("State the statutory late-payment claim from level 3"))
    business_days_only = BooleanField(_l("Send on business days only (no weekends or public holidays)"))
    steps = FieldList(FormField(StepForm))

    def step_rows(self) -> list[StepForm]:
        """The rows that describe a step: neither removed nor left blank."""
        return [row.form for row in self.steps if not row.form.remove.data and not row.form.is_blank()]

    def check_rows(self) -> bool:
        """What a row needs before the policy check: an offset, a level, a known action and template."""
        ok = True
        templates = set(default_keys())
        actions = {a.value for a in Action}
        for row in self.step_rows():
            for field in (row.offset_days, row.level):
                if field.data is None and not field.errors:
                    field.errors = [*field.errors, str(_l("Required."))]
                    ok = False
            if row.action.data not in actions:
                row.action.errors = [str(_l("Unknown action %(value)r.", value=row.action.data))]
                ok = False
            if row.template.data not in templates:
                row.template.errors = [str(_l("Unknown template key %(value)r.", value=row.template.data))]
                ok = False
            ok = ok and not row.offset_days.errors and not row.level.errors
        if self.min_balance.data is not None and self.min_balance.data > MAX_MIN_BALANCE:
            self.min_balance.errors = [str(_l("Must be at most %(max)s.", max=MAX_MIN_BALANCE))]
            ok = False
        return ok


def policy_from(form: PolicyForm) -> tuple[Policy, list[StepForm]]:
    """The policy the form describes, steps ordered by offset, with the row of each step (same order).

    New rows get a step id from their template key (unique in the policy); a row's id is kept
    once given, since history records touches by it.
    """
    rows = sorted(form.step_rows(), key=lambda r: r.offset_days.data)
    taken = {r.step_key.data for r in rows if r.step_key.data and _STEP_KEY.fullmatch(r.step_key.data)}
    steps = []
    for row in rows:
        key = row.step_key.data if row.step_key.data and _STEP_KEY.fullmatch(row.step_key.data) else ""
        if not key:
            key = _fresh_key(row.template.data, taken)
            taken.add(key)
            row.step_key.data = key
        steps.append(Step(key, row.offset_days.data, row.level.data, Action(row.action.data), row.template.data))
    policy = Policy(
        name=form.name.data.strip(),
        min_days_between_touches=form.min_days_between_touches.data,
        min_balance=form.min_balance.data,
        first_touch_max_level=form.first_touch_max_level.data,
        promise_grace_days=form.promise_grace_days.data,
        statutory_claims=bool(form.statutory_claims.data),
        steps=tuple(steps),
    )
    return policy, rows


def _fresh_key(template: str, taken: set[str]) -> str:
    base = template[:36] or "step"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def place_errors(form: PolicyForm, rows: list[StepForm], errors: list[PolicyError]) -> list[str]:
    """Put each finding of :func:`core.policy.validate` next to its field; returns those that name
    no single field (shown above the steps)."""
    general: list[str] = []
    for error in errors:
        field = _field(form, rows, error.field)
        if field is None:
            general.append(f"{error.field}: {policy_message(error)}")
        else:
            field.errors = [*field.errors, policy_message(error)]
    return general


def policy_message(error: PolicyError) -> str:
    """A finding of :func:`core.policy.validate` in the UI's language."""
    wording = POLICY_WORDING.get(error.code)
    if wording is None:
        return error.message
    return str(wording) % dict(error.params)


def _field(form: PolicyForm, rows: list[StepForm], path: str) -> Field | None:
    match = re.fullmatch(r"steps\[(\d+)\]\.(\w+)", path)
    if match:
        index, name = int(match.group(1)), match.group(2)
        name = {"id": "offset_days"}.get(name, name)  # an id clash shows on the row's first field
        row = rows[index] if index < len(rows) else None
        return getattr(row, name, None) if row is not None else None
    found = getattr(form, path, None)
    return found if isinstance(found, Field) and path != "steps" else None


class NewPolicyForm(FlaskForm):
    """Start a policy from one of the shipped defaults, for the organisation or for some customers."""

    default = SelectField(
        _l("Start from"),
        choices=[SelectChoice("en", STANDARD_B2B_EN.name), SelectChoice("de", MAHNWESEN_STANDARD_DE.name)],
    )
    use = SelectField(
        _l("Use it for"),
        choices=[
            SelectChoice("organisation", _l("the whole organisation (replaces its policy)")),
            SelectChoice("customers", _l("chosen customers only (assign them below)")),
        ],
    )


class SwitchForm(FlaskForm):
    """Switch a policy on, or back to test mode."""

    state = SelectField(choices=[SelectChoice("on", _l("Switch on")), SelectChoice("test", _l("Back to test mode"))])


class CustomerPolicyForm(FlaskForm):
    """A customer's own policy (empty: the organisation's) and whether it is excluded from chasing."""

    customer = SelectField(_l("Customer"), coerce=int, validate_choice=True)
    policy = SelectField(_l("Policy"), validate_choice=True)
    excluded = BooleanField(_l("Excluded: never chased"))
