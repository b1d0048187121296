"""The PDF letter: a one-page Mahnschreiben / demand letter, laid out after DIN 5008 (form B).

The letter is an HTML template (``templates/<language>/_letter.html``, autoescaped like every
HTML part) and a stylesheet (``templates/letter.css``) printed by WeasyPrint. WeasyPrint is given
a URL fetcher that refuses everything, so a letter never loads a file or a URL, whatever a name
or a link in it says.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache
from importlib import resources
from typing import Any

from connector.render.context import Attachment, MessageContext, TemplateError
from connector.render.environment import render_part
from connector.render.formatting import template_data
from connector.render.message import template_language

PDF = "application/pdf"

_FILENAME_STEM = {"de": "Mahnschreiben", "en": "Demand-letter"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@lru_cache(maxsize=1)
def _weasyprint() -> Any:
    # Without libharfbuzz-subset WeasyPrint 6x warns on import (DeprecationWarning) and still
    # works; the test suite turns warnings into errors, so the import is done quietly here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        import weasyprint  # type: ignore[import-untyped]
    return weasyprint


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"letters load nothing from outside ({url[:40]!r})")


def _read(name: str) -> str:
    return resources.files("connector.render").joinpath("templates", name).read_text(encoding="utf-8")


def letter_html(ctx: MessageContext) -> str:
    """The letter as HTML (what :func:`render_letter_pdf` prints), in the customer's language.

    Raises:
        TemplateError: the letter template failed.
    """
    language = template_language(ctx.language)
    data = template_data(ctx, language)
    source = _read(f"{language}/_letter.html")
    return render_part(source, data, part="html", key="letter", language=language)


def render_letter_pdf(ctx: MessageContext) -> bytes:
    """Print the letter to PDF: sender line, address block, date, reference, subject, body, table,
    claim (level ≥ 3), payment deadline and closing; one A4 page for up to 15 invoices.

    Args:
        ctx: the message context; ``reference`` is printed as "our reference".

    Returns:
        The PDF document's bytes.

    Raises:
        TemplateError: the letter template failed, or WeasyPrint could not print it.
    """
    html = letter_html(ctx)
    weasyprint = _weasyprint()
    try:
        stylesheet = weasyprint.CSS(string=_read("letter.css"), url_fetcher=_refuse_fetch)
        document = weasyprint.HTML(string=html, url_fetcher=_refuse_fetch, base_url=None)
        pdf: bytes = document.write_pdf(stylesheets=[stylesheet])
    except Exception as exc:  # a letter that cannot be printed holds the touch like a broken template
        raise TemplateError("letter", f"letter ({ctx.language}): PDF failed: {type(exc).__name__}: {exc}") from exc
    return pdf


def letter_filename(ctx: MessageContext) -> str:
    """``Mahnschreiben-<reference>.pdf`` / ``Demand-letter-<reference>.pdf`` (ASCII; today's date without one)."""
    stem = _FILENAME_STEM[template_language(ctx.language)]
    ref = _UNSAFE.sub("-", ctx.reference).strip("-.")[:60] or ctx.today.isoformat()
    return f"{stem}-{ref}.pdf"


def letter_attachment(ctx: MessageContext) -> Attachment:
    """The letter as an attachment of the message."""
    return Attachment(filename=letter_filename(ctx), content_type=PDF, data=render_letter_pdf(ctx))
