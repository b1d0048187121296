"""The payer's three forms: "I have paid", "I dispute this invoice", "I will pay on <date>".

Dates are judged against the organisation's ``today`` (given to the form), the day the engine
plans for. Messages go next to their field; the page speaks the customer's language, so every
message is a lazy string resolved under the forced locale.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Field, SelectField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length

from web.forms_ledger import DatedForm, coerce_id

PROMISE_HORIZON_DAYS = 60
"""How far ahead a payer may promise to pay: a promise beyond two months is not a promise to
pause reminders for; the customer is asked to call instead."""
PAID_LOOKBACK_DAYS = 366
"""A reported payment older than a year is not plausible (and not what a reminder is about)."""


class PaidForm(DatedForm):
    """The customer says the balance has been paid: when, and with which reference."""

    paid_date = DateField(
        _l("Date of payment"), validators=[InputRequired(_l("Give the day you paid."))], format="%Y-%m-%d"
    )
    reference = StringField(
        _l("Payment reference"),
        validators=[DataRequired(_l("Give the reference of the transfer (e.g. the invoice number).")), Length(max=140)],
    )

    def validate_paid_date(self, field: Field) -> None:
        if field.data is None:  # not a date: the field's own message says so
            return
        if field.data > self.today:
            raise ValidationError(_l("This day is in the future; give the day the payment was made."))
        if field.data < self.today - timedelta(days=PAID_LOOKBACK_DAYS):
            raise ValidationError(_l("This day is more than a year ago; please contact us instead."))


class DisputeForm(DatedForm):
    """The customer disputes one invoice, and says why. The view sets the invoice choices."""

    invoice = SelectField(_l("Invoice"), coerce=coerce_id, validate_choice=False)
    reason = TextAreaField(
        _l("What is wrong with it?"),
        validators=[DataRequired(_l("Tell us what is wrong, so that we can look into it.")), Length(max=2000)],
    )


class PromiseForm(DatedForm):
    """The customer promises to pay the open balance on a day within the horizon."""

    promise_date = DateField(
        _l("I will pay on"), validators=[InputRequired(_l("Give the day you will pay."))], format="%Y-%m-%d"
    )

    def validate_promise_date(self, field: Field) -> None:
        if field.data is None:
            return
        if field.data < self.today:
            raise ValidationError(_l("This day is in the past; choose today or a later day."))
        if field.data > self.today + timedelta(days=PROMISE_HORIZON_DAYS):
            raise ValidationError(
                _l(
                    "Choose a day within %(days)s days from today; for a longer arrangement please contact us.",
                    days=PROMISE_HORIZON_DAYS,
                )
            )
