"""Properties of the engine over random ledgers, policies and histories (hypothesis)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.engine import Flag, Organisation, Plan, plan
from core.model import InvoiceStatus, Ledger, PastTouch, PauseKind, TouchedInvoice, TouchStatus
from core.policy import DEFAULT_POLICIES, Action, Policy, Step, validate
from core.scenario import dumps, plan_json
from core.simulate import simulate
from tests.builders import TODAY, credit, customer, invoice, pause, policy

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """The shipped cadences, the contract's example, or a random valid one."""
    fixed = [policy(), *DEFAULT_POLICIES.values()]
    if draw(st.booleans()):
        return draw(st.sampled_from(fixed))
    count = draw(st.integers(1, 6))
    offset = draw(st.integers(-10, 5))
    level = draw(st.integers(0, 1))
    steps = []
    for n in range(count):
        action = Action.EMAIL if n == 0 else draw(st.sampled_from(list(Action)))
        steps.append(Step(f"p{n}", offset, level, action, f"t{n}"))
        offset += draw(st.integers(1, 30))
        level = min(6, level + draw(st.integers(0, 1)))
    first_after_due = next((s.level for s in steps if s.offset_days > 0), 0)
    result = Policy(
        min_days_between_touches=draw(st.integers(0, 14)),
        min_balance=Decimal(draw(st.sampled_from(["0", "10.00", "50.00"]))),
        first_touch_max_level=max(first_after_due, draw(st.integers(0, 3))),
        promise_grace_days=draw(st.integers(0, 5)),
        statutory_claims=False,
        steps=tuple(steps),
    )
    assert validate(result) == []
    return result


@st.composite
def worlds(draw: st.DrawFn) -> tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation]:
    """A random ledger with its policy, history and organisation."""
    cadence = draw(policies())
    customer_ids = [f"C{n}" for n in range(draw(st.integers(1, 4)))]
    customers = tuple(
        customer(
            c, emails=() if draw(st.integers(0, 5)) == 0 else (f"{c}@x.example",), excluded=draw(st.integers(0, 9)) == 0
        )
        for c in customer_ids
    )
    invoices = tuple(
        invoice(
            f"I{n:02d}",
            draw(st.sampled_from(customer_ids)),
            overdue=draw(st.integers(-40, 150)),
            balance=draw(st.sampled_from(["0.00", "5.00", "100.00", "2500.00", "-10.00"])),
            currency=draw(st.sampled_from(["EUR", "USD"])),
            status=draw(st.sampled_from([InvoiceStatus.OPEN] * 4 + list(InvoiceStatus))),
        )
        for n in range(draw(st.integers(0, 10)))
    )
    credits = tuple(
        credit(f"CN{n}", draw(st.sampled_from(customer_ids)), draw(st.sampled_from(["20.00", "500.00"])))
        for n in range(draw(st.integers(0, 2)))
    )
    pauses = (
        tuple(
            pause(
                draw(st.sampled_from(list(PauseKind))),
                inv.customer_id,
                inv.id if draw(st.booleans()) else None,
                draw(st.one_of(st.none(), st.integers(-15, 15))),
            )
            for inv in draw(st.lists(st.sampled_from(invoices), max_size=3))
            if invoices
        )
        if invoices
        else ()
    )
    history = []
    for inv in draw(st.lists(st.sampled_from(invoices), max_size=8)) if invoices else []:
        step = draw(st.sampled_from(cadence.steps))
        day = TODAY - timedelta(days=draw(st.integers(0, 60)))
        status = draw(st.sampled_from(list(TouchStatus)))
        history.append(PastTouch(day, inv.customer_id, status, (TouchedInvoice(inv.id, step.id, step.level),)))
    org = draw(st.sampled_from([Organisation(), Organisation("DE", "BY", business_days_only=True)]))
    return Ledger(customers, invoices, credits, pauses), cadence, tuple(history), org


def _last_levels(history: tuple[PastTouch, ...]) -> dict[str, int]:
    latest: dict[str, tuple[object, int]] = {}
    for past in history:
        for item in past.invoices:
            key = (past.touch_date, item.level)
            if item.invoice_id not in latest or key > latest[item.invoice_id]:  # type: ignore[operator]
                latest[item.invoice_id] = key
    return {invoice_id: level for invoice_id, (_, level) in latest.items()}


def _touched(result: Plan) -> list[tuple[str, TouchedInvoice]]:
    return [(t.customer_id, item) for t in result.touches for item in t.invoices]


@FAST
@given(worlds())
def test_every_invoice_appears_exactly_once(world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation]) -> None:
    ledger, cadence, history, org = world
    result = plan(ledger, cadence, history, TODAY, org)
    seen = [item.invoice_id for _, item in _touched(result)] + [s.invoice_id for s in result.skipped]
    assert sorted(seen) == sorted(i.id for i in ledger.invoices)


@FAST
@given(worlds())
def test_never_touches_what_is_not_owed_or_paused(
    world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation],
) -> None:
    ledger, cadence, history, org = world
    result = plan(ledger, cadence, history, TODAY, org)
    invoices = {i.id: i for i in ledger.invoices}
    stopped = {
        i.id
        for i in ledger.invoices
        for p in ledger.pauses
        if p.kind in (PauseKind.DISPUTE, PauseKind.HOLD)
        and (p.invoice_id == i.id or (p.invoice_id is None and p.customer_id == i.customer_id))
        and (p.until_date is None or p.until_date >= TODAY)
    }
    for _, item in _touched(result):
        assert invoices[item.invoice_id].status is InvoiceStatus.OPEN
        assert invoices[item.invoice_id].balance.amount > 0
        assert item.invoice_id not in stopped


@FAST
@given(worlds())
def test_one_touch_per_customer_and_currency_within_the_spacing_rules(
    world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation],
) -> None:
    ledger, cadence, history, org = world
    result = plan(ledger, cadence, history, TODAY, org)
    keys = [(t.customer_id, t.currency) for t in result.touches]
    assert len(keys) == len(set(keys))
    for made in result.touches:
        recent = [p for p in history if p.customer_id == made.customer_id]
        last = max((p.touch_date for p in recent), default=None)
        if last is not None and (TODAY - last).days < cadence.min_days_between_touches:
            assert Flag.BROKEN_PROMISE in made.flags


@FAST
@given(worlds())
def test_levels_start_low_and_climb_one_at_a_time(
    world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation],
) -> None:
    ledger, cadence, history, org = world
    result = plan(ledger, cadence, history, TODAY, org)
    last = _last_levels(history)
    for _, item in _touched(result):
        if item.invoice_id in last:
            assert item.level <= last[item.invoice_id] + 1
        else:
            assert item.level <= cadence.first_touch_max_level


@FAST
@given(worlds(), st.randoms(use_true_random=False))
def test_same_input_same_bytes(
    world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation], rng: random.Random
) -> None:
    ledger, cadence, history, org = world
    first = dumps(plan_json(plan(ledger, cadence, history, TODAY, org), TODAY))
    shuffled = [list(ledger.invoices), list(ledger.customers), list(ledger.credits), list(ledger.pauses), list(history)]
    for part in shuffled:
        rng.shuffle(part)
    again = Ledger(tuple(shuffled[1]), tuple(shuffled[0]), tuple(shuffled[2]), tuple(shuffled[3]))
    assert dumps(plan_json(plan(again, cadence, tuple(shuffled[4]), TODAY, org), TODAY)) == first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_simulating_120_days_never_sends_a_step_twice(
    world: tuple[Ledger, Policy, tuple[PastTouch, ...], Organisation],
) -> None:
    ledger, cadence, history, org = world
    sent = {(item.invoice_id, item.step_id) for past in history for item in past.invoices}
    for day in simulate(ledger, cadence, history, TODAY, 120, org):
        for _, item in _touched(day.plan):
            assert (item.invoice_id, item.step_id) not in sent
            sent.add((item.invoice_id, item.step_id))
