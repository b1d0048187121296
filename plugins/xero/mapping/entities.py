"""Xero Contacts, Invoices, Payments, CreditNotes, Overpayments and Prepayments → :mod:`core.model`.

Pure: no I/O, no clock. Each ``map_*`` raises :class:`MappingError` naming the field for bad data
and :class:`NotReceivable` for a record that is not accounts receivable; the package docstring
(:mod:`plugins.xero.mapping`) lists the decisions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from connector.platform import Entity
from core.model import Allocation, Credit, CreditKind, Customer, Invoice, InvoiceStatus, Payment, money
from plugins.xero.mapping.readers import (
    MappingError,
    NotReceivable,
    amount,
    check_home,
    code,
    currency,
    flag,
    ident,
    obj,
    objects,
    optional_date,
    text,
    xero_date,
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

INVOICE_STATUSES: Mapping[str, InvoiceStatus] = MappingProxyType(
    {
        "DRAFT": InvoiceStatus.DRAFT,
        "SUBMITTED": InvoiceStatus.DRAFT,  # submitted for approval, not yet approved (notes §1.6)
        "AUTHORISED": InvoiceStatus.OPEN,  # approved, awaiting payment (PAID when nothing is due)
        "PAID": InvoiceStatus.PAID,
        "VOIDED": InvoiceStatus.VOIDED,
        "DELETED": InvoiceStatus.DELETED,
    }
)
"""Xero invoice ``Status`` → :class:`InvoiceStatus` (an AUTHORISED invoice with nothing due is paid)."""

CREDIT_STATUSES = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"})
"""What a credit note, overpayment or prepayment may be; VOIDED and DELETED ones are gone."""

# Entity → (id key, the Type of ours, the Types that are not ours, kind).
_CREDITS: Mapping[Entity, tuple[str, str, frozenset[str], CreditKind]] = MappingProxyType(
    {
        Entity.CREDIT_NOTE: ("CreditNoteID", "ACCRECCREDIT", frozenset({"ACCPAYCREDIT"}), CreditKind.CREDIT_NOTE),
        Entity.OVERPAYMENT: (
            "OverpaymentID",
            "RECEIVE-OVERPAYMENT",
            frozenset({"SPEND-OVERPAYMENT"}),
            CreditKind.OVERPAYMENT,
        ),
        Entity.PREPAYMENT: (
            "PrepaymentID",
            "RECEIVE-PREPAYMENT",
            frozenset({"SPEND-PREPAYMENT"}),
            CreditKind.PREPAYMENT,
        ),
    }
)

RECEIPT_PAYMENT_TYPES = frozenset({"ACCRECPAYMENT"})
"""Payment types that are money received against a sales invoice."""
OTHER_PAYMENT_TYPES = frozenset(
    {"ACCPAYPAYMENT", "APCREDITPAYMENT", "APOVERPAYMENTPAYMENT", "APPREPAYMENTPAYMENT",
     "ARCREDITPAYMENT", "AROVERPAYMENTPAYMENT", "ARPREPAYMENTPAYMENT"}
)  # fmt: skip
"""Supplier payments, and refunds of customer credit (already out of its ``RemainingCredit``)."""


# --- contacts


def _addresses(value: str) -> list[str]:
    # One address per field in every sample; split on , and ; defensively (as the QBO mapping does)
    # and keep what looks like an address.
    return [part.strip() for part in re.split(r"[,;]", value) if _EMAIL.fullmatch(part.strip())]


def map_contact(raw: Mapping[str, Any], *, home_currency: str) -> Customer:
    """Map a Xero Contact.

    ``emails``: ``EmailAddress`` first, then each of ``ContactPersons`` whose ``IncludeInEmails``
    is true (``"true"`` accepted), in order, duplicates dropped regardless of case: the people
    Xero's own reminders go to (notes §5). ``active`` is False for ``ContactStatus`` ARCHIVED or
    GDPRREQUEST; absent or ACTIVE is active, and a status Xero adds later is read as active
    rather than refused (the SDK's strict enums are a known trap, notes §0.8). Suppliers are
    mapped too: ``IsCustomer`` is not kept current by Xero (notes §0.7), and a contact only
    matters through its invoices. ``language`` is ``"en"``; ``home_currency`` is only checked.
    """
    check_home(home_currency)
    name = text(raw, "Name").strip()
    if not name:
        raise MappingError("Name", "empty")
    found: dict[str, str] = {}
    for address in _addresses(text(raw, "EmailAddress", default="")):
        found.setdefault(address.lower(), address)
    for i, person in enumerate(objects(raw, "ContactPersons")):
        where = f"ContactPersons[{i}]"
        if flag(person, "IncludeInEmails", where, default=False):
            for address in _addresses(text(person, "EmailAddress", where, default="")):
                found.setdefault(address.lower(), address)
    status = code(raw, "ContactStatus", default="ACTIVE")
    return Customer(
        id=ident(raw, "ContactID"),
        name=name,
        emails=tuple(found.values()),
        active=status not in ("ARCHIVED", "GDPRREQUEST"),
    )


# --- invoices


def _contact_id(raw: Mapping[str, Any], prefix: str = "") -> str:
    where = f"{prefix}.Contact" if prefix else "Contact"
    return ident(obj(raw, "Contact", prefix), "ContactID", where)


def map_invoice(raw: Mapping[str, Any], *, home_currency: str) -> Invoice:
    """Map a Xero sales invoice (``Type`` ACCREC).

    ``number`` is ``InvoiceNumber`` (``""`` when absent, as on some drafts), ``issue_date``
    ``Date`` and ``due_date`` ``DueDate`` (or their ``DateString`` twins), ``total`` ``Total``,
    ``balance`` ``AmountDue``, in ``CurrencyCode`` or the home currency. ``status`` follows
    :data:`INVOICE_STATUSES`. A draft may lack a due date (Xero asks for one on approval): it
    then falls due on its date, and a draft without either date takes the other's.
    ``paid_date`` is ``FullyPaidOnDate`` for a paid invoice. ``terms`` is ``""`` and ``pay_url``
    None: a Xero invoice names no terms, and its OnlineInvoice URL is fetched on its own.

    Checks: ``AmountDue`` is at most ``Total``; a PAID invoice has nothing due; and, when both
    ``AmountPaid`` and ``AmountCredited`` are given on an AUTHORISED or PAID invoice, ``AmountDue``
    = ``Total`` − paid − credited (Xero's definition; a VOIDED invoice keeps its Total with
    nothing due). ``HasErrors``/``ValidationErrors`` are not read: on a fetched record they describe
    a write that was refused, not the record as stored.

    Raises:
        NotReceivable: for a bill (``Type`` ACCPAY).
        MappingError: for anything else wrong, naming the field.
    """
    home = check_home(home_currency)
    invoice_id = ident(raw, "InvoiceID")
    kind = code(raw, "Type")
    if kind != "ACCREC":
        if kind == "ACCPAY":
            raise NotReceivable("Type", "ACCPAY is a bill (accounts payable), not a sales invoice")
        raise MappingError("Type", f"not a sales invoice type: {kind!r}")
    status_code = code(raw, "Status")
    status = INVOICE_STATUSES.get(status_code)
    if status is None:
        raise MappingError("Status", f"unknown invoice status {status_code!r}")
    cur = currency(raw, home)
    total = amount(raw, "Total")
    due = amount(raw, "AmountDue")
    if due > total:
        raise MappingError("AmountDue", f"{due} is more than Total {total}")
    paid, credited = (amount(raw, k) if raw.get(k) is not None else None for k in ("AmountPaid", "AmountCredited"))
    checked = status_code in ("AUTHORISED", "PAID") and paid is not None and credited is not None
    if checked and total - (paid or 0) - (credited or 0) != due:
        raise MappingError("AmountDue", f"{due} is not Total {total} less paid {paid} and credited {credited}")
    if status_code == "PAID" and due:
        raise MappingError("AmountDue", f"{due} still due on a PAID invoice")
    if status is InvoiceStatus.OPEN and due == 0:
        status = InvoiceStatus.PAID
    if status is InvoiceStatus.DRAFT:
        issued = optional_date(raw, "Date") or optional_date(raw, "DueDate") or xero_date(raw, "Date")
        due_date = optional_date(raw, "DueDate") or issued
    else:
        issued, due_date = xero_date(raw, "Date"), xero_date(raw, "DueDate")
    paid_date = optional_date(raw, "FullyPaidOnDate") if status is InvoiceStatus.PAID else None
    return Invoice(
        id=invoice_id,
        customer_id=_contact_id(raw),
        number=text(raw, "InvoiceNumber", default="").strip(),
        issue_date=issued,
        due_date=due_date,
        total=money(total, cur),
        balance=money(due, cur),
        status=status,
        paid_date=paid_date,
        pay_url=None,
        terms="",
    )


# --- payments


def map_payment(raw: Mapping[str, Any], *, home_currency: str) -> Payment:
    """Map a Xero Payment received against a sales invoice (``PaymentType`` ACCRECPAYMENT).

    A Xero payment pays exactly one invoice: ``amount`` is ``Amount`` (in the invoice's
    currency: ``Invoice.CurrencyCode``, else ``CurrencyCode``, else home; ``BankAmount`` is in
    the bank account's) and it is one allocation to ``Invoice.InvoiceID`` (none when zero).
    ``customer_id`` is ``Invoice.Contact.ContactID``, ``payment_date`` ``Date``. ``unapplied``
    is None: nothing of a Xero payment is left over (money paid in excess is an Overpayment).
    Without ``PaymentType``, ``Invoice.Type`` ACCREC makes it a receipt.

    Raises:
        NotReceivable: for supplier payments and refunds of customer credit (ARCREDITPAYMENT …).
        MappingError: for a DELETED payment (:func:`map_record` reports it deleted) and bad data.
    """
    home = check_home(home_currency)
    payment_id = ident(raw, "PaymentID")
    if code(raw, "Status", default="AUTHORISED") == "DELETED":
        raise MappingError("Status", "a deleted payment has nothing to map (map_record reports it as deleted)")
    kind = code(raw, "PaymentType", default="")
    if kind in OTHER_PAYMENT_TYPES:  # a refund may name its credit ("Overpayment": {…}) instead of an Invoice
        raise NotReceivable("PaymentType", f"{kind} is not money received against a sales invoice")
    invoice = obj(raw, "Invoice")
    invoice_type = code(invoice, "Type", "Invoice", default="")
    kind = kind or ("ACCRECPAYMENT" if invoice_type == "ACCREC" else "")
    if kind not in RECEIPT_PAYMENT_TYPES:
        raise MappingError("PaymentType", f"unknown payment type {kind!r}" if kind else "missing")
    if invoice_type not in ("", "ACCREC"):
        raise MappingError("Invoice.Type", f"{invoice_type!r} for an {kind}")
    cur = currency(invoice, home) if invoice.get("CurrencyCode") is not None else currency(raw, home)
    value = amount(raw, "Amount")
    invoice_id = ident(invoice, "InvoiceID", "Invoice")
    return Payment(
        id=payment_id,
        customer_id=_contact_id(invoice, "Invoice"),
        payment_date=xero_date(raw, "Date"),
        amount=money(value, cur),
        allocations=(Allocation(invoice_id, money(value, cur)),) if value else (),
        unapplied=None,
    )


# --- credit notes, overpayments, prepayments


def map_credit(raw: Mapping[str, Any], entity: Entity, *, home_currency: str) -> Credit:
    """Map a CreditNote (ACCRECCREDIT), Overpayment or Prepayment (RECEIVE-…) to a credit.

    ``amount`` is ``RemainingCredit``: what is left for other invoices. What was applied
    (``Allocations``, and ``AppliedAmount`` on an invoice's ``CreditNotes``) is already out of
    those invoices' ``AmountDue``, and refunds (``Payments``) are out of it too, so counting them
    here would count them twice. A DRAFT or SUBMITTED credit is no credit yet (amount 0); a PAID
    one is used up (``RemainingCredit`` 0, or absent). ``number`` is ``CreditNoteNumber`` (a
    prepayment's ``InvoiceNumber``; overpayments have none), ``issue_date`` ``Date`` and
    ``total`` ``Total``; currency as for invoices.

    Raises:
        ValueError: for an entity that is not a credit (a caller bug).
        NotReceivable: for ACCPAYCREDIT and SPEND-… (supplier credit).
        MappingError: for a VOIDED or DELETED credit (:func:`map_record` reports it deleted) and
            bad data.
    """
    if entity not in _CREDITS:
        raise ValueError(f"{entity.value} is not a Xero credit entity")
    home = check_home(home_currency)
    id_key, ours, not_ours, kind = _CREDITS[entity]
    credit_id = ident(raw, id_key)
    credit_type = code(raw, "Type")
    if credit_type in not_ours:
        raise NotReceivable("Type", f"{credit_type} is supplier credit, not a customer's")
    if credit_type != ours:
        raise MappingError("Type", f"expected {ours}, got {credit_type!r}")
    status = code(raw, "Status")
    if status not in CREDIT_STATUSES:
        raise MappingError("Status", f"unknown status {status!r}")
    if status in ("VOIDED", "DELETED"):
        raise MappingError("Status", f"a {status.lower()} credit is no credit (map_record reports it as deleted)")
    cur = currency(raw, home)
    total = amount(raw, "Total")
    if status in ("DRAFT", "SUBMITTED") or (status == "PAID" and raw.get("RemainingCredit") is None):
        remaining = Decimal(0)
    else:
        remaining = amount(raw, "RemainingCredit")
    if remaining > total:
        raise MappingError("RemainingCredit", f"{remaining} is more than Total {total}")
    number_key = "InvoiceNumber" if entity is Entity.PREPAYMENT else "CreditNoteNumber"
    return Credit(
        id=credit_id,
        customer_id=_contact_id(raw),
        amount=money(remaining, cur),
        kind=kind,
        number=text(raw, number_key, default="").strip(),
        issue_date=optional_date(raw, "Date"),
        total=money(total, cur),
    )
