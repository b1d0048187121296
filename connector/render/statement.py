"""The statement of account (Kontoauszug / offene Posten): one customer's open invoices, its
credits and the balance per currency, as an HTML document and as a PDF printed by WeasyPrint.

Like the letter, the statement is a shipped template (``templates/<language>/_statement.html``,
autoescaped, in the sandbox) with a stylesheet (``templates/statement.css``); WeasyPrint gets the
letter's URL fetcher that refuses everything. Nothing here reads the database: the caller builds a
:class:`Statement` (``connector.statements.load_statement``) and renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.render.context import Attachment, Party, TemplateError
from connector.render.environment import render_part
from connector.render.formatting import format_day, format_money, message_locale, safe_url
from connector.render.letter import PDF, _read, _refuse_fetch, _weasyprint
from connector.render.message import template_language
from core.model import Money

_FILENAME_STEM = {"de": "Kontoauszug", "en": "Statement"}
_CREDIT_WORDS = {
    "de": {
        "credit_note": "Gutschrift",
        "overpayment": "Überzahlung",
        "prepayment": "Vorauszahlung",
        "unapplied_payment": "nicht zugeordnete Zahlung",
    },
    "en": {
        "credit_note": "credit note",
        "overpayment": "overpayment",
        "prepayment": "prepayment",
        "unapplied_payment": "unapplied payment",
    },
}


@dataclass(frozen=True)
class StatementLine:
    """One open invoice.

    Attributes:
        number: the invoice number as printed.
        issue_date: the invoice date.
        due_date: the date payment was due.
        total: the invoice total.
        open_amount: what is still open of it.
        pay_url: the platform's pay-now page; None when there is none.
    """

    number: str
    issue_date: date
    due_date: date
    total: Money
    open_amount: Money
    pay_url: str | None = None


@dataclass(frozen=True)
class StatementCredit:
    """A credit in the customer's favour not yet set off.

    Attributes:
        kind: ``credit_note``, ``overpayment``, ``prepayment`` or ``unapplied_payment``.
        number: its document number; empty when it has none.
        issue_date: its date, when known.
        amount: what remains of it.
    """

    kind: str
    number: str
    issue_date: date | None
    amount: Money


@dataclass(frozen=True)
class StatementTotal:
    """The balance in one currency.

    Attributes:
        open: the sum of the open invoices.
        credits: the sum of the credits.
        balance: ``open − credits`` (negative when the customer is in credit).
    """

    open: Money
    credits: Money
    balance: Money


@dataclass(frozen=True)
class Statement:
    """A statement of account of one customer on one day.

    Attributes:
        organisation: the issuer.
        customer: the customer.
        locale: the organisation's locale (number conventions).
        language: the customer's language (the words).
        today: the day the statement is made for.
        lines: the open invoices, oldest due first.
        credits: the credits not yet set off.
        totals: one per currency, sorted by currency.
        reference: printed and used in the file name (e.g. the customer's id).
    """

    organisation: Party
    customer: Party
    locale: str
    language: str
    today: date
    lines: tuple[StatementLine, ...]
    credits: tuple[StatementCredit, ...]
    totals: tuple[StatementTotal, ...]
    reference: str = ""


def statement_data(statement: Statement) -> dict[str, Any]:
    """What the statement template sees: plain, formatted data (like the message templates)."""
    language = template_language(statement.language)
    locale = message_locale(statement.locale, language)
    words = _CREDIT_WORDS[language]
    return {
        "organisation": {"name": statement.organisation.name, "email": statement.organisation.email},
        "customer": {"name": statement.customer.name, "address_lines": list(statement.customer.address_lines)},
        "today": format_day(statement.today, locale),
        "reference": statement.reference,
        "lines": [
            {
                "number": line.number,
                "issue_date": format_day(line.issue_date, locale),
                "due_date": format_day(line.due_date, locale),
                "overdue": line.due_date < statement.today,
                "total": format_money(line.total, locale),
                "open_amount": format_money(line.open_amount, locale),
                "pay_url": safe_url(line.pay_url),
            }
            for line in statement.lines
        ],
        "credits": [
            {
                "kind": words.get(credit.kind, credit.kind),
                "number": credit.number,
                "issue_date": format_day(credit.issue_date, locale) if credit.issue_date else "",
                "amount": format_money(credit.amount, locale),
            }
            for credit in statement.credits
        ],
        "totals": [
            {
                "currency": total.open.currency,
                "open": format_money(total.open, locale),
                "credits": format_money(total.credits, locale),
                "balance": format_money(total.balance, locale),
                "in_credit": total.balance.amount < 0,
            }
            for total in statement.totals
        ],
    }


def statement_html(statement: Statement) -> str:
    """The statement as a self-contained HTML document (its stylesheet inline), in the customer's
    language.

    Raises:
        TemplateError: the template failed.
    """
    language = template_language(statement.language)
    data = {**statement_data(statement), "stylesheet": _read("statement.css")}
    return render_part(_read(f"{language}/_statement.html"), data, part="html", key="statement", language=language)


def render_statement_pdf(statement: Statement) -> bytes:
    """Print the statement to PDF (A4).

    Raises:
        TemplateError: the template failed, or WeasyPrint could not print it.
    """
    html = statement_html(statement)
    weasyprint = _weasyprint()
    try:
        document = weasyprint.HTML(string=html, url_fetcher=_refuse_fetch, base_url=None)
        pdf: bytes = document.write_pdf()
    except Exception as exc:  # as for letters: a statement that cannot be printed is a template error
        raise TemplateError("statement", f"statement ({statement.language}): PDF failed: {exc}") from exc
    return pdf


def statement_filename(statement: Statement) -> str:
    """``Kontoauszug-<reference>-<date>.pdf`` / ``Statement-<reference>-<date>.pdf`` (ASCII)."""
    stem = _FILENAME_STEM[template_language(statement.language)]
    ref = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in statement.reference)
    ref = ref.strip("-.")[:60]
    return f"{stem}-{ref + '-' if ref else ''}{statement.today.isoformat()}.pdf"


def statement_attachment(statement: Statement) -> Attachment:
    """The statement as a PDF attachment of a message."""
    return Attachment(filename=statement_filename(statement), content_type=PDF, data=render_statement_pdf(statement))
