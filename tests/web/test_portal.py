"""The payer's three actions, through the real app with CSRF: what each leaves in the database
(pause, task, activity log), what the firm's timeline shows, what the engine then decides, and
that a wrong value is told next to its field and changes nothing."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from connector.db import Activity, Organisation, Pause, Task
from connector.ledger import load_snapshot, plan_groups
from core.engine import Flag
from core.reasons import SkipReason
from tests.personas import World
from tests.web.ledger_builders import TODAY, Ledger, count, day, field_errors, page, seed_ledger
from tests.web.test_ledger import section
from tests.web.test_portal_links import payer_path

CUSTOMER = "Due Today GmbH"
"""Chased today (D-1, 10 days overdue, email s1); owned by alice; English."""


@pytest.fixture
def ledger(world: World) -> Ledger:
    return seed_ledger(world)


def _post(world: World, ledger: Ledger, action: str, data: dict[str, str]) -> tuple[FlaskClient, TestResponse]:
    """Open the customer's page (a session and its CSRF token), then post ``action``'s form."""
    client = world.client()
    path = payer_path(world, ledger.org_id, ledger.customers[CUSTOMER])
    html = client.get(path).get_data(as_text=True)
    token = re.search(rf'name="{action}-csrf_token" type="hidden" value="([^"]+)"', html)
    assert token, f"no {action} form on the page"
    fields = {f"{action}-{name}": value for name, value in data.items()}
    return client, client.post(f"{path}/{action}", data={f"{action}-csrf_token": token.group(1), **fields})


def _rows(world: World, model: type, **where: object) -> list:  # type: ignore[type-arg]
    with world.sessions() as session:
        query = select(model).where(*(getattr(model, k) == v for k, v in where.items()))
        return list(session.scalars(query.order_by(model.id)))  # type: ignore[attr-defined]


def _plan(world: World, ledger: Ledger, on: date) -> tuple[list[str], dict[str, SkipReason | None]]:
    """Customers the engine chases on ``on`` (platform ids), and the reason per skipped invoice."""
    with world.sessions() as session:
        snapshot = load_snapshot(session, session.get_one(Organisation, ledger.org_id))
    touches, skipped = [], {}
    for _group, plan in plan_groups(snapshot, on):
        touches += [t for t in plan.touches]
        skipped.update({s.invoice_id: s.reason for s in plan.skipped})
    return [t.customer_id for t in touches], skipped


def _timeline(world: World, ledger: Ledger) -> str:
    html = page(world.client("alice").get(f"/orgs/{ledger.org_id}/customers/{ledger.customers[CUSTOMER]}"))
    return section(html, "timeline")


def test_i_have_paid_holds_reminders_for_a_few_days_and_asks_the_firm_to_check(world: World, ledger: Ledger) -> None:
    assert f"ext-{CUSTOMER}" in _plan(world, ledger, TODAY)[0]  # chased today, before
    client, response = _post(world, ledger, "paid", {"paid_date": "2026-03-09", "reference": "TR-4711"})
    assert response.status_code == 302
    assert "We will check your payment" in page(client.get(response.headers["Location"]))
    customer = ledger.customers[CUSTOMER]
    [pause] = _rows(world, Pause, customer_id=customer)
    assert (pause.kind, pause.invoice_id, pause.until_date, pause.created_by) == ("hold", None, day(5), "payer")
    [task] = _rows(world, Task, customer_id=customer)
    assert (task.kind, task.assignee_id, task.due_date, task.created_by) == (
        "check_payment",
        world.users["alice"],
        TODAY,
        "payer",
    )
    assert "2026-03-09" in task.title and "TR-4711" in task.title
    logged = _rows(world, Activity, customer_id=customer)
    assert {(a.kind, a.actor) for a in logged} == {("payer_paid", "payer"), ("pause_added", "payer")}
    timeline = _timeline(world, ledger)
    assert "Customer reports payment" in timeline and "the customer" in timeline and "TR-4711" in timeline
    chased, skipped = _plan(world, ledger, TODAY)
    assert f"ext-{CUSTOMER}" not in chased and skipped["ext-D-1"] is SkipReason.PAUSED_HOLD
    assert f"ext-{CUSTOMER}" in _plan(world, ledger, day(6))[0]  # the hold has run out: chased again


def test_i_dispute_this_invoice_pauses_that_invoice_and_asks_the_firm_to_look(world: World, ledger: Ledger) -> None:
    invoice = ledger.invoices["D-1"]
    client, response = _post(world, ledger, "dispute", {"invoice": str(invoice), "reason": "Goods never arrived"})
    assert response.status_code == 302
    assert "We will look into invoice D-1" in page(client.get(response.headers["Location"]))
    [pause] = _rows(world, Pause, invoice_id=invoice)
    assert (pause.kind, pause.until_date, pause.reason, pause.created_by) == (
        "dispute",
        None,
        "Goods never arrived",
        "payer",
    )
    [task] = _rows(world, Task, customer_id=ledger.customers[CUSTOMER])
    assert (task.kind, task.invoice_id, task.created_by) == ("dispute", invoice, "payer")
    assert {(a.kind, a.invoice_id) for a in _rows(world, Activity, customer_id=ledger.customers[CUSTOMER])} == {
        ("payer_dispute", invoice),
        ("pause_added", invoice),
    }
    assert "Customer disputes" in _timeline(world, ledger) and "Goods never arrived" in _timeline(world, ledger)
    invoice_page = page(world.client("alice").get(f"/orgs/{ledger.org_id}/invoices/{invoice}"))
    assert "Goods never arrived" in section(invoice_page, "timeline")
    assert _plan(world, ledger, day(30))[1]["ext-D-1"] is SkipReason.PAUSED_DISPUTE  # until the firm lifts it
    payer_page = page(client.get(response.headers["Location"]))
    assert "being looked into" in payer_page


def test_i_will_pay_on_a_date_waits_until_then_and_a_broken_promise_is_chased(world: World, ledger: Ledger) -> None:
    client, response = _post(world, ledger, "promise", {"promise_date": day(14).isoformat()})
    assert response.status_code == 302
    assert "We have noted your payment for March 24, 2026" in page(client.get(response.headers["Location"]))
    [pause] = _rows(world, Pause, customer_id=ledger.customers[CUSTOMER])
    assert (pause.kind, pause.invoice_id, pause.until_date, pause.created_by) == ("promise", None, day(14), "payer")
    assert _rows(world, Task, customer_id=ledger.customers[CUSTOMER]) == []
    assert "Customer promises payment" in _timeline(world, ledger)
    assert _plan(world, ledger, TODAY)[1]["ext-D-1"] is SkipReason.PAUSED_PROMISE
    assert _plan(world, ledger, day(16))[1]["ext-D-1"] is SkipReason.PAUSED_PROMISE  # the cadence's 2 days' grace
    with world.sessions() as session:
        snapshot = load_snapshot(session, session.get_one(Organisation, ledger.org_id))
    broken = [t for _g, p in plan_groups(snapshot, day(17)) for t in p.touches if t.customer_id == f"ext-{CUSTOMER}"]
    assert broken and Flag.BROKEN_PROMISE in broken[0].flags


def test_the_last_day_of_the_horizon_is_a_valid_promise(world: World, ledger: Ledger) -> None:
    _client, response = _post(world, ledger, "promise", {"promise_date": day(60).isoformat()})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("action", "data", "field", "message"),
    [
        pytest.param(
            "paid", {"paid_date": "2026-03-11", "reference": "x"}, "paid_date", "in the future", id="paid-future"
        ),
        pytest.param(
            "paid", {"paid_date": "2025-03-08", "reference": "x"}, "paid_date", "more than a year", id="paid-old"
        ),
        pytest.param(
            "paid", {"paid_date": "yesterday", "reference": "x"}, "paid_date", "Not a valid date", id="paid-nodate"
        ),
        pytest.param(
            "paid", {"paid_date": "", "reference": "x"}, "paid_date", "Give the day you paid", id="paid-empty"
        ),
        pytest.param(
            "paid", {"paid_date": "2026-03-09", "reference": " "}, "reference", "Give the reference", id="paid-noref"
        ),
        pytest.param("promise", {"promise_date": "2026-03-09"}, "promise_date", "in the past", id="promise-past"),
        pytest.param("promise", {"promise_date": "2026-05-10"}, "promise_date", "within 60 days", id="promise-too-far"),
        pytest.param("promise", {"promise_date": ""}, "promise_date", "Give the day you will pay", id="promise-empty"),
        pytest.param(
            "dispute", {"invoice": "D-1", "reason": ""}, "reason", "Tell us what is wrong", id="dispute-no-reason"
        ),
        pytest.param(
            "dispute", {"invoice": "P-1", "reason": "x"}, "invoice", "one of your invoices", id="dispute-other-customer"
        ),
        pytest.param(
            "dispute", {"invoice": "D-0a", "reason": "x"}, "invoice", "already paid", id="dispute-paid-invoice"
        ),
        pytest.param(
            "dispute", {"invoice": "999999", "reason": "x"}, "invoice", "one of your invoices", id="dispute-no-invoice"
        ),
    ],
)
def test_a_wrong_value_is_told_next_to_its_field_and_changes_nothing(
    world: World, ledger: Ledger, action: str, data: dict[str, str], field: str, message: str
) -> None:
    if "invoice" in data:
        data = {**data, "invoice": str(ledger.invoices.get(data["invoice"], data["invoice"]))}
    before = [count(world.sessions, model) for model in (Pause, Task, Activity)]
    _client, response = _post(world, ledger, action, data)
    assert response.status_code == 400
    assert message in field_errors(page(response), f"{action}-{field}")
    assert [count(world.sessions, model) for model in (Pause, Task, Activity)] == before


def test_an_action_without_the_form_s_token_is_refused(world: World, ledger: Ledger) -> None:
    path = payer_path(world, ledger.org_id, ledger.customers[CUSTOMER])
    response = world.client().post(f"{path}/promise", data={"promise-promise_date": day(3).isoformat()})
    assert response.status_code == 400
    assert count(world.sessions, Pause) == 2  # the two seeded ones


@pytest.mark.parametrize(
    ("action", "data", "tasks"),
    [
        pytest.param("paid", {"paid_date": "2026-03-09", "reference": "TR-4711"}, 1, id="paid"),
        pytest.param("dispute", {"invoice": "D-1", "reason": "Goods never arrived"}, 1, id="dispute"),
        pytest.param("promise", {"promise_date": "2026-03-24"}, 0, id="promise"),
    ],
)
def test_saying_the_same_thing_twice_records_it_once(
    world: World, ledger: Ledger, action: str, data: dict[str, str], tasks: int
) -> None:
    if "invoice" in data:
        data = {**data, "invoice": str(ledger.invoices[data["invoice"]])}
    for _ in range(2):  # a double click, or the browser posting the form again
        client, response = _post(world, ledger, action, data)
        assert response.status_code == 302
        assert "Thank you" in page(client.get(response.headers["Location"]))
    customer = ledger.customers[CUSTOMER]
    assert len(_rows(world, Pause, customer_id=customer)) == 1
    assert len(_rows(world, Task, customer_id=customer)) == tasks
    assert len(_rows(world, Activity, customer_id=customer, kind=f"payer_{action}")) == 1
