"""Benchmark the collections engine on a synthetic ledger.

100,000 open invoices across 20,000 customers, with a history of past touches, planned with the
contract's example cadence. Reports the time to build the input records, the time to plan, their
ratio (goal: plan ≤ 2 × build) and peak memory (goal ≤ 300 MB). Deterministic (fixed seed).

Run: ``PYTHONPATH=. python bench/engine.py [--invoices N] [--customers M]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

from core.engine import Organisation, plan
from core.model import (
    Credit,
    Customer,
    Invoice,
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
SEED = 20260310
POLICY = Policy(
    min_days_between_touches=7,
    min_balance=Decimal("10.00"),
    first_touch_max_level=1,
    promise_grace_days=2,
    statutory_claims=False,
    steps=(
        Step("s0", -3, 0, Action.EMAIL, "courtesy"),
        Step("s1", 1, 1, Action.EMAIL, "friendly"),
        Step("s2", 14, 2, Action.EMAIL, "firm"),
        Step("s3", 30, 3, Action.EMAIL, "final"),
        Step("s4", 60, 4, Action.AGENCY, "agency_handoff"),
    ),
)


def build(invoices: int, customers: int) -> tuple[Ledger, list[PastTouch]]:
    """The synthetic ledger and history: the part of the work that is not the engine's."""
    rng = random.Random(SEED)
    people = [
        Customer(f"C{n:06d}", f"Customer {n}", (f"ap{n}@example.test",), rng.choice(("en", "de")))
        for n in range(customers)
    ]
    bills = []
    history = []
    for n in range(invoices):
        owner = people[n % customers].id
        due = TODAY - timedelta(days=rng.randint(-40, 120))
        amount = f"{rng.randint(5, 500000) / 100:.2f}"
        currency = "EUR" if rng.random() < 0.9 else "USD"
        bills.append(
            Invoice(
                f"I{n:07d}",
                owner,
                str(n),
                due - timedelta(days=30),
                due,
                money(amount, currency),
                money(amount, currency),
            )
        )
        overdue = (TODAY - due).days
        done = [s for s in POLICY.steps if s.offset_days <= overdue - rng.randint(0, 20)][:3]
        for back, step in enumerate(reversed(done)):
            day = TODAY - timedelta(days=10 * back + rng.randint(1, 30))
            history.append(
                PastTouch(day, owner, TouchStatus.SENT, (TouchedInvoice(bills[-1].id, step.id, step.level),))
            )
    credits = tuple(
        Credit(f"CN{n}", people[n * 7 % customers].id, money("100.00", "EUR")) for n in range(customers // 10)
    )
    pauses = tuple(
        Pause(
            rng.choice(tuple(PauseKind)),
            bills[n].customer_id,
            bills[n].id,
            TODAY + timedelta(days=rng.randint(-10, 10)),
        )
        for n in range(0, invoices, 50)
    )
    return Ledger(tuple(people), tuple(bills), credits, pauses), history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    org = Organisation(country="DE", subdivision="BY", business_days_only=True)

    started = time.perf_counter()
    ledger, history = build(args.invoices, args.customers)
    built = time.perf_counter() - started
    started = time.perf_counter()
    result = plan(ledger, POLICY, history, TODAY, org)
    planned = time.perf_counter() - started
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    del ledger, history, result

    # Memory in a second, traced round (tracing slows everything down, so it is not timed).
    tracemalloc.start()
    ledger, history = build(args.invoices, args.customers)
    inputs, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = plan(ledger, POLICY, history, TODAY, org)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rows = [
        (
            "invoices / customers / past touches",
            f"{len(ledger.invoices):,} / {len(ledger.customers):,} / {len(history):,}",
        ),
        ("touches / skipped", f"{len(result.touches):,} / {len(result.skipped):,}"),
        ("build input records", f"{built:.2f} s"),
        ("plan", f"{planned:.2f} s"),
        ("plan / build (goal ≤ 2)", f"{planned / built:.2f}"),
        ("input records (traced)", f"{inputs / 2**20:.0f} MB"),
        ("peak while planning, inputs included (traced)", f"{peak / 2**20:.0f} MB"),
        ("max RSS of the process, untraced round (goal ≤ 300 MB)", f"{maxrss_mb:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
