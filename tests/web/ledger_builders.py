"""A seeded ledger for the ledger and task pages, built on ``seed_objects`` (org A) with rows
whose engine decision on :data:`TODAY` is known, and a world on SQLite or on PostgreSQL.

The organisation is in Germany (Europe/Berlin); the personas' clock says 2026-03-10 08:30 UTC,
09:30 in Berlin: a Tuesday and no holiday, so the calendar never stops the run.

The cadence is the seeded "Standard" policy with two more steps: s1 (+3 days, level 1), s2 (+30,
level 2), s3 (+60, level 3), all email; spacing 7 days, minimum 10.00, first touch up to level 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import Activity, Contact, Customer, Invoice, OutboxMessage, Pause, PolicyStep
from connector.db.session import upgrade
from connector.runtime import build_runtime
from tests.personas import NOW, World, make_world
from tests.web.conftest import seed_objects

TODAY = date(2026, 3, 10)
"""The organisation's day at :data:`tests.personas.NOW`."""


def day(offset: int) -> date:
    """The day ``offset`` days after :data:`TODAY`."""
    return TODAY + timedelta(days=offset)


def add_customer(
    sessions: sessionmaker[Session],
    org_id: int,
    name: str,
    *,
    email: bool = True,
    owner: int | None = None,
    excluded: bool = False,
) -> int:
    """A customer (with an address unless ``email`` is False); returns its row id."""
    with sessions.begin() as s:
        row = Customer(
            organisation_id=org_id,
            external_id=f"ext-{name}",
            name=name,
            language="en",
            owner_user_id=owner,
            excluded=excluded,
            synced_at=NOW,
        )
        s.add(row)
        s.flush()
        if email:
            s.add(Contact(organisation_id=org_id, customer_id=row.id, email=f"ap{row.id}@example.test"))
        return row.id


def add_invoice(
    sessions: sessionmaker[Session],
    org_id: int,
    customer_id: int,
    number: str,
    *,
    overdue: int,
    balance: str = "100.00",
    currency: str = "EUR",
    status: str = "open",
    paid_days_late: int | None = None,
) -> int:
    """An invoice due ``overdue`` days before :data:`TODAY` (negative: ahead); paid ones get a
    ``paid_date`` ``paid_days_late`` days after their due date. Returns its row id."""
    due = day(-overdue)
    with sessions.begin() as s:
        row = Invoice(
            organisation_id=org_id,
            customer_id=customer_id,
            external_id=f"ext-{number}",
            number=number,
            issue_date=due - timedelta(days=30),
            due_date=due,
            currency=currency,
            total=Decimal(balance) if status == "open" else Decimal("100.00"),
            balance=Decimal(balance) if status == "open" else Decimal(0),
            status=status,
            paid_date=due + timedelta(days=paid_days_late) if paid_days_late is not None else None,
            synced_at=NOW,
        )
        s.add(row)
        s.flush()
        return row.id


def add_touch(
    sessions: sessionmaker[Session], org_id: int, customer_id: int, number: str, *, ago: int, step: str, level: int
) -> int:
    """A reminder sent ``ago`` days before :data:`TODAY` for one invoice (the engine's history)."""
    with sessions.begin() as s:
        row = OutboxMessage(
            organisation_id=org_id,
            dedupe_key=f"sent-{number}-{ago}",
            customer_id=customer_id,
            currency="EUR",
            step_key=step,
            level=level,
            action="email",
            template_key="firm_reminder",
            planned_date=day(-ago),
            invoice_ids=f"ext-{number}",
            payload={"invoices": [{"id": f"ext-{number}", "step": step, "level": level}]},
            status="sent",
            sent_at=NOW - timedelta(days=ago),
            created_at=NOW - timedelta(days=ago),
        )
        s.add(row)
        s.flush()
        return row.id


@dataclass
class Ledger:
    """The seeded ids: customers and invoices by name/number, plus the ``seed_objects`` ids."""

    org_id: int
    customers: dict[str, int]
    invoices: dict[str, int]
    seeded: dict[str, int]


def seed_ledger(world: World) -> Ledger:
    """The ledger every ledger test starts from (org A); see the module docstring for the cadence.

    ========  ==============  =========  ======================================================
    invoice   customer        overdue    today's decision
    ========  ==============  =========  ======================================================
    A-1001    A Kunde GmbH    29 days    paused: dispute (seeded)
    D-1       Due Today GmbH  10 days    email s1, level 1 (a message today)
    P-1       Promise AG      40 days    paused: promise to pay until TODAY+10
    X-1       Excluded KG     70 days    the customer is excluded
    E-1       Early Ltd       −5 days    not yet due (no step reached)
    T-1       Tiny GmbH       20 days    5.00 EUR: below the 10.00 minimum
    O-1       Old Debt Ltd    100 days   2,000.00 USD, level 2 sent 3 days ago: too soon; owner bob
    ========  ==============  =========  ======================================================

    Due Today GmbH also has three invoices paid on time (payer rating A) and is owned by alice.
    """
    sessions, org = world.sessions, world.orgs["A"]
    seeded = seed_objects(sessions, org, "A")
    with sessions.begin() as s:
        s.add_all(
            [
                PolicyStep(
                    organisation_id=org,
                    policy_id=seeded["policy_id"],
                    step_key=k,
                    position=p,
                    offset_days=o,
                    level=lvl,
                    action="email",
                    template_key=t,
                )
                for k, p, o, lvl, t in (("s2", 1, 30, 2, "firm_reminder"), ("s3", 2, 60, 3, "final_notice"))
            ]
        )
    c = {
        "A Kunde GmbH": seeded["customer_id"],
        "Due Today GmbH": add_customer(sessions, org, "Due Today GmbH", owner=world.users["alice"]),
        "Promise AG": add_customer(sessions, org, "Promise AG"),
        "Excluded KG": add_customer(sessions, org, "Excluded KG", excluded=True),
        "Early Ltd": add_customer(sessions, org, "Early Ltd"),
        "Tiny GmbH": add_customer(sessions, org, "Tiny GmbH"),
        "Old Debt Ltd": add_customer(sessions, org, "Old Debt Ltd", owner=world.users["bob"]),
    }
    i = {
        "A-1001": seeded["invoice_id"],
        "D-1": add_invoice(sessions, org, c["Due Today GmbH"], "D-1", overdue=10, balance="500.00"),
        "P-1": add_invoice(sessions, org, c["Promise AG"], "P-1", overdue=40, balance="800.00"),
        "X-1": add_invoice(sessions, org, c["Excluded KG"], "X-1", overdue=70, balance="300.00"),
        "E-1": add_invoice(sessions, org, c["Early Ltd"], "E-1", overdue=-5, balance="250.00"),
        "T-1": add_invoice(sessions, org, c["Tiny GmbH"], "T-1", overdue=20, balance="5.00"),
        "O-1": add_invoice(sessions, org, c["Old Debt Ltd"], "O-1", overdue=100, balance="2000.00", currency="USD"),
    }
    for n, ago in (("D-0a", 90), ("D-0b", 60), ("D-0c", 30)):
        i[n] = add_invoice(sessions, org, c["Due Today GmbH"], n, overdue=ago, status="paid", paid_days_late=0)
    add_touch(sessions, org, c["Old Debt Ltd"], "O-1", ago=3, step="s2", level=2)
    with sessions.begin() as s:
        s.add(
            Pause(
                organisation_id=org,
                customer_id=c["Promise AG"],
                invoice_id=i["P-1"],
                kind="promise",
                since_date=day(-2),
                until_date=day(10),
                reason="will pay",
                created_by="system",
                created_at=NOW,
            )
        )
    return Ledger(org, c, i, seeded)


def page(response: TestResponse) -> str:
    """A response's HTML with entities decoded (so quotes and apostrophes read as written)."""
    return unescape(response.get_data(as_text=True))


def csrf_token(client: FlaskClient, url: str) -> str:
    """A CSRF token of the client's session, read from the page at ``url`` (any form of it)."""
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def field_errors(html: str, field_id: str) -> str:
    """The messages shown next to the field with id ``field_id`` (empty when none)."""
    found = re.search(rf'<ul class="errors error" id="{re.escape(field_id)}-errors">(.*?)</ul>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)).strip() if found else ""


def count(sessions: sessionmaker[Session], model: type) -> int:
    """Rows of ``model``."""
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def activities(sessions: sessionmaker[Session], kind: str) -> list[Activity]:
    """The activity log entries of one kind, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(Activity).where(Activity.kind == kind).order_by(Activity.id)))


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
"""Parameters of an ``any_world`` fixture: see :func:`world_on`."""


def world_on(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[World]:
    """The personas' world on SQLite or on the real PostgreSQL (``request.param``); a test module
    defines ``any_world`` with ``params=DATABASES`` and yields from this."""
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade(url)
    runtime = build_runtime(load_settings({**env, "ARCADENCE_DATABASE_URL": url}), configs={}, clock=FixedClock(NOW))
    yield make_world(runtime)
    runtime.close()
