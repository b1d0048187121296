"""The cadence editor: the default shown when none is stored, starting from a default, each bad
value refused next to its field with nothing changed, a good edit saved in test mode, the 90-day
preview equal to ``core.simulate`` on the same ledger, switching on and back, and a customer's own
policy or exclusion."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connector.db import Activity, Contact, Customer, Invoice, OutboxMessage, Policy
from core.engine import Organisation
from core.model import Customer as CoreCustomer
from core.model import Invoice as CoreInvoice
from core.model import Ledger, money
from core.policy import MAHNWESEN_STANDARD_DE, STANDARD_B2B_EN
from core.simulate import simulate
from tests.personas import NOW, World

TODAY = date(2026, 3, 10)  # NOW in Europe/Berlin, organisation A's time zone
#: The ledger of organisation A: (external id, name, days overdue today, balance).
LEDGER = (
    ("C-A", "Alpha GmbH", 20, "500.00"),
    ("C-B", "Beta AG", -2, "800.00"),
    ("C-C", "Gamma KG", 40, "1200.00"),
    ("C-D", "Delta OHG", 3, "90.00"),
)


@pytest.fixture
def org(world: World) -> int:
    """Organisation A with the customers and open invoices of :data:`LEDGER`."""
    org_id = world.orgs["A"]
    with world.sessions.begin() as s:
        for ext, name, overdue, balance in LEDGER:
            customer = Customer(organisation_id=org_id, external_id=ext, name=name, language="de", synced_at=NOW)
            customer.contacts.append(Contact(organisation_id=org_id, email=f"ap@{ext.lower()}.example"))
            s.add(customer)
            s.flush()
            s.add(
                Invoice(
                    organisation_id=org_id,
                    customer_id=customer.id,
                    external_id=f"{ext}-1",
                    number=f"R-{ext}",
                    issue_date=TODAY - timedelta(days=overdue + 30),
                    due_date=TODAY - timedelta(days=overdue),
                    currency="EUR",
                    total=Decimal(balance),
                    balance=Decimal(balance),
                    status="open",
                    synced_at=NOW,
                )
            )
    return org_id


def core_ledger() -> Ledger:
    """The same ledger written as the engine's records, independently of the store."""
    return Ledger(
        customers=tuple(CoreCustomer(ext, name, (f"ap@{ext.lower()}.example",), "de") for ext, name, _o, _b in LEDGER),
        invoices=tuple(
            CoreInvoice(
                f"{ext}-1",
                ext,
                f"R-{ext}",
                TODAY - timedelta(days=overdue + 30),
                TODAY - timedelta(days=overdue),
                money(balance, "EUR"),
                money(balance, "EUR"),
            )
            for ext, _n, overdue, balance in LEDGER
        ),
    )


def _csrf(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def _start(world: World, org_id: int, default: str = "de", use: str = "organisation") -> int:
    client = world.client("alice")
    token = _csrf(client, f"/orgs/{org_id}/cadence")
    answer = client.post(f"/orgs/{org_id}/cadence/policies", data={"csrf_token": token, "default": default, "use": use})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    found = re.search(r"/policies/(\d+)$", answer.headers["Location"])
    assert found
    return int(found.group(1))


def _policy(world: World, policy_id: int) -> Policy:
    with world.sessions() as s:
        return s.scalars(select(Policy).where(Policy.id == policy_id).options(selectinload(Policy.steps))).one()


def _form(client: FlaskClient, org_id: int, policy_id: int) -> dict[str, Any]:
    """What the edit page posts unchanged (with this client's CSRF token): its inputs and their values."""
    page = client.get(f"/orgs/{org_id}/cadence/policies/{policy_id}").get_data(as_text=True)
    data: dict[str, Any] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        data[name] = value
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if name and 'type="checkbox"' in tag and "checked" not in tag:
            data.pop(name.group(1), None)
        elif name and 'type="checkbox"' in tag:
            data[name.group(1)] = "y"
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(r'<option value="([^"]*)"', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_without_a_stored_policy_the_page_names_the_default_for_the_country(world: World, org: int) -> None:
    page = world.client("bob").get(f"/orgs/{org}/cadence").get_data(as_text=True)
    assert f"the default policy for DE, {MAHNWESEN_STANDARD_DE.name}" in page
    assert "has no test mode" in page
    assert 'action="/orgs/' not in page.split('id="customers"')[1]  # bob is a collector: no forms


def test_starting_from_a_default_stores_it_in_test_mode_and_logs_it(world: World, org: int) -> None:
    policy_id = _start(world, org, default="en")
    row = _policy(world, policy_id)
    assert row.active and row.switched_on_at is None and row.name == STANDARD_B2B_EN.name
    assert [(s.step_key, s.offset_days, s.level, s.action, s.template_key) for s in row.steps] == [
        (s.id, s.offset_days, s.level, s.action.value, s.template) for s in STANDARD_B2B_EN.steps
    ]
    page = world.client("alice").get(f"/orgs/{org}/cadence").get_data(as_text=True)
    assert 'data-state="test"' in page.split('id="organisation-policy"')[1].split("</section>")[0]
    with world.sessions() as s:
        assert s.scalar(select(Activity.summary).where(Activity.kind == "policy_created"))


# field, value, the id of the field the message must be next to, a part of the message
BAD = [
    pytest.param(
        "steps-1-offset_days", "7", "steps-1-offset_days", "must be after the previous step", id="offset-clash"
    ),
    pytest.param("steps-0-level", "9", "steps-0-level", "between 0 and 6", id="level-out-of-range"),
    pytest.param("steps-2-level", "1", "steps-2-level", "below the previous step's level", id="level-goes-down"),
    pytest.param("steps-0-template", "no_such_key", "steps-0-template", "Unknown template key", id="unknown-template"),
    pytest.param("steps-0-action", "fax", "steps-0-action", "Unknown action", id="unknown-action"),
    pytest.param("steps-0-offset_days", "soon", "steps-0-offset_days", "Not a valid integer", id="offset-not-a-number"),
    pytest.param("steps-0-level", "", "steps-0-level", "Required", id="level-missing"),
    pytest.param("min_balance", "-5", "min_balance", "non-negative", id="negative-balance"),
    pytest.param("min_balance", "1e12", "min_balance", "at most", id="balance-absurd"),
    pytest.param("min_balance", "ten", "min_balance", "Not a valid decimal", id="balance-not-a-number"),
    pytest.param("min_days_between_touches", "400", "min_days_between_touches", "between 0 and 365", id="spacing"),
    pytest.param("promise_grace_days", "-1", "promise_grace_days", "between 0 and 365", id="negative-grace"),
    pytest.param("first_touch_max_level", "0", "first_touch_max_level", "overdue invoices could never", id="first"),
    pytest.param("name", "", "name", "required", id="no-name"),
]


@pytest.mark.parametrize(("field", "value", "where", "message"), BAD)
def test_a_bad_value_is_refused_next_to_its_field_and_changes_nothing(
    world: World, org: int, field: str, value: str, where: str, message: str
) -> None:
    policy_id = _start(world, org)
    before = _policy(world, policy_id)
    steps_before = [(s.step_key, s.offset_days, s.level, s.action, s.template_key) for s in before.steps]
    client = world.client("alice")
    data = {**_form(client, org, policy_id), field: value}
    answer = client.post(f"/orgs/{org}/cadence/policies/{policy_id}", data=data)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    error = re.search(rf'<span class="error" id="{re.escape(where)}-error">([^<]*)</span>', page)
    shown = html.unescape(error.group(1)) if error else ""
    assert message.lower() in shown.lower(), (where, page[page.find("error") - 200 :][:800])
    after = _policy(world, policy_id)
    assert [(s.step_key, s.offset_days, s.level, s.action, s.template_key) for s in after.steps] == steps_before
    assert (after.min_balance, after.updated_at, after.name) == (before.min_balance, before.updated_at, before.name)


def test_a_good_edit_is_saved_in_test_mode_logged_and_shows_the_preview(world: World, org: int) -> None:
    policy_id = _start(world, org)
    _switch(world, org, policy_id, "on")
    client = world.client("alice")
    data = {**_form(client, org, policy_id), "steps-0-offset_days": "5", "steps-5-offset_days": "80",
            "steps-5-level": "4", "steps-5-action": "legal", "steps-5-template": "uebergabe_inkasso"}  # fmt: skip
    answer = client.post(f"/orgs/{org}/cadence/policies/{policy_id}", data=data)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/policies/{policy_id}/preview")
    row = _policy(world, policy_id)
    assert row.switched_on_at is None and row.switched_on_by_id is None  # a changed policy is in test mode
    assert (row.steps[0].offset_days, row.steps[0].level, row.steps[0].action) == (5, 1, "email")
    assert [s.step_key for s in row.steps][-1] == "uebergabe_inkasso"  # a new step's id comes from its template
    assert [s.action for s in row.steps][-1] == "legal"
    with world.sessions() as s:
        assert s.scalar(select(Activity.summary).where(Activity.kind == "policy_changed"))


def test_removing_a_step_and_saving_nothing_new(world: World, org: int) -> None:
    policy_id = _start(world, org)
    _switch(world, org, policy_id, "on")
    client = world.client("alice")
    same = client.post(f"/orgs/{org}/cadence/policies/{policy_id}", data=_form(client, org, policy_id))
    assert same.status_code == 302
    assert _policy(world, policy_id).switched_on_at is not None  # nothing changed: still switched on
    data = {**_form(client, org, policy_id), "steps-2-remove": "y"}
    assert client.post(f"/orgs/{org}/cadence/policies/{policy_id}", data=data).status_code == 302
    assert [s.step_key for s in _policy(world, policy_id).steps] == [
        s.id for n, s in enumerate(MAHNWESEN_STANDARD_DE.steps) if n != 2
    ]


def _switch(world: World, org: int, policy_id: int, state: str) -> None:
    client = world.client("alice")
    token = _csrf(client, f"/orgs/{org}/cadence/policies/{policy_id}/preview")
    answer = client.post(f"/orgs/{org}/cadence/policies/{policy_id}/switch", data={"csrf_token": token, "state": state})
    assert answer.status_code == 302


@pytest.mark.parametrize("business_days_only", [True, False], ids=["business-days", "every-day"])
def test_the_preview_is_core_simulate_on_the_real_ledger(world: World, org: int, business_days_only: bool) -> None:
    policy_id = _start(world, org)
    client = world.client("alice")
    data = _form(client, org, policy_id)
    if not business_days_only:
        data.pop("business_days_only")
    assert client.post(f"/orgs/{org}/cadence/policies/{policy_id}", data=data).status_code == 302
    page = world.client("bob").get(f"/orgs/{org}/cadence/policies/{policy_id}/preview").get_data(as_text=True)
    calendar = re.findall(r'<td id="day-(\d{4}-\d\d-\d\d)" data-count="(\d+)"', page)
    shown = {date.fromisoformat(day): int(n) for day, n in calendar}
    settings = Organisation(country="DE", timezone="Europe/Berlin", business_days_only=business_days_only)
    expected = simulate(core_ledger(), MAHNWESEN_STANDARD_DE, [], TODAY, 90, settings)
    assert shown == {d.day_date: len(d.plan.touches) for d in expected}
    assert sum(shown.values()) > 0, "the ledger is chased in the next 90 days"
    levels = Counter(t.level for d in expected for t in d.plan.touches)
    per_level = dict(re.findall(r'<td data-level="(\d)">(\d+)</td>', page))
    assert {int(k): int(v) for k, v in per_level.items() if int(v)} == dict(levels)
    first = next(t for d in expected for t in d.plan.touches)
    row = re.search(r'<tr class="touch">(.*?)</tr>', page, re.S)
    assert row and dict((c[0], c[1]) for c in LEDGER)[first.customer_id] in row.group(1)


def test_a_policy_no_customer_follows_is_previewed_on_every_customer(world: World, org: int) -> None:
    policy_id = _start(world, org, use="customers")
    page = world.client("alice").get(f"/orgs/{org}/cadence/policies/{policy_id}/preview").get_data(as_text=True)
    assert "No customer follows this policy yet" in page
    assert f"for {len(LEDGER)} customer(s)" in page


def test_switching_on_records_who_and_when_and_back_to_test_mode_cancels_what_waits(world: World, org: int) -> None:
    policy_id = _start(world, org)
    _switch(world, org, policy_id, "on")
    row = _policy(world, policy_id)
    assert row.switched_on_at == NOW and row.switched_on_by_id == world.users["alice"]
    page = world.client("bob").get(f"/orgs/{org}/cadence").get_data(as_text=True)
    assert 'data-state="on"' in page and "by Alice" in page
    with world.sessions.begin() as s:
        customer = s.scalars(select(Customer).where(Customer.external_id == "C-A")).one()
        s.add(
            OutboxMessage(organisation_id=org, dedupe_key="k1", customer_id=customer.id, currency="EUR",
                          step_key="mahnung_1", level=2, action="email", template_key="mahnung_1",
                          planned_date=TODAY, invoice_ids="C-A-1", payload={"invoices": []}, created_at=NOW)
        )  # fmt: skip
    _switch(world, org, policy_id, "test")
    assert _policy(world, policy_id).switched_on_at is None
    with world.sessions() as s:
        assert s.scalar(select(OutboxMessage.status).where(OutboxMessage.dedupe_key == "k1")) == "cancelled"
        kinds = set(s.scalars(select(Activity.kind)))
    assert {"policy_switched_on", "policy_test_mode", "reminder_cancelled"} <= kinds


def test_a_customer_gets_its_own_policy_or_is_excluded(world: World, org: int) -> None:
    gentle = _start(world, org, default="en", use="customers")
    client = world.client("alice")
    with world.sessions() as s:
        beta = s.scalars(select(Customer).where(Customer.external_id == "C-B")).one().id
    token = _csrf(client, f"/orgs/{org}/cadence")
    answer = client.post(f"/orgs/{org}/cadence/customers", data={"csrf_token": token, "customer": beta,
                                                                  "policy": str(gentle), "excluded": "y"})  # fmt: skip
    assert answer.status_code == 302
    with world.sessions() as s:
        row = s.get_one(Customer, beta)
        assert (row.policy_id, row.excluded) == (gentle, True)
        assert s.scalar(select(Activity.kind).where(Activity.customer_id == beta)) == "customer_policy_changed"
    page = client.get(f"/orgs/{org}/cadence").get_data(as_text=True)
    assert "Beta AG" in page.split('id="customers"')[1] and "excluded: never chased" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("customer", "other-firm", id="foreign-customer"),
        pytest.param("policy", "other-firm", id="foreign-policy"),
        pytest.param("customer", "abc", id="not-a-number"),
    ],
)
def test_a_customer_or_policy_of_another_firm_is_refused(
    world: World, org: int, objects: dict[str, dict[str, int]], field: str, value: str
) -> None:
    client = world.client("alice")
    with world.sessions() as s:
        alpha = s.scalars(select(Customer).where(Customer.external_id == "C-A")).one().id
    data = {"customer": str(alpha), "policy": "", field: value}
    if value == "other-firm":
        data[field] = str(objects["B"]["customer_id" if field == "customer" else "policy_id"])
    answer = client.post(
        f"/orgs/{org}/cadence/customers", data={"csrf_token": _csrf(client, f"/orgs/{org}/cadence"), **data}
    )
    assert answer.status_code == 400
    assert re.search(rf'<span class="error" id="{field}-error">', answer.get_data(as_text=True))
    with world.sessions() as s:
        assert s.scalar(select(Activity.id).where(Activity.kind == "customer_policy_changed")) is None
        foreign = s.get_one(Customer, objects["B"]["customer_id"])
        assert (foreign.policy_id, foreign.excluded) == (None, False)


def test_a_forged_policy_id_is_not_found(world: World, org: int, objects: dict[str, dict[str, int]]) -> None:
    client = world.client("alice")
    assert client.get(f"/orgs/{org}/cadence/policies/{objects['B']['policy_id']}/preview").status_code == 404
    assert client.get(f"/orgs/{org}/cadence/policies/{objects['B']['policy_id']}").status_code == 404
