"""The bookkeeping the sandbox does: contacts, invoices, payments, credits, voids, deletes.

Shared by the seed, the control API and the API. Shapes follow ``api-samples/xero/``:
invoices_list_ACCREC.spec.json (invoice and its embedded ``Payments[]``), the xero-node ACCPAY list
(``CreditNotes[].AppliedAmount``), payments/credit_notes/overpayments/prepayments_list.spec.json.

What bumps ``UpdatedDateUTC`` (and sends a webhook) and what does not (notes §0.7: "changes that
don't create a journal do not bump UpdatedDateUTC"):

- bumps: creating, authorising, paying, crediting (credit note, overpayment, prepayment
  allocation), voiding, deleting an invoice; any change to an unpaid invoice; contact edits
  (name, email, contact persons).
- does NOT bump: ``DueDate`` or ``SentToContact`` changed on a partly paid/credited invoice
  (:func:`update_invoice`); a contact's ``Balances`` (computed when read) and ``IsCustomer``
  turning true with its first sales invoice. Only a re-read of open invoices (the nightly
  reconcile) sees these.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from plugins.xero.sandbox import wire
from plugins.xero.sandbox.store import Organisation

TAX_RATES = {"GB": Decimal("0.20"), "IE": Decimal("0.23")}
QUIET_FIELDS = frozenset({"DueDate", "SentToContact"})  # notes §0.7: no journal once money is applied
CREDIT_KINDS = {"CreditNotes": "CreditNoteID", "Overpayments": "OverpaymentID", "Prepayments": "PrepaymentID"}


def contact_summary(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as embedded in transactions."""
    return {
        "ContactID": contact["ContactID"],
        "Name": contact["Name"],
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": False,
    }


def new_contact(org: Organisation, at: datetime, body: dict[str, Any], *, notify: bool = True) -> dict[str, Any]:
    """A contact in the contact_single_with_contact_persons.spec.json shape (fields given win)."""
    contact: dict[str, Any] = {
        "ContactID": None,
        "ContactStatus": "ACTIVE",
        "Name": body["Name"],
        "FirstName": "",
        "LastName": "",
        "EmailAddress": "",
        "Addresses": [],
        "Phones": [],
        "UpdatedDateUTC": None,
        "ContactGroups": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "DefaultCurrency": org.info["BaseCurrency"],
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    contact.update({k: v for k, v in body.items() if k != "ContactID"})
    return org.add("Contacts", contact, at, notify=notify)


def _tax(org: Organisation) -> Decimal:
    return TAX_RATES.get(str(org.info.get("CountryCode")), Decimal("0.20"))


def line_item(org: Organisation, description: str, quantity: Any, unit: Any, code: str = "200") -> dict[str, Any]:
    """One ``Exclusive`` sales line with the org's VAT."""
    amount = wire.money(Decimal(str(quantity)) * Decimal(str(unit)))
    return {
        "LineItemID": org.new_id("LineItem"),
        "Description": description,
        "Quantity": Decimal(str(quantity)).quantize(Decimal("0.0001")),
        "UnitAmount": wire.money(unit),
        "TaxType": "OUTPUT2",
        "TaxAmount": wire.money(amount * _tax(org)),
        "LineAmount": amount,
        "AccountCode": code,
    }


def new_invoice(
    org: Organisation,
    at: datetime,
    *,
    contact_id: str,
    lines: list[dict[str, Any]],
    issued: date,
    due: date,
    number: str,
    status: str = "AUTHORISED",
    currency: str | None = None,
    reference: str = "",
    kind: str = "ACCREC",
    sent: bool = False,
    notify: bool = True,
) -> dict[str, Any]:
    """An invoice in the invoices_list_ACCREC.spec.json shape."""
    contact = org.get("Contacts", contact_id)
    currency = currency or org.info["BaseCurrency"]
    sub = sum((line["LineAmount"] for line in lines), Decimal("0.00"))
    tax = sum((line["TaxAmount"] for line in lines), Decimal("0.00"))
    total = wire.money(sub + tax)
    invoice: dict[str, Any] = {
        "Type": kind,
        "InvoiceID": None,
        "InvoiceNumber": number,
        "Reference": reference,
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": total,
        "AmountPaid": Decimal("0.00"),
        "AmountCredited": Decimal("0.00"),
        "SentToContact": sent,
        "CurrencyRate": Decimal("1.000000") if currency == org.info["BaseCurrency"] else Decimal("1.162500"),
        "HasErrors": False,
        "IsDiscounted": False,
        "HasAttachments": False,
        "Contact": contact_summary(contact),
    }
    wire.set_day(invoice, "Date", issued)
    wire.set_day(invoice, "DueDate", due)
    invoice.update(
        Status=status, LineAmountTypes="Exclusive", LineItems=lines, SubTotal=wire.money(sub),
        TotalTax=wire.money(tax), Total=total, UpdatedDateUTC=None, UpdatedDateUTCString="", CurrencyCode=currency,
    )  # fmt: skip
    org.add("Invoices", invoice, at, notify=notify)
    if kind == "ACCREC" and status == "AUTHORISED":
        contact["IsCustomer"] = True  # notes §0.7: IsCustomer changes without bumping the contact
    return invoice


def authorise(org: Organisation, at: datetime, invoice_id: str, *, notify: bool = True) -> dict[str, Any]:
    """DRAFT/SUBMITTED → AUTHORISED."""
    invoice = org.get("Invoices", invoice_id)
    if invoice["Status"] not in {"DRAFT", "SUBMITTED"}:
        raise ValueError(f"invoice {invoice_id} is {invoice['Status']}, not DRAFT or SUBMITTED")
    invoice["Status"] = "AUTHORISED"
    if invoice["Type"] == "ACCREC":
        org.get("Contacts", invoice["Contact"]["ContactID"])["IsCustomer"] = True
    org.touch("Invoices", invoice["InvoiceID"], at, notify=notify)
    return invoice


def _open(invoice: dict[str, Any], amount: Any) -> Decimal:
    if invoice["Status"] != "AUTHORISED":
        raise ValueError(f"invoice {invoice['InvoiceID']} is {invoice['Status']}; only AUTHORISED invoices take money")
    value = invoice["AmountDue"] if amount is None else wire.money(amount)
    if value <= 0 or value > invoice["AmountDue"]:
        raise ValueError(f"amount {value} is not between 0 and the amount due {invoice['AmountDue']}")
    return Decimal(value)


def _settle(invoice: dict[str, Any], on: date) -> None:
    if invoice["AmountDue"] == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = wire.day_date(on)


def apply_payment(
    org: Organisation, at: datetime, invoice_id: str, amount: Any = None, *, reference: str = "", notify: bool = True
) -> dict[str, Any]:
    """Pay an AUTHORISED invoice in full (no amount) or in part; returns the Payment (journaled: bumps)."""
    invoice = org.get("Invoices", invoice_id)
    value = _open(invoice, amount)
    on = at.date()
    payment: dict[str, Any] = {"PaymentID": None}
    wire.set_day(payment, "Date", on)
    del payment["DateString"]
    payment.update(
        BankAmount=value, Amount=value, Reference=reference, CurrencyRate=invoice["CurrencyRate"],
        PaymentType="ACCRECPAYMENT", Status="AUTHORISED", UpdatedDateUTC=None, UpdatedDateUTCString="",
        HasAccount=True, IsReconciled=False, Account={"AccountID": org.new_id("Account"), "Code": "090"},
        Invoice={
            "Type": invoice["Type"], "InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"],
            "Payments": [], "CreditNotes": [], "Prepayments": [], "Overpayments": [], "HasErrors": False,
            "IsDiscounted": False, "Contact": dict(invoice["Contact"], ContactNumber=""), "LineItems": [],
            "CurrencyCode": invoice["CurrencyCode"],
        },
        HasValidationErrors=False,
    )  # fmt: skip
    org.add("Payments", payment, at, notify=notify)
    invoice["Payments"].append(
        {"PaymentID": payment["PaymentID"], "Date": payment["Date"], "Amount": value, "Reference": reference,
         "CurrencyRate": invoice["CurrencyRate"], "HasAccount": False, "HasValidationErrors": False}
    )  # fmt: skip
    invoice["AmountPaid"] = wire.money(invoice["AmountPaid"] + value)
    invoice["AmountDue"] = wire.money(invoice["AmountDue"] - value)
    _settle(invoice, on)
    org.touch("Invoices", invoice["InvoiceID"], at, notify=notify)
    return payment


def new_credit(
    org: Organisation,
    at: datetime,
    entity: str,
    *,
    contact_id: str,
    amount: Any,
    issued: date,
    number: str = "",
    currency: str | None = None,
    notify: bool = True,
) -> dict[str, Any]:
    """An AUTHORISED credit note (ACCRECCREDIT, with tax), overpayment or prepayment (RECEIVE-…, no tax)."""
    contact = org.get("Contacts", contact_id)
    total = wire.money(amount)
    credit: dict[str, Any] = {CREDIT_KINDS[entity]: None}
    if entity == "CreditNotes":
        credit["CreditNoteNumber"] = number
        credit["Payments"] = []
        sub = wire.money(total / (1 + _tax(org)))
        kind, tax_type = "ACCRECCREDIT", "Exclusive"
    else:
        sub, kind, tax_type = total, f"RECEIVE-{entity[:-1].upper()}", "NoTax"
    credit.update(ID=None, CurrencyRate=Decimal("1.000000"), Type=kind, Reference=number, RemainingCredit=total)
    if entity == "Prepayments":
        credit["InvoiceNumber"] = number
    credit.update(Allocations=[], HasAttachments=False, Contact=contact_summary(contact))
    if entity != "CreditNotes":
        credit["Payments"] = []
    wire.set_day(credit, "Date", issued)
    credit.update(
        Status="AUTHORISED", LineAmountTypes=tax_type, LineItems=[], SubTotal=sub, TotalTax=wire.money(total - sub),
        Total=total, UpdatedDateUTC=None, UpdatedDateUTCString="", CurrencyCode=currency or org.info["BaseCurrency"],
    )  # fmt: skip
    return org.add(entity, credit, at, notify=notify)


def allocate(
    org: Organisation, at: datetime, entity: str, credit_id: str, invoice_id: str, amount: Any = None,
    *, notify: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Apply credit (credit note, overpayment, prepayment) to an invoice; both are journaled (bump)."""
    credit = org.get(entity, credit_id)
    invoice = org.get("Invoices", invoice_id)
    if credit["Status"] != "AUTHORISED" or credit["RemainingCredit"] <= 0:
        raise ValueError(f"{entity} {credit_id} has no credit left")
    wanted = min(credit["RemainingCredit"], invoice["AmountDue"]) if amount is None else amount
    value = _open(invoice, wanted)
    if value > credit["RemainingCredit"]:
        raise ValueError(f"only {credit['RemainingCredit']} credit remains")
    on = at.date()
    id_field = CREDIT_KINDS[entity]
    applied: dict[str, Any] = {id_field: credit[id_field]}
    if entity == "CreditNotes":
        applied["CreditNoteNumber"] = credit["CreditNoteNumber"]
    applied.update(ID=credit[id_field], AppliedAmount=value)
    wire.set_day(applied, "Date", on)
    applied.update(LineItems=[], Total=credit["Total"])
    invoice[entity].append(applied)
    allocation: dict[str, Any] = {"Amount": value}
    wire.set_day(allocation, "Date", on)
    del allocation["DateString"]
    allocation["Invoice"] = {
        "InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"], "Payments": [],
        "CreditNotes": [], "Prepayments": [], "Overpayments": [], "HasErrors": False, "IsDiscounted": False,
        "LineItems": [],
    }  # fmt: skip
    credit["Allocations"].append(allocation)
    credit["RemainingCredit"] = wire.money(credit["RemainingCredit"] - value)
    if credit["RemainingCredit"] == 0:
        credit["Status"] = "PAID"
    invoice["AmountCredited"] = wire.money(invoice["AmountCredited"] + value)
    invoice["AmountDue"] = wire.money(invoice["AmountDue"] - value)
    _settle(invoice, on)
    org.add_history("Invoices", invoice["InvoiceID"], "Credit Applied", f"Credit applied for {value}.", at)
    org.touch(entity, credit[id_field], at, notify=notify)
    org.touch("Invoices", invoice["InvoiceID"], at, notify=notify)
    return allocation


def void(org: Organisation, at: datetime, invoice_id: str, *, notify: bool = True) -> dict[str, Any]:
    """AUTHORISED (no money applied) → VOIDED, amount due zeroed (sample INV-0001)."""
    invoice = org.get("Invoices", invoice_id)
    if invoice["Status"] not in {"AUTHORISED", "SUBMITTED", "DRAFT"}:
        raise ValueError(f"invoice {invoice_id} is {invoice['Status']} and cannot be voided")
    if invoice["AmountPaid"] or invoice["AmountCredited"]:
        raise ValueError("remove the payments and credits before voiding (as in Xero)")
    invoice["Status"], invoice["AmountDue"] = "VOIDED", Decimal("0.00")
    org.touch("Invoices", invoice["InvoiceID"], at, notify=notify)
    return invoice


def delete(org: Organisation, at: datetime, invoice_id: str, *, force: bool = False, notify: bool = True) -> Any:
    """DRAFT/SUBMITTED → DELETED (Xero voids approved invoices instead; ``force`` deletes an unpaid AUTHORISED one)."""
    invoice = org.get("Invoices", invoice_id)
    allowed = {"DRAFT", "SUBMITTED"} | ({"AUTHORISED"} if force else set())
    if invoice["Status"] not in allowed or invoice["AmountPaid"] or invoice["AmountCredited"]:
        raise ValueError(f"invoice {invoice_id} is {invoice['Status']}: Xero deletes only DRAFT or SUBMITTED ones")
    invoice["Status"] = "DELETED"
    org.touch("Invoices", invoice["InvoiceID"], at, notify=notify)
    return invoice


def update_invoice(org: Organisation, at: datetime, invoice_id: str, fields: dict[str, Any]) -> bool:
    """Change ``DueDate`` (ISO date), ``SentToContact``, ``Reference``; True when it bumped ``UpdatedDateUTC``.

    notes §0.7: on an invoice with money applied, a DueDate or SentToContact change creates no
    journal, so neither ``UpdatedDateUTC`` nor a webhook tells anyone.
    """
    invoice = org.get("Invoices", invoice_id)
    for name, value in fields.items():
        if name == "DueDate":
            wire.set_day(invoice, "DueDate", date.fromisoformat(str(value)))
        elif name in {"SentToContact", "Reference"}:
            invoice[name] = value
        else:
            raise ValueError(f"update_invoice does not change {name}")
    money_applied = invoice["AmountPaid"] > 0 or invoice["AmountCredited"] > 0
    if money_applied and set(fields) <= QUIET_FIELDS:
        return False
    org.touch("Invoices", invoice["InvoiceID"], at)
    return True


def balances(org: Organisation, today: date) -> dict[str, dict[str, Any]]:
    """``Balances`` per contact, computed when read (so they never bump a contact, notes §0.7)."""
    out: dict[str, list[Decimal]] = {}
    for invoice in org.all("Invoices"):
        if invoice.get("Status") != "AUTHORISED" or not isinstance(invoice.get("Contact"), dict):
            continue
        try:
            due, amount = wire.parse_ms_date(str(invoice["DueDate"])), Decimal(str(invoice["AmountDue"]))
        except (ArithmeticError, KeyError):
            continue
        sign = -1 if invoice["Type"] == "ACCPAY" else 1
        entry = out.setdefault(invoice["Contact"]["ContactID"], [Decimal(0)] * 4)
        index = 0 if sign > 0 else 2
        entry[index] += amount
        if due is not None and due.date() < today:
            entry[index + 1] += amount
    return {
        cid: {
            "AccountsReceivable": {"Outstanding": wire.money(v[0]), "Overdue": wire.money(v[1])},
            "AccountsPayable": {"Outstanding": wire.money(v[2]), "Overdue": wire.money(v[3])},
        }
        for cid, v in out.items()
    }
