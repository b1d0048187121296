"""Rendering reminders: subject, plain text and HTML of every message, and the PDF letter.

The dispatcher calls :func:`render_message` with a :class:`MessageContext` built from a
re-checked touch; a :class:`TemplateError` means the touch is held and the error shown to the
admin. Templates are Jinja2 in a sandbox (only the HTML part autoescaped, undefined variables are
errors) and see plain, pre-formatted data (:func:`connector.render.formatting.template_data`).
Default templates for every key of the shipped policies are under ``templates/<language>/``.
"""

from __future__ import annotations

from connector.render.context import (
    Attachment,
    InvoiceLine,
    MessageContext,
    Party,
    RenderedMessage,
    TemplateError,
    TemplateSource,
)
from connector.render.formatting import DEFAULT_DEADLINE_DAYS, payment_deadline
from connector.render.letter import render_letter_pdf
from connector.render.message import LANGUAGES, default_keys, default_template, render_message
from connector.render.statement import (
    Statement,
    StatementCredit,
    StatementLine,
    StatementTotal,
    render_statement_pdf,
    statement_html,
)

__all__ = [
    "DEFAULT_DEADLINE_DAYS",
    "LANGUAGES",
    "Attachment",
    "InvoiceLine",
    "MessageContext",
    "Party",
    "RenderedMessage",
    "Statement",
    "StatementCredit",
    "StatementLine",
    "StatementTotal",
    "TemplateError",
    "TemplateSource",
    "default_keys",
    "default_template",
    "payment_deadline",
    "render_letter_pdf",
    "render_message",
    "render_statement_pdf",
    "statement_html",
]
