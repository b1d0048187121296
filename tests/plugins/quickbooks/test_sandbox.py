"""The QuickBooks sandbox over real HTTP: OAuth, query, CDC, batch, writes, as the real API behaves.

Webhooks, limits, faults, the seed, the control API and the vendor SDKs are in test_sandbox_control.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import requests

from connector.clock import FixedClock
from plugins.quickbooks.sandbox import QuickBooksSandbox

JSON = {"Accept": "application/json"}


def api(sandbox: QuickBooksSandbox, path: str) -> str:
    return f"{sandbox.base_url}/v3/company/{sandbox.realm_id}/{path}"


def query(session: requests.Session, sandbox: QuickBooksSandbox, sql: str, **params: Any) -> requests.Response:
    return session.get(api(sandbox, "query"), params={"query": sql, "minorversion": 75, **params}, timeout=10)


def refresh(sandbox: QuickBooksSandbox, token: str) -> requests.Response:
    return requests.post(
        f"{sandbox.base_url}/oauth2/v1/tokens/bearer",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": token},
        timeout=10,
    )


# ----- OAuth ----------------------------------------------------------------------------------


def test_discovery_document_points_at_the_sandbox(qbo_sandbox: QuickBooksSandbox) -> None:
    for path in ("/.well-known/openid_configuration", "/.well-known/openid_configuration/"):
        doc = requests.get(qbo_sandbox.base_url + path, timeout=10).json()
        assert doc["authorization_endpoint"] == f"{qbo_sandbox.base_url}/connect/oauth2"
        assert doc["token_endpoint"] == f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer"
        assert doc["revocation_endpoint"].startswith(qbo_sandbox.base_url)
        assert {"issuer", "userinfo_endpoint", "jwks_uri"} <= doc.keys()


def test_consent_page_has_a_form_that_redirects_with_code_state_and_realm(qbo_sandbox: QuickBooksSandbox) -> None:
    params = {"client_id": qbo_sandbox.client_id, "response_type": "code", "scope": "com.intuit.quickbooks.accounting"}
    params.update(redirect_uri="http://127.0.0.1:9/cb", state="xyz")
    page = requests.get(f"{qbo_sandbox.base_url}/connect/oauth2", params=params, timeout=10)
    assert page.status_code == 200 and "<form" in page.text and "id='approve'" in page.text
    approved = requests.post(
        f"{qbo_sandbox.base_url}/connect/oauth2", data={**params, "decision": "approve"}, allow_redirects=False
    )
    assert approved.status_code == 302
    location = approved.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/cb?code=")
    assert "state=xyz" in location and f"realmId={qbo_sandbox.realm_id}" in location


def test_consent_denied_and_injected_errors_redirect_with_access_denied(
    qbo_sandbox: QuickBooksSandbox, qbo_authorize: Any
) -> None:
    qbo_sandbox.fail_next_authorize("access_denied")
    assert qbo_authorize(qbo_sandbox, state="s2") == {"error": "access_denied", "state": "s2"}
    assert "code" in qbo_authorize(qbo_sandbox)


def test_unknown_client_gets_an_error_page_not_a_redirect(qbo_sandbox: QuickBooksSandbox) -> None:
    params = {"client_id": "someone-else", "redirect_uri": "http://127.0.0.1:9/cb", "scope": "x", "state": "s"}
    response = requests.get(f"{qbo_sandbox.base_url}/connect/oauth2", params=params, allow_redirects=False)
    assert response.status_code == 400


def test_code_exchange_gives_the_real_token_shape_and_a_code_is_single_use(
    qbo_sandbox: QuickBooksSandbox, qbo_authorize: Any, qbo_exchange: Any
) -> None:
    code = qbo_authorize(qbo_sandbox)["code"]
    first = qbo_exchange(qbo_sandbox, code, **{"x-include-refresh-token-hard-expires-in": "true"})
    body = first.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert body["x_refresh_token_hard_expires_in"] == 5 * 365 * 86400
    assert body["id_token"].count(".") == 2  # openid was asked for: an RS256 JWT
    again = qbo_exchange(qbo_sandbox, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_hard_expiry_is_only_sent_when_asked_for(qbo_sandbox: QuickBooksSandbox, qbo_tokens: dict[str, Any]) -> None:
    assert "x_refresh_token_hard_expires_in" not in qbo_tokens
    assert "x_refresh_token_hard_expires_in" not in refresh(qbo_sandbox, qbo_tokens["refresh_token"]).json()


def test_wrong_client_secret_is_invalid_client(qbo_sandbox: QuickBooksSandbox, qbo_tokens: dict[str, Any]) -> None:
    response = requests.post(
        f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer",
        auth=(qbo_sandbox.client_id, "wrong"),
        data={"grant_type": "refresh_token", "refresh_token": qbo_tokens["refresh_token"]},
    )
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_the_old_token_works_for_24_hours_then_invalid_grant(
    qbo_sandbox: QuickBooksSandbox, qbo_tokens: dict[str, Any], qbo_clock: FixedClock
) -> None:
    old = qbo_tokens["refresh_token"]
    rotated = refresh(qbo_sandbox, old).json()
    assert rotated["refresh_token"] != old
    qbo_clock.advance(timedelta(hours=23, minutes=59))
    assert refresh(qbo_sandbox, old).status_code == 200  # still inside the grace window
    qbo_clock.advance(timedelta(minutes=2))
    late = refresh(qbo_sandbox, old)
    assert late.status_code == 400
    assert late.content == b'{"error":"invalid_grant","error_description":"Incorrect or invalid refresh token"}'
    assert refresh(qbo_sandbox, rotated["refresh_token"]).status_code == 200


def test_expired_access_token_gets_the_real_lower_case_401_body(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session, qbo_clock: FixedClock
) -> None:
    assert query(qbo_api, qbo_sandbox, "SELECT * FROM Term").status_code == 200
    qbo_clock.advance(timedelta(seconds=3600))
    response = query(qbo_api, qbo_sandbox, "SELECT * FROM Term")
    assert response.status_code == 401
    body = response.json()
    assert body["fault"]["type"] == "AUTHENTICATION"
    assert body["fault"]["error"][0]["code"] == "3200"
    assert body["fault"]["error"][0]["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert isinstance(body["time"], int)


def test_expire_access_tokens_now_and_revoke(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session, qbo_tokens: dict[str, Any]
) -> None:
    qbo_sandbox.expire_access_tokens()
    assert query(qbo_api, qbo_sandbox, "SELECT * FROM Term").status_code == 401
    fresh = refresh(qbo_sandbox, qbo_tokens["refresh_token"]).json()
    revoked = requests.post(
        f"{qbo_sandbox.base_url}/v2/oauth2/tokens/revoke",
        auth=(qbo_sandbox.client_id, qbo_sandbox.client_secret),
        json={"token": fresh["refresh_token"]},
    )
    assert revoked.status_code == 200
    assert refresh(qbo_sandbox, fresh["refresh_token"]).json()["error"] == "invalid_grant"
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert requests.get(api(qbo_sandbox, "preferences"), headers=headers).status_code == 401


def test_userinfo_answers_for_the_openid_scopes(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    info = qbo_api.get(f"{qbo_sandbox.base_url}/v1/openid_connect/userinfo").json()
    assert info["email"] and info["emailVerified"] is True and info["givenName"] and info["familyName"]


# ----- query ----------------------------------------------------------------------------------


def test_paging_with_startposition_and_maxresults_covers_every_invoice_once(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    total = query(qbo_api, qbo_sandbox, "SELECT COUNT(*) FROM Invoice").json()["QueryResponse"]["totalCount"]
    seen: list[str] = []
    start = 1
    while True:
        page = query(qbo_api, qbo_sandbox, f"SELECT * FROM Invoice STARTPOSITION {start} MAXRESULTS 100").json()
        invoices = page["QueryResponse"].get("Invoice", [])
        if invoices:
            assert page["QueryResponse"]["startPosition"] == start
            assert page["QueryResponse"]["maxResults"] == len(invoices)  # the number returned
        seen += [invoice["Id"] for invoice in invoices]
        if len(invoices) < 100:
            break
        start += 100
    assert len(seen) == len(set(seen)) == total >= 300


def test_maxresults_over_1000_is_refused_with_the_real_fault(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    response = query(qbo_api, qbo_sandbox, "SELECT * FROM Invoice STARTPOSITION 1 MAXRESULTS 1001")
    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "4001"
    assert error["Detail"] == "QueryValidationError: value 1001 is too large. Max allowed value is 1000"


def test_or_is_a_parse_error_and_empty_results_have_no_entity_key(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    bad = query(qbo_api, qbo_sandbox, "SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'")
    assert bad.status_code == 400 and bad.json()["Fault"]["Error"][0]["code"] == "4000"
    empty = query(qbo_api, qbo_sandbox, "SELECT * FROM Invoice WHERE Id IN ('no-such-id')").json()
    assert empty["QueryResponse"] == {} and "time" in empty


def test_sql_in_a_post_body_with_where_in_and_balance_filters(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    other = qbo_sandbox.records("Invoice")[1]["Id"]
    sql = f"select * from invoice where Id in ('1', '{other}') and Balance >= '0' orderby Id desc"
    response = qbo_api.post(
        api(qbo_sandbox, "query"), params={"minorversion": 75}, data=sql, headers={"Content-Type": "application/text"}
    )
    assert [i["Id"] for i in response.json()["QueryResponse"]["Invoice"]] == [other, "1"]
    open_only = query(qbo_api, qbo_sandbox, "SELECT * FROM Invoice WHERE Balance > '0' MAXRESULTS 1000").json()
    assert all(invoice["Balance"] > 0 for invoice in open_only["QueryResponse"]["Invoice"])


def test_invoice_link_only_with_include_but_always_on_a_read_by_id(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    sql = "SELECT * FROM Invoice WHERE Balance > '0' MAXRESULTS 50"
    plain = query(qbo_api, qbo_sandbox, sql).json()["QueryResponse"]["Invoice"]
    linked = query(qbo_api, qbo_sandbox, sql, include="invoiceLink").json()["QueryResponse"]["Invoice"]
    assert not any("InvoiceLink" in invoice for invoice in plain)
    with_link = [i for i in linked if "InvoiceLink" in i]
    assert with_link and all(i["AllowOnlineCreditCardPayment"] and i["BillEmail"]["Address"] for i in with_link)
    assert with_link[0]["InvoiceLink"].endswith("?locale=en_US&cta=v3invoicelink")
    single = qbo_api.get(api(qbo_sandbox, f"invoice/{with_link[0]['Id']}"), params={"minorversion": 75}).json()
    assert single["Invoice"]["InvoiceLink"] == with_link[0]["InvoiceLink"]
    assert requests.get(with_link[0]["InvoiceLink"], timeout=10).status_code == 200  # the demo's pay page


def test_inactive_customers_are_left_out_unless_active_is_named(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    default = query(qbo_api, qbo_sandbox, "SELECT * FROM Customer MAXRESULTS 1000").json()["QueryResponse"]
    everyone = query(qbo_api, qbo_sandbox, "SELECT * FROM Customer WHERE Active IN (true, false) MAXRESULTS 1000")
    assert len(everyone.json()["QueryResponse"]["Customer"]) == len(default["Customer"]) + 1
    assert "totalCount" not in default  # as in the NANGO customer page


def test_companyinfo_and_preferences_give_name_country_currency_and_time_zone(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    info = qbo_api.get(api(qbo_sandbox, f"companyinfo/{qbo_sandbox.realm_id}")).json()["CompanyInfo"]
    assert info["CompanyName"] and info["Country"] == "DE" and info["DefaultTimeZone"] == "Europe/Berlin"
    prefs = qbo_api.get(api(qbo_sandbox, "preferences")).json()["Preferences"]["CurrencyPrefs"]
    assert prefs == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "EUR"}}


def test_deleted_or_unknown_invoice_is_fault_610(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    response = qbo_api.get(api(qbo_sandbox, "invoice/999999"))
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "610"


# ----- CDC ------------------------------------------------------------------------------------


def cdc(session: requests.Session, sandbox: QuickBooksSandbox, since: str, entities: str = "Invoice") -> Any:
    return session.get(api(sandbox, "cdc"), params={"entities": entities, "changedSince": since, "minorversion": 75})


def test_cdc_returns_changes_with_deleted_stubs_after_live_objects(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    invoice, paid = qbo_sandbox.create_invoice("1", "99.50"), qbo_sandbox.create_invoice("2", "10.00")
    qbo_sandbox.advance_clock(minutes=5)
    since = "2026-03-10T09:31:00+01:00"  # 08:31 UTC: after the creations, before the delete
    qbo_sandbox.delete_invoice(invoice["Id"])
    qbo_sandbox.apply_payment(paid["Id"])
    body = cdc(qbo_api, qbo_sandbox, since, "Invoice,Payment,Customer").json()
    groups = body["CDCResponse"][0]["QueryResponse"]
    invoices, payments = groups[0]["Invoice"], groups[1]["Payment"]
    assert invoices[-1] == {
        "domain": "QBO",
        "status": "Deleted",
        "Id": invoice["Id"],
        "MetaData": {"LastUpdatedTime": "2026-03-10T01:35:00-07:00"},
    }
    assert [i["Id"] for i in invoices[:-1]] == [paid["Id"]] and len(payments) == 1
    assert groups[2] == {}
    qbo_sandbox.set_customer_email("2", "neu@example.com")
    customer = cdc(qbo_api, qbo_sandbox, since, "Customer").json()["CDCResponse"][0]["QueryResponse"][0]["Customer"]
    read = qbo_api.get(api(qbo_sandbox, "customer/2")).json()["Customer"]
    assert customer[0]["Balance"] == read["Balance"] != 0  # the balance is the same wherever it is read


def test_cdc_with_no_changes_has_the_empty_shape(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    body = cdc(qbo_api, qbo_sandbox, "2026-03-10T08:30:00Z").json()
    assert body["CDCResponse"] == [{"QueryResponse": [{}]}]


def test_cdc_further_back_than_30_days_is_refused(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    assert cdc(qbo_api, qbo_sandbox, "2026-02-09T08:31:00Z").status_code == 200
    refused = cdc(qbo_api, qbo_sandbox, "2026-02-08T08:29:00Z")
    assert refused.status_code == 400 and refused.json()["Fault"]["type"] == "ValidationFault"


def test_cdc_stops_at_1000_objects_without_paging(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    for _ in range(1005):
        qbo_sandbox.create_invoice("1", "10.00")
    groups = cdc(qbo_api, qbo_sandbox, "2026-03-10T08:00:00Z", "Invoice,Customer").json()["CDCResponse"][0]
    assert len(groups["QueryResponse"][0]["Invoice"]) == 1000
    assert groups["QueryResponse"][1] == {}


# ----- batch ----------------------------------------------------------------------------------


def test_batch_mixes_queries_and_writes_with_faults_per_item(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    invoice, other = qbo_sandbox.records("Invoice")[:2]
    items = [
        {"bId": "q", "Query": f"SELECT * FROM Invoice WHERE Id IN ('1', '{other['Id']}')"},
        {"bId": "u", "operation": "update", "Invoice": {"Id": "1", "SyncToken": invoice["SyncToken"], "sparse": True,
                                                         "PrivateNote": "Erinnerung 1 gesendet"}},
        {"bId": "stale", "operation": "update", "Invoice": {"Id": "1", "SyncToken": "0", "sparse": True}},
        {"bId": "gone", "operation": "delete", "Invoice": {"Id": "999999", "SyncToken": "0"}},
        {"bId": "vendor", "operation": "create", "Vendor": {"DisplayName": "Smith Family Store"}},
    ]  # fmt: skip
    response = qbo_api.post(api(qbo_sandbox, "batch"), json={"BatchItemRequest": items})
    assert response.status_code == 200
    answers = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert len(answers["q"]["QueryResponse"]["Invoice"]) == 2
    assert answers["u"]["Invoice"]["PrivateNote"] == "Erinnerung 1 gesendet"
    assert answers["stale"]["Fault"]["Error"][0]["code"] == "5010"
    assert answers["gone"]["Fault"]["Error"][0]["code"] == "610"
    assert answers["vendor"]["Fault"]["type"] == "ValidationFault"


def test_batch_of_more_than_30_items_is_refused(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    items = [{"bId": str(n), "Query": "SELECT * FROM Term"} for n in range(31)]
    response = qbo_api.post(api(qbo_sandbox, "batch"), json={"BatchItemRequest": items})
    assert response.status_code == 400 and response.json()["Fault"]["Error"][0]["code"] == "1040"


# ----- writes ---------------------------------------------------------------------------------


def post_invoice(session: requests.Session, sandbox: QuickBooksSandbox, body: Any, **params: Any) -> Any:
    return session.post(api(sandbox, "invoice"), params={"minorversion": 75, **params}, json=body)


def test_sparse_update_bumps_synctoken_and_time_and_keeps_the_pay_link(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session, qbo_clock: FixedClock
) -> None:
    before = qbo_sandbox.create_invoice("2", "80.00", online_payment=True)
    qbo_clock.advance(timedelta(minutes=1))
    body = {"Id": before["Id"], "SyncToken": before["SyncToken"], "sparse": True, "PrivateNote": "Mahnung 1"}
    after = post_invoice(qbo_api, qbo_sandbox, body).json()["Invoice"]
    assert int(after["SyncToken"]) == int(before["SyncToken"]) + 1
    assert after["MetaData"]["LastUpdatedTime"] == "2026-03-10T01:31:00-07:00"
    assert after["PrivateNote"] == "Mahnung 1" and after["Balance"] == before["Balance"]
    assert after["AllowOnlineCreditCardPayment"] is True and "InvoiceLink" in after
    stale = post_invoice(qbo_api, qbo_sandbox, body)
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"


def test_full_update_that_omits_online_payment_flags_resets_them_and_drops_the_link(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    invoice = qbo_sandbox.create_invoice("1", "500.00", online_payment=True)
    body = {key: invoice[key] for key in ("Id", "SyncToken", "CustomerRef", "Line", "TxnDate", "DueDate")}
    after = post_invoice(qbo_api, qbo_sandbox, body).json()["Invoice"]
    assert after["AllowOnlineCreditCardPayment"] is False and after["AllowOnlineACHPayment"] is False
    assert "InvoiceLink" not in after and after["TotalAmt"] == 500


def test_void_zeroes_amounts_and_delete_leaves_a_stub(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    invoice = qbo_sandbox.create_invoice("1", "120.00")
    voided = post_invoice(qbo_api, qbo_sandbox, {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    body = voided.json()["Invoice"]
    assert (body["TotalAmt"], body["Balance"], body["PrivateNote"]) == (0, 0, "Voided")
    deleted = post_invoice(qbo_api, qbo_sandbox, {"Id": invoice["Id"], "SyncToken": "1"}, operation="delete")
    assert deleted.json()["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice["Id"]}
    assert qbo_api.get(api(qbo_sandbox, f"invoice/{invoice['Id']}")).json()["Fault"]["Error"][0]["code"] == "610"


def test_a_repeated_requestid_returns_the_first_response_and_creates_nothing(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    note = {"Note": "Zahlungserinnerung gesendet", "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "1"}}]}
    url = api(qbo_sandbox, "attachable")
    first = qbo_api.post(url, params={"requestid": "rq-1", "minorversion": 75}, json=note)
    second = qbo_api.post(url, params={"requestid": "rq-1", "minorversion": 75}, json={**note, "Note": "other"})
    assert first.status_code == 200 and first.content == second.content
    assert len(qbo_sandbox.records("Attachable")) == 1
    qbo_api.post(url, params={"requestid": "rq-2"}, json=note)
    assert len(qbo_sandbox.records("Attachable")) == 2


def test_attachable_note_is_linked_and_limited_to_2000_characters(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    ref = [{"IncludeOnSend": "false", "EntityRef": {"type": "Invoice", "value": "1"}}]
    ok = qbo_api.post(api(qbo_sandbox, "attachable"), json={"Note": "x" * 2000, "AttachableRef": ref})
    attachable = ok.json()["Attachable"]
    assert attachable["AttachableRef"][0]["IncludeOnSend"] is False  # a bool in the response, as in the sample
    listed = query(qbo_api, qbo_sandbox, "SELECT * FROM Attachable WHERE AttachableRef.EntityRef.value = '1'")
    assert [a["Id"] for a in listed.json()["QueryResponse"]["Attachable"]] == [attachable["Id"]]
    too_long = qbo_api.post(api(qbo_sandbox, "attachable"), json={"Note": "x" * 2001, "AttachableRef": ref})
    assert too_long.status_code == 400 and too_long.json()["Fault"]["Error"][0]["code"] == "2050"


def test_payment_through_the_api_bumps_the_invoice_it_pays(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    invoice = qbo_sandbox.create_invoice("1", "300.00")
    body = {"CustomerRef": {"value": "1"}, "TotalAmt": 350.0,
            "Line": [{"Amount": 100.0, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}  # fmt: skip
    payment = qbo_api.post(api(qbo_sandbox, "payment"), json=body).json()["Payment"]
    assert payment["UnappliedAmt"] == 250
    after = qbo_sandbox.record("Invoice", invoice["Id"])
    assert after["Balance"] == 200 and after["SyncToken"] == "1"
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in after["LinkedTxn"]


def test_bodies_that_are_not_json_are_a_validation_fault(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    xml = {"Content-Type": "application/xml"}
    response = qbo_api.post(api(qbo_sandbox, "invoice"), data=b"<Invoice/>", headers=xml)
    assert response.status_code == 400 and json.loads(response.content)["Fault"]["Error"][0]["code"] == "2010"
