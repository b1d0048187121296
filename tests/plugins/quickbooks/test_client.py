"""The QuickBooks client seam: each known SDK trap, checked on what goes over the wire.

``responses`` records the requests (no sandbox needed to see a header or a query string); the
behaviour against a stateful QBO is covered by the contract suite on the sandbox.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from connector.clock import FixedClock
from connector.errors import AuthRevoked, PlatformError, TemporaryFailure
from connector.platform import Entity, OrgAccess, PlatformConfig
from connector.ratelimit import RateLimiter
from connector.tokens import TokenSet
from plugins.quickbooks.client import request_id
from plugins.quickbooks.platform import QuickBooksPlatform

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
API = "https://qbo.test/v3"
DISCOVERY = "https://oauth.test/.well-known/openid_configuration"
REALM = "4620816365"
TOKENS = TokenSet("access-secret", "refresh-secret", NOW + timedelta(hours=1))
DOC = {
    "issuer": "https://oauth.test/op/v1",
    "authorization_endpoint": "https://oauth.test/connect/oauth2",
    "token_endpoint": "https://oauth.test/oauth2/v1/tokens/bearer",
    "revocation_endpoint": "https://oauth.test/oauth2/v1/tokens/revoke",
    "userinfo_endpoint": "https://oauth.test/v1/openid_connect/userinfo",
    "jwks_uri": "https://oauth.test/op/v1/jwks",
}


class Tokens:
    def __init__(self) -> None:
        self.refreshes = 0

    def current(self) -> TokenSet:
        return TOKENS

    def refreshed(self, stale: TokenSet) -> TokenSet:
        self.refreshes += 1
        return TOKENS


def _platform() -> QuickBooksPlatform:
    clock = FixedClock(NOW)
    limiter = RateLimiter(per_minute=500, burst=10, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s)))
    config = PlatformConfig(
        client_id="cid",
        client_secret="csecret",
        redirect_uri="https://app.test/cb",
        identity_url=DISCOVERY,
        api_base=API,
        webhook_key="verifier",
    )
    return QuickBooksPlatform(config, clock=clock, limiter=limiter)


ORG = OrgAccess(REALM, Tokens(), base_currency="USD")


def _invoice(iid: str, balance: str = "100.00") -> dict[str, object]:
    return {
        "Id": iid,
        "SyncToken": "0",
        "DocNumber": f"10{iid}",
        "TxnDate": "2026-01-15",
        "DueDate": "2026-02-14",
        "TotalAmt": 100.00,
        "Balance": float(balance),
        "CustomerRef": {"value": "1"},
        "CurrencyRef": {"value": "USD"},
        "MetaData": {"LastUpdatedTime": "2026-03-09T10:00:00-08:00"},
        "InvoiceLink": f"https://pay.test/{iid}",
    }


@responses.activate
def test_building_the_api_client_makes_no_token_call() -> None:
    # python-quickbooks refreshes (and rotates) inside its constructor when given an auth client
    # without an access token (notes §1.2, PQ #392): our client never gives it one.
    responses.post(
        f"{API}/company/{REALM}/query", json={"QueryResponse": {"Invoice": []}, "time": "2026-03-10T00:00:00-08:00"}
    )
    list(_platform().fetch_changes(ORG, {Entity.INVOICE: None}))
    assert {urlsplit(c.request.url).path for c in responses.calls} == {f"/v3/company/{REALM}/query"}  # Term, Invoice


@responses.activate
def test_every_call_sends_minorversion_75_and_parses_amounts_as_decimal() -> None:
    responses.post(
        f"{API}/company/{REALM}/query",
        body='{"QueryResponse": {"Invoice": ['
        + json.dumps(_invoice("7", "33.10"))
        + ']}, "time": "2026-03-10T00:00:00-08:00"}',
    )
    page = next(_platform().fetch_changes(ORG, {Entity.INVOICE: None}))
    queries = [parse_qs(urlsplit(c.request.url).query) for c in responses.calls]
    assert len(queries) == 2 and all(q["minorversion"] == ["75"] for q in queries)  # Term, then Invoice
    assert queries[-1]["include"] == ["invoiceLink"]
    record = page.records[0].record
    assert record.balance.amount == Decimal("33.10") and isinstance(record.balance.amount, Decimal)  # type: ignore[union-attr]


@responses.activate
def test_cdc_keeps_the_time_zone_of_the_cursor() -> None:
    # The SDK formats a datetime without its offset (notes §1.5): we pass an ISO string with it.
    responses.get(
        f"{API}/company/{REALM}/cdc",
        json={"CDCResponse": [{"QueryResponse": [{}]}], "time": "2026-03-10T00:00:00-08:00"},
    )
    responses.post(
        f"{API}/company/{REALM}/query", json={"QueryResponse": {"Term": []}, "time": "2026-03-10T00:00:00-08:00"}
    )
    cursor = datetime(2026, 3, 9, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    platform = _platform()
    list(platform.fetch_changes(ORG, {Entity.CUSTOMER: cursor, Entity.INVOICE: cursor}))
    cdc = [c for c in responses.calls if urlsplit(c.request.url).path.endswith("/cdc")]
    assert len(cdc) == 1  # one CDC call for every entity, payment terms included
    query = parse_qs(urlsplit(cdc[0].request.url).query)
    assert query["changedSince"] == ["2026-03-09T12:00:00+01:00"]
    assert query["entities"] == ["Customer,Invoice,Term"]
    before = len(responses.calls)
    list(platform.fetch_changes(ORG, {Entity.CUSTOMER: cursor, Entity.INVOICE: cursor}))
    assert len(responses.calls) - before == 1  # the terms are known now: an idle sync is one call


@responses.activate
def test_a_deleted_cdc_stub_is_a_deletion_not_a_paid_invoice() -> None:
    stub = {
        "domain": "QBO",
        "status": "Deleted",
        "Id": "42",
        "MetaData": {"LastUpdatedTime": "2026-03-09T10:00:00-08:00"},
    }
    responses.get(
        f"{API}/company/{REALM}/cdc",
        json={
            "CDCResponse": [{"QueryResponse": [{"Invoice": [stub], "startPosition": 1, "maxResults": 1}]}],
            "time": "2026-03-10T00:00:00-08:00",
        },
    )
    responses.post(
        f"{API}/company/{REALM}/query", json={"QueryResponse": {"Term": []}, "time": "2026-03-10T00:00:00-08:00"}
    )
    page = next(_platform().fetch_changes(ORG, {Entity.INVOICE: NOW - timedelta(days=1)}))
    assert page.records[0].deleted and page.records[0].record is None


@responses.activate
def test_a_cursor_older_than_the_cdc_window_means_a_full_query() -> None:
    responses.post(f"{API}/company/{REALM}/query", json={"QueryResponse": {}, "time": "2026-03-10T00:00:00-08:00"})
    list(_platform().fetch_changes(ORG, {Entity.INVOICE: NOW - timedelta(days=31)}))
    assert urlsplit(responses.calls[0].request.url).path.endswith("/query")


@responses.activate
def test_the_reminder_note_is_minimal_explicit_json_with_a_request_id() -> None:
    # A sparse save() through the SDK would send 27 default fields and switch off online payment
    # (notes §1.9.1): we write an Attachable note with only what we mean.
    responses.post(f"{API}/company/{REALM}/attachable", json={"Attachable": {"Id": "5000"}})
    _platform().write_note(ORG, "130", "1. Mahnung an ap@acme.example", idempotency_key="outbox-17-invoice-130")
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {
        "Note": "1. Mahnung an ap@acme.example",
        "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "130"}, "IncludeOnSend": False}],
    }
    assert parse_qs(urlsplit(responses.calls[0].request.url).query)["requestid"] == ["outbox-17-invoice-130"]


def test_request_ids_fit_intuits_limit_and_are_stable() -> None:
    long_key = "outbox-" + "x" * 80
    assert len(request_id(long_key)) == 50 and request_id(long_key) == request_id(long_key)
    assert request_id("short") == "short"


@responses.activate
def test_notes_longer_than_2000_characters_are_shortened() -> None:
    responses.post(f"{API}/company/{REALM}/attachable", json={"Attachable": {"Id": "5000"}})
    _platform().write_note(ORG, "130", "x" * 2500, idempotency_key="k")
    assert len(json.loads(responses.calls[0].request.body)["Note"]) == 2000


@responses.activate
def test_fetch_invoices_uses_one_query_and_reports_vanished_ids_as_deleted() -> None:
    responses.post(
        f"{API}/company/{REALM}/query",
        json={"QueryResponse": {"Invoice": [_invoice("1"), _invoice("3")]}, "time": "2026-03-10T00:00:00-08:00"},
    )
    fetched = _platform().fetch_invoices(ORG, ["1", "2", "3"])
    assert len(responses.calls) == 1
    assert "WHERE Id IN ('1', '2', '3')" in str(responses.calls[0].request.body)
    assert [(f.external_id, f.deleted) for f in fetched] == [("1", False), ("2", True), ("3", False)]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param({"code": "3100", "Message": "ApplicationAuthorizationFailed"}, AuthRevoked, id="3100-403"),
        pytest.param({"code": "120", "Message": "Authorization Failure"}, AuthRevoked, id="120-admin-removed"),
        pytest.param({"code": "6190", "Message": "Invalid Company Status"}, PlatformError, id="6190-subscription"),
        pytest.param({"code": "10000", "Message": "An application error has occurred"}, TemporaryFailure, id="10000"),
    ],
)
@responses.activate
def test_faults_become_the_error_tree(fault: dict[str, str], error: type[Exception]) -> None:
    responses.post(
        f"{API}/company/{REALM}/query", status=400, json={"Fault": {"Error": [fault], "type": "ValidationFault"}}
    )
    with pytest.raises(error):
        list(_platform().fetch_changes(ORG, {Entity.INVOICE: None}))


@responses.activate
def test_a_non_json_body_is_a_temporary_failure() -> None:
    responses.post(f"{API}/company/{REALM}/query", status=200, body="<html>maintenance</html>")
    with pytest.raises(TemporaryFailure):
        list(_platform().fetch_changes(ORG, {Entity.INVOICE: None}))


@responses.activate
def test_oauth_calls_have_a_timeout_and_ask_for_the_hard_expiry() -> None:
    responses.get(DISCOVERY, json=DOC)
    responses.post(
        DOC["token_endpoint"],
        json={
            "access_token": "a2",
            "refresh_token": "r2",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
            "x_refresh_token_hard_expires_in": 157680000,
            "token_type": "bearer",
        },
    )
    platform = _platform()
    fresh = platform.refresh(TOKENS, now=NOW)
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(5.0, 30.0), (5.0, 30.0)]  # discovery, token
    assert responses.calls[-1].request.headers["x-include-refresh-token-hard-expires-in"] == "true"
    assert fresh.access_expires_at == NOW + timedelta(seconds=3600)
    assert fresh.refresh_expires_at == NOW + timedelta(seconds=8726400)
    assert fresh.refresh_hard_expires_at == NOW + timedelta(seconds=157680000)


@responses.activate
def test_invalid_grant_on_refresh_is_auth_revoked() -> None:
    responses.get(DISCOVERY, json=DOC)
    responses.post(
        DOC["token_endpoint"],
        status=400,
        json={"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"},
    )
    with pytest.raises(AuthRevoked) as caught:
        _platform().refresh(TOKENS, now=NOW)
    assert "refresh-secret" not in str(caught.value)
