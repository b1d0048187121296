"""Every route of the firm UI, walked as alice (admin of org A), bob (collector, then viewer, in
org A), charlie (admin in another firm) and an anonymous visitor.

``ACCESS`` says who may use each endpoint; a route missing from it fails the suite, so a new view
cannot ship without saying who may see it. Organisation routes are also walked by alice with the
ids of the other firm's objects in an org-A URL (a forged id): 404, and logged.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.routing import Rule

from connector.db import Membership, Role
from tests.personas import World

PUBLIC = "public"
"""Anyone, signed in or not (landing page, OAuth start and callback, webhooks)."""
SIGNED_IN = "signed_in"
"""Any signed-in user; no organisation in the URL."""
FIRM_ADMIN = "firm_admin"
"""An admin of the user's firm (members, roles, invitations); the firm is the user's own, or
``?firm=<id>`` of a firm they belong to."""
VIEWER, COLLECTOR, ADMIN = Role.VIEWER.value, Role.COLLECTOR.value, Role.ADMIN.value

#: Who may use each endpoint. Keep it in the order of ``web.AREAS``.
ACCESS: dict[str, str] = {
    "static": PUBLIC,
    # home
    "home.index": PUBLIC,
    # dashboard
    "dashboard.org_dashboard": VIEWER,
    "dashboard.firm_dashboard": SIGNED_IN,
    # auth / accounts
    "auth.logout": SIGNED_IN,
    "accounts.login": PUBLIC,
    "accounts.reset_request": PUBLIC,
    "accounts.reset": PUBLIC,
    "accounts.language": PUBLIC,
    "accounts.accept_invite": PUBLIC,
    "accounts.members": SIGNED_IN,
    "accounts.invite": FIRM_ADMIN,
    "accounts.change_role": FIRM_ADMIN,
    "accounts.remove_member": FIRM_ADMIN,
    # connect
    "connect.start": PUBLIC,
    "connect.callback": PUBLIC,
    # orgs
    "orgs.disconnect_org": ADMIN,
    # settings
    "settings.organisations": SIGNED_IN,
    "settings.edit": VIEWER,
    "settings.save": ADMIN,
    # cadence
    "cadence.index": VIEWER,
    "cadence.preview_policy": VIEWER,
    "cadence.create": ADMIN,
    "cadence.edit": ADMIN,
    "cadence.switch": ADMIN,
    "cadence.customer": ADMIN,
    # messages
    "messages.index": VIEWER,
    "messages.edit": VIEWER,
    "messages.save": ADMIN,
    "messages.reset": ADMIN,
    # ledger
    "ledger.customers": VIEWER,
    "ledger.invoices": VIEWER,
    "ledger.customer": VIEWER,
    "ledger.invoice": VIEWER,
    "ledger.pause_customer": COLLECTOR,
    "ledger.pause_invoice": COLLECTOR,
    "ledger.lift_pause": COLLECTOR,
    "ledger.exclude_customer": COLLECTOR,
    "ledger.include_customer": COLLECTOR,
    "ledger.set_owner": COLLECTOR,
    "ledger.add_note": COLLECTOR,
    "ledger.log_call": COLLECTOR,
    # exports
    "exports.customers": VIEWER,
    "exports.invoices": VIEWER,
    "exports.activity": VIEWER,
    "exports.aging": VIEWER,
    "statements.customer_pdf": VIEWER,
    "statements.customer_html": VIEWER,
    # tasks
    "tasks.index": VIEWER,
    "tasks.task": VIEWER,
    "tasks.assign": COLLECTOR,
    "tasks.set_due": COLLECTOR,
    "tasks.done": COLLECTOR,
    "tasks.reopen": COLLECTOR,
    "tasks.mine": SIGNED_IN,
    # outbox
    "outbox.index": VIEWER,
    "outbox.message": VIEWER,
    "outbox.message_html": VIEWER,
    "outbox.resolve": COLLECTOR,
    # health
    "health.healthz": PUBLIC,
    "health.org_status": VIEWER,
    # portal (the payer's signed link is the key: no account)
    "portal.page": PUBLIC,
    "portal.paid": PUBLIC,
    "portal.dispute": PUBLIC,
    "portal.promise": PUBLIC,
    "portal.statement_pdf": PUBLIC,
    "portal.statement_html": PUBLIC,
    # webhooks
    "webhooks.deliver": PUBLIC,
}

#: Values for URL arguments that are not object ids.
VALUES: dict[str, str] = {
    "name": "quickbooks",
    "filename": "missing.css",
    "token": "not-a-real-token",
    # messages: a template is addressed by its key, language and channel
    "template_key": "friendly_reminder",
    "language": "de",
    "channel": "email",
}

RANK = {VIEWER: 0, COLLECTOR: 1, ADMIN: 2}
#: Object ids come from ``tests/web/conftest.py::seed_objects``.
ID_ARGUMENTS = {"customer_id", "invoice_id", "policy_id", "task_id", "message_id", "pause_id", "template_id"}


def _rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint)


def _url(rule: Rule, values: dict[str, object]) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.endpoint}: add a value for URL argument(s) {sorted(missing)} to the access test"
    path = rule.rule
    for name in rule.arguments:
        converter = rule._converters[name]  # the converter tells how the argument is written
        written = converter.to_url(values[name])
        path = path.replace(f"<{name}>", written).replace(f"<int:{name}>", written)
        path = path.replace(f"<path:{name}>", written).replace(f"<string:{name}>", written)
    return path


def _methods(rule: Rule) -> list[str]:
    return sorted(m for m in (rule.methods or set()) if m in {"GET", "POST"})


def test_every_route_says_who_may_use_it(world: World) -> None:
    endpoints = {rule.endpoint for rule in _rules(world.app)}
    assert endpoints - set(ACCESS) == set(), "add these endpoints to ACCESS in tests/web/test_access.py"
    assert set(ACCESS) - endpoints == set(), "these ACCESS entries name no route any more"


def _org_rules(app: Flask) -> list[str]:
    return [r.endpoint for r in _rules(app) if ACCESS.get(r.endpoint) in RANK]


def _walk(world: World, who: str | None, url: str, method: str) -> int:
    client = world.client(who)
    response = client.get(url) if method == "GET" else client.post(url, data={})
    return response.status_code


@pytest.fixture
def app_without_csrf(world: World) -> World:
    """CSRF is its own test (tests/web/test_csrf.py); here every POST reaches its view."""
    world.app.config["WTF_CSRF_ENABLED"] = False
    return world


@pytest.mark.parametrize("endpoint", [e for e, who in ACCESS.items() if who in RANK])
def test_organisation_route(
    app_without_csrf: World, objects: dict[str, dict[str, int]], endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    world = app_without_csrf
    rule = next(r for r in _rules(world.app) if r.endpoint == endpoint)
    assert "org_id" in rule.arguments, f"{endpoint} is an organisation route but has no org_id in its URL"
    needed = RANK[ACCESS[endpoint]]
    own = {**VALUES, **objects["A"], "org_id": world.orgs["A"]}
    foreign_org = {**VALUES, **objects["B"], "org_id": world.orgs["B"]}
    for method in _methods(rule):
        url = _url(rule, own)
        # Anonymous: sent to sign in or told nothing.
        assert _walk(world, None, url, method) in {302, 401, 404}, (method, url)
        # Another firm's admin, on our organisation: 404, and the attempt is logged.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="web.auth"):
            assert _walk(world, "charlie", url, method) == 404, (method, url)
        assert any("outside their firms" in r.getMessage() for r in caplog.records), "a forged org id is logged"
        # Bob as viewer, then as collector: 403 below the role, through above it.
        for role in (VIEWER, COLLECTOR):
            _set_role(world, "bob", role)
            status = _walk(world, "bob", url, method)
            if RANK[role] < needed:
                assert status == 403, (role, method, url, status)
            else:
                assert status not in {403, 404} and status < 500, (role, method, url, status)
        # Alice, the admin, with a forged object id of the other firm in her own organisation's URL.
        if set(rule.arguments) & ID_ARGUMENTS:
            forged = {**foreign_org, "org_id": world.orgs["A"]}
            assert _walk(world, "alice", _url(rule, forged), method) == 404, (method, "forged object id")
        # Alice, the admin: through (last, since a POST may change state).
        status = _walk(world, "alice", url, method)
        assert status not in {403, 404} and status < 500, (method, url, status)


@pytest.mark.parametrize("endpoint", [e for e, who in ACCESS.items() if who == SIGNED_IN])
def test_signed_in_route(app_without_csrf: World, endpoint: str) -> None:
    world = app_without_csrf
    rule = next(r for r in _rules(world.app) if r.endpoint == endpoint)
    for method in _methods(rule):
        url = _url(rule, VALUES)
        assert _walk(world, None, url, method) in {302, 401}, (method, url)
        for who in ("charlie", "bob", "alice"):
            status = _walk(world, who, url, method)
            assert status not in {401, 403, 404} and status < 500, (who, method, url, status)


@pytest.mark.parametrize("endpoint", [e for e, who in ACCESS.items() if who == FIRM_ADMIN])
def test_firm_admin_route(app_without_csrf: World, endpoint: str) -> None:
    world = app_without_csrf
    rule = next(r for r in _rules(world.app) if r.endpoint == endpoint)
    with world.sessions() as session:
        firm_a = session.scalar(select(Membership.firm_id).where(Membership.user_id == world.users["alice"]))
    for method in _methods(rule):
        url = _url(rule, VALUES)
        assert _walk(world, None, url, method) in {302, 401}, (method, url)
        for role in (VIEWER, COLLECTOR):
            _set_role(world, "bob", role)
            assert _walk(world, "bob", url, method) == 403, (role, method, url)
        # Another firm's admin, asking for alice's firm: told nothing.
        assert _walk(world, "charlie", f"{url}?firm={firm_a}", method) == 404, (method, url)
        for who in ("charlie", "alice"):
            status = _walk(world, who, url, method)
            assert status not in {401, 403, 404} and status < 500, (who, method, url, status)


def _set_role(world: World, who: str, role: str) -> None:
    with world.sessions.begin() as session:
        session.execute(update(Membership).where(Membership.user_id == world.users[who]).values(role=role))
