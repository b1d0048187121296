"""The template editor's form: subject, plain text and HTML of one template, and the customer the
preview is rendered on. Whether the template is safe and renders is decided by
:mod:`web.messages_check`, with the dispatcher's own renderer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

#: Generous bounds: a reminder is a page, not a book.
MAX_SUBJECT, MAX_BODY = 500, 100_000


class TemplateForm(FlaskForm):
    """One template (key, language and channel are in the URL)."""

    subject = StringField(_l("Subject"), validators=[Length(max=MAX_SUBJECT)])
    body_text = TextAreaField(_l("Plain text"), validators=[Length(max=MAX_BODY)])
    body_html = TextAreaField(_l("HTML"), validators=[Length(max=MAX_BODY)])
    customer = SelectField(_l("Preview on"), coerce=int, validators=[Optional()], validate_choice=False)
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Save"))
