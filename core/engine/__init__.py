"""The collections engine: who gets which message today (scenario contract, rules 1–12).

:func:`plan` is the one function the daily run, the admin preview, ``arcadence simulate`` and
``explain`` call. It is pure: it is given the ledger, the policy, the history of touches, the
day and the organisation's settings, and returns data. :func:`decide` returns the same decision
together with the facts each rule looked at (:mod:`core.engine.facts`), which :mod:`core.explain`
turns into words.

How the rules are applied, in this order:

1. Per invoice (rules 2–3, :mod:`core.engine.facts`): status, balance, exclusion, pauses, then the
   step. An invoice that passes has a *candidate* step.
2. Per customer and currency (rule 4): the candidates form one group; the group is skipped, with
   one reason for all of its invoices, by the first of spacing (5), credit (6), threshold (7),
   calendar (8) and reachability (9) that stops it — the order of the contract's rules. Otherwise
   it becomes a :class:`Touch` (rule 10: any action), with the statutory claim for level 3 and
   above when the policy asks for it (11).
3. The plan is sorted (12).

Choices where the contract is silent:

- "After every step already in its history": after the latest step, in policy order, that any
  past touch of the invoice names. A step id the policy no longer has moves nothing, but the
  level recorded with it still counts as the level of the last touch.
- "Level of its last touch": the level recorded with the invoice in its latest past touch; when
  one day holds several, the highest. In-doubt touches count as sent everywhere.
- Several pauses on one invoice: the reason is the first of dispute, promise, plan, hold.
- Spacing counts calendar days since the customer's latest touch in any currency; touches
  planned for the same day in other currencies do not count against each other.
- Broken promise: a promise pause whose ``until + promise_grace_days`` is before today, with no
  past touch *of that invoice* dated after that day. It marks the whole touch of that customer
  and currency, and is spent as soon as a touch covers the invoice.
- Credit is weighed against every open, unpaused, positive balance of the customer in that
  currency (invoices not yet due included); the touch's ``unapplied_credit`` is the whole credit.
- When several group rules stop a touch, the reason is the first in contract order: spacing,
  credit, threshold, calendar, reachability. The lead step is the candidate of the highest level
  (the later step on a tie).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.calendar import is_business_day
from core.engine.facts import (
    Decisions,
    GroupFacts,
    History,
    InvoiceFacts,
    Organisation,
    assess_invoices,
    group_candidates,
)
from core.interest import Claim, statutory_claim
from core.model import Ledger, Money, PastTouch, TouchedInvoice
from core.policy import Action, Policy, validate
from core.reasons import SkipReason

__all__ = ["Decision", "Flag", "Organisation", "Plan", "Skipped", "Touch", "decide", "plan"]


class Flag(StrEnum):
    """The flags a touch can carry."""

    BROKEN_PROMISE = "broken_promise"
    """The touch chases a broken promise (it ignored the spacing once)."""


@dataclass(frozen=True, slots=True)
class Touch:
    """One planned contact with a customer in one currency.

    Attributes:
        customer_id: the customer.
        currency: the currency of every invoice in it.
        step_id: the step of its highest candidate.
        level: that step's level.
        action: that step's action; only ``email`` goes out by itself, the rest become tasks.
        template: that step's template.
        language: the customer's language.
        amount_due: the sum of its invoices' open balances.
        invoices: each invoice with its own step, sorted by due date then id (what history records).
        flags: sorted flags (``broken_promise``).
        unapplied_credit: the customer's unapplied credit in this currency, when some but not enough.
        claim: the statutory late-payment claim, when the policy states it and the level is ≥ 3.
    """

    customer_id: str
    currency: str
    step_id: str
    level: int
    action: Action
    template: str
    language: str
    amount_due: Money
    invoices: tuple[TouchedInvoice, ...]
    flags: tuple[str, ...] = ()
    unapplied_credit: Money | None = None
    claim: Claim | None = None

    @property
    def automatic(self) -> bool:
        """True for an email; every other action is a task a person carries out (rule 10)."""
        return self.action is Action.EMAIL


@dataclass(frozen=True, slots=True)
class Skipped:
    """An invoice that is not chased today, and why.

    Attributes:
        invoice_id: the invoice.
        customer_id: its customer.
        reason: the one reason.
    """

    invoice_id: str
    customer_id: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class Plan:
    """The engine's decision for one day.

    Attributes:
        touches: sorted by customer id, then currency.
        skipped: sorted by invoice id; with the touches' invoices, every input invoice exactly once.
    """

    touches: tuple[Touch, ...]
    skipped: tuple[Skipped, ...]


def plan(
    ledger: Ledger,
    policy: Policy,
    history: Sequence[PastTouch],
    today: date,
    organisation: Organisation | None = None,
) -> Plan:
    """Decide who gets which message on ``today``.

    Args:
        ledger: the organisation's customers, invoices (any status), credits and pauses.
        policy: a valid cadence.
        history: the touches already made (sent or in doubt), in any order.
        today: the day of the run, in the organisation's time zone.
        organisation: country, subdivision and calendar settings; None is a calendar-less default.

    Returns:
        The touches and the skipped invoices, sorted (rule 12).

    Raises:
        ValueError: the policy is invalid, or the ledger refers to an unknown customer or repeats an id.
        core.interest.RateUnavailable: a claim needs a reference rate the tables do not hold.
    """
    return decide(ledger, policy, history, today, organisation).plan


@dataclass(frozen=True, slots=True)
class Decision:
    """A plan with the facts behind it.

    Attributes:
        plan: what :func:`plan` returns.
        facts: the per-invoice and per-group facts every rule looked at.
    """

    plan: Plan
    facts: Decisions


def decide(
    ledger: Ledger,
    policy: Policy,
    history: Sequence[PastTouch],
    today: date,
    organisation: Organisation | None = None,
) -> Decision:
    """:func:`plan`, keeping the facts (for :mod:`core.explain`). Same arguments and errors."""
    errors = validate(policy)
    if errors:
        raise ValueError(f"invalid policy: {errors[0]}")
    org = organisation or Organisation()
    past = History.of(history, policy)
    invoices = assess_invoices(ledger, policy, past, today)
    business_day = not org.business_days_only or is_business_day(today, org.country, org.subdivision)
    groups = group_candidates(ledger, policy, invoices, past, business_day, today)
    touches: list[Touch] = []
    skipped = [Skipped(f.invoice.id, f.invoice.customer_id, f.reason) for f in invoices.values() if f.reason]
    for group in groups:
        if group.reason is None:
            touches.append(_touch(group, policy, today, org))
        else:
            skipped += (Skipped(f.invoice.id, f.invoice.customer_id, group.reason) for f in group.candidates)
    touches.sort(key=lambda t: (t.customer_id, t.currency))
    skipped.sort(key=lambda s: s.invoice_id)
    return Decision(Plan(tuple(touches), tuple(skipped)), Decisions(invoices, {g.key: g for g in groups}))


def _touch(group: GroupFacts, policy: Policy, today: date, org: Organisation) -> Touch:
    lead = group.lead
    claim = None
    if policy.statutory_claims and lead.level >= 3:
        items = [(f.invoice.balance, f.invoice.due_date) for f in group.candidates]
        claim = statutory_claim(org.country, items, today, org.reference_rate_percent)
    return Touch(
        customer_id=group.customer.id,
        currency=group.currency,
        step_id=lead.id,
        level=lead.level,
        action=lead.action,
        template=lead.template,
        language=group.customer.language,
        amount_due=group.amount_due,
        invoices=tuple(_touched(f) for f in group.candidates),
        flags=(Flag.BROKEN_PROMISE,) if group.broken_promise else (),
        unapplied_credit=group.credit if group.credit.amount > Decimal(0) else None,
        claim=claim,
    )


def _touched(facts: InvoiceFacts) -> TouchedInvoice:
    step = facts.candidate
    if step is None:  # group_candidates only groups invoices with a candidate
        raise AssertionError(f"invoice {facts.invoice.id} has no candidate step")
    return TouchedInvoice(facts.invoice.id, step.id, step.level)
