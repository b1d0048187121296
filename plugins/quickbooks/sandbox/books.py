"""Bookkeeping on the sandbox company: invoices, payments, credits, voids, deletes, notes.

The API's write endpoints, the control API and the seed all go through these functions, so a
payment made by a test looks exactly like one made through ``POST /payment``. The behaviour follows
notes/quickbooks.md §3.3-§3.6: applying a payment or credit bumps the invoice (SyncToken,
LastUpdatedTime, a ``LinkedTxn`` back-reference); a credit is applied through a zero-amount Payment;
a void zeroes amounts and prepends "Voided" to ``PrivateNote``; a delete leaves only a stub.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from plugins.quickbooks.sandbox.faults import QboFault, invalid_request, required_missing, string_too_long
from plugins.quickbooks.sandbox.store import RAW, CompanyStore

CENT = Decimal("0.01")
COMPANY_ZONE = ZoneInfo("Europe/Berlin")
CURRENCY_NAMES = {"EUR": "Euro", "USD": "United States Dollar", "GBP": "British Pound Sterling"}
# EUR per unit of the foreign currency; the home currency is EUR.
EXCHANGE_RATES = {"EUR": Decimal(1), "USD": Decimal("0.92"), "GBP": Decimal("1.17")}
NOTE_LIMIT = 2000  # Attachable.Note (notes §0.8, §3.6)
MEMOS = {"DE": "Vielen Dank für Ihren Auftrag.", "US": "Thank you for your business and have a great day!"}
CREDIT_LINK_NOTE = "Created by QB Online to link credits to charges."  # NANGO Payment 74


def local_date(at: datetime) -> date:
    """The company's calendar date at an instant (the sample company keeps Berlin time)."""
    return at.astimezone(COMPANY_ZONE).date()


def money(value: Any) -> Decimal:
    """A two-place Decimal from anything numeric; ``ValueError`` for text that is not a number."""
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None


def currency_ref(code: str) -> dict[str, str]:
    """``{"value": "EUR", "name": "Euro"}``."""
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def sales_line(number: int, description: str, qty: Decimal, price: Decimal, item: tuple[str, str]) -> dict[str, Any]:
    """One ``SalesItemLineDetail`` line in the NANGO shape."""
    return {
        "Id": str(number),
        "LineNum": number,
        "Description": description,
        "Amount": money(qty * price),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {
            "ItemRef": {"value": item[0], "name": item[1]},
            "UnitPrice": price,
            "Qty": qty,
            "ItemAccountRef": {"value": "79", "name": "Sales of Product Income"},
            "TaxCodeRef": {"value": "NON"},
        },
    }


def lines_total(lines: list[dict[str, Any]]) -> Decimal:
    """The sum of the sales lines (discount lines subtract; subtotal lines are ignored)."""
    total = Decimal(0)
    for line in lines:
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            total += money(line.get("Amount", 0))
        elif kind == "DiscountLineDetail":
            total -= money(line.get("Amount", 0))
    return total


def with_subtotal(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lines with the trailing ``SubTotalLineDetail`` line the API always adds."""
    body = [line for line in lines if line.get("DetailType") != "SubTotalLineDetail"]
    return [*body, {"Amount": lines_total(body), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]


def set_home_amounts(txn: dict[str, Any]) -> None:
    """``ExchangeRate`` always; ``HomeTotalAmt``/``HomeBalance`` for foreign-currency transactions."""
    code = txn.get("CurrencyRef", {}).get("value", "EUR")
    rate = EXCHANGE_RATES.get(code, Decimal(1))
    txn["ExchangeRate"] = rate
    if code != "EUR" and isinstance(txn.get("TotalAmt"), Decimal):
        txn["HomeTotalAmt"] = money(txn["TotalAmt"] * rate)
        if isinstance(txn.get("Balance"), Decimal):
            txn["HomeBalance"] = money(txn["Balance"] * rate)


def customer_ref(store: CompanyStore, customer_id: str) -> dict[str, str]:
    """``{"value": id, "name": DisplayName}`` of a live customer (610 otherwise)."""
    customer = store.get("Customer", customer_id)
    return {"value": customer["Id"], "name": customer["DisplayName"]}


def new_invoice(
    store: CompanyStore,
    at: datetime,
    *,
    customer_id: str,
    lines: list[dict[str, Any]],
    txn_date: date,
    due_date: date,
    term_id: str | None = None,
    doc_number: str | None = None,
    bill_email: str | None = None,
    online_payment: bool = True,
    private_note: str | None = None,
    notify: bool = True,
) -> dict[str, Any]:
    """Create an open invoice in the customer's currency; its ``Balance`` is its total."""
    customer = store.get("Customer", customer_id)
    total = lines_total(lines)
    invoice: dict[str, Any] = {
        "AllowIPNPayment": False,
        "AllowOnlinePayment": False,
        "AllowOnlineCreditCardPayment": online_payment,
        "AllowOnlineACHPayment": online_payment,
        "CustomField": [],
        "DocNumber": doc_number or str(1000 + len(store.records["Invoice"]) + 1),
        "TxnDate": txn_date.isoformat(),
        "CurrencyRef": dict(customer["CurrencyRef"]),
        "LinkedTxn": [],
        "Line": with_subtotal(lines),
        "TxnTaxDetail": {"TotalTax": 0},
        "CustomerRef": customer_ref(store, customer_id),
        "CustomerMemo": {"value": MEMOS["DE" if customer.get("BillAddr", {}).get("Country") == "DE" else "US"]},
        "BillAddr": dict(customer.get("BillAddr", {})),
        "DueDate": due_date.isoformat(),
        "TotalAmt": total,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NeedToPrint",
        "EmailStatus": "NotSet",
        "Balance": total,
    }
    if private_note:
        invoice["PrivateNote"] = private_note
    if term_id:
        term = store.get("Term", term_id)
        invoice["SalesTermRef"] = {"value": term["Id"], "name": term["Name"]}
    email = bill_email if bill_email is not None else customer.get("PrimaryEmailAddr", {}).get("Address")
    if email:
        invoice["BillEmail"] = {"Address": email}
    set_home_amounts(invoice)
    return store.add("Invoice", invoice, at, notify=notify)


def _line_ex(txn: dict[str, Any], open_balance: Decimal) -> dict[str, Any]:
    # JAXB noise the live API puts on payment lines; note the numbers as strings (NANGO payments).
    pairs = [("txnId", txn["Id"]), ("txnOpenBalance", f"{open_balance:.2f}"), ("txnReferenceNumber", txn["DocNumber"])]
    return {
        "any": [
            {
                "name": "{http://schema.intuit.com/finance/v3}NameValue",
                "declaredType": "com.intuit.schema.finance.v3.NameValue",
                "scope": "javax.xml.bind.JAXBElement$GlobalScope",
                "value": {"Name": name, "Value": value},
                "nil": False,
                "globalScope": True,
                "typeSubstituted": False,
            }
            for name, value in pairs
        ]
    }


def receive_payment(
    store: CompanyStore,
    at: datetime,
    *,
    customer_id: str,
    amount: Any,
    applications: list[tuple[str, Any]] = (),  # type: ignore[assignment]
    txn_date: date | None = None,
    notify: bool = True,
) -> dict[str, Any]:
    """A customer payment, applied to invoices as given; what is left over is ``UnappliedAmt``."""
    total = money(amount)
    customer = store.get("Customer", customer_id)
    applied = [(store.get("Invoice", iid), money(part)) for iid, part in applications]
    for invoice, part in applied:
        if part <= 0 or part > invoice["Balance"]:
            raise ValueError(f"cannot apply {part} to invoice {invoice['Id']} with balance {invoice['Balance']}")
        if invoice["CustomerRef"]["value"] != customer["Id"]:
            raise ValueError(f"invoice {invoice['Id']} belongs to another customer")
    unapplied = total - sum((part for _, part in applied), Decimal(0))
    if unapplied < 0:
        raise ValueError(f"payment {total} is smaller than the amounts applied")
    payment: dict[str, Any] = {
        "CustomerRef": customer_ref(store, customer_id),
        "DepositToAccountRef": {"value": "4"},
        "TotalAmt": total,
        "UnappliedAmt": unapplied,
        "ProcessPayment": False,
        "TxnDate": (txn_date or local_date(at)).isoformat(),
        "CurrencyRef": dict(customer["CurrencyRef"]),
        "Line": [
            {
                "Amount": part,
                "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                "LineEx": _line_ex(invoice, invoice["Balance"]),
            }
            for invoice, part in applied
        ],
    }
    set_home_amounts(payment)
    store.add("Payment", payment, at, notify=notify)
    for invoice, part in applied:
        _settle(store, at, invoice, part, payment["Id"], notify)
    return payment


def _settle(store: CompanyStore, at: datetime, invoice: dict[str, Any], part: Decimal, pid: str, notify: bool) -> None:
    invoice["Balance"] = invoice["Balance"] - part
    invoice["LinkedTxn"].append({"TxnId": pid, "TxnType": "Payment"})
    set_home_amounts(invoice)
    store.touch("Invoice", invoice["Id"], at, notify=notify)  # notes §0.4, §3.5


def apply_payment(
    store: CompanyStore, at: datetime, invoice_id: str, amount: Any = None, *, notify: bool = True
) -> dict[str, Any]:
    """Pay one invoice, in full (``amount`` None) or in part."""
    invoice = store.get("Invoice", invoice_id)
    part = invoice["Balance"] if amount is None else money(amount)
    customer_id = invoice["CustomerRef"]["value"]
    applications = [(invoice_id, part)]
    return receive_payment(store, at, customer_id=customer_id, amount=part, applications=applications, notify=notify)


def new_credit_memo(
    store: CompanyStore, at: datetime, *, customer_id: str, amount: Any, txn_date: date, notify: bool = True
) -> dict[str, Any]:
    """An open credit memo: ``RemainingCredit`` = ``Balance`` = its total (credit_memo_get sample)."""
    customer = store.get("Customer", customer_id)
    total = money(amount)
    lines = [sales_line(1, "Gutschrift / credit", Decimal(1), total, ("1", "Services"))]
    memo: dict[str, Any] = {
        "RemainingCredit": total,
        "CustomField": [],
        "DocNumber": f"GS-{len(store.records['CreditMemo']) + 1:04d}",
        "TxnDate": txn_date.isoformat(),
        "CurrencyRef": dict(customer["CurrencyRef"]),
        "Line": with_subtotal(lines),
        "TxnTaxDetail": {"TotalTax": 0},
        "CustomerRef": customer_ref(store, customer_id),
        "TotalAmt": total,
        "ApplyTaxAfterDiscount": False,
        "PrintStatus": "NeedToPrint",
        "EmailStatus": "NotSet",
        "Balance": total,
    }
    set_home_amounts(memo)
    return store.add("CreditMemo", memo, at, notify=notify)


def apply_credit_memo(
    store: CompanyStore, at: datetime, memo_id: str, invoice_id: str, amount: Any = None, *, notify: bool = True
) -> dict[str, Any]:
    """Apply credit to an invoice the way QBO does: a zero-amount Payment linking both (NANGO 74)."""
    memo, invoice = store.get("CreditMemo", memo_id), store.get("Invoice", invoice_id)
    part = min(memo["RemainingCredit"], invoice["Balance"]) if amount is None else money(amount)
    if part <= 0 or part > memo["RemainingCredit"] or part > invoice["Balance"]:
        raise ValueError(f"cannot apply {part} of credit memo {memo_id} to invoice {invoice_id}")
    payment: dict[str, Any] = {
        "CustomerRef": dict(invoice["CustomerRef"]),
        "TotalAmt": Decimal(0),
        "UnappliedAmt": Decimal(0),
        "ProcessPayment": False,
        "TxnDate": local_date(at).isoformat(),
        "CurrencyRef": dict(invoice["CurrencyRef"]),
        "PrivateNote": CREDIT_LINK_NOTE,
        "Line": [
            {"Amount": part, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
            {"Amount": part, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
        ],
    }
    store.add("Payment", payment, at, notify=notify)
    memo["RemainingCredit"] = memo["RemainingCredit"] - part
    memo["Balance"] = memo["RemainingCredit"]
    set_home_amounts(memo)
    store.touch("CreditMemo", memo_id, at, notify=notify)
    _settle(store, at, invoice, part, payment["Id"], notify)
    return payment


def _unlink_payments(store: CompanyStore, at: datetime, invoice_id: str, notify: bool) -> None:
    """Payments applied to an invoice that goes away become unapplied (credits turn back)."""
    for payment in list(store.all("Payment")):
        kept, freed = [], Decimal(0)
        for line in payment["Line"]:
            links = line.get("LinkedTxn", [])
            if any(link["TxnType"] == "Invoice" and link["TxnId"] == invoice_id for link in links):
                freed += money(line["Amount"])
            else:
                kept.append(line)
        if freed:
            payment["Line"] = kept
            if payment["TotalAmt"]:
                payment["UnappliedAmt"] = payment["UnappliedAmt"] + freed
            store.touch("Payment", payment["Id"], at, notify=notify)


def void_invoice(store: CompanyStore, at: datetime, invoice_id: str, *, notify: bool = True) -> dict[str, Any]:
    """Zero every amount, prepend "Voided" to ``PrivateNote``; the record stays (invoice_void_response)."""
    invoice = store.get("Invoice", invoice_id)
    _unlink_payments(store, at, invoice_id, notify)
    for line in invoice["Line"]:
        line["Amount"] = Decimal(0)
        if "SalesItemLineDetail" in line:
            line["SalesItemLineDetail"]["Qty"] = Decimal(0)
    invoice.update(TotalAmt=Decimal(0), Balance=Decimal(0), LinkedTxn=[], TxnTaxDetail={"TotalTax": 0})
    old = invoice.get("PrivateNote")
    invoice["PrivateNote"] = f"Voided - {old}" if old else "Voided"  # separator unverified (notes §3.5)
    set_home_amounts(invoice)
    store.touch("Invoice", invoice_id, at, operation="Void", notify=notify)
    return invoice


def delete_invoice(store: CompanyStore, at: datetime, invoice_id: str, *, notify: bool = True) -> dict[str, Any]:
    """Delete: payments are unlinked, only the stub remains (invoice_delete_response)."""
    store.get("Invoice", invoice_id)
    _unlink_payments(store, at, invoice_id, notify)
    store.delete("Invoice", invoice_id, at, notify=notify)
    return {"status": "Deleted", "domain": "QBO", "Id": invoice_id}


def delete_payment(store: CompanyStore, at: datetime, payment_id: str, *, notify: bool = True) -> dict[str, Any]:
    """Delete a payment: the invoices it paid open again (notes §3.5), only a stub remains."""
    payment = store.get("Payment", payment_id)
    for line in payment["Line"]:
        for link in line.get("LinkedTxn", []):
            target = (
                store.find(link["TxnType"], link["TxnId"]) if link["TxnType"] in {"Invoice", "CreditMemo"} else None
            )
            if target is None:
                continue
            if link["TxnType"] == "Invoice":
                target["Balance"] = target["Balance"] + money(line["Amount"])
                target["LinkedTxn"] = [t for t in target["LinkedTxn"] if t.get("TxnId") != payment_id]
            else:
                target["RemainingCredit"] = target["Balance"] = target["RemainingCredit"] + money(line["Amount"])
            set_home_amounts(target)
            store.touch(link["TxnType"], target["Id"], at, notify=notify)
    store.delete("Payment", payment_id, at, notify=notify)
    return {"status": "Deleted", "domain": "QBO", "Id": payment_id}


def new_note(store: CompanyStore, at: datetime, body: dict[str, Any]) -> dict[str, Any]:
    """An Attachable note linked to entities (attachable_note_on_invoice_*); ≤ 2000 characters."""
    note = body.get("Note")
    if not isinstance(note, str) or not note:
        raise required_missing("Note")
    if len(note) > NOTE_LIMIT:
        raise string_too_long(NOTE_LIMIT, len(note))
    refs = []
    for ref in body.get("AttachableRef") or []:
        entity_ref = ref.get("EntityRef") or {}
        if str(entity_ref.get("type", "")).lower() == "invoice":
            store.get("Invoice", str(entity_ref.get("value")))
        include = ref.get("IncludeOnSend", False)
        # The doc request sends "false" as a string; the response has a bool (attachable samples).
        refs.append({"IncludeOnSend": include is True or str(include).lower() == "true", "EntityRef": entity_ref})
    return store.add("Attachable", {"AttachableRef": refs, "Note": note}, at)


def check_number(record: dict[str, Any], name: str) -> Decimal:
    """A numeric field of a request body, as Decimal; a 2010 fault when it is not a number."""
    try:
        return money(record[name])
    except (KeyError, ValueError, TypeError):
        raise invalid_request(f"{name} must be a number") from None


def customer_balances(store: CompanyStore) -> dict[str, Decimal]:
    """Open balance per customer: open invoices less remaining credit and unapplied payments.

    Negative means the customer is in credit (customer_get.nango-sandbox.json: Balance -261).
    """
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entity, field_name, sign in (("Invoice", "Balance", 1), ("CreditMemo", "RemainingCredit", -1)):
        for txn in store.all(entity):
            if RAW not in txn and isinstance(txn.get(field_name), Decimal) and "CustomerRef" in txn:
                balances[txn["CustomerRef"]["value"]] += sign * txn[field_name]
    for payment in store.all("Payment"):
        if isinstance(payment.get("UnappliedAmt"), Decimal):
            balances[payment["CustomerRef"]["value"]] -= payment["UnappliedAmt"]
    return balances


def fault_if(condition: bool, fault: QboFault) -> None:
    """Raise ``fault`` when ``condition`` holds."""
    if condition:
        raise fault
