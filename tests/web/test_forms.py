"""Every form of the app refuses a wrong value: status 400, the message next to its field, and
nothing changed in the store.

``CASES`` is the table (endpoint, field, posted values, expected message); the field's message
is the element ``id="<field id>-error"`` (``-errors`` in the ledger's lists) the templates put
beside it. Forms with nothing to type (a button, a hidden id) are listed in ``NOTHING_TO_TYPE``
with the reason; a POST route in neither fails the suite, so a new form cannot ship untried.
CSRF has its own test (tests/web/test_csrf.py); here it is off so each post reaches its check.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select, update

from connector.db import Base, Customer, Invitation, Role, User
from connector.portal import portal_links
from tests.personas import NOW, World
from tests.web.test_access import VALUES, _rules, _url
from web.accounts import links
from web.auth import password_mark

#: Signed by the platforms instead of a form (tests/plugins/*/test_webhook*).
EXEMPT = {"webhooks.deliver"}

#: Forms without a value to type: a button, or hidden values only a forged request can change.
NOTHING_TO_TYPE = {
    "auth.logout": "a button",
    "connect.start": "a button (the platform is in the URL)",
    "orgs.disconnect_org": "a button",
    "accounts.language": "a button per language (a hidden value)",
    "cadence.switch": "a button (switch on, or back to test mode: a hidden value)",
    "messages.reset": "a button",
    "ledger.lift_pause": "a button",
    "ledger.include_customer": "a button",
    "tasks.reopen": "a button",
}

#: Anywhere on the page instead of beside a field: the form's fields are hidden (a member's id
#: in a row of the members table), so the page says it in a flash or in the member's row.
ON_THE_PAGE = "page"

SETTINGS = {"country": "DE", "timezone": "Europe/Berlin", "run_time": "07:00", "base_currency": "EUR"} | {
    "locale": "de_DE"
}
POLICY = {
    "name": "Standard",
    "min_days_between_touches": "7",
    "min_balance": "10",
    "first_touch_max_level": "1",
    "promise_grace_days": "3",
    "steps-0-step_key": "s1",
    "steps-0-offset_days": "3",
    "steps-0-level": "1",
    "steps-0-action": "email",
    "steps-0-template": "friendly_reminder",
}
TEMPLATE = {"subject": "Erinnerung", "body_text": "Hallo {{ customer.name }}", "body_html": "", "save": "Save"}
PASSWORD = "a long enough passphrase"
# The organisation's day is TODAY (tests/personas.py NOW): these are in the past and too far ahead.
PAST, FAR = (NOW.date() - timedelta(days=9)).isoformat(), (NOW.date() + timedelta(days=400)).isoformat()


def case(endpoint: str, field: str, data: dict[str, str], message: str, *, id: str, who: str | None = "alice") -> Any:
    """One row: ``who`` posts ``data`` to ``endpoint``; ``message`` is shown beside ``field``."""
    return pytest.param(endpoint, field, data, message, who, id=id)


CASES = [
    # accounts
    case("accounts.login", "email", {"email": "alice-at-example", "password": "x"},
         "Enter one e-mail address, like name@example.com.", who=None, id="login-email-malformed"),
    case("accounts.login", "password", {"email": "alice@example.test", "password": ""},
         "This field is required.", who=None, id="login-password-missing"),
    case("accounts.reset_request", "email", {"email": "nobody"},
         "Enter one e-mail address, like name@example.com.", who=None, id="reset-request-email-malformed"),
    case("accounts.reset", "password", {"password": "short", "confirm": "short"},
         "Use 10 to 200 characters.", who=None, id="reset-password-too-short"),
    case("accounts.reset", "confirm", {"password": PASSWORD, "confirm": PASSWORD + "!"},
         "The two passwords differ.", who=None, id="reset-passwords-differ"),
    case("accounts.accept_invite", "name", {"name": "", "password": PASSWORD, "confirm": PASSWORD},
         "This field is required.", who=None, id="accept-invite-name-missing"),
    case("accounts.accept_invite", "password", {"name": "Dora", "password": "short", "confirm": "short"},
         "Use 10 to 200 characters.", who=None, id="accept-invite-password-too-short"),
    case("accounts.invite", "email", {"email": "dora at example", "role": "collector"},
         "Enter one e-mail address, like name@example.com.", id="invite-email-malformed"),
    case("accounts.invite", "email", {"email": "bob@example.test", "role": "viewer"},
         "bob@example.test is already a member of this firm.", id="invite-member-again"),
    case("accounts.invite", "role", {"email": "dora@example.test", "role": "owner"},
         "Not a valid choice.", id="invite-role-unknown"),
    case("accounts.change_role", ON_THE_PAGE, {"user_id": "abc", "role": "viewer"},
         "Choose a member and a role.", id="change-role-member-forged"),
    case("accounts.change_role", ON_THE_PAGE, {"user_id": "{alice}", "role": "viewer"},
         "The firm needs at least one admin.", id="change-role-last-admin"),
    case("accounts.remove_member", ON_THE_PAGE, {"user_id": "abc"},
         "Choose a member to remove.", id="remove-member-forged"),
    case("accounts.remove_member", ON_THE_PAGE, {"user_id": "{alice}"},
         "The firm needs at least one admin.", id="remove-last-admin"),
    # settings
    case("settings.save", "timezone", {**SETTINGS, "timezone": "Mars/Olympus"},
         "Not an IANA time zone", id="settings-timezone-unknown"),
    case("settings.save", "run_time", {**SETTINGS, "run_time": "25:00"},
         "Give the time as HH:MM, from 00:00 to 23:59.", id="settings-run-time-out-of-range"),
    case("settings.save", "sender_email", {**SETTINGS, "sender_email": "accounts receivable"},
         "Not an e-mail address (name@example.com).", id="settings-sender-not-an-address"),
    case("settings.save", "locale", {**SETTINGS, "locale": "de"},
         "Give a language and a country (for example de_DE, not de).", id="settings-locale-without-country"),
    case("settings.save", "subdivision", {**SETTINGS, "subdivision": "XX"},
         "The holiday calendar of DE has no region XX", id="settings-region-unknown"),
    case("settings.save", "base_currency", {**SETTINGS, "base_currency": "DEM"},
         "Not a valid choice.", id="settings-currency-gone"),
    # cadence
    case("cadence.create", "default", {"default": "fr", "use": "organisation"},
         "Not a valid choice.", id="new-policy-default-unknown"),
    case("cadence.edit", "name", {**POLICY, "name": ""},
         "This field is required.", id="policy-name-missing"),
    case("cadence.edit", "min_balance", {**POLICY, "min_balance": "ten"},
         "Not a valid decimal value.", id="policy-min-balance-not-a-number"),
    case("cadence.edit", "min_balance", {**POLICY, "min_balance": "5000000000"},
         "Must be at most 1000000000.", id="policy-min-balance-too-high"),
    case("cadence.edit", "steps-0-level", {**POLICY, "steps-0-level": ""},
         "Required.", id="policy-step-level-missing"),
    case("cadence.edit", "steps-0-action", {**POLICY, "steps-0-action": "carrier_pigeon"},
         "Unknown action 'carrier_pigeon'.", id="policy-step-action-unknown"),
    case("cadence.customer", "customer", {"customer": "999999", "policy": ""},
         "Not a valid choice.", id="customer-policy-customer-unknown"),
    # message templates
    case("messages.save", "subject", {**TEMPLATE, "subject": ""},
         "The subject must not be empty.", id="template-subject-empty"),
    case("messages.save", "body_text", {**TEMPLATE, "body_text": "{{ ''.__class__ }}"},
         "Not allowed", id="template-attribute-trick"),
    case("messages.save", "body_text", {**TEMPLATE, "body_text": "Hallo {{ customer.name "},
         "Syntax error at line 1", id="template-syntax-error"),
    # ledger
    case("ledger.pause_customer", "pause-until_date", {"pause-kind": "promise", "pause-until_date": ""},
         "A promise to pay needs the promised date.", id="pause-promise-without-date"),
    case("ledger.pause_customer", "pause-until_date", {"pause-kind": "hold", "pause-until_date": PAST},
         "This date is in the past; choose today or a later day.", id="pause-ends-in-the-past"),
    case("ledger.pause_customer", "pause-kind", {"pause-kind": "vacation"},
         "Not a valid choice.", id="pause-kind-unknown"),
    case("ledger.pause_invoice", "pause-until_date", {"pause-kind": "plan", "pause-until_date": FAR},
         "Choose a date within 180 days from today.", id="pause-invoice-too-far-ahead"),
    case("ledger.pause_invoice", "pause-until_date", {"pause-kind": "hold", "pause-until_date": "31.02.2026"},
         "Not a valid date value.", id="pause-invoice-date-malformed"),
    case("ledger.exclude_customer", "exclude-reason", {"exclude-reason": "  "},
         "Say why.", id="exclude-without-reason"),
    case("ledger.set_owner", "owner-owner", {"owner-owner": "{charlie}"},
         "Choose a member of the firm.", id="owner-from-another-firm"),
    case("ledger.add_note", "note-text", {"note-text": "", "note-invoice": "0"},
         "Write the note.", id="note-empty"),
    case("ledger.add_note", "note-invoice", {"note-text": "hello", "note-invoice": "{foreign_invoice}"},
         "Choose one of this customer's invoices.", id="note-on-another-firms-invoice"),
    case("ledger.log_call", "call-promise_date", {"call-outcome": "reached", "call-promise_date": "2026-03-20"},
         "A promised date goes with the outcome “Promised to pay”.", id="call-date-without-promise"),
    case("ledger.log_call", "call-promise_date", {"call-outcome": "promised", "call-promise_date": ""},
         "A promise to pay needs the promised date.", id="call-promise-without-date"),
    # tasks
    case("tasks.assign", "assign-assignee", {"assign-assignee": "abc"},
         "Choose a collector or an admin of the firm.", id="assign-not-an-id"),
    case("tasks.assign", "assign-assignee", {"assign-assignee": "{charlie}"},
         "Choose a collector or an admin of the firm.", id="assign-to-another-firm"),
    case("tasks.set_due", "due-due_date", {"due-due_date": ""},
         "Choose a day.", id="due-date-missing"),
    case("tasks.set_due", "due-due_date", {"due-due_date": PAST},
         "This date is in the past; choose today or a later day.", id="due-date-in-the-past"),
    case("tasks.done", "done-outcome", {"done-outcome": ""},
         "Say what came of it.", id="done-without-outcome"),
    # the payer's page (no account: the signed link is the key)
    case("portal.paid", "paid-paid_date", {"paid-paid_date": "2026-03-20", "paid-reference": "RE-1"},
         "This day is in the future; give the day the payment was made.", who=None, id="payer-paid-in-the-future"),
    case("portal.paid", "paid-reference", {"paid-paid_date": "2026-03-09", "paid-reference": " "},
         "Give the reference of the transfer", who=None, id="payer-paid-without-reference"),
    case("portal.dispute", "dispute-invoice", {"dispute-invoice": "{foreign_invoice}", "dispute-reason": "wrong"},
         "Choose one of your invoices.", who=None, id="payer-disputes-another-firms-invoice"),
    case("portal.dispute", "dispute-reason", {"dispute-invoice": "{invoice}", "dispute-reason": ""},
         "Tell us what is wrong, so that we can look into it.", who=None, id="payer-dispute-without-reason"),
    case("portal.promise", "promise-promise_date", {"promise-promise_date": FAR},
         "Choose a day within 60 days from today", who=None, id="payer-promise-too-far-ahead"),
    case("portal.promise", "promise-promise_date", {"promise-promise_date": PAST},
         "This day is in the past; choose today or a later day.", who=None, id="payer-promise-in-the-past"),
    # outbox: the decision is the button pressed; a forged one is said above the buttons
    case("outbox.resolve", "#problem", {"action": "explode"},
         "That decision is not possible.", id="resolve-decision-forged"),
]  # fmt: skip


def snapshot(world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (what "changes nothing" is checked against)."""
    with world.sessions() as session:
        return {
            table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables
        }


def message_beside(page: str, field: str) -> str | None:
    """The text of the element the templates show ``field``'s errors in, if any."""
    ids = [field[1:]] if field.startswith("#") else [f"{field}-error", f"{field}-errors"]
    for element_id in ids:
        found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', page, re.S)
        if found:
            return unescape(re.sub(r"<[^>]+>", " ", found.group(2)))
    return None


@pytest.fixture
def form_world(world: World, objects: dict[str, dict[str, int]]) -> World:
    """The personas' world with a ledger, CSRF off, and a reset link and an invitation to open."""
    world.app.config["WTF_CSRF_ENABLED"] = False
    with world.sessions.begin() as session:
        firm_id = session.scalar(select(User).where(User.id == world.users["alice"])).memberships[0].firm_id
        token, digest = links.new_invitation_token()
        session.add(
            Invitation(
                firm_id=firm_id,
                email="dora@example.test",
                role=Role.VIEWER.value,
                token_hash=digest,
                invited_by_id=world.users["alice"],
                created_at=NOW,
                expires_at=NOW + timedelta(days=7),
            )
        )
        # The payer's page speaks the customer's language: English here, like the rest of the table.
        session.execute(update(Customer).values(language="en"))
    with world.app.test_request_context():
        reset = links.reset_token(world.users["alice"], password_mark(None))
    rt = world.runtime
    payer = portal_links(rt.settings.session_secret, rt.settings.public_url).token(
        world.orgs["A"], objects["A"]["customer_id"], today=NOW.date()
    )
    world.app.config["TEST_TOKENS"] = {"accounts.reset": reset, "accounts.accept_invite": token}
    world.app.config["TEST_TOKENS"].update({f"portal.{name}": payer for name in ("paid", "dispute", "promise")})
    world.app.config["TEST_OBJECTS"] = objects
    return world


def _values(world: World, endpoint: str) -> dict[str, object]:
    objects = world.app.config["TEST_OBJECTS"]
    token = world.app.config["TEST_TOKENS"].get(endpoint, VALUES["token"])
    return {**VALUES, **objects["A"], "org_id": world.orgs["A"], "token": token}


def _fill(world: World, data: dict[str, str]) -> dict[str, str]:
    """Put ids into the posted values: ``{alice}``, ``{charlie}``, ``{invoice}``, ``{foreign_invoice}``."""
    names = {f"{{{k}}}": str(v) for k, v in world.users.items()}
    names["{invoice}"] = str(world.app.config["TEST_OBJECTS"]["A"]["invoice_id"])
    names["{foreign_invoice}"] = str(world.app.config["TEST_OBJECTS"]["B"]["invoice_id"])
    return {key: names.get(value, value) for key, value in data.items()}


@pytest.mark.parametrize(("endpoint", "field", "data", "message", "who"), CASES)
def test_wrong_value_is_refused_beside_its_field(
    form_world: World, endpoint: str, field: str, data: dict[str, str], message: str, who: str | None
) -> None:
    world = form_world
    rule = next(r for r in _rules(world.app) if r.endpoint == endpoint)
    before = snapshot(world)
    response = world.client(who).post(_url(rule, _values(world, endpoint)), data=_fill(world, data))
    page = response.get_data(as_text=True)
    assert response.status_code == 400, (response.status_code, page[:300])
    if field == ON_THE_PAGE:
        assert message in unescape(page)
    else:
        beside = message_beside(page, field)
        assert beside is not None, f"no message beside {field}"
        assert message in beside, beside
    assert snapshot(world) == before, "a refused form changed the store"


@pytest.mark.parametrize(
    ("endpoint", "data"),
    [
        pytest.param("accounts.language", {"locale": "fr"}, id="language-forged"),
        pytest.param("cadence.switch", {"state": "maybe"}, id="switch-state-forged"),
    ],
)
def test_forged_hidden_value_is_refused(form_world: World, endpoint: str, data: dict[str, str]) -> None:
    rule = next(r for r in _rules(form_world.app) if r.endpoint == endpoint)
    before = snapshot(form_world)
    response = form_world.client("alice").post(_url(rule, _values(form_world, endpoint)), data=data)
    assert response.status_code == 400
    assert snapshot(form_world) == before


def test_every_form_is_tried_or_has_nothing_to_type(world: World) -> None:
    posts = {r.endpoint for r in _rules(world.app) if "POST" in (r.methods or set())} - EXEMPT
    tried = {p.values[0] for p in CASES}
    assert posts - tried - set(NOTHING_TO_TYPE) == set(), "add a wrong value for these forms to CASES"
    assert (tried | set(NOTHING_TO_TYPE)) - posts == set(), "these entries name no form any more"


def test_a_right_value_goes_through(form_world: World) -> None:
    """The table is not vacuous: the same post with the value corrected is accepted."""
    world = form_world
    org = world.orgs["A"]
    response = world.client("alice").post(f"/orgs/{org}/settings", data=SETTINGS)
    assert response.status_code == 302
    objects = world.app.config["TEST_OBJECTS"]["A"]
    url = f"/orgs/{org}/customers/{objects['customer_id']}/exclude"
    assert world.client("alice").post(url, data={"exclude-reason": "insolvent"}).status_code == 302
