"""The Xero sandbox's sample organisations: what the tests and the demo may rely on."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import requests

from connector.clock import FixedClock
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
