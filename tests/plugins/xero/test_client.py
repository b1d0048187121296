"""The Xero client and platform against the sandbox over real HTTP: OAuth with PKCE, tenants,
paging, If-Modified-Since, IDs=, OnlineInvoice, History, errors."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connector.clock import FixedClock
from connector.errors import AuthRevoked, RateLimited, TemporaryFailure
from connector.platform import Entity, OrgAccess, Platform, PlatformConfig
from connector.ratelimit import RateLimiter
from connector.sandboxkit import pkce_challenge
from connector.tokens import TokenSet
from core.model import Invoice
from plugins.xero.client import HISTORY_LIMIT, PAGE_SIZE, http_date, parse_json
from plugins.xero.platform import XeroPlatform
from plugins.xero.sandbox import XeroSandbox

REDIRECT = "http://127.0.0.1:9/connect/xero/callback"


class _Tokens:
    """A token source that refreshes through the platform and remembers the newest set."""

    def __init__(self, platform: XeroPlatform, tokens: TokenSet) -> None:
        self.platform, self.tokens, self.refreshes = platform, tokens, 0

    def current(self) -> TokenSet:
        return self.tokens

    def refreshed(self, stale: TokenSet) -> TokenSet:
        self.refreshes += 1
        self.tokens = self.platform.refresh(stale, now=datetime.now(UTC))
        return self.tokens


@pytest.fixture
def platform(xero_sandbox: XeroSandbox, xero_clock: FixedClock) -> Iterator[XeroPlatform]:
    config = PlatformConfig(
        client_id=xero_sandbox.client_id,
        client_secret=xero_sandbox.client_secret,
        redirect_uri=REDIRECT,
        identity_url=xero_sandbox.identity_url,
        api_base=xero_sandbox.api_base,
        webhook_key=xero_sandbox.webhook_key,
    )
    limiter = RateLimiter(
        per_minute=55, burst=5, clock=xero_clock, sleep=lambda s: xero_clock.advance(timedelta(seconds=s))
    )
    yield XeroPlatform(config, clock=xero_clock, limiter=limiter)


def _connect(platform: XeroPlatform, sandbox: XeroSandbox, *, sign_in: bool = True) -> Any:
    verifier = secrets.token_urlsafe(48)
    url = platform.authorize_url(redirect_uri=REDIRECT, state="st-1", code_verifier=verifier, sign_in=sign_in)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == [pkce_challenge(verifier)] and query["code_challenge_method"] == ["S256"]
    answer = requests.get(url + "&auto=1", allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert params["state"] == "st-1"
    return platform.exchange_code(
        code=params["code"], redirect_uri=REDIRECT, code_verifier=verifier, callback_params=params,
        sign_in=sign_in, now=datetime.now(UTC),
    )  # fmt: skip


@pytest.fixture
def grant(platform: XeroPlatform, xero_sandbox: XeroSandbox) -> Any:
    return _connect(platform, xero_sandbox)


@pytest.fixture
def access(platform: XeroPlatform, grant: Any, xero_sandbox: XeroSandbox) -> OrgAccess:
    return OrgAccess(xero_sandbox.tenant_ids[0], _Tokens(platform, grant.tokens), base_currency="GBP")


def test_the_platform_is_a_platform_with_production_defaults(platform: XeroPlatform) -> None:
    assert isinstance(platform, Platform)
    assert XeroPlatform.implemented and XeroPlatform.name == "xero"
    assert XeroPlatform.defaults["api_base"] == "https://api.xero.com/api.xro/2.0"
    assert len(XeroPlatform.entities) == 6 and XeroPlatform.entities[0] is Entity.CUSTOMER


def test_authorize_url_asks_for_offline_access_and_openid_only_for_sign_in(platform: XeroPlatform) -> None:
    url = platform.authorize_url(redirect_uri=REDIRECT, state="s", code_verifier="v" * 43, sign_in=False)
    scopes = parse_qs(urlsplit(url).query)["scope"][0].split()
    assert "offline_access" in scopes and "accounting.invoices" in scopes and "openid" not in scopes
    url = platform.authorize_url(redirect_uri=REDIRECT, state="s", code_verifier="v" * 43, sign_in=True)
    assert {"openid", "email", "profile"} <= set(parse_qs(urlsplit(url).query)["scope"][0].split())


def test_exchange_gives_one_organisation_per_tenant_and_the_person(grant: Any, xero_sandbox: XeroSandbox) -> None:
    assert [o.external_id for o in grant.organisations] == xero_sandbox.tenant_ids
    main, irish = grant.organisations
    assert (main.country, main.base_currency, main.timezone) == ("GB", "GBP", "Europe/London")
    assert (irish.country, irish.base_currency, irish.timezone) == ("IE", "EUR", "Europe/Dublin")
    assert main.connection_ref and main.name
    assert grant.user_email == xero_sandbox.user["email"] and grant.user_name == "Maeve Hollis"
    assert grant.grant_ref and grant.tokens.refresh_token and grant.tokens.refresh_expires_at


def test_refresh_rotates_and_revoke_ends_the_grant(platform: XeroPlatform, grant: Any) -> None:
    fresh = platform.refresh(grant.tokens, now=datetime.now(UTC))
    assert fresh.refresh_token != grant.tokens.refresh_token and fresh.id_token == grant.tokens.id_token
    platform.revoke(fresh)
    with pytest.raises(AuthRevoked):
        platform.refresh(fresh, now=datetime.now(UTC))


def test_a_token_endpoint_outage_is_temporary(platform: XeroPlatform, grant: Any, xero_sandbox: XeroSandbox) -> None:
    xero_sandbox.inject_fault("/connect/token", status=503)
    with pytest.raises(TemporaryFailure):
        platform.refresh(grant.tokens, now=datetime.now(UTC))


def test_disconnecting_one_tenant_keeps_the_other(platform: XeroPlatform, grant: Any) -> None:
    platform.disconnect_tenant(grant.tokens, grant.organisations[1].connection_ref)
    assert [o.external_id for o in platform.list_organisations(grant.tokens)] == [grant.organisations[0].external_id]


def test_a_full_read_pages_everything_and_maps_terms_without_a_pay_link_call(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    pages = list(platform.fetch_changes(access, {Entity.CUSTOMER: None, Entity.INVOICE: None}))
    invoices = [f for p in pages if p.entity is Entity.INVOICE for f in p.records if isinstance(f.record, Invoice)]
    assert len(invoices) >= 300 and all(p.cursor is not None for p in pages)
    opened = [f.record for f in invoices if f.record.status.value == "open"]  # type: ignore[union-attr]
    assert opened and not any(r.pay_url for r in opened)  # type: ignore[union-attr]
    assert xero_sandbox.call_counts().get("api_online_invoice", 0) == 0  # links wait for a reminder (issue 7)
    assert {r.terms for r in opened} <= {"14 days after the invoice date", "30 days after the invoice date"}  # type: ignore[union-attr]
    assert xero_sandbox.call_details()["list:Invoices"] == 1  # 320 invoices: one page of 1,000


def test_an_incremental_read_sends_if_modified_since_and_sees_a_payment(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    cursor = next(iter(platform.fetch_changes(access, {Entity.INVOICE: None}))).cursor
    assert cursor is not None
    idle = list(platform.fetch_changes(access, {Entity.PAYMENT: cursor + timedelta(minutes=10)}))
    assert [len(p.records) for p in idle] == [0]
    rows = xero_sandbox.records("Invoices")
    invoice = next(r["InvoiceID"] for r in rows if r["Status"] == "AUTHORISED" and Decimal(r["AmountDue"]) > 10)
    xero_sandbox.advance_clock(minutes=10)
    xero_sandbox.apply_payment(invoice, "10.00")
    pages = list(platform.fetch_changes(access, {Entity.INVOICE: cursor, Entity.PAYMENT: cursor}))
    changed = {f.external_id for p in pages for f in p.records}
    assert invoice in changed and len(changed) < 50


def test_fetch_invoices_reports_unknown_ids_as_deleted(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    ids = [r["InvoiceID"] for r in xero_sandbox.records("Invoices") if r["Type"] == "ACCREC"][:60]
    gone = "00000000-0000-0000-0000-00000000abcd"
    xero_sandbox.reset_call_counts()
    fetched = platform.fetch_invoices(access, [*ids, gone])
    assert [f.external_id for f in fetched] == [*ids, gone] and fetched[-1].deleted
    assert xero_sandbox.call_details()["list:Invoices"] == 2  # 61 ids: 50 + 11


def test_pay_now_url_is_none_for_drafts_and_cached(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    rows = [r for r in xero_sandbox.records("Invoices") if r["Type"] == "ACCREC"]
    draft = next(r["InvoiceID"] for r in rows if r["Status"] == "DRAFT")
    opened = next(r["InvoiceID"] for r in rows if r["Status"] == "AUTHORISED")
    assert platform.pay_now_url(access, draft) is None
    url = platform.pay_now_url(access, opened)
    assert url and url.startswith("http")
    before = xero_sandbox.call_details()["total"]
    assert platform.pay_now_url(access, opened) == url and xero_sandbox.call_details()["total"] == before


def test_write_note_is_idempotent_and_shortened_to_250(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    invoice = next(r["InvoiceID"] for r in xero_sandbox.records("Invoices") if r["Status"] == "AUTHORISED")
    for _ in range(2):
        platform.write_note(access, invoice, "x" * 300, idempotency_key="k-1")
    history = requests.get(f"{xero_sandbox.api_base}/Invoices/{invoice}/History", timeout=10, headers={
        "Authorization": f"Bearer {access.tokens.current().access_token}", "Accept": "application/json",
        "xero-tenant-id": access.external_id})  # fmt: skip
    notes = [h["Details"] for h in history.json()["HistoryRecords"] if h.get("Changes") == "Note"]
    assert len(notes) == 1 and len(notes[0]) == HISTORY_LIMIT


def test_an_expired_access_token_is_refreshed_once(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox
) -> None:
    xero_sandbox.expire_access_tokens()
    assert list(platform.fetch_changes(access, {Entity.PAYMENT: None}))
    assert access.tokens.refreshes == 1  # type: ignore[attr-defined]


def test_a_daily_limit_429_parks_the_tenant_without_sleeping(
    platform: XeroPlatform, access: OrgAccess, xero_sandbox: XeroSandbox, xero_clock: FixedClock
) -> None:
    xero_sandbox.inject_fault("/api.xro/2.0/Payments", status=429, problem="day", retry_after=40000)
    start = xero_clock.now()
    with pytest.raises(RateLimited) as caught:
        list(platform.fetch_changes(access, {Entity.PAYMENT: None}))
    assert caught.value.retry_after == 40000 and xero_clock.now() - start < timedelta(minutes=1)


def test_webhooks_verify_and_intent_to_receive_parses_to_nothing(
    platform: XeroPlatform, xero_sandbox: XeroSandbox
) -> None:
    import base64
    import hashlib
    import hmac

    body = b'{"events":[],"firstEventSequence": 0,"lastEventSequence": 0, "entropy": "NLDZEGWUXNHESAQVGLYF"}'
    good = base64.b64encode(hmac.new(xero_sandbox.webhook_key.encode(), body, hashlib.sha256).digest()).decode()
    assert platform.verify_webhook(body, {"X-Xero-Signature": good})
    assert not platform.verify_webhook(body, {"X-Xero-Signature": "AAAA" + good[4:]})
    assert platform.parse_webhook(body) == []


def test_helpers() -> None:
    assert http_date(datetime(2026, 3, 10, 8, 30, 5, 999, tzinfo=UTC)) == "Tue, 10 Mar 2026 08:30:05 GMT"
    assert parse_json(b'{"Total": 10.50}')["Total"] == Decimal("10.50")
    assert PAGE_SIZE == 1000
