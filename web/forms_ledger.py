"""Forms of the ledger actions: pause, exclude, owner, note, call.

Each form that takes a date is given ``today`` (the organisation's day, from the app's clock) so
"in the past" and "too far ahead" are judged on the same day the engine plans for. Choices that
depend on the organisation (its members, the customer's invoices) are set by the view.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, SelectChoice, SelectField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional

#: How far ahead a promise, plan or hold may end: beyond half a year it is no longer a pause.
HORIZON_DAYS = 180

PAUSE_KINDS = {
    "dispute": _l("Dispute"),
    "promise": _l("Promise to pay"),
    "plan": _l("Payment plan"),
    "hold": _l("Hold"),
}
CALL_OUTCOMES = {
    "reached": _l("Reached, no commitment"),
    "promised": _l("Promised to pay"),
    "no_answer": _l("No answer"),
    "left_message": _l("Left a message"),
    "wrong_number": _l("Wrong number"),
}


def choices(labels: dict[str, Any]) -> list[SelectChoice]:
    """A select's options from value → label."""
    return [SelectChoice(value, label) for value, label in labels.items()]


def offered(field: SelectField) -> set[Any]:
    """The values a select offers."""
    return {choice.value for choice in field.choices or ()}  # type: ignore[union-attr]


def coerce_id(value: Any) -> int:
    """Coerce a select's value to an id (0 for "none"); anything else is a field error."""
    if value in (None, ""):
        return 0
    return int(value)


class DatedForm(FlaskForm):
    """A form that judges dates against the organisation's ``today``."""

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def check_future(self, field: Field) -> None:
        """Refuse a date before today or beyond the horizon (a message next to ``field``)."""
        if field.data is None:
            return
        if field.data < self.today:
            raise ValidationError(_l("This date is in the past; choose today or a later day."))
        if field.data > self.today + timedelta(days=HORIZON_DAYS):
            raise ValidationError(_l("Choose a date within %(days)s days from today.", days=HORIZON_DAYS))


class PauseForm(DatedForm):
    """Stop chasing a customer or one invoice: dispute, promise to pay (with its date), plan, hold."""

    kind = SelectField(_l("Reason"), choices=choices(PAUSE_KINDS), validators=[InputRequired()])
    until_date = DateField(_l("Until"), validators=[Optional()])
    reason = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])

    def validate_until_date(self, field: Field) -> None:
        self.check_future(field)

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        if self.kind.data == "promise" and self.until_date.data is None and not self.until_date.errors:
            self.until_date.errors.append(_l("A promise to pay needs the promised date."))
            return False
        return ok


class ExcludeForm(FlaskForm):
    """Never chase this customer (Mahnsperre), with the reason for the paper trail."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why.")), Length(max=500)])


class OwnerForm(FlaskForm):
    """Who owns the customer: a member of the firm, or nobody (the default collector)."""

    owner = SelectField(_l("Owner"), coerce=coerce_id, validate_choice=False)

    def validate_owner(self, field: Field) -> None:
        if field.data not in offered(self.owner):
            raise ValidationError(_l("Choose a member of the firm."))


class InvoiceChoice(FlaskForm):
    """A form about the customer that may name one of its invoices."""

    invoice = SelectField(_l("Invoice"), coerce=coerce_id, validate_choice=False)

    def validate_invoice(self, field: Field) -> None:
        if field.data not in offered(self.invoice):
            raise ValidationError(_l("Choose one of this customer's invoices."))


class NoteForm(InvoiceChoice):
    """A note on the customer (or one of its invoices) for the activity log."""

    text = TextAreaField(_l("Note"), validators=[DataRequired(_l("Write the note.")), Length(max=4000)])


class CallForm(InvoiceChoice, DatedForm):
    """A phone call with its outcome; a promise date also pauses chasing until then."""

    outcome = SelectField(_l("Outcome"), choices=choices(CALL_OUTCOMES), validators=[InputRequired()])
    promise_date = DateField(_l("Promised payment date"), validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Optional(), Length(max=4000)])

    def validate_promise_date(self, field: Field) -> None:
        if self.outcome.data != "promised":
            raise ValidationError(_l("A promised date goes with the outcome “Promised to pay”."))
        self.check_future(field)

    def validate(self, extra_validators: Any = None) -> bool:
        ok: bool = super().validate(extra_validators)
        field = self.promise_date
        if self.outcome.data == "promised" and field.data is None and not field.errors:
            field.errors.append(_l("A promise to pay needs the promised date."))
            return False
        return ok
