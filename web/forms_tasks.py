"""Forms of the task actions: assign, set the due date, done with an outcome."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, SelectField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length

from web.forms_ledger import DatedForm, coerce_id, offered

#: What a value that is not an id becomes: no one is offered under it, so the field says whom to choose.
NOT_AN_ID = -1


def person_id(value: Any) -> int:
    """A user id from the select (0 for nobody); anything else becomes :data:`NOT_AN_ID`, so a
    forged value gets the same one message as an id that is not offered."""
    try:
        return coerce_id(value)
    except (TypeError, ValueError):
        return NOT_AN_ID


class AssignForm(FlaskForm):
    """Who is on the task: a collector or admin of the firm, or nobody."""

    assignee = SelectField(_l("Assignee"), coerce=person_id, validate_choice=False)

    def validate_assignee(self, field: Field) -> None:
        if field.data not in offered(self.assignee):
            raise ValidationError(_l("Choose a collector or an admin of the firm."))


class DueForm(DatedForm):
    """When the task should be done: today or later, within the horizon."""

    due_date = DateField(_l("Due date"), validators=[InputRequired(_l("Choose a day."))])

    def validate_due_date(self, field: Field) -> None:
        self.check_future(field)


class DoneForm(FlaskForm):
    """The task is done: what came of it goes to the activity log."""

    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(_l("Say what came of it.")), Length(max=2000)])
