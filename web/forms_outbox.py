"""Forms of the outbox: the filter (a GET form, it changes nothing) and the decision buttons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Form, HiddenField, SelectChoice, SelectField, ValidationError
from wtforms.validators import AnyOf, InputRequired, Optional

from connector.outbox import RESOLUTIONS

#: The states people filter by, each a group of outbox states, in the order they are shown.
GROUPS: dict[str, tuple[str, ...]] = {
    "in_doubt": ("in_doubt",),
    "planned": ("pending", "claimed", "sending"),
    "held": ("held",),
    "failed": ("failed",),
    "sent": ("sent",),
    "cancelled": ("cancelled",),
    "stale": ("stale",),
    "handed_over": ("handed_over",),
}
GROUP_LABELS = {
    "in_doubt": _l("in doubt"),
    "planned": _l("planned"),
    "held": _l("held"),
    "failed": _l("failed"),
    "sent": _l("sent"),
    "cancelled": _l("cancelled"),
    "stale": _l("stale"),
    "handed_over": _l("handed over"),
}
ACTION_LABELS = {
    "confirm_sent": _l("Confirm sent"),
    "resend": _l("Send again"),
    "release": _l("Release (template fixed)"),
    "cancel": _l("Cancel"),
}


class FilterForm(Form):
    """State and planned-day range; read from the query string."""

    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("all")), *(SelectChoice(k, v) for k, v in GROUP_LABELS.items())],
        validators=[Optional()],
        default="",
    )
    planned_from = DateField(_l("Planned from"), validators=[Optional()])
    planned_to = DateField(_l("to"), validators=[Optional()])

    def validate_planned_to(self, field: DateField) -> None:
        if field.data and self.planned_from.data and field.data < self.planned_from.data:
            raise ValidationError(_l("The end is before the start."))


class ResolveForm(FlaskForm):
    """One decision on one message: which action, and where to go back to."""

    action = HiddenField(validators=[InputRequired(), AnyOf(list(RESOLUTIONS))])
    back = HiddenField(default="message", validators=[Optional(), AnyOf(["index", "message"])])
