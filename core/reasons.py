"""Why an invoice is not chased today: one vocabulary for the plan, explain and the UI.

The codes (``SkipReason`` values) are English and stable: they appear in the scenario JSON and
in stored runs. People read :func:`describe`, which has an English and a German text for each.
"""

from __future__ import annotations

from enum import StrEnum


class SkipReason(StrEnum):
    """Why an invoice is in ``Plan.skipped`` instead of a touch (scenario contract, rules 2–9)."""

    PAID = "paid"
    VOIDED = "voided"
    DRAFT = "draft"
    DELETED = "deleted"
    ZERO_BALANCE = "zero_balance"
    CUSTOMER_EXCLUDED = "customer_excluded"
    PAUSED_DISPUTE = "paused_dispute"
    PAUSED_PROMISE = "paused_promise"
    PAUSED_PLAN = "paused_plan"
    PAUSED_HOLD = "paused_hold"
    NO_STEP_REACHED = "no_step_reached"
    NEXT_STEP_NOT_REACHED = "next_step_not_reached"
    TOO_SOON = "too_soon"
    COVERED_BY_CREDIT = "covered_by_credit"
    BELOW_MIN_BALANCE = "below_min_balance"
    NOT_A_BUSINESS_DAY = "not_a_business_day"
    NO_EMAIL_ADDRESS = "no_email_address"


LANGUAGES: tuple[str, ...] = ("en", "de")
"""Languages every reason has a text in; the first is the fallback."""

_TEXTS: dict[SkipReason, tuple[str, str]] = {
    SkipReason.PAID: ("The invoice is paid.", "Die Rechnung ist bezahlt."),
    SkipReason.VOIDED: ("The invoice was voided.", "Die Rechnung wurde storniert."),
    SkipReason.DRAFT: ("The invoice is a draft and was never sent.", "Die Rechnung ist ein Entwurf."),
    SkipReason.DELETED: ("The invoice was deleted.", "Die Rechnung wurde gelöscht."),
    SkipReason.ZERO_BALANCE: ("Nothing is left to pay on the invoice.", "Auf der Rechnung ist nichts mehr offen."),
    SkipReason.CUSTOMER_EXCLUDED: (
        "The customer is excluded from reminders.",
        "Für den Kunden besteht eine Mahnsperre.",
    ),
    SkipReason.PAUSED_DISPUTE: ("The invoice is disputed.", "Die Rechnung ist beanstandet (Reklamation)."),
    SkipReason.PAUSED_PROMISE: (
        "The customer promised to pay; we wait until the promised date.",
        "Der Kunde hat eine Zahlungszusage gegeben; wir warten bis zum zugesagten Termin.",
    ),
    SkipReason.PAUSED_PLAN: (
        "The invoice is under a payment plan.",
        "Für die Rechnung gilt eine Ratenzahlungsvereinbarung.",
    ),
    SkipReason.PAUSED_HOLD: ("Reminders are on hold.", "Das Mahnen ist angehalten (Mahnsperre)."),
    SkipReason.NO_STEP_REACHED: (
        "No step of the cadence is due yet.",
        "Noch keine Mahnstufe ist fällig.",
    ),
    SkipReason.NEXT_STEP_NOT_REACHED: (
        "The next step of the cadence is not due yet.",
        "Die nächste Mahnstufe ist noch nicht fällig.",
    ),
    SkipReason.TOO_SOON: (
        "The customer was contacted too recently.",
        "Der Kunde wurde erst vor Kurzem angeschrieben.",
    ),
    SkipReason.COVERED_BY_CREDIT: (
        "The customer's unapplied credit covers what is open.",
        "Das offene Guthaben des Kunden deckt den offenen Betrag.",
    ),
    SkipReason.BELOW_MIN_BALANCE: (
        "The amount due is below the minimum worth chasing.",
        "Der fällige Betrag liegt unter dem Mindestbetrag für eine Mahnung.",
    ),
    SkipReason.NOT_A_BUSINESS_DAY: (
        "Today is not a business day.",
        "Heute ist kein Geschäftstag.",
    ),
    SkipReason.NO_EMAIL_ADDRESS: (
        "The customer has no email address.",
        "Für den Kunden ist keine E-Mail-Adresse hinterlegt.",
    ),
}


def describe(reason: SkipReason, language: str = "en") -> str:
    """A sentence that tells a person what ``reason`` means.

    Args:
        reason: the skip reason.
        language: ``"en"`` or ``"de"``; any other language falls back to English.

    Returns:
        One sentence in that language.
    """
    english, german = _TEXTS[reason]
    return german if language == "de" else english
