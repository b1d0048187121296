"""Record builders with overrides, and the fixed day the engine tests run on.

Every builder makes a valid record from defaults; a test overrides only what its row is about.
Days are given relative to :data:`TODAY` where that reads better (``due=-20`` is "due 20 days
from today", i.e. 20 days *ahead*; ``overdue=20`` is "due 20 days ago").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.engine import Organisation, Plan, decide, plan
from core.model import (
    Credit,
    CreditKind,
    Customer,
    Invoice,
    InvoiceStatus,
    Ledger,
    PastTouch,
    Pause,
    PauseKind,
    TouchedInvoice,
    TouchStatus,
    money,
)
from core.policy import Action, Policy, Step

TODAY = date(2026, 3, 10)
"""A Tuesday, and no public holiday in Germany or the UK."""


def days(n: int) -> date:
    """The day ``n`` days after :data:`TODAY` (negative: before it)."""
    return TODAY + timedelta(days=n)


def customer(id: str = "C1", **overrides: Any) -> Customer:
    """A customer with one email address, English."""
    values: dict[str, Any] = {"name": f"Customer {id}", "emails": (f"ap@{id.lower()}.example",), "language": "en"}
    values.update(overrides)
    return Customer(id=id, **values)


def invoice(
    id: str = "I1",
    customer: str = "C1",
    *,
    overdue: int = 20,
    balance: str = "100.00",
    currency: str = "EUR",
    status: InvoiceStatus = InvoiceStatus.OPEN,
    **overrides: Any,
) -> Invoice:
    """An invoice due ``overdue`` days before :data:`TODAY`, issued 30 days before that."""
    due = TODAY - timedelta(days=overdue)
    total = overrides.pop("total", balance if Decimal(balance) > 0 else "100.00")
    return Invoice(
        id=id,
        customer_id=customer,
        number=overrides.pop("number", id),
        issue_date=overrides.pop("issue_date", due - timedelta(days=30)),
        due_date=overrides.pop("due_date", due),
        total=money(total, currency),
        balance=money(balance, currency),
        status=status,
        **overrides,
    )


def credit(id: str = "CN1", customer: str = "C1", amount: str = "50.00", currency: str = "EUR") -> Credit:
    """An unapplied credit note."""
    return Credit(id=id, customer_id=customer, amount=money(amount, currency), kind=CreditKind.CREDIT_NOTE)


def pause(
    kind: PauseKind = PauseKind.DISPUTE, customer: str = "C1", invoice: str | None = "I1", until: int | None = None
) -> Pause:
    """A pause; ``until`` is days after :data:`TODAY` (None: until lifted)."""
    return Pause(kind=kind, customer_id=customer, invoice_id=invoice, until_date=None if until is None else days(until))


def touch(
    ago: int,
    *items: tuple[str, str, int],
    customer: str = "C1",
    status: TouchStatus = TouchStatus.SENT,
    on: date | None = None,
) -> PastTouch:
    """A past touch ``ago`` days before :data:`TODAY` (or ``on`` a day) covering ``(invoice, step, level)`` items."""
    return PastTouch(
        touch_date=on or TODAY - timedelta(days=ago),
        customer_id=customer,
        status=status,
        invoices=tuple(TouchedInvoice(i, s, lvl) for i, s, lvl in items),
    )


def step(id: str, offset: int, level: int, action: Action = Action.EMAIL, template: str | None = None) -> Step:
    """A step; the template defaults to the id."""
    return Step(id=id, offset_days=offset, level=level, action=action, template=template or id)


STEPS = (
    step("s0", -3, 0, template="courtesy"),
    step("s1", 1, 1, template="friendly"),
    step("s2", 14, 2, template="firm"),
    step("s3", 30, 3, template="final"),
    step("s4", 60, 4, Action.AGENCY, template="agency_handoff"),
)
"""The contract's example cadence."""


def policy(**overrides: Any) -> Policy:
    """The contract's example policy: 7 days spacing, 10.00 minimum, first touch up to level 1."""
    base = Policy(
        min_days_between_touches=7,
        min_balance=Decimal("10.00"),
        first_touch_max_level=1,
        promise_grace_days=2,
        statutory_claims=False,
        steps=STEPS,
    )
    if "min_balance" in overrides:
        overrides["min_balance"] = Decimal(overrides["min_balance"])
    return replace(base, **overrides)


def ledger(
    *invoices: Invoice,
    customers: tuple[Customer, ...] | None = None,
    credits: tuple[Credit, ...] = (),
    pauses: tuple[Pause, ...] = (),
) -> Ledger:
    """A ledger of ``invoices``; customers default to one plain customer per id referenced."""
    if customers is None:
        ids = sorted({i.customer_id for i in invoices} | {c.customer_id for c in credits})
        customers = tuple(customer(i) for i in ids)
    return Ledger(customers=customers, invoices=tuple(invoices), credits=credits, pauses=pauses)


def run(
    *invoices: Invoice,
    history: tuple[PastTouch, ...] = (),
    today: date = TODAY,
    organisation: Organisation | None = None,
    policy_: Policy | None = None,
    **ledger_args: Any,
) -> Plan:
    """Plan one day for a ledger of ``invoices``."""
    return plan(ledger(*invoices, **ledger_args), policy_ or policy(), history, today, organisation)


def outcomes(result: Plan) -> dict[str, str]:
    """Per invoice id: the step it is touched at, or its skip reason."""
    found = {item.invoice_id: item.step_id for t in result.touches for item in t.invoices}
    found.update({s.invoice_id: str(s.reason) for s in result.skipped})
    return found


def outcome(result: Plan, invoice_id: str = "I1") -> str:
    """The step ``invoice_id`` is touched at, or its skip reason."""
    return outcomes(result)[invoice_id]


__all__ = [
    "STEPS",
    "TODAY",
    "credit",
    "customer",
    "days",
    "decide",
    "invoice",
    "ledger",
    "outcome",
    "outcomes",
    "pause",
    "policy",
    "run",
    "step",
    "touch",
]
