"""Rendering a reminder: the default templates, and subject, text and HTML of one message."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from connector.render.context import Attachment, MessageContext, RenderedMessage, TemplateError, TemplateSource
from connector.render.environment import render_part
from connector.render.formatting import CLAIM_MIN_LEVEL, template_data

LANGUAGES = ("en", "de")
"""The languages the default templates are written in; another language falls back to English."""

FALLBACK_LANGUAGE = "en"

_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_KEY = re.compile(r"[a-z0-9_]{1,64}")
_SUFFIXES = {"subject": "subject", "text": "txt", "html": "html"}


def template_language(language: str) -> str:
    """The language a default template exists in for a customer's language (``en`` as fallback)."""
    lang = language.lower().split("_")[0].split("-")[0]
    return lang if lang in LANGUAGES else FALLBACK_LANGUAGE


def default_keys() -> tuple[str, ...]:
    """Every template key a default template ships for (the same in every language)."""
    folder = resources.files("connector.render").joinpath("templates", FALLBACK_LANGUAGE)
    names = (entry.name for entry in folder.iterdir())
    return tuple(sorted({name.rsplit(".", 1)[0] for name in names if name.endswith(".subject")}))


@lru_cache(maxsize=128)
def default_template(key: str, language: str) -> TemplateSource:
    """The shipped template for a key, in the customer's language (English when there is none).

    Args:
        key: the template key of a policy step (``mahnung_1``, ``final_notice``).
        language: the customer's language.

    Returns:
        Subject, text and HTML source, ready to render or to copy into the org's editor.

    Raises:
        TemplateError: no default template has that key.
    """
    lang = template_language(language)
    if not _KEY.fullmatch(key):
        raise TemplateError(key, f"template {key!r} ({lang}): not a template key")
    folder = resources.files("connector.render").joinpath("templates", lang)
    parts: dict[str, str] = {}
    for part, suffix in _SUFFIXES.items():
        entry = folder.joinpath(f"{key}.{suffix}")
        if not entry.is_file():
            raise TemplateError(key, f"template {key!r} ({lang}): no default template with that key")
        parts[part] = entry.read_text(encoding="utf-8")
    return TemplateSource(subject=parts["subject"], text=parts["text"], html=parts["html"])


def render_message(
    ctx: MessageContext, source: TemplateSource | None = None, *, attach_letter: bool | None = None
) -> RenderedMessage:
    """Render a reminder's subject, plain text and HTML, and attach the PDF letter where due.

    Args:
        ctx: the message context (amounts are the re-checked balances).
        source: the organisation's edited template; None for the default of ``ctx.template`` in
            ``ctx.language`` (English when that language has none, and then formatted in English).
        attach_letter: True to attach the PDF letter; None attaches it from level 3 (final notice).
            The statement of account is attached whenever ``ctx.statement`` is set.

    Returns:
        The message; the subject is one line.

    Raises:
        TemplateError: any part failed (syntax, undefined variable, sandbox violation). Nothing is
            returned then, so a half-rendered message can never be sent.
    """
    if source is None:
        language = template_language(ctx.language)
        source = default_template(ctx.template, language)
    else:
        language = ctx.language
    if attach_letter is None:
        attach_letter = ctx.level >= CLAIM_MIN_LEVEL
    data = template_data(ctx, language, letter_attached=attach_letter)
    subject = render_part(source.subject, data, part="subject", key=ctx.template, language=language)
    text = render_part(source.text, data, part="text", key=ctx.template, language=language)
    html = render_part(source.html, data, part="html", key=ctx.template, language=language)
    subject = " ".join(subject.split())  # one header line, whatever the template or a name holds
    if not subject:
        raise TemplateError(ctx.template, f"template {ctx.template!r} ({language}, subject): renders empty")
    attachments: tuple[Attachment, ...] = ()
    if attach_letter:
        from connector.render.letter import letter_attachment  # WeasyPrint loads only when a letter is made

        attachments = (letter_attachment(ctx),)
    if ctx.statement is not None:
        from connector.render.statement import statement_attachment

        attachments += (statement_attachment(ctx.statement),)
    text = _BLANK_LINES.sub("\n\n", text).strip() + "\n"  # sections left out leave no holes
    return RenderedMessage(subject=subject, text=text, html=html, attachments=attachments)
