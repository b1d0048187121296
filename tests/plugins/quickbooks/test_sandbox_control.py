"""The QuickBooks sandbox's webhooks, limits, injected faults, seed, control API, and the vendor SDKs on it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connector.clock import FixedClock
from connector.sandboxkit import serve_in_thread
from plugins.quickbooks.sandbox import QuickBooksSandbox, sign

SAMPLES = Path(__file__).resolve().parent / "samples"  # copies of the shared api-samples (SOURCES.md)


def api(sandbox: QuickBooksSandbox, path: str) -> str:
    return f"{sandbox.base_url}/v3/company/{sandbox.realm_id}/{path}"


def an_open_invoice(sandbox: QuickBooksSandbox) -> dict[str, Any]:
    return next(i for i in sandbox.records("Invoice") if i["Balance"] > 0 and i["Balance"] == i["TotalAmt"])


class Receiver:
    """A webhook endpoint on loopback that keeps the raw bodies and headers it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.status = 200
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.received.append((request.get_data(), dict(request.headers)))
        return Response(b"", status=self.status)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    url, stop = serve_in_thread(app)
    yield app, f"{url}/webhooks/quickbooks"
    stop()


# ----- webhooks -------------------------------------------------------------------------------


def expected_signature(verifier: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


def test_signing_matches_the_three_public_vectors() -> None:
    vectors = json.loads((SAMPLES / "webhook_signature_test_vectors.json").read_text())["vectors"]
    for vector in vectors:
        assert sign(vector["verifier_token"], vector["body"].encode()) == vector["intuit_signature"]


def test_legacy_webhook_is_posted_on_flush_and_signed_over_the_raw_body(
    qbo_sandbox: QuickBooksSandbox, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    qbo_sandbox.configure_webhooks(url=url, format="legacy")
    invoice = an_open_invoice(qbo_sandbox)
    payment = qbo_sandbox.apply_payment(invoice["Id"], "10.00")
    assert app.received == []  # manual delivery: nothing before the flush
    outcome = qbo_sandbox.flush_webhooks()
    assert [d["status"] for d in outcome] == [200]
    body, headers = app.received[0]
    assert headers["Intuit-Signature"] == expected_signature(qbo_sandbox.webhook_verifier, body)
    notification = json.loads(body)["eventNotifications"][0]
    assert notification["realmId"] == qbo_sandbox.realm_id
    entities = notification["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
        ("Payment", payment["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
    ]
    assert entities[0]["lastUpdated"] == "2026-03-10T08:30:00.000Z"


def test_cloudevents_webhook_has_type_account_and_entity(
    qbo_sandbox: QuickBooksSandbox, receiver: tuple[Receiver, str], qbo_api: requests.Session
) -> None:
    app, url = receiver
    qbo_sandbox.configure_webhooks(url=url, format="cloudevents")
    invoice = an_open_invoice(qbo_sandbox)
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "Mahnung"}
    assert qbo_api.post(api(qbo_sandbox, "invoice"), json=body).status_code == 200
    qbo_sandbox.void_invoice(invoice["Id"])
    qbo_sandbox.flush_webhooks()
    raw, headers = app.received[0]
    assert headers["Intuit-Signature"] == expected_signature(qbo_sandbox.webhook_verifier, raw)
    events = json.loads(raw)
    assert [e["type"] for e in events] == ["qbo.invoice.updated.v1", "qbo.invoice.voided.v1"]
    assert all(e["specversion"] == "1.0" and e["intuitaccountid"] == qbo_sandbox.realm_id for e in events)
    assert events[0]["intuitentityid"] == invoice["Id"] and events[0]["time"].endswith("000Z")


def test_a_failed_delivery_blocks_later_ones_until_it_is_acknowledged(
    qbo_sandbox: QuickBooksSandbox, receiver: tuple[Receiver, str]
) -> None:
    app, url = receiver
    qbo_sandbox.configure_webhooks(url=url)
    app.status = 500
    qbo_sandbox.set_customer_email("1", "neu@mueller-metallbau.de")
    assert [d["status"] for d in qbo_sandbox.flush_webhooks()] == [500]
    qbo_sandbox.create_credit_memo("1", "20.00")
    app.status = 200
    assert [d["status"] for d in qbo_sandbox.flush_webhooks()] == [200, 200]
    names = [json.loads(b)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["name"] for b, _ in app.received]
    assert names == ["Customer", "Customer", "CreditMemo"]  # the failed one again, then the next, in order


def test_flush_over_http_and_no_events_for_attachables(
    qbo_sandbox: QuickBooksSandbox, receiver: tuple[Receiver, str], qbo_api: requests.Session
) -> None:
    _, url = receiver
    requests.post(f"{qbo_sandbox.base_url}/_sandbox/configure_webhooks", json={"url": url}, timeout=10)
    note = {"Note": "Erinnerung", "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": "1"}}]}
    qbo_api.post(api(qbo_sandbox, "attachable"), json=note)
    assert qbo_sandbox.pending_webhooks() == []
    qbo_sandbox.delete_invoice("1")
    flushed = requests.post(f"{qbo_sandbox.base_url}/_sandbox/webhooks/flush", timeout=10).json()["result"]
    assert flushed[0]["status"] == 200 and '"operation":"Delete"' in flushed[0]["body"]


# ----- limits and faults ----------------------------------------------------------------------


def test_the_budget_gives_429_with_the_xml_body_until_a_minute_has_passed(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    qbo_sandbox.set_rate_limit(3)
    url = api(qbo_sandbox, "preferences")
    assert [qbo_api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    throttled = qbo_api.get(url)
    assert throttled.status_code == 429
    assert throttled.headers["Content-Type"].startswith("application/xml")
    assert b'<Error code="3001">' in throttled.content and b"ThrottleExceeded" in throttled.content
    qbo_sandbox.advance_clock(seconds=61)
    assert qbo_api.get(url).status_code == 200
    assert qbo_sandbox.call_details()["throttled"] == 1


def test_injected_faults_answer_the_next_calls_then_stop(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    qbo_sandbox.inject_fault("*/query", status=500, times=2)
    qbo_sandbox.inject_fault("/v3/company/", status=503, method="POST")
    url, sql = api(qbo_sandbox, "query"), {"query": "SELECT * FROM Term"}
    statuses = [qbo_api.get(url, params=sql).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    unavailable = qbo_api.post(api(qbo_sandbox, "batch"), json={})
    assert unavailable.status_code == 503 and unavailable.headers["Content-Type"].startswith("text/html")
    qbo_sandbox.inject_fault("*/cdc", status=429)
    assert b"ThrottleExceeded" in qbo_api.get(api(qbo_sandbox, "cdc")).content


def test_every_response_carries_an_intuit_tid(qbo_sandbox: QuickBooksSandbox) -> None:
    for response in (
        requests.get(f"{qbo_sandbox.base_url}/.well-known/openid_configuration", timeout=10),
        requests.get(api(qbo_sandbox, "preferences"), timeout=10),  # 401
        requests.post(f"{qbo_sandbox.base_url}/oauth2/v1/tokens/bearer", timeout=10),
    ):
        assert response.headers["intuit_tid"].startswith("1-")


def test_call_counts_per_endpoint_and_entity(qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session) -> None:
    qbo_sandbox.reset_call_counts()
    for sql in ("SELECT * FROM Invoice", "SELECT * FROM Invoice STARTPOSITION 101", "SELECT * FROM Customer"):
        qbo_api.get(api(qbo_sandbox, "query"), params={"query": sql})
    qbo_api.get(api(qbo_sandbox, "preferences"))
    counts, details = qbo_sandbox.call_counts(), qbo_sandbox.call_details()
    assert counts == {"api_query": 3, "api_preferences": 1}  # one key per endpoint: they add up
    assert details == {"total": 4, "query:Invoice": 2, "query:Customer": 1}


# ----- seed -----------------------------------------------------------------------------------


def test_the_sample_company_has_every_state_the_product_must_handle(qbo_sandbox: QuickBooksSandbox) -> None:
    customers = qbo_sandbox.records("Customer")
    invoices = qbo_sandbox.records("Invoice")
    active = [c for c in customers if c["Active"]]
    assert len(active) >= 40 and len(invoices) >= 300
    assert {c["CurrencyRef"]["value"] for c in customers} == {"EUR", "USD"}
    assert {i["CurrencyRef"]["value"] for i in invoices} == {"EUR", "USD"}
    assert len([c for c in active if "PrimaryEmailAddr" not in c]) == 1
    primary = {c["Id"]: c.get("PrimaryEmailAddr", {}).get("Address") for c in customers}
    assert any(
        i.get("BillEmail", {}).get("Address") not in {None, primary[i["CustomerRef"]["value"]]} for i in invoices
    )
    today = date(2026, 3, 10)
    ages: Counter[str] = Counter()
    for invoice in invoices:
        due = date.fromisoformat(invoice["DueDate"])
        if invoice["TotalAmt"] == 0:
            ages["voided"] += 1
        elif invoice["Balance"] == 0:
            ages["paid"] += 1
            assert any(link["TxnType"] == "Payment" for link in invoice["LinkedTxn"])
        elif invoice["Balance"] < invoice["TotalAmt"]:
            ages["partial"] += 1
        elif due >= today:
            ages["not yet due"] += 1
        else:
            ages["overdue 120+" if (today - due).days > 120 else "overdue"] += 1
    assert ages["voided"] == 1 and min(ages.values()) >= 1 and len(ages) == 6
    payments = qbo_sandbox.records("Payment")
    assert any(p["UnappliedAmt"] > 0 and p["Line"] == [] for p in payments)
    assert any(p["TotalAmt"] == 0 and len(p["Line"]) == 2 for p in payments)  # a credit applied
    assert sorted(m["RemainingCredit"] for m in qbo_sandbox.records("CreditMemo")) == [0, 100, 180]
    assert {t["Name"] for t in qbo_sandbox.records("Term")} == {"Net 30", "Net 14", "Due on receipt", "Net 60"}


def test_the_seed_is_deterministic_and_dated_from_the_clock() -> None:
    clock = FixedClock(datetime(2026, 7, 1, 12, tzinfo=UTC))
    first, second = QuickBooksSandbox(clock=clock), QuickBooksSandbox(clock=clock)
    assert first.records("Invoice") == second.records("Invoice")
    latest = max(date.fromisoformat(i["TxnDate"]) for i in first.records("Invoice"))
    assert date(2026, 6, 1) < latest <= date(2026, 7, 1)


def test_the_deleted_invoice_is_only_a_cdc_stub_and_empty_has_nothing(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    params = {"entities": "Invoice", "changedSince": "2026-03-01T00:00:00+01:00"}
    invoices = qbo_api.get(api(qbo_sandbox, "cdc"), params=params).json()["CDCResponse"][0]["QueryResponse"][0]
    stubs = [i for i in invoices["Invoice"] if i.get("status") == "Deleted"]
    assert len(stubs) == 1 and qbo_api.get(api(qbo_sandbox, f"invoice/{stubs[0]['Id']}")).status_code == 400
    counts = qbo_sandbox.reset("empty")
    assert counts["Invoice"] == counts["Customer"] == counts["Term"] == 0 and counts["CompanyInfo"] == 1


# ----- control API and malformed records -------------------------------------------------------


def test_control_api_over_http_mirrors_the_methods(qbo_sandbox: QuickBooksSandbox) -> None:
    control = f"{qbo_sandbox.base_url}/_sandbox"
    invoice = requests.post(f"{control}/create_invoice", json={"customer_id": "1", "amount": "75.00"}).json()["result"]
    paid = requests.post(f"{control}/apply_payment", json={"invoice_id": invoice["Id"], "amount": 25}).json()["result"]
    assert paid["TotalAmt"] == 25 and qbo_sandbox.record("Invoice", invoice["Id"])["Balance"] == 50
    assert requests.post(f"{control}/apply_payment", json={"invoice_id": "nope"}).status_code == 404
    assert requests.post(f"{control}/apply_payment", json={"bogus": 1}).status_code == 400
    assert requests.post(f"{control}/advance_clock", json={"days": 1}).json()["result"].startswith("2026-03-11")
    assert "create_invoice" in requests.get(control).json()["functions"]


def test_without_control_the_control_api_is_not_served(qbo_clock: FixedClock) -> None:
    with QuickBooksSandbox(clock=qbo_clock, control=False, seed="empty") as sandbox:
        assert requests.get(f"{sandbox.base_url}/_sandbox/call_counts", timeout=10).status_code == 404


def test_malformed_records_come_back_as_the_api_would_carry_them(
    qbo_sandbox: QuickBooksSandbox, qbo_api: requests.Session
) -> None:
    made = {kind: qbo_sandbox.add_malformed_invoice(kind) for kind in
            ("total_not_a_number", "missing_customer_ref", "unknown_currency", "xml_record")}  # fmt: skip
    ids = ", ".join(f"'{record['Id']}'" for record in made.values())
    page = qbo_api.get(api(qbo_sandbox, "query"), params={"query": f"SELECT * FROM Invoice WHERE Id IN ({ids})"})
    records = {(r["Id"] if isinstance(r, dict) else "xml"): r for r in page.json()["QueryResponse"]["Invoice"]}
    assert records[made["total_not_a_number"]["Id"]]["TotalAmt"] == "abc"
    assert "CustomerRef" not in records[made["missing_customer_ref"]["Id"]]
    assert records[made["unknown_currency"]["Id"]]["CurrencyRef"]["value"] == "XXY"
    assert records["xml"].startswith("<IntuitResponse")
    single = qbo_api.get(api(qbo_sandbox, f"invoice/{made['xml_record']['Id']}"))
    assert single.headers["Content-Type"].startswith("application/xml")
    assert {e["id"] for e in qbo_sandbox.pending_webhooks()} == {r["Id"] for r in made.values()}


# ----- the vendor SDKs ------------------------------------------------------------------------


def test_intuit_oauth_and_python_quickbooks_work_against_the_sandbox(
    qbo_sandbox: QuickBooksSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intuitlib.client import AuthClient
    from intuitlib.enums import Scopes
    from quickbooks import QuickBooks
    from quickbooks.cdc import change_data_capture
    from quickbooks.exceptions import AuthorizationException, QuickbooksException
    from quickbooks.objects.invoice import Invoice

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback (deps.md §5)
    qbo_sandbox.set_auto_consent(True)
    auth = AuthClient(qbo_sandbox.client_id, qbo_sandbox.client_secret, "http://127.0.0.1:9/cb",
                      environment=qbo_sandbox.discovery_url)  # fmt: skip
    redirect = requests.get(auth.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False, timeout=10)
    params = {k: v[0] for k, v in parse_qs(urlparse(redirect.headers["Location"]).query).items()}
    assert params["state"] == auth.state_token
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=params["realmId"],
                    minorversion=75, use_decimal=True)  # fmt: skip
    qb.api_url_v3 = qbo_sandbox.api_url_v3

    everything = Invoice.all(max_results=1000, qb=qb)
    assert sorted(i.Id for i in everything) == sorted(r["Id"] for r in qbo_sandbox.records("Invoice"))
    open_ones = Invoice.query("SELECT * FROM Invoice WHERE Balance > '0' STARTPOSITION 1 MAXRESULTS 1000", qb=qb)
    assert open_ones and all(i.Balance > 0 for i in open_ones) and Invoice.count(qb=qb) == len(everything)
    changes = change_data_capture([Invoice], "2026-03-01T00:00:00+01:00", qb=qb)
    assert any(getattr(i, "status", "") == "Deleted" for i in changes.Invoice)

    # The known trap (notes §1.9): the SDK's "sparse" save() sends defaults that switch online payment off.
    linked = next(i for i in open_ones if i.AllowOnlineCreditCardPayment and i.BillEmail)
    assert Invoice.get(linked.Id, qb=qb).InvoiceLink  # a read by id carries the pay link
    trap = Invoice()
    trap.Id, trap.SyncToken, trap.sparse, trap.PrivateNote = linked.Id, linked.SyncToken, True, "Mahnung 1"
    trap.save(qb=qb)
    after = qbo_sandbox.record("Invoice", linked.Id)
    assert after["PrivateNote"] == "Mahnung 1" and after["AllowOnlineCreditCardPayment"] is False
    assert not Invoice.get(linked.Id, qb=qb).InvoiceLink  # and now it is gone

    # What the SDK makes of the sandbox's 429 and 401 is what notes §1.8 and deps.md §5 record.
    qbo_sandbox.set_rate_limit(0)
    with pytest.raises(QuickbooksException) as throttled:
        Invoice.count(qb=qb)
    assert throttled.value.error_code == 10000 and "ThrottleExceeded" in throttled.value.message
    qbo_sandbox.set_rate_limit(500)
    qbo_sandbox.expire_access_tokens()
    with pytest.raises(AuthorizationException):
        Invoice.count(qb=qb)

    old = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != old
    assert auth.revoke(token=auth.refresh_token) is True


# ----- standalone -----------------------------------------------------------------------------


def test_standalone_command_serves_and_prints_what_a_client_needs() -> None:
    code = "from connector.cli.sandbox import sandbox; sandbox(prog_name='arcadence sandbox')"
    command = [sys.executable, "-c", code, "quickbooks", "--port", "0", "--seed", "empty"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        killer = threading.Timer(60, process.kill)  # a safety net only; the test does not wait on it
        killer.start()
        try:
            assert process.stdout is not None
            printed = [process.stdout.readline() for _ in range(10)]
            base = printed[0].split(" running on ")[1].strip()
            text = "".join(printed)
            assert "client id:         sandbox-client-id" in text and "webhook verifier:" in text
            doc = requests.get(f"{base}/.well-known/openid_configuration", timeout=10).json()
            assert doc["token_endpoint"] == f"{base}/oauth2/v1/tokens/bearer"
        finally:
            killer.cancel()
            process.terminate()
