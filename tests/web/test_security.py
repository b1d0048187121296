"""Security of the web tier: the headers every response carries, the session cookie's flags, and
no secret in any page or log.

The last one is proven on a real connection: the QuickBooks sandbox company is connected through
the OAuth flow (tokens stored, encrypted), synced, and every GET page is then fetched over HTTP
by its admin with every logger at DEBUG; none of the access token, refresh token, client secret,
session secret, encryption keys, password (or its hash) or webhook key may appear in a page body
or a log record.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

import tests.contract.harness as harness_module
from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import Connection, Membership, Organisation, User
from connector.portal import portal_links
from connector.runtime import build_runtime
from connector.tokens import TokenStore
from tests.contract.quickbooks import QuickBooksHarness
from tests.personas import NOW, World, make_world
from tests.web.conftest import seed_objects
from tests.web.test_access import VALUES, _rules, _url
from web.accounts.signin import hash_password

# -- headers ---------------------------------------------------------------------------------


def _directives(csp: str) -> dict[str, list[str]]:
    parts = (d.split() for d in csp.split(";") if d.strip())
    return {p[0].lower(): p[1:] for p in parts}


def _pages(world: World, objects: dict[str, dict[str, int]]) -> list[str]:
    values = {**VALUES, **objects["A"], "org_id": world.orgs["A"]}
    return [_url(r, values) for r in _rules(world.app) if "GET" in (r.methods or set()) and r.endpoint != "static"]


def test_every_page_carries_the_security_headers(world: World, objects: dict[str, dict[str, int]]) -> None:
    client = world.client("alice")
    for url in [*_pages(world, objects), "/static/app.css", "/no-such-page"]:
        response = client.get(url)
        response.close()
        csp = _directives(response.headers.get("Content-Security-Policy", ""))
        scripts = csp.get("script-src", csp.get("default-src"))
        assert scripts is not None, (url, "no script policy")
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts), (url, scripts)
        assert csp.get("frame-ancestors") in (["'none'"], ["'self'"]), url
        assert response.headers.get("X-Frame-Options") in {"DENY", "SAMEORIGIN"}, url
        assert response.headers.get("X-Content-Type-Options") == "nosniff", url
        assert response.headers.get("Referrer-Policy") in {"no-referrer", "same-origin", "strict-origin"}, url


def test_pages_need_no_inline_script(world: World, objects: dict[str, dict[str, int]]) -> None:
    """The CSP forbids inline scripts, so a page with one would be broken: there is none."""
    client = world.client("alice")
    for url in _pages(world, objects):
        response = client.get(url)
        if response.mimetype != "text/html":
            continue
        lowered = response.get_data(as_text=True).lower()
        assert "<script>" not in lowered and "javascript:" not in lowered, url
        assert not any(f" on{event}=" in lowered for event in ("click", "load", "submit", "change", "error")), url


@pytest.mark.parametrize(
    ("mode", "secure"),
    [pytest.param("production", True, id="production-secure"), pytest.param("test", False, id="local-http")],
)
def test_session_cookie_flags(env: dict[str, str], sqlite_url: str, mode: str, secure: bool) -> None:
    from connector.db.session import upgrade

    upgrade(sqlite_url)
    settings = load_settings({**env, "ARCADENCE_ENV": mode})
    runtime = build_runtime(settings, configs={}, clock=FixedClock(NOW))
    try:
        world = make_world(runtime)
        response = world.app.test_client().get("/login")  # the sign-in form puts its CSRF token in the session
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=lax" in flags
        assert ("secure" in flags) is secure
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert (hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31536000) is secure
        assert world.app.config["REMEMBER_COOKIE_SECURE"] is secure and world.app.config["REMEMBER_COOKIE_HTTPONLY"]
    finally:
        runtime.close()


# -- no secret in any page or log --------------------------------------------------------------

SESSION_SECRET = "session-" + secrets.token_urlsafe(24)
PASSWORD = "correct horse " + secrets.token_urlsafe(12)


@pytest.fixture
def connected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[QuickBooksHarness]:
    """The sandbox company connected and synced, every logger at DEBUG from the first request."""
    caplog.set_level(logging.DEBUG)
    real = harness_module.load_settings
    monkeypatch.setattr(
        harness_module, "load_settings", lambda env: real({**env, "ARCADENCE_SESSION_SECRET": SESSION_SECRET})
    )
    qbo = QuickBooksHarness(
        tmp_path,
        FixedClock(NOW),
        client_secret="client-secret-" + secrets.token_urlsafe(16),
        webhook_verifier="webhook-key-" + secrets.token_urlsafe(16),
        customers=16,
        invoices=60,
    )
    try:
        qbo.connect()
        qbo.sync(full=True)
        yield qbo
    finally:
        qbo.close()


def _secrets(qbo: QuickBooksHarness) -> dict[str, str]:
    rt = qbo.runtime
    with rt.sessions.begin() as session:
        connection = session.scalars(select(Connection)).one()
        tokens = TokenStore(rt.cipher).load(connection)
        user = session.scalars(select(User)).one()
        user.password_hash = hash_password(PASSWORD)
        found = {
            "access token": tokens.access_token,
            "refresh token": tokens.refresh_token,
            "client secret": qbo.sandbox.client_secret,
            "webhook key": qbo.sandbox.webhook_verifier,
            "session secret": rt.settings.session_secret,
            "password": PASSWORD,
            "password hash": user.password_hash,
        }
    for n, key in enumerate(rt.settings.secret_keys):
        found[f"encryption key {n}"] = key.decode()
    assert found["session secret"] == SESSION_SECRET
    assert all(len(value) >= 16 for value in found.values()), "a secret too short to search for"
    return found


def _walk(qbo: QuickBooksHarness) -> dict[str, str]:
    """Every GET page of the app as the admin who connected (ids of a seeded object of each kind)."""
    rt = qbo.runtime
    org_id = qbo.server.organisation_id("quickbooks")
    values: dict[str, object] = {**VALUES, **seed_objects(rt.sessions, org_id, "S"), "org_id": org_id}
    # The payer's pages (/pay/<token>) with a genuine link for the seeded customer.
    links = portal_links(rt.settings.session_secret, rt.settings.public_url)
    values["token"] = links.token(org_id, int(values["customer_id"]), today=NOW.date())
    with rt.sessions.begin() as session:
        session.execute(update(Organisation).values(sender_email="ar@example.test"))
        firm = session.scalar(select(Membership.firm_id))
    from web import create_app

    app = create_app({"TESTING": True}, runtime=rt)
    pages = {}
    for rule in _rules(app):
        if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
            continue
        url = _url(rule, values)
        for query in ("", f"?firm={firm}"):
            response = qbo.http.get(f"{qbo.app_url}{url}{query}", timeout=30)
            assert response.status_code < 500, (url, response.status_code)
            pages[url + query] = response.text
    return pages


def test_no_secret_in_any_page_or_log(connected: QuickBooksHarness, caplog: pytest.LogCaptureFixture) -> None:
    known = _secrets(connected)
    pages = _walk(connected)
    assert "QuickBooks" in pages[f"/orgs/{connected.server.organisation_id('quickbooks')}/settings"]
    assert "S Kunde GmbH" in next(body for url, body in pages.items() if url.startswith("/pay/")), "the payer's page"
    assert len(pages) > 40, len(pages)
    records = caplog.get_records("setup") + caplog.records
    assert len(records) > 10, "the logs were captured at DEBUG"
    logs = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records]
    for name, secret in known.items():
        leaked_in = [url for url, body in pages.items() if secret in body]
        assert not leaked_in, f"the {name} appears on {leaked_in}"
        logged = [line[:200] for line in logs if secret in line]
        assert not logged, f"the {name} appears in the logs: {logged}"
