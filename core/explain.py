"""Why this message today, or why nothing: one invoice, one day, in data and in words (en, de).

:func:`explain` runs the engine itself (:func:`core.engine.decide`) on the invoice's customer and
reads the facts each rule recorded, so an explanation can never disagree with the plan. The
checks are listed in the order the engine applies them, up to the one that decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from core.calendar import holiday_name, next_business_day
from core.engine import Decision, Organisation, Touch, decide
from core.engine.facts import GroupFacts, InvoiceFacts
from core.model import Ledger, PastTouch
from core.policy import Action, Policy
from core.reasons import SkipReason, describe
from core.scenario.output import touch_json

Fact = str | int | bool | None


@dataclass(frozen=True, slots=True)
class Check:
    """One rule as the engine applied it to the invoice.

    Attributes:
        rule: ``status``, ``customer``, ``pause``, ``step``, ``spacing``, ``credit``, ``threshold``,
            ``calendar`` or ``reachability``.
        ok: True when the rule let the invoice through.
        facts: what the rule looked at, as JSON-ready values.
        texts: the same in words, per language (``"en"``, ``"de"``).
    """

    rule: str
    ok: bool
    facts: dict[str, Fact]
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The answer for one invoice on one day.

    Attributes:
        invoice_id: the invoice.
        customer_id: its customer.
        today: the day explained.
        reason: why it is skipped; None when a touch carries it.
        touch: the touch that carries it, if any.
        checks: the rules applied, in engine order, up to the deciding one.
    """

    invoice_id: str
    customer_id: str
    today: date
    reason: SkipReason | None
    touch: Touch | None
    checks: tuple[Check, ...]


def explain(
    ledger: Ledger,
    policy: Policy,
    history: Sequence[PastTouch],
    today: date,
    invoice_id: str,
    organisation: Organisation | None = None,
) -> Explanation:
    """Explain the engine's decision for ``invoice_id`` on ``today``.

    Every rule works per customer, so the engine is run on that customer's part of the ledger.

    Raises:
        KeyError: the ledger has no such invoice.
        Whatever :func:`core.engine.plan` raises.
    """
    invoice = next((i for i in ledger.invoices if i.id == invoice_id), None)
    if invoice is None:
        raise KeyError(invoice_id)
    owner = invoice.customer_id
    mine = Ledger(
        customers=tuple(c for c in ledger.customers if c.id == owner),
        invoices=tuple(i for i in ledger.invoices if i.customer_id == owner),
        credits=tuple(c for c in ledger.credits if c.customer_id == owner),
        pauses=tuple(p for p in ledger.pauses if p.customer_id == owner),
    )
    org = organisation or Organisation()
    decision = decide(mine, policy, [t for t in history if t.customer_id == owner], today, org)
    return _explanation(decision, invoice_id, policy, today, org)


def _explanation(decision: Decision, invoice_id: str, policy: Policy, today: date, org: Organisation) -> Explanation:
    facts = decision.facts.invoices[invoice_id]
    key = (facts.invoice.customer_id, facts.invoice.currency)
    group = decision.facts.groups.get(key) if facts.reason is None else None
    checks = _invoice_checks(facts, policy)
    if group is not None:
        checks += _group_checks(group, policy, today, org)
    touch = next((t for t in decision.plan.touches if (t.customer_id, t.currency) == key), None)
    reason = facts.reason or (group.reason if group else None)
    return Explanation(
        invoice_id, facts.invoice.customer_id, today, reason, touch if reason is None else None, tuple(checks)
    )


def _check(rule: str, ok: bool, facts: dict[str, Fact], en: str, de: str) -> Check:
    return Check(rule, ok, facts, {"en": en, "de": de})


def _invoice_checks(f: InvoiceFacts, policy: Policy) -> list[Check]:
    inv = f.invoice
    owed = f.reason not in (SkipReason.PAID, SkipReason.VOIDED, SkipReason.DRAFT, SkipReason.DELETED)
    owed = owed and f.reason is not SkipReason.ZERO_BALANCE
    checks = [
        _check(
            "status",
            owed,
            {"status": str(inv.status), "balance": inv.balance.cents(), "currency": inv.currency},
            f"Invoice {inv.number} is {inv.status} with {inv.balance} open.",
            f"Rechnung {inv.number} ist {_STATUS_DE[inv.status]}, offener Betrag {inv.balance}.",
        )
    ]
    if not owed:
        return checks
    excluded = f.reason is SkipReason.CUSTOMER_EXCLUDED
    checks.append(
        _check(
            "customer",
            not excluded,
            {"excluded": excluded},
            "The customer is excluded from reminders." if excluded else "The customer may be reminded.",
            "Für den Kunden besteht eine Mahnsperre." if excluded else "Für den Kunden besteht keine Mahnsperre.",
        )
    )
    if excluded:
        return checks
    checks.append(_pause_check(f, policy))
    if f.pause is None:
        checks.append(_step_check(f))
    return checks


def _pause_check(f: InvoiceFacts, policy: Policy) -> Check:
    pause = f.pause
    if pause is None:
        return _check("pause", True, {"pause": None}, "No pause is in force.", "Keine Pause (Mahnsperre) aktiv.")
    until = pause.until_date
    end = until + timedelta(days=policy.promise_grace_days) if until and pause.kind == "promise" else until
    facts: dict[str, Fact] = {
        "pause": str(pause.kind),
        "whole_customer": pause.invoice_id is None,
        "until": until.isoformat() if until else None,
        "covers_until": end.isoformat() if end else None,
        "reason": pause.reason or None,
    }
    when_en = f"until {end}" if end else "until it is lifted"
    when_de = f"bis {end}" if end else "bis auf Widerruf"
    return _check(
        "pause",
        False,
        facts,
        f"{describe(_PAUSES[pause.kind], 'en')} The pause ({pause.kind}) lasts {when_en}.",
        f"{describe(_PAUSES[pause.kind], 'de')} Die Pause gilt {when_de}.",
    )


_STATUS_DE = {"open": "offen", "paid": "bezahlt", "voided": "storniert", "draft": "ein Entwurf", "deleted": "gelöscht"}
_ACTION_DE = {
    Action.EMAIL: "E-Mail",
    Action.CALL: "Anruf",
    Action.LETTER: "Brief",
    Action.NOTIFY_OWNER: "Info an den Kundenbetreuer",
    Action.AGENCY: "Übergabe an Inkasso",
    Action.LEGAL: "gerichtliches Mahnverfahren",
    Action.WRITEOFF_REVIEW: "Prüfung der Ausbuchung",
}

_PAUSES = {
    "dispute": SkipReason.PAUSED_DISPUTE,
    "promise": SkipReason.PAUSED_PROMISE,
    "plan": SkipReason.PAUSED_PLAN,
    "hold": SkipReason.PAUSED_HOLD,
}


def _step_check(f: InvoiceFacts) -> Check:
    inv = f.invoice
    nxt = f.next_step
    next_date = inv.due_date + timedelta(days=nxt.offset_days) if nxt else None
    facts: dict[str, Fact] = {
        "days_overdue": f.days_overdue,
        "due_date": inv.due_date.isoformat(),
        "reached_step": f.reached.id if f.reached else None,
        "last_step": f.done.id if f.done else None,
        "last_level": f.last_level,
        "last_touch_date": f.last_touch_date.isoformat() if f.last_touch_date else None,
        "allowed_level": f.allowed_level,
        "candidate_step": f.candidate.id if f.candidate else None,
        "next_step": nxt.id if nxt else None,
        "next_step_date": next_date.isoformat() if next_date else None,
    }
    last_en = (
        f"its last touch was level {f.last_level} on {f.last_touch_date}"
        if f.last_touch_date
        else "it has no touch yet"
    )
    last_de = (
        f"letzte Mahnung Stufe {f.last_level} am {f.last_touch_date}" if f.last_touch_date else "noch keine Mahnung"
    )
    days, level = f.days_overdue, f.allowed_level
    en = f"It is {days} days past its due date {inv.due_date}; {last_en}, so level {level} is allowed."
    de = f"Tage seit Fälligkeit ({inv.due_date}): {days}; {last_de}, erlaubt ist Stufe {level}."
    if f.candidate is not None:
        en += f" Step {f.candidate.id} (level {f.candidate.level}) is due."
        de += f" Fällig ist Schritt {f.candidate.id} (Stufe {f.candidate.level})."
    elif next_date is not None and nxt is not None:
        en += f" The next step, {nxt.id} (level {nxt.level}), is due on {next_date}."
        de += f" Der nächste Schritt, {nxt.id} (Stufe {nxt.level}), ist am {next_date} fällig."
    else:
        en += " Every step of the cadence has been taken."
        de += " Alle Schritte des Mahnlaufs sind erledigt."
    return _check("step", f.candidate is not None, facts, en, de)


def _group_checks(g: GroupFacts, policy: Policy, today: date, org: Organisation) -> list[Check]:
    checks = [_spacing_check(g, policy, today)]
    rules = (
        (SkipReason.COVERED_BY_CREDIT, _credit_check),
        (SkipReason.BELOW_MIN_BALANCE, _threshold_check),
        (SkipReason.NOT_A_BUSINESS_DAY, _calendar_check),
        (SkipReason.NO_EMAIL_ADDRESS, _reach_check),
    )
    for reason, make in rules:
        if not checks[-1].ok:
            break
        checks.append(make(g, policy, today, org, reason))
    return checks


def _spacing_check(g: GroupFacts, policy: Policy, today: date) -> Check:
    last = g.last_touch_date
    since = (today - last).days if last else None
    facts: dict[str, Fact] = {
        "last_touch_date": last.isoformat() if last else None,
        "days_since": since,
        "min_days_between_touches": policy.min_days_between_touches,
        "broken_promise": g.broken_promise,
    }
    ok = g.reason is not SkipReason.TOO_SOON
    if last is None:
        en, de = "The customer has not been contacted yet.", "Der Kunde wurde noch nicht angeschrieben."
    else:
        earliest = last + timedelta(days=policy.min_days_between_touches)
        gap = policy.min_days_between_touches
        en = f"Last touch of the customer {since} days ago ({last}); spacing {gap} days: next from {earliest}."
        de = f"Letzter Kontakt vor {since} Tagen ({last}); Abstand {gap} Tage: nächster frühestens am {earliest}."
    if g.broken_promise:
        en += " A payment promise was broken: it is chased now, once, regardless of the spacing."
        de += " Eine Zahlungszusage wurde gebrochen: Sie wird jetzt einmalig ohne Rücksicht auf den Abstand angemahnt."
    return _check("spacing", ok, facts, en, de)


def _credit_check(g: GroupFacts, _p: Policy, _t: date, _o: Organisation, reason: SkipReason) -> Check:
    facts: dict[str, Fact] = {
        "credit": g.credit.cents(),
        "open_balance": g.open_balance.cents(),
        "currency": g.currency,
    }
    return _check(
        "credit",
        g.reason is not reason,
        facts,
        f"Unapplied credit {g.credit} against {g.open_balance} open and unpaused.",
        f"Offenes Guthaben {g.credit} gegenüber {g.open_balance} offen (ohne Pausen).",
    )


def _threshold_check(g: GroupFacts, p: Policy, _t: date, _o: Organisation, reason: SkipReason) -> Check:
    facts: dict[str, Fact] = {"amount_due": g.amount_due.cents(), "min_balance": str(p.min_balance)}
    return _check(
        "threshold",
        g.reason is not reason,
        facts,
        f"The touch would ask for {g.amount_due}; the minimum is {p.min_balance}.",
        f"Die Mahnung fordert {g.amount_due}; der Mindestbetrag ist {p.min_balance}.",
    )


def _calendar_check(g: GroupFacts, _p: Policy, today: date, org: Organisation, reason: SkipReason) -> Check:
    facts: dict[str, Fact] = {"business_days_only": org.business_days_only, "business_day": g.business_day}
    if g.business_day:
        return _check("calendar", True, facts, "Messages may go out today.", "Heute darf gemahnt werden.")
    nxt = next_business_day(today, org.country, org.subdivision)
    facts.update({"holiday": holiday_name(today, org.country, org.subdivision), "next_business_day": nxt.isoformat()})
    name_en = holiday_name(today, org.country, org.subdivision, "en") or "a weekend day"
    name_de = holiday_name(today, org.country, org.subdivision, "de") or "Wochenende"
    return _check(
        "calendar",
        g.reason is not reason,
        facts,
        f"Today is {name_en}; the next business day is {nxt}.",
        f"Heute ist {name_de}; nächster Geschäftstag ist der {nxt}.",
    )


def _reach_check(g: GroupFacts, _p: Policy, _t: date, _o: Organisation, reason: SkipReason) -> Check:
    email = g.lead.action is Action.EMAIL
    facts: dict[str, Fact] = {"action": str(g.lead.action), "has_email": bool(g.customer.emails)}
    if not email:
        en = f"The step's action is {g.lead.action}: a task for a person."
        de = f"Der Schritt ist {_ACTION_DE[g.lead.action]}: eine Aufgabe für einen Menschen."
    elif g.customer.emails:
        en, de = "The customer has an email address.", "Eine E-Mail-Adresse ist hinterlegt."
    else:
        en, de = describe(reason, "en"), describe(reason, "de")
    return _check("reachability", g.reason is not reason, facts, en, de)


def headline(found: Explanation, language: str = "en") -> str:
    """One sentence: the message that goes out, or why nothing does."""
    de = language == "de"
    if found.touch is not None:
        t = found.touch
        step = next(i for i in t.invoices if i.invoice_id == found.invoice_id)
        if de:
            action = _ACTION_DE[t.action]
            return f"Heute: {action} '{t.template}' (Schritt {step.step_id}, Stufe {step.level}) über {t.amount_due}."
        return f"Today: {t.action} '{t.template}' (step {step.step_id}, level {step.level}) for {t.amount_due}."
    reason = found.reason or SkipReason.NO_STEP_REACHED
    return f"{'Heute nichts' if de else 'Nothing today'} ({reason}): {describe(reason, language)}"


def words(found: Explanation, language: str = "en") -> str:
    """The explanation as text: the headline, then one line per check."""
    lang = "de" if language == "de" else "en"
    lines = [headline(found, lang)]
    lines += [f"- {check.texts[lang]}" for check in found.checks]
    return "\n".join(lines)


def as_json(found: Explanation, language: str = "en") -> dict[str, object]:
    """The explanation as JSON-ready data, with the words in ``language``."""
    lang = "de" if language == "de" else "en"
    return {
        "invoice": found.invoice_id,
        "customer": found.customer_id,
        "today": found.today.isoformat(),
        "outcome": "touch" if found.touch else "skipped",
        "reason": str(found.reason) if found.reason else None,
        "summary": headline(found, lang),
        "checks": [{"rule": c.rule, "ok": c.ok, "facts": c.facts, "text": c.texts[lang]} for c in found.checks],
        "touch": touch_json(found.touch) if found.touch else None,
    }
