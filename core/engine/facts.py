"""The facts each rule looks at, per invoice (rules 2–3) and per customer and currency (4–9).

The engine decides from these records and :mod:`core.explain` reads them, so an explanation is
never a second implementation of the rules.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from core.model import Customer, Invoice, InvoiceStatus, Ledger, Money, PastTouch, Pause, PauseKind
from core.policy import Action, Policy, Step
from core.reasons import SkipReason

_STATUS_REASONS = {
    InvoiceStatus.PAID: SkipReason.PAID,
    InvoiceStatus.VOIDED: SkipReason.VOIDED,
    InvoiceStatus.DRAFT: SkipReason.DRAFT,
    InvoiceStatus.DELETED: SkipReason.DELETED,
}

# When several pauses cover an invoice, the reason given is the first kind in this order (the
# order of the contract's list).
_PAUSE_REASONS = {
    PauseKind.DISPUTE: SkipReason.PAUSED_DISPUTE,
    PauseKind.PROMISE: SkipReason.PAUSED_PROMISE,
    PauseKind.PLAN: SkipReason.PAUSED_PLAN,
    PauseKind.HOLD: SkipReason.PAUSED_HOLD,
}
_PAUSE_ORDER = {kind: rank for rank, kind in enumerate(_PAUSE_REASONS)}

# Reasons that leave an invoice in the open, unpaused balance that credit is weighed against.
_STILL_OWED = frozenset({None, SkipReason.NO_STEP_REACHED, SkipReason.NEXT_STEP_NOT_REACHED})


@dataclass(frozen=True, slots=True)
class Organisation:
    """The settings of the organisation a run is for.

    Attributes:
        country: ISO 3166-1 alpha-2 code (``"DE"``): the holiday calendar and the statutory regime;
            empty for neither.
        subdivision: a state or region for its holidays (``"BY"`` or ``"DE-BY"``), or None.
        timezone: IANA zone the run's dates are in (``"Europe/Berlin"``); the engine is given dates
            already in it and only carries it.
        business_days_only: True to send nothing on weekends and public holidays (rule 8).
        reference_rate_percent: a fixed base rate for statutory interest, else the built-in table.
    """

    country: str = ""
    subdivision: str | None = None
    timezone: str = "UTC"
    business_days_only: bool = False
    reference_rate_percent: Decimal | None = None

    def __post_init__(self) -> None:
        if self.business_days_only and not self.country:
            raise ValueError("business_days_only needs a country for its holidays")


@dataclass(frozen=True, slots=True)
class InvoiceHistory:
    """What the history says about one invoice.

    Attributes:
        position: index in the policy of the latest step already sent for it; -1 for none.
        last_touch_date: the day of its latest touch.
        last_level: the level of its latest touch (the highest, when one day has several).
    """

    position: int
    last_touch_date: date
    last_level: int


@dataclass(frozen=True, slots=True)
class History:
    """The history of touches, indexed once per invoice and per customer.

    Attributes:
        invoices: per invoice id, what its touches say.
        customers: per customer id, the day of the latest touch in any currency.
    """

    invoices: dict[str, InvoiceHistory]
    customers: dict[str, date]

    @classmethod
    def of(cls, touches: Iterable[PastTouch], policy: Policy) -> History:
        """Index ``touches`` (sent and in doubt alike) against the policy's step order.

        A step id the policy does not know (the policy changed) moves no position; its level counts.
        """
        index = {step.id: i for i, step in enumerate(policy.steps)}
        invoices: dict[str, InvoiceHistory] = {}
        customers: dict[str, date] = {}
        for touch in touches:
            day = touch.touch_date
            latest = customers.get(touch.customer_id)
            if latest is None or day > latest:
                customers[touch.customer_id] = day
            for item in touch.invoices:
                position = index.get(item.step_id, -1)
                known = invoices.get(item.invoice_id)
                if known is None:
                    invoices[item.invoice_id] = InvoiceHistory(position, day, item.level)
                    continue
                later = (day, item.level) > (known.last_touch_date, known.last_level)
                invoices[item.invoice_id] = InvoiceHistory(
                    max(position, known.position),
                    day if later else known.last_touch_date,
                    item.level if later else known.last_level,
                )
        return cls(invoices, customers)


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What rules 2 and 3 found for one invoice.

    Attributes:
        invoice: the invoice.
        reason: why it is skipped by rules 2–3; None when it has a candidate step.
        days_overdue: today − due date (negative before it).
        pause: the pause in force that stops it, when that is the reason.
        broken_promise: a promise whose date and grace have passed with no touch of it since.
        reached: the last step reached (offset ≤ days overdue), whether sent or not.
        done: the latest policy step its history holds.
        last_level: the level of its last touch; None for no touch yet.
        last_touch_date: the day of its last touch.
        allowed_level: the highest level its next touch may have.
        candidate: the step it is chased at today.
        next_step: the first step after ``done`` not reached yet (when the chase resumes).
    """

    invoice: Invoice
    reason: SkipReason | None
    days_overdue: int = 0
    pause: Pause | None = None
    broken_promise: Pause | None = None
    reached: Step | None = None
    done: Step | None = None
    last_level: int | None = None
    last_touch_date: date | None = None
    allowed_level: int | None = None
    candidate: Step | None = None
    next_step: Step | None = None


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What rules 4–9 found for one customer's candidates in one currency.

    Attributes:
        customer: the customer.
        currency: the currency.
        candidates: the invoices with a candidate step, by due date then id.
        lead: the highest candidate step (its level, action and template are the touch's).
        amount_due: the sum of the candidates' balances.
        open_balance: every open, unpaused balance of the customer in this currency.
        credit: the customer's unapplied credit in this currency.
        last_touch_date: the customer's latest touch in any currency.
        broken_promise: True when a candidate chases a broken promise (spacing ignored once).
        business_day: False when the calendar stops the run today.
        reason: why the group is skipped; None when it becomes a touch.
    """

    customer: Customer
    currency: str
    candidates: tuple[InvoiceFacts, ...]
    lead: Step
    amount_due: Money
    open_balance: Money
    credit: Money
    last_touch_date: date | None
    broken_promise: bool
    business_day: bool
    reason: SkipReason | None

    @property
    def key(self) -> tuple[str, str]:
        """(customer id, currency)."""
        return (self.customer.id, self.currency)


@dataclass(frozen=True, slots=True)
class Decisions:
    """All facts of one run.

    Attributes:
        invoices: per invoice id, in ledger order.
        groups: per (customer id, currency), the groups of candidates.
    """

    invoices: dict[str, InvoiceFacts]
    groups: dict[tuple[str, str], GroupFacts] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Steps:
    """The policy's steps with their offsets, for a binary search of the reached ones."""

    steps: tuple[Step, ...]
    offsets: tuple[int, ...]
    first_touch_max_level: int
    promise_grace: timedelta


def assess_invoices(ledger: Ledger, policy: Policy, history: History, today: date) -> dict[str, InvoiceFacts]:
    """Rules 2 and 3 for every invoice of the ledger.

    Raises:
        ValueError: an invoice id appears twice or an invoice's customer is not in the ledger.
    """
    customers = {customer.id: customer for customer in ledger.customers}
    by_invoice: dict[str, list[Pause]] = {}
    by_customer: dict[str, list[Pause]] = {}
    for pause in ledger.pauses:
        target = by_customer if pause.invoice_id is None else by_invoice
        target.setdefault(pause.invoice_id or pause.customer_id, []).append(pause)
    steps = _Steps(
        policy.steps,
        tuple(s.offset_days for s in policy.steps),
        policy.first_touch_max_level,
        timedelta(days=policy.promise_grace_days),
    )
    facts: dict[str, InvoiceFacts] = {}
    for invoice in ledger.invoices:
        customer = customers.get(invoice.customer_id)
        if customer is None:
            raise ValueError(f"invoice {invoice.id}: unknown customer {invoice.customer_id!r}")
        if invoice.id in facts:
            raise ValueError(f"invoice {invoice.id} appears twice in the ledger")
        pauses = by_invoice.get(invoice.id, []) + by_customer.get(invoice.customer_id, [])
        facts[invoice.id] = _assess(invoice, customer, pauses, history.invoices.get(invoice.id), steps, today)
    return facts


def _assess(
    invoice: Invoice,
    customer: Customer,
    pauses: list[Pause],
    past: InvoiceHistory | None,
    steps: _Steps,
    today: date,
) -> InvoiceFacts:
    status_reason = _STATUS_REASONS.get(invoice.status)
    if status_reason is not None:
        return InvoiceFacts(invoice, status_reason)
    if invoice.balance.amount <= 0:
        return InvoiceFacts(invoice, SkipReason.ZERO_BALANCE)
    if customer.excluded:
        return InvoiceFacts(invoice, SkipReason.CUSTOMER_EXCLUDED)
    pause = _pause_in_force(pauses, today, steps.promise_grace) if pauses else None
    if pause is not None:
        return InvoiceFacts(invoice, _PAUSE_REASONS[pause.kind], pause=pause)
    return _step(invoice, past, steps, today, _broken_promise(pauses, past, today, steps.promise_grace))


def _step(
    invoice: Invoice, past: InvoiceHistory | None, steps: _Steps, today: date, broken: Pause | None
) -> InvoiceFacts:
    days = (today - invoice.due_date).days
    reached = bisect_right(steps.offsets, days)  # steps[:reached] are reached
    position = -1 if past is None else past.position
    allowed = steps.first_touch_max_level if past is None else past.last_level + 1
    upcoming = max(reached, position + 1)
    candidate = next((s for s in reversed(steps.steps[position + 1 : reached]) if s.level <= allowed), None)
    if candidate is not None:
        reason = None
    elif reached == 0:
        reason = SkipReason.NO_STEP_REACHED
    else:
        reason = SkipReason.NEXT_STEP_NOT_REACHED
    return InvoiceFacts(
        invoice,
        reason,
        days_overdue=days,
        broken_promise=broken if candidate is not None else None,
        reached=steps.steps[reached - 1] if reached else None,
        done=steps.steps[position] if position >= 0 else None,
        last_level=None if past is None else past.last_level,
        last_touch_date=None if past is None else past.last_touch_date,
        allowed_level=allowed,
        candidate=candidate,
        next_step=steps.steps[upcoming] if upcoming < len(steps.steps) else None,
    )


def _covers(pause: Pause, today: date, grace: timedelta) -> bool:
    if pause.until_date is None:
        return True
    end = pause.until_date + grace if pause.kind is PauseKind.PROMISE else pause.until_date
    return end >= today


def _pause_in_force(pauses: list[Pause], today: date, grace: timedelta) -> Pause | None:
    """The pause that stops chasing today: the first kind in contract order, then the longest."""
    covering = [p for p in pauses if _covers(p, today, grace)]
    if not covering:
        return None
    return min(covering, key=lambda p: (_PAUSE_ORDER[p.kind], -(p.until_date or date.max).toordinal()))


def _broken_promise(pauses: list[Pause], past: InvoiceHistory | None, today: date, grace: timedelta) -> Pause | None:
    """A promise whose date and grace have passed, with no touch of the invoice since (rule 5)."""
    broken = [
        pause
        for pause in pauses
        if pause.kind is PauseKind.PROMISE
        and pause.until_date is not None
        and pause.until_date + grace < today
        and (past is None or past.last_touch_date <= pause.until_date + grace)
    ]
    return max(broken, key=lambda p: p.until_date or date.min) if broken else None


def group_candidates(
    ledger: Ledger,
    policy: Policy,
    invoices: dict[str, InvoiceFacts],
    history: History,
    business_day: bool,
    today: date,
) -> list[GroupFacts]:
    """Rules 4–9: one group per customer and currency of the candidates, each with its verdict."""
    customers = {customer.id: customer for customer in ledger.customers}
    owed: dict[tuple[str, str], Decimal] = {}
    candidates: dict[tuple[str, str], list[InvoiceFacts]] = {}
    for facts in invoices.values():
        if facts.reason in _STILL_OWED:
            key = (facts.invoice.customer_id, facts.invoice.currency)
            owed[key] = owed.get(key, Decimal(0)) + facts.invoice.balance.amount
            if facts.reason is None:
                candidates.setdefault(key, []).append(facts)
    credits: dict[tuple[str, str], Decimal] = {}
    for credit in ledger.credits:
        key = (credit.customer_id, credit.amount.currency)
        credits[key] = credits.get(key, Decimal(0)) + credit.amount.amount
    order = {step.id: i for i, step in enumerate(policy.steps)}
    groups = []
    for (customer_id, currency), members in candidates.items():
        members.sort(key=lambda f: (f.invoice.due_date, f.invoice.id))
        lead = max((f.candidate for f in members if f.candidate), key=lambda s: (s.level, order[s.id]))
        group = GroupFacts(
            customer=customers[customer_id],
            currency=currency,
            candidates=tuple(members),
            lead=lead,
            amount_due=Money(sum((f.invoice.balance.amount for f in members), Decimal(0)), currency),
            open_balance=Money(owed[(customer_id, currency)], currency),
            credit=Money(credits.get((customer_id, currency), Decimal(0)), currency),
            last_touch_date=history.customers.get(customer_id),
            broken_promise=any(f.broken_promise for f in members),
            business_day=business_day,
            reason=None,
        )
        groups.append(_judge(group, policy, today))
    return groups


def _judge(group: GroupFacts, policy: Policy, today: date) -> GroupFacts:
    """Rules 5–9 in contract order: the first one that stops the group gives the reason."""
    last = group.last_touch_date
    if last is not None and (today - last).days < policy.min_days_between_touches and not group.broken_promise:
        return replace(group, reason=SkipReason.TOO_SOON)
    if group.credit.amount > 0 and group.credit.amount >= group.open_balance.amount:
        return replace(group, reason=SkipReason.COVERED_BY_CREDIT)
    if group.amount_due.amount < policy.min_balance:
        return replace(group, reason=SkipReason.BELOW_MIN_BALANCE)
    if not group.business_day:
        return replace(group, reason=SkipReason.NOT_A_BUSINESS_DAY)
    if group.lead.action is Action.EMAIL and not group.customer.emails:
        return replace(group, reason=SkipReason.NO_EMAIL_ADDRESS)
    return group
