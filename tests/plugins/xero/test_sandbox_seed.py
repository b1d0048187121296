"""The Xero sandbox's sample organisations: what the tests and the demo may rely on."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import requests

from connector.clock import FixedClock
from connector.sandboxkit import pkce_challenge
from plugins.xero.sandbox import XeroSandbox

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
MS_DATE = re.compile(r"^/Date\(\d+\+0000\)/$")


def test_the_sample_organisation_has_every_case_the_collections_need() -> None:
    sandbox = XeroSandbox(clock=FixedClock(NOW))
    invoices = [i for i in sandbox.records("Invoices") if i["Type"] == "ACCREC"]
    contacts = sandbox.records("Contacts")
    assert len(contacts) >= 40 and len(invoices) >= 300
    statuses = Counter(i["Status"] for i in invoices)
    assert set(statuses) == {"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"}
    open_ = [i for i in invoices if i["Status"] == "AUTHORISED"]
    overdue_days = {(NOW.date() - datetime.fromisoformat(i["DueDateString"]).date()).days for i in open_}
    assert max(overdue_days) > 120 and min(overdue_days) < 0  # overdue by months, and not yet due
    assert any(Decimal(i["AmountPaid"]) > 0 for i in open_)  # part paid
    for invoice in invoices:
        money = {k: Decimal(invoice[k]) for k in ("Total", "AmountPaid", "AmountCredited", "AmountDue")}
        if invoice["Status"] != "VOIDED":
            assert money["AmountDue"] == money["Total"] - money["AmountPaid"] - money["AmountCredited"]
        assert MS_DATE.match(invoice["DueDate"]) and invoice["DueDateString"].endswith("T00:00:00")
    assert {i["CurrencyCode"] for i in invoices} == {"GBP", "EUR"}
    assert any(c["EmailAddress"] == "" and not c["ContactPersons"] for c in contacts)
    persons = [p for c in contacts for p in c["ContactPersons"]]
    assert {p["IncludeInEmails"] for p in persons} == {True, False}
    notes = sandbox.records("CreditNotes")
    assert {n["Status"] for n in notes} == {"PAID", "AUTHORISED"} and any(
        Decimal(n["RemainingCredit"]) > 0 for n in notes
    )
    assert Decimal(sandbox.records("Overpayments")[0]["RemainingCredit"]) > 0
    assert Decimal(sandbox.records("Prepayments")[0]["RemainingCredit"]) > 0
    assert any(p.get("BatchPayment", {}).get("IsReconciled") == "false" for p in sandbox.records("Payments"))
    assert sandbox.records("Invoices", tenant_id=sandbox.tenant_ids[1])


def test_the_seed_is_deterministic_sized_and_can_be_empty() -> None:
    one, two = XeroSandbox(clock=FixedClock(NOW)), XeroSandbox(clock=FixedClock(NOW))
    assert one.records("Invoices") == two.records("Invoices")
    small = XeroSandbox(clock=FixedClock(NOW), contacts=15, invoices=30)
    assert len([i for i in small.records("Invoices") if i["Type"] == "ACCREC"]) == 33  # 30 + 3 credit targets
    empty = XeroSandbox(clock=FixedClock(NOW), seed="empty")
    assert empty.records("Invoices") == [] and empty.records("Contacts") == []


def test_the_control_api_answers_over_http(xero_sandbox: XeroSandbox) -> None:
    base = f"{xero_sandbox.base_url}/_sandbox"
    contact = requests.get(f"{base}/records", params={"entity": "Contacts"}, timeout=10).json()["result"][0]
    made = requests.post(f"{base}/create_invoice", json={"contact_id": contact["ContactID"], "amount": "100"}).json()
    invoice = made["result"]
    assert (invoice["Status"], invoice["Total"], invoice["AmountDue"]) == ("AUTHORISED", "120.00", "120.00")
    paid = requests.post(f"{base}/apply_payment", json={"invoice_id": invoice["InvoiceID"], "amount": "20"}).json()
    assert paid["result"]["Amount"] == "20.00"
    assert requests.post(f"{base}/void_invoice", json={"invoice_id": invoice["InvoiceID"]}).status_code == 400
    assert requests.get(f"{base}/record", params={"entity": "Invoices", "record_id": "nope"}).status_code == 404


def test_the_command_line_knows_the_xero_sandbox() -> None:
    from connector.cli.sandbox import load_sandbox_class

    assert load_sandbox_class("xero") is XeroSandbox


def test_the_standalone_command_serves_and_prints_what_any_client_needs() -> None:
    """``arcadence sandbox xero --seed empty --auto-consent``: a plain HTTP client, told only what
    the command printed, runs the PKCE code flow and reads the organisation's (empty) invoices."""
    code = "from connector.cli.sandbox import sandbox; sandbox(prog_name='arcadence sandbox')"
    command = [sys.executable, "-c", code, "xero", "--port", "0", "--seed", "empty", "--auto-consent"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        killer = threading.Timer(60, process.kill)  # a safety net only; the test does not wait on it
        killer.start()
        try:
            assert process.stdout is not None
            printed = [process.stdout.readline()]
            while "Ctrl+C" not in printed[-1] and printed[-1]:
                printed.append(process.stdout.readline())
            said = {k.strip(): v.split("   (")[0].strip() for k, v in (line.split(":", 1) for line in printed[1:-1])}
            base = printed[0].split(" running on ")[1].strip()
            assert said["API base"] == f"{base}/api.xro/2.0" and said["webhook key"]
            verifier = secrets.token_urlsafe(48)
            consent = requests.get(said["authorize URL"], allow_redirects=False, timeout=10, params={
                "client_id": said["client id"], "response_type": "code", "redirect_uri": "http://127.0.0.1:9/cb",
                "scope": "offline_access accounting.invoices", "state": "s",
                "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
            })  # fmt: skip
            code_ = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
            tokens = requests.post(f"{said['identity URL']}/connect/token", timeout=10, data={
                "grant_type": "authorization_code", "code": code_, "redirect_uri": "http://127.0.0.1:9/cb",
                "code_verifier": verifier,
            }, auth=(said["client id"], said["client secret"])).json()  # fmt: skip
            bearer = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
            tenants = requests.get(said["connections"], headers=bearer, timeout=10).json()
            assert len(tenants) == 2 and tokens["refresh_token"]
            headers = {**bearer, "xero-tenant-id": tenants[0]["tenantId"]}
            answer = requests.get(f"{said['API base']}/Invoices", params={"page": "1"}, headers=headers, timeout=10)
            assert answer.status_code == 200 and answer.json()["Invoices"] == []
            assert answer.headers["X-DayLimit-Remaining"] == "4999"
        finally:
            killer.cancel()
            process.terminate()
