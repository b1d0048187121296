"""What templates see: plain data built from a :class:`MessageContext`, formatted with Babel.

Templates get strings, numbers, lists and dicts only, never the context's records: amounts and
dates are already formatted, so a template cannot format them wrongly and cannot reach into an
object. The words follow the customer's language, the number conventions the organisation's
locale (``1.234,50 €`` for German; ``€1,234.50`` for English from an ``en_GB`` organisation;
``1.234,50 €`` for English from a ``de_DE`` one).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from connector.render.context import MessageContext, Party
from core.interest import Claim
from core.model import Money

DEFAULT_DEADLINE_DAYS = 10
"""Days from today to the payment deadline of a level ≥ 3 message when the context gives none."""

CLAIM_MIN_LEVEL = 3
"""The statutory claim is stated from this level on (final notice), never below."""

# The legal citations per basis code of core.interest, in the customer's language: (interest law,
# how its rate is made, fixed-sum law). The EU articles: art. 3 (interest between undertakings) and
# art. 6 (the EUR 40 compensation) of directive 2011/7/EU.
_LAW: dict[str, dict[str, tuple[str, str, str]]] = {
    "DE-BGB-288": {
        "de": ("§ 288 Abs. 2 BGB", "neun Prozentpunkte über dem Basiszinssatz", "§ 288 Abs. 5 BGB"),
        "en": ("§ 288(2) BGB (German Civil Code)", "9 percentage points above the German base rate", "§ 288(5) BGB"),
    },
    "UK-LPCDA-1998": {
        "de": (
            "dem Late Payment of Commercial Debts (Interest) Act 1998",
            "acht Prozentpunkte über dem Referenzzins der Bank of England",
            "Section 5A dieses Gesetzes",
        ),
        "en": (
            "the Late Payment of Commercial Debts (Interest) Act 1998",
            "8 percentage points above the Bank of England reference rate",
            "section 5A of that Act",
        ),
    },
    "EU": {
        "de": (
            "Art. 3 der Richtlinie 2011/7/EU",
            "acht Prozentpunkte über dem Referenzzinssatz",
            "Art. 6 der Richtlinie 2011/7/EU",
        ),
        "en": (
            "Article 3 of Directive 2011/7/EU",
            "8 percentage points above the reference rate",
            "Article 6 of Directive 2011/7/EU",
        ),
    },
}
_FEE_RULE: dict[str, dict[str, str]] = {
    "de": {"GBP": "je Rechnung 40 £, 70 £ oder 100 £ nach Höhe der Forderung", "EUR": "40 € je Rechnung"},
    "en": {"GBP": "£40, £70 or £100 per invoice depending on its size", "EUR": "€40 per invoice"},
}


def message_locale(org_locale: str, language: str) -> Locale:
    """The locale to format with: the customer's language with the organisation's territory.

    Args:
        org_locale: the organisation's locale, ``de_DE`` or ``en-GB``.
        language: the customer's language code.

    Returns:
        ``language_TERRITORY`` when Babel knows it (``en_DE``), else the language alone, else English.
    """
    try:
        org = Locale.parse(org_locale.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        org = None
    lang = language.lower()
    if org is not None and org.language == lang:
        return org
    candidates = [f"{lang}_{org.territory}"] if org is not None and org.territory else []
    for name in [*candidates, lang, "en"]:
        try:
            return Locale.parse(name)
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse("en")  # pragma: no cover - "en" always exists


def format_money(value: Money, locale: Locale) -> str:
    """``1.234,50 €`` / ``€1,234.50``: always two decimals (or the currency's own digits)."""
    return format_currency(value.amount, value.currency, locale=locale)


def format_day(day: date, locale: Locale) -> str:
    """``10.03.2026`` in German, ``10 March 2026`` in English (the locale's long form), else medium."""
    if locale.language == "de":
        return format_date(day, "dd.MM.yyyy", locale=locale)
    if locale.language == "en":
        return format_date(day, "long", locale=locale)
    return format_date(day, "medium", locale=locale)


def format_rate(rate_percent: Decimal, locale: Locale) -> str:
    """``10,27 %`` / ``10.27%``: the locale's percent sign and spacing, two decimals."""
    number = format_decimal(rate_percent, "#,##0.00", locale=locale)
    return f"{number}\u00a0%" if locale.language == "de" else f"{number}%"


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) link, else None (no ``javascript:`` in a message)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def payment_deadline(ctx: MessageContext) -> date | None:
    """The deadline the message states: the context's, or a default one at level 3 and above.

    The dispatcher records what was stated by calling this with the same context.
    """
    if ctx.payment_deadline is not None:
        return ctx.payment_deadline
    if ctx.level >= CLAIM_MIN_LEVEL:
        return ctx.today + timedelta(days=DEFAULT_DEADLINE_DAYS)
    return None


def _party(party: Party) -> dict[str, Any]:
    return {"name": party.name, "address_lines": list(party.address_lines), "email": party.email}


def _claim(claim: Claim, language: str, locale: Locale) -> dict[str, Any]:
    words = "de" if language == "de" else "en"
    key = "EU" if claim.basis.startswith("EU-") else claim.basis
    interest_law, rate_rule, fee_law = _LAW.get(key, {}).get(words, (claim.basis, "", claim.basis))
    fees = claim.fixed_fees if claim.fixed_fees.is_positive() else None
    return {
        "basis": claim.basis,
        "interest": format_money(claim.interest, locale),
        "rate": format_rate(claim.rate_percent, locale),
        "interest_law": interest_law,
        "rate_rule": rate_rule,
        "fixed_fees": format_money(fees, locale) if fees else None,
        "fee_law": fee_law,
        "fee_rule": _FEE_RULE[words].get(claim.fixed_fees.currency, ""),
        "total": format_money(claim.interest + claim.fixed_fees, locale),
    }


def template_data(ctx: MessageContext, language: str, *, letter_attached: bool = False) -> dict[str, Any]:
    """The variables every template sees (documented in ``templates/README.md``).

    Args:
        ctx: the message context.
        language: the language of the words (the default templates' fallback may differ from
            ``ctx.language``).
        letter_attached: whether the PDF letter goes with the message (templates may say so).

    Returns:
        Plain data: strings, ints, bools, lists and dicts.
    """
    locale = message_locale(ctx.locale, language)
    credit = ctx.unapplied_credit if ctx.unapplied_credit and ctx.unapplied_credit.is_positive() else None
    to_pay = ctx.total - credit if credit else ctx.total
    if to_pay.amount < 0:
        to_pay = Money(Decimal(0), ctx.total.currency)
    deadline = payment_deadline(ctx)
    terms = sorted({line.terms.strip() for line in ctx.invoices if line.terms.strip()})
    claim = ctx.claim if ctx.claim is not None and ctx.level >= CLAIM_MIN_LEVEL else None
    return {
        "organisation": _party(ctx.organisation),
        "customer": _party(ctx.customer),
        "language": language,
        "today": format_day(ctx.today, locale),
        "level": ctx.level,
        "template": ctx.template,
        "currency": ctx.total.currency,
        "invoices": [
            {
                "number": line.number,
                "issue_date": format_day(line.issue_date, locale),
                "due_date": format_day(line.due_date, locale),
                "open_amount": format_money(line.open_amount, locale),
                "pay_url": safe_url(line.pay_url),
                "terms": line.terms.strip(),
                "days_overdue": max((ctx.today - line.due_date).days, 0),
            }
            for line in ctx.invoices
        ],
        "invoice_count": len(ctx.invoices),
        "has_pay_links": any(safe_url(line.pay_url) for line in ctx.invoices),
        "total": format_money(ctx.total, locale),
        "unapplied_credit": format_money(credit, locale) if credit else None,
        "amount_to_pay": format_money(to_pay, locale),
        "terms": terms,
        "claim": _claim(claim, language, locale) if claim else None,
        "payment_deadline": format_day(deadline, locale) if deadline else None,
        "payer_link": safe_url(ctx.payer_link),
        "reference": ctx.reference,
        "letter_attached": letter_attached,
    }
