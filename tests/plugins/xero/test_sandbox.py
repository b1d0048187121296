"""The Xero sandbox over real HTTP: identity (PKCE, rotation, grace), connections, the accounting API.

Limits are in test_sandbox_limits.py, webhooks in test_sandbox_webhooks.py, the seed in
test_sandbox_seed.py. Time only moves through the shared FixedClock.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import requests

from connector.clock import FixedClock
from plugins.xero.sandbox import XeroSandbox

SAMPLES = Path(__file__).parent / "samples"
ISO7 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def _refresh(sandbox: XeroSandbox, token: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return requests.post(sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret), data=data, timeout=10)


def _invoices(api: requests.Session, sandbox: XeroSandbox, **params: Any) -> requests.Response:
    return api.get(f"{sandbox.api_base}/Invoices", params=params, timeout=10)


# ----- identity -----------------------------------------------------------------------------------


def test_pkce_code_flow_checks_the_verifier_and_returns_the_cassette_shape(
    xero_sandbox: XeroSandbox, xero_authorize: Any, xero_exchange: Any
) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = xero_authorize(xero_sandbox, verifier=verifier, state="s-42")
    assert answer["state"] == "s-42" and answer["scope"].startswith("offline_access") and "session_state" in answer
    wrong = xero_exchange(xero_sandbox, answer["code"], "x" * 50, secret=False)
    assert wrong.status_code == 400
    assert wrong.json() == json.loads((SAMPLES / "token_error_invalid_grant.json").read_text())
    good = xero_exchange(xero_sandbox, answer["code"], verifier, secret=False)  # public client: no secret
    assert good.status_code == 200, good.text
    body = good.json()
    assert list(body) == ["id_token", "access_token", "expires_in", "token_type", "refresh_token", "scope"]
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["authentication_event_id"] and claims["client_id"] == xero_sandbox.client_id
    assert xero_exchange(xero_sandbox, answer["code"], verifier, secret=False).json() == {"error": "invalid_grant"}


def test_a_challenge_needs_s256_and_a_pkce_code_needs_its_verifier(
    xero_sandbox: XeroSandbox, xero_authorize: Any, xero_exchange: Any
) -> None:
    plain = xero_authorize(xero_sandbox, code_challenge="abc", code_challenge_method="plain")
    assert plain["error"] == "invalid_request"
    answer = xero_authorize(xero_sandbox, verifier=secrets.token_urlsafe(48))
    assert xero_exchange(xero_sandbox, answer["code"]).json() == {"error": "invalid_grant"}  # secret, no verifier


def test_no_refresh_token_without_offline_access_and_userinfo_has_the_email(
    xero_sandbox: XeroSandbox, xero_authorize: Any, xero_exchange: Any
) -> None:
    answer = xero_authorize(xero_sandbox, scopes="openid email profile accounting.invoices.read")
    body = xero_exchange(xero_sandbox, answer["code"]).json()
    assert "refresh_token" not in body
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["email"] == xero_sandbox.user["email"]
    info = requests.get(
        f"{xero_sandbox.identity_url}/connect/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.json()["email"] == xero_sandbox.user["email"]
    discovery = requests.get(f"{xero_sandbox.identity_url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["token_endpoint"] == xero_sandbox.token_url


def test_refresh_rotates_and_the_old_token_has_thirty_minutes_of_grace(
    xero_sandbox: XeroSandbox, xero_tokens: dict[str, Any], xero_clock: FixedClock
) -> None:
    first = xero_tokens["refresh_token"]
    second = _refresh(xero_sandbox, first).json()
    assert second["refresh_token"] != first
    xero_clock.advance(timedelta(minutes=29))
    retried = _refresh(xero_sandbox, first)  # the response was "lost": the old token still works
    assert retried.status_code == 200
    xero_clock.advance(timedelta(minutes=2))
    late = _refresh(xero_sandbox, first)
    assert (late.status_code, late.json()) == (400, {"error": "invalid_grant"})
    assert _refresh(xero_sandbox, retried.json()["refresh_token"]).status_code == 200


def test_an_unused_refresh_token_dies_after_sixty_days(
    xero_sandbox: XeroSandbox, xero_tokens: dict[str, Any], xero_clock: FixedClock
) -> None:
    xero_clock.advance(timedelta(days=59))
    kept = _refresh(xero_sandbox, xero_tokens["refresh_token"]).json()["refresh_token"]  # the keep-alive
    xero_clock.advance(timedelta(days=60, minutes=1))
    assert _refresh(xero_sandbox, kept).json() == {"error": "invalid_grant"}


def test_access_tokens_expire_after_thirty_minutes_with_the_token_expired_body(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_clock: FixedClock
) -> None:
    assert _invoices(xero_api, xero_sandbox, page=1).status_code == 200
    xero_clock.advance(timedelta(minutes=30))
    expired = _invoices(xero_api, xero_sandbox, page=1)
    assert expired.status_code == 401
    body = expired.json()
    assert body["Title"] == "Unauthorized" and body["Status"] == 401
    assert re.fullmatch(r"TokenExpired: token expired at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d", body["Detail"])


def test_the_tenant_header_is_required_and_must_be_connected(
    xero_sandbox: XeroSandbox, xero_api: requests.Session
) -> None:
    for tenant in ("", "00000000-0000-0000-0000-000000000000"):
        answer = xero_api.get(f"{xero_sandbox.api_base}/Invoices", headers={"xero-tenant-id": tenant}, timeout=10)
        assert answer.status_code == 403
        body = answer.json()
        assert (body["Title"], body["Status"], body["Detail"]) == ("Forbidden", 403, "AuthenticationUnsuccessful")
        assert set(body) == {"Type", "Title", "Status", "Detail", "Instance", "Extensions"}


def test_connections_list_both_tenants_and_one_can_be_disconnected(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_tokens: dict[str, Any]
) -> None:
    rows = xero_api.get(xero_sandbox.connections_url, timeout=10).json()
    sample = json.loads((SAMPLES / "connections.spec.json").read_text())[0]
    assert {r["tenantId"] for r in rows} == set(xero_sandbox.tenant_ids)
    event = jwt.decode(xero_tokens["access_token"], options={"verify_signature": False})["authentication_event_id"]
    for row in rows:
        assert set(row) == set(sample) | {"authEventId"} and row["authEventId"] == event
        assert ISO7.match(row["createdDateUtc"]) and row["tenantType"] == "ORGANISATION"
    filtered = xero_api.get(xero_sandbox.connections_url, params={"authEventId": "other"}, timeout=10).json()
    assert filtered == []
    second = next(r for r in rows if r["tenantId"] == xero_sandbox.tenant_ids[1])
    assert xero_api.delete(f"{xero_sandbox.connections_url}/{second['id']}", timeout=10).status_code == 204
    gone = xero_api.get(f"{xero_sandbox.api_base}/Organisation", headers={"xero-tenant-id": second["tenantId"]})
    assert gone.status_code == 403
    assert xero_api.get(f"{xero_sandbox.api_base}/Organisation", timeout=10).status_code == 200


def test_revocation_ends_the_grant_and_removes_its_connections(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_tokens: dict[str, Any]
) -> None:
    revoked = requests.post(
        f"{xero_sandbox.identity_url}/connect/revocation", auth=(xero_sandbox.client_id, xero_sandbox.client_secret),
        data={"token": xero_tokens["refresh_token"]}, timeout=10,
    )  # fmt: skip
    assert revoked.status_code == 200
    assert xero_sandbox.list_connection_records() == []
    assert xero_api.get(f"{xero_sandbox.api_base}/Organisation", timeout=10).status_code == 401
    assert _refresh(xero_sandbox, xero_tokens["refresh_token"]).json() == {"error": "invalid_grant"}


# ----- accounting API -----------------------------------------------------------------------------


def test_paging_covers_every_invoice_once_with_a_pagination_block(
    xero_sandbox: XeroSandbox, xero_api: requests.Session
) -> None:
    seen: list[str] = []
    page = 1
    while True:
        body = _invoices(xero_api, xero_sandbox, page=page, pageSize=100).json()
        assert body["Status"] == "OK" and re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
        seen += [i["InvoiceID"] for i in body["Invoices"]]
        if page >= body["pagination"]["pageCount"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == len(xero_sandbox.records("Invoices")) == body["pagination"]["itemCount"]
    big = _invoices(xero_api, xero_sandbox, page=1, pageSize=5000).json()
    assert big["pagination"]["pageSize"] == 1000
    assert any(i["LineItems"] for i in big["Invoices"])
    unpaged = _invoices(xero_api, xero_sandbox).json()
    assert "pagination" not in unpaged and all(i["LineItems"] == [] for i in unpaged["Invoices"])


def test_if_modified_since_returns_what_changed_after_the_instant(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_clock: FixedClock
) -> None:
    target = next(i for i in xero_sandbox.records("Invoices") if i["Status"] == "AUTHORISED" and i["Type"] == "ACCREC")
    xero_clock.advance(timedelta(minutes=10))
    since = xero_clock.now()
    assert _invoices(xero_api, xero_sandbox, page=1).json()["pagination"]["itemCount"] > 300
    xero_sandbox.apply_payment(target["InvoiceID"], "1.00")
    changed = xero_api.get(
        f"{xero_sandbox.api_base}/Invoices", params={"page": 1}, headers={"If-Modified-Since": since.isoformat()}
    ).json()
    assert [i["InvoiceID"] for i in changed["Invoices"]] == [target["InvoiceID"]]
    assert changed["Invoices"][0]["AmountPaid"] == float(target["AmountPaid"]) + 1


def test_ids_statuses_and_where_filter_and_a_long_query_string_is_refused(
    xero_sandbox: XeroSandbox, xero_api: requests.Session
) -> None:
    records = xero_sandbox.records("Invoices")
    ids = [r["InvoiceID"] for r in records[:3]]
    by_id = _invoices(xero_api, xero_sandbox, IDs=",".join(ids)).json()["Invoices"]
    assert sorted(i["InvoiceID"] for i in by_id) == sorted(ids)
    too_many = ",".join(r["InvoiceID"] for r in records[:60])
    assert _invoices(xero_api, xero_sandbox, IDs=too_many).status_code == 414
    drafts = _invoices(xero_api, xero_sandbox, Statuses="DRAFT,SUBMITTED").json()["Invoices"]
    assert drafts and {i["Status"] for i in drafts} == {"DRAFT", "SUBMITTED"}
    where = 'Type=="ACCREC" && Status=="AUTHORISED" && AmountDue > 0'
    open_ids = {i["InvoiceID"] for i in _invoices(xero_api, xero_sandbox, where=where).json()["Invoices"]}
    expected = {
        r["InvoiceID"]
        for r in records
        if r["Type"] == "ACCREC" and r["Status"] == "AUTHORISED" and float(r["AmountDue"]) > 0
    }
    assert open_ids == expected
    assert _invoices(xero_api, xero_sandbox, where='Status=="PAID" OR Status=="VOIDED"').status_code == 400


def test_online_invoice_is_refused_for_drafts_and_stable_for_approved_invoices(
    xero_sandbox: XeroSandbox, xero_api: requests.Session
) -> None:
    records = xero_sandbox.records("Invoices")
    draft = next(r for r in records if r["Status"] == "DRAFT")
    approved = next(r for r in records if r["Status"] == "AUTHORISED" and r["Type"] == "ACCREC")
    refused = xero_api.get(f"{xero_sandbox.api_base}/Invoices/{draft['InvoiceID']}/OnlineInvoice", timeout=10)
    assert refused.status_code == 400 and refused.json()["Type"] == "ValidationException"
    urls = [
        xero_api.get(f"{xero_sandbox.api_base}/Invoices/{approved['InvoiceID']}/OnlineInvoice").json()["OnlineInvoices"]
        for _ in range(2)
    ]
    assert urls[0] == urls[1] and urls[0][0]["OnlineInvoiceUrl"].startswith(f"{xero_sandbox.base_url}/in/")


def test_history_notes_are_limited_to_250_characters_and_replayed_by_idempotency_key(
    xero_sandbox: XeroSandbox, xero_api: requests.Session
) -> None:
    invoice = next(r for r in xero_sandbox.records("Invoices") if r["Status"] == "AUTHORISED")
    url = f"{xero_sandbox.api_base}/Invoices/{invoice['InvoiceID']}/History"
    long = xero_api.put(url, json={"HistoryRecords": [{"Details": "x" * 251}]}, timeout=10)
    assert long.status_code == 400
    assert long.json()["Type"] == "ValidationException" and long.json()["Elements"][0]["ValidationErrors"]
    note = {"HistoryRecords": [{"Details": "Reminder 2 sent to accounts@example.com"}]}
    first = xero_api.put(url, json=note, headers={"Idempotency-Key": "k-1"}, timeout=10)
    again = xero_api.put(url, json=note, headers={"Idempotency-Key": "k-1"}, timeout=10)
    assert first.status_code == 200 and first.content == again.content
    assert first.json()["HistoryRecords"][0]["ValidationErrors"] == []
    history = xero_api.get(url, timeout=10).json()["HistoryRecords"]
    assert [h["Details"] for h in history].count(note["HistoryRecords"][0]["Details"]) == 1
    assert history[0]["User"] == "System Generated"
    unknown = xero_api.put(f"{xero_sandbox.api_base}/Invoices/{'0' * 8}-0000-0000-0000-{'0' * 12}/History", json=note)
    message = unknown.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert message == "The document with the supplied id was not found for this endpoint."


def test_organisation_and_invoice_reminders(xero_sandbox: XeroSandbox, xero_api: requests.Session) -> None:
    org = xero_api.get(f"{xero_sandbox.api_base}/Organisation", timeout=10).json()["Organisations"][0]
    assert (org["Name"], org["CountryCode"], org["BaseCurrency"]) == ("Kestrel Joinery Ltd", "GB", "GBP")
    assert org["Timezone"] == "GMTSTANDARDTIME"
    reminders = f"{xero_sandbox.api_base}/InvoiceReminders/Settings"
    assert xero_api.get(reminders, timeout=10).json()["InvoiceReminders"] == [{"Enabled": False}]
    xero_sandbox.set_invoice_reminders(True)
    assert xero_api.get(reminders, timeout=10).json()["InvoiceReminders"] == [{"Enabled": True}]


def test_the_updated_date_gap_a_due_date_change_on_a_part_paid_invoice_is_invisible(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_clock: FixedClock
) -> None:
    records = xero_sandbox.records("Invoices")
    part = next(r for r in records if r["Status"] == "AUTHORISED" and float(r["AmountPaid"]) > 0)
    unpaid = next(r for r in records if r["Status"] == "AUTHORISED" and float(r["AmountPaid"]) == 0)
    xero_clock.advance(timedelta(minutes=5))
    since = xero_clock.now()
    quiet = xero_sandbox.update_invoice(part["InvoiceID"], DueDate="2026-04-30")
    loud = xero_sandbox.update_invoice(unpaid["InvoiceID"], DueDate="2026-04-30")
    assert (quiet["bumped"], loud["bumped"]) == (False, True)
    assert quiet["invoice"]["UpdatedDateUTC"] == part["UpdatedDateUTC"]
    changed = xero_api.get(f"{xero_sandbox.api_base}/Invoices", headers={"If-Modified-Since": since.isoformat()})
    assert [i["InvoiceID"] for i in changed.json()["Invoices"]] == [unpaid["InvoiceID"]]
    assert [e["resourceId"] for e in xero_sandbox.pending_webhooks()] == [unpaid["InvoiceID"]]
    reread = _invoices(xero_api, xero_sandbox, IDs=part["InvoiceID"]).json()["Invoices"][0]  # the nightly reconcile
    assert reread["DueDateString"] == "2026-04-30T00:00:00"
