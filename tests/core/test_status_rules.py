"""Rules 1 and 2: every invoice exactly once; never chase what is not owed."""

from __future__ import annotations

import pytest

from core.model import InvoiceStatus, PauseKind
from tests.builders import credit, customer, invoice, outcome, outcomes, pause, run, touch


@pytest.mark.parametrize(
    ("status", "balance", "expected"),
    [
        pytest.param(InvoiceStatus.PAID, "0.00", "paid", id="paid"),
        pytest.param(InvoiceStatus.PAID, "100.00", "paid", id="paid-with-stale-balance"),
        pytest.param(InvoiceStatus.VOIDED, "100.00", "voided", id="voided"),
        pytest.param(InvoiceStatus.DRAFT, "100.00", "draft", id="draft"),
        pytest.param(InvoiceStatus.DELETED, "100.00", "deleted", id="deleted"),
        pytest.param(InvoiceStatus.OPEN, "0.00", "zero_balance", id="open-zero"),
        pytest.param(InvoiceStatus.OPEN, "-5.00", "zero_balance", id="open-negative"),
        pytest.param(InvoiceStatus.OPEN, "0.01", "below_min_balance", id="open-one-cent-is-owed"),
        pytest.param(InvoiceStatus.OPEN, "100.00", "s1", id="open-owed"),
    ],
)
def test_never_chases_what_is_not_owed(status: InvoiceStatus, balance: str, expected: str) -> None:
    assert outcome(run(invoice(status=status, balance=balance))) == expected


def test_never_chases_excluded_customer() -> None:
    result = run(invoice(), customers=(customer("C1", excluded=True),))
    assert outcome(result) == "customer_excluded"


@pytest.mark.parametrize(
    ("kind", "on_invoice", "until", "expected"),
    [
        pytest.param(PauseKind.DISPUTE, True, None, "paused_dispute", id="dispute-until-lifted"),
        pytest.param(PauseKind.DISPUTE, False, None, "paused_dispute", id="dispute-whole-customer"),
        pytest.param(PauseKind.DISPUTE, True, 0, "paused_dispute", id="dispute-ends-today"),
        pytest.param(PauseKind.DISPUTE, True, -1, "s1", id="dispute-ended-yesterday"),
        pytest.param(PauseKind.HOLD, True, 5, "paused_hold", id="hold"),
        pytest.param(PauseKind.HOLD, False, -1, "s1", id="hold-over"),
        pytest.param(PauseKind.PLAN, False, 30, "paused_plan", id="plan"),
        pytest.param(PauseKind.PROMISE, True, 3, "paused_promise", id="promise-ahead"),
        pytest.param(PauseKind.PROMISE, True, -2, "paused_promise", id="promise-in-grace-last-day"),
        pytest.param(PauseKind.PROMISE, True, -3, "s1", id="promise-past-grace"),
        pytest.param(PauseKind.PROMISE, True, None, "paused_promise", id="promise-open-ended"),
    ],
)
def test_pauses_stop_chasing_while_they_cover_today(
    kind: PauseKind, on_invoice: bool, until: int | None, expected: str
) -> None:
    result = run(invoice(), pauses=(pause(kind, invoice="I1" if on_invoice else None, until=until),))
    assert outcome(result) == expected


def test_invoice_pause_leaves_other_invoices_of_the_customer_chased() -> None:
    result = run(invoice("I1"), invoice("I2"), pauses=(pause(PauseKind.DISPUTE, invoice="I1"),))
    assert outcomes(result) == {"I1": "paused_dispute", "I2": "s1"}


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        pytest.param((PauseKind.HOLD, PauseKind.DISPUTE), "paused_dispute", id="dispute-before-hold"),
        pytest.param((PauseKind.PLAN, PauseKind.PROMISE), "paused_promise", id="promise-before-plan"),
        pytest.param((PauseKind.HOLD, PauseKind.PLAN), "paused_plan", id="plan-before-hold"),
    ],
)
def test_one_reason_when_several_pauses_cover_an_invoice(kinds: tuple[PauseKind, ...], expected: str) -> None:
    result = run(invoice(), pauses=tuple(pause(k) for k in kinds))
    assert outcome(result) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(InvoiceStatus.PAID, "paid", id="status-before-exclusion"),
        pytest.param(InvoiceStatus.OPEN, "customer_excluded", id="exclusion-before-pause"),
    ],
)
def test_status_and_exclusion_come_before_pauses(status: InvoiceStatus, expected: str) -> None:
    result = run(invoice(status=status), customers=(customer("C1", excluded=True),), pauses=(pause(),))
    assert outcome(result) == expected


def test_every_invoice_appears_exactly_once() -> None:
    invoices = [
        invoice("I1", overdue=40),
        invoice("I2", overdue=2),
        invoice("I3", status=InvoiceStatus.PAID),
        invoice("I4", customer="C2", overdue=-10),
        invoice("I5", customer="C2", overdue=20, currency="USD"),
        invoice("I6", customer="C3", balance="5.00"),
        invoice("I7", customer="C4"),
    ]
    result = run(
        *invoices,
        history=(touch(2, ("I7", "s1", 1), customer="C4"),),
        credits=(credit(customer="C3", amount="1.00"),),
    )
    seen = [i.invoice_id for t in result.touches for i in t.invoices] + [s.invoice_id for s in result.skipped]
    assert sorted(seen) == sorted(i.id for i in invoices)
    assert len(seen) == len(set(seen))
