"""The accounts forms. Every one is a Flask-WTF form (CSRF token included); errors are shown next
to their field, and a form that does not validate changes nothing."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length, ValidationError

from connector.db import Role
from web.i18n import LANGUAGES

#: Long enough to resist guessing with the login rate limit; no composition rules (NIST 800-63B).
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def email_address(form: FlaskForm, field: Field) -> None:
    """One plain e-mail address (``name@domain.tld``), stored in lower case."""
    value = (field.data or "").strip().lower()
    if not _EMAIL.fullmatch(value) or len(value) > 320:
        raise ValidationError(_l("Enter one e-mail address, like name@example.com."))
    field.data = value


def role_names() -> dict[str, str]:
    """The roles, most powerful first, with their names in the UI language."""
    return {
        Role.ADMIN.value: str(_l("Admin")),
        Role.COLLECTOR.value: str(_l("Collector")),
        Role.VIEWER.value: str(_l("Viewer")),
    }


def role_choices() -> list[SelectChoice]:
    """The roles as the options of a select."""
    return [SelectChoice(value, label) for value, label in role_names().items()]


def _password() -> PasswordField:
    return PasswordField(
        _l("New password"),
        validators=[
            InputRequired(),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=_l("Use %(min)d to %(max)d characters.", min=MIN_PASSWORD, max=MAX_PASSWORD),
            ),
        ],
    )


class LoginForm(FlaskForm):
    """E-mail address and password."""

    email = StringField(_l("E-mail address"), validators=[InputRequired(), email_address])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=MAX_PASSWORD)])
    next = HiddenField()


class ResetRequestForm(FlaskForm):
    """The address to send a reset link to."""

    email = StringField(_l("E-mail address"), validators=[InputRequired(), email_address])


class NewPasswordForm(FlaskForm):
    """A new password, typed twice."""

    password = _password()
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class AcceptInviteForm(NewPasswordForm):
    """A new member's name and password."""

    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=200)])


class InviteForm(FlaskForm):
    """Whom to invite, with which role."""

    email = StringField(_l("E-mail address"), validators=[InputRequired(), email_address])
    role = SelectField(_l("Role"), validators=[InputRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class MemberRoleForm(FlaskForm):
    """A member's new role (the member by user id)."""

    user_id = IntegerField(validators=[InputRequired()])
    role = SelectField(_l("Role"), validators=[InputRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class RemoveMemberForm(FlaskForm):
    """The member to remove (by user id)."""

    user_id = IntegerField(validators=[InputRequired()])


class LanguageForm(FlaskForm):
    """The UI language, and the page to go back to."""

    locale = SelectField(choices=[SelectChoice(code, code) for code in LANGUAGES], validators=[InputRequired()])
    next = HiddenField()
