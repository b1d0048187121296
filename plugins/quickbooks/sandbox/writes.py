"""``POST /v3/company/{realm}/{entity}``: creates, updates (sparse and full), void, delete.

Rules from notes/quickbooks.md §3.1, §3.5, §3.6 and §1.9:
- an update needs the current ``SyncToken``; a stale one is Fault 5010 and changes nothing;
- ``"sparse": true`` changes only the fields sent; a full update (no ``sparse``) sets every writable
  field that was left out back to its default, so ``AllowOnlineCreditCardPayment`` and friends fall
  to ``false`` and the pay link disappears (the python-quickbooks ``save()`` trap);
- read-only fields sent by clients (``Balance``, ``TotalAmt``, ``InvoiceLink``, ``MetaData`` …) are
  ignored; ``TotalAmt``/``Balance`` follow the lines and the payments applied.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from plugins.quickbooks.sandbox import books
from plugins.quickbooks.sandbox.faults import QboFault, invalid_request, required_missing, stale_object, unsupported
from plugins.quickbooks.sandbox.store import CompanyStore

READ_ONLY = frozenset(
    {"Id", "SyncToken", "MetaData", "domain", "sparse", "TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt",
     "InvoiceLink", "LinkedTxn", "ExchangeRate", "status", "RemainingCredit"}
)  # fmt: skip
# A full update resets these when they are left out (notes §1.9: the SDK's defaults).
FULL_UPDATE_DEFAULTS: dict[str, Any] = {
    "AllowIPNPayment": False,
    "AllowOnlinePayment": False,
    "AllowOnlineCreditCardPayment": False,
    "AllowOnlineACHPayment": False,
    "EmailStatus": "NotSet",
    "PrintStatus": "NotSet",
    "CustomField": [],
    "ApplyTaxAfterDiscount": False,
    "TxnTaxDetail": {"TotalTax": 0},
}
KEPT_ON_FULL_UPDATE = ("DocNumber", "TxnDate", "DueDate", "CurrencyRef")  # unverified: kept when left out


def check_sync_token(record: dict[str, Any], body: dict[str, Any]) -> None:
    """5010 unless the request carries the record's current ``SyncToken``."""
    if "SyncToken" not in body:
        raise required_missing("SyncToken")
    if str(body["SyncToken"]) != str(record.get("SyncToken")):
        raise stale_object()


def write(
    store: CompanyStore, at: datetime, today: date, entity: str, body: dict[str, Any], operation: str | None
) -> tuple[str, dict[str, Any], bool]:
    """Apply one write; (entity name, resulting record or delete stub, whether it is a live record)."""
    name = entity.lower()
    if name == "invoice":
        if operation in {"delete", "void"}:
            invoice = store.get("Invoice", _id(body))
            check_sync_token(invoice, body)
            if operation == "delete":
                return "Invoice", books.delete_invoice(store, at, invoice["Id"]), False
            return "Invoice", books.void_invoice(store, at, invoice["Id"]), True
        if "Id" in body:
            return "Invoice", update_invoice(store, at, body), True
        return "Invoice", create_invoice(store, at, today, body), True
    if name == "payment" and operation is None and "Id" not in body:
        return "Payment", create_payment(store, at, body), True
    if name == "payment" and operation == "delete":
        payment = store.get("Payment", _id(body))
        check_sync_token(payment, body)
        return "Payment", books.delete_payment(store, at, payment["Id"]), False
    if name == "attachable" and operation is None and "Id" not in body:
        return "Attachable", books.new_note(store, at, body), True
    if name == "customer" and operation is None and "Id" in body:
        return "Customer", update_customer(store, at, body), True
    raise unsupported(f"Operation {operation or 'create/update'} on {entity} is not supported by the sandbox")


def _id(body: dict[str, Any]) -> str:
    if not body.get("Id"):
        raise required_missing("Id")
    return str(body["Id"])


def _lines(body: dict[str, Any]) -> list[dict[str, Any]]:
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required_missing("Line")
    normal = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict) or "DetailType" not in line:
            raise invalid_request("Line needs a DetailType")
        if line["DetailType"] == "SubTotalLineDetail":
            continue
        line = dict(line)
        line["Amount"] = books.check_number(line, "Amount")
        if line["DetailType"] == "SalesItemLineDetail":
            line.setdefault("Id", str(number))
            line.setdefault("LineNum", number)
        normal.append(line)
    return normal


def _applied(store: CompanyStore, invoice_id: str) -> Decimal:
    total = Decimal(0)
    for payment in store.all("Payment"):
        for line in payment["Line"]:
            if any(link["TxnType"] == "Invoice" and link["TxnId"] == invoice_id for link in line.get("LinkedTxn", [])):
                total += books.money(line["Amount"])
    return total


def update_invoice(store: CompanyStore, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """A sparse or full update of an invoice (see the module docstring)."""
    invoice = store.get("Invoice", _id(body))
    check_sync_token(invoice, body)
    sparse = body.get("sparse") is True or str(body.get("sparse")).lower() == "true"
    if sparse:
        # python-quickbooks' save() sends "" dates and an empty Line with every sparse update (notes §1.9);
        # they are taken as "not sent" so its real damage, the reset payment flags, shows (unverified).
        body = {key: value for key, value in body.items() if value != "" and not (key == "Line" and value == [])}
    lines = _lines(body) if "Line" in body or not sparse else None
    changes = {key: value for key, value in body.items() if key not in READ_ONLY and key != "Line"}
    if not sparse:
        customer = (body.get("CustomerRef") or {}).get("value")
        if not customer:
            raise required_missing("CustomerRef")
        kept = {key: invoice[key] for key in ("Id", "SyncToken", "MetaData", "domain", "sparse", "LinkedTxn")}
        kept.update({key: invoice[key] for key in KEPT_ON_FULL_UPDATE if key in invoice and not body.get(key)})
        invoice.clear()
        invoice.update({**FULL_UPDATE_DEFAULTS, **changes, **kept})
        invoice["CustomerRef"] = books.customer_ref(store, str(customer))
    else:
        invoice.update(changes)
    if lines is not None:
        invoice["Line"] = books.with_subtotal(lines)
    invoice["TotalAmt"] = books.lines_total(invoice["Line"])
    invoice["Balance"] = invoice["TotalAmt"] - _applied(store, invoice["Id"])
    if isinstance(invoice.get("BillEmail"), dict) and not invoice["BillEmail"].get("Address"):
        del invoice["BillEmail"]  # the SDK's defaults send empty objects
    books.set_home_amounts(invoice)
    store.touch("Invoice", invoice["Id"], at)
    return invoice


def create_invoice(store: CompanyStore, at: datetime, today: date, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /invoice`` without ``Id``: CustomerRef and Line are required; dates default from the term."""
    customer = (body.get("CustomerRef") or {}).get("value")
    if not customer:
        raise required_missing("CustomerRef")
    lines = _lines(body)
    try:
        txn_date = date.fromisoformat(body["TxnDate"]) if body.get("TxnDate") else today
        term_id = (body.get("SalesTermRef") or {}).get("value")
        days = int(store.get("Term", str(term_id))["DueDays"]) if term_id else 0
        due = date.fromisoformat(body["DueDate"]) if body.get("DueDate") else txn_date + timedelta(days=days)
    except ValueError as exc:
        raise invalid_request(str(exc)) from None
    online = bool(body.get("AllowOnlineCreditCardPayment") or body.get("AllowOnlineACHPayment"))
    return books.new_invoice(
        store, at, customer_id=str(customer), lines=lines, txn_date=txn_date, due_date=due,
        term_id=str(term_id) if term_id else None, doc_number=body.get("DocNumber"),
        bill_email=(body.get("BillEmail") or {}).get("Address"), online_payment=online,
        private_note=body.get("PrivateNote"),
    )  # fmt: skip


def create_payment(store: CompanyStore, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /payment``: ``TotalAmt`` and ``CustomerRef``; ``Line[].LinkedTxn`` applies it to invoices."""
    customer = (body.get("CustomerRef") or {}).get("value")
    if not customer:
        raise required_missing("CustomerRef")
    total = books.check_number(body, "TotalAmt")
    applications = []
    for line in body.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice":
                applications.append((str(link.get("TxnId")), books.check_number(line, "Amount")))
    try:
        return books.receive_payment(
            store, at, customer_id=str(customer), amount=total, applications=applications, txn_date=None
        )
    except ValueError as exc:
        raise QboFault(
            400, "6000", "A business validation error has occurred while processing your request", str(exc)
        ) from None


def update_customer(store: CompanyStore, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """A sparse update of a customer (e.g. a new ``PrimaryEmailAddr``)."""
    customer = store.get("Customer", _id(body))
    check_sync_token(customer, body)
    if body.get("sparse") is not True:
        raise unsupported("Only sparse updates of Customer are supported by the sandbox")
    customer.update({key: value for key, value in body.items() if key not in READ_ONLY and key != "Balance"})
    store.touch("Customer", customer["Id"], at)
    return customer
