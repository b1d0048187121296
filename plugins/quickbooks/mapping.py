"""QuickBooks Online JSON → :mod:`core.model` records (pure: no I/O, no clock, no SDK).

The input is one entity object as the API returns it (the value under ``"Invoice"`` of a GET, one
element of ``QueryResponse.Invoice`` or of a CDC page), parsed with ``parse_float=Decimal``.
Floats are accepted too, through ``str()`` (their shortest repr, ``362.07``), and so are numeric
strings (``"362.07"``); anything else where an amount belongs is a :class:`MappingError` naming the
field, which every ``map_*`` function raises for bad data. :func:`map_record` turns those errors
into a :class:`~connector.platform.BadRecord`, so a sync can quarantine the record and go on.

Decisions where QBO says nothing (each also in the function's docstring):

- ``Customer.language`` is the neutral default ``"en"``: QBO has no language field, and the
  connector keeps a language set locally. ``Customer.excluded`` is False: QBO has no such flag.
- Inactive customers (``Active: false``, which is also how QBO "deletes" one, notes §3.3) map as
  ordinary customers, not as deletions: their invoices still refer to them.
- ``Invoice.paid_date`` is None: the payment date is not on the invoice. :func:`derive_paid_date`
  computes it from the mapped payments.
- Amounts are in the transaction's currency (``CurrencyRef``, else the home currency);
  ``ExchangeRate`` and ``HomeBalance`` are not used, the engine works per currency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from connector.platform import BadRecord, DomainRecord, Entity, Fetched
from core.model import ISO_CURRENCIES, Allocation, Credit, CreditKind, Customer, Invoice, InvoiceStatus, Payment, money

ENTITY_NAMES: Mapping[Entity, str] = MappingProxyType(
    {
        Entity.INVOICE: "Invoice",
        Entity.CUSTOMER: "Customer",
        Entity.PAYMENT: "Payment",
        Entity.CREDIT_NOTE: "CreditMemo",
    }
)
"""The QBO entity name (query, CDC, webhook) of each entity this plugin syncs."""

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_XML_ID = re.compile(r"<Id>\s*([^<\s]{1,100})\s*</Id>")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class MappingError(ValueError):
    """A QBO payload that cannot be mapped.

    Attributes:
        field: the path of the field at fault (``Line[2].Amount``, ``CurrencyRef.value``); ``""``
            when the record as a whole is wrong.
        message: what is wrong with it, in one line.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Term:
    """A QBO payment term (synced for display: "Net 30").

    Attributes:
        id: the QBO id.
        name: its name (``"Net 60"``).
        due_days: days from the invoice date to the due date; None for a date-driven term.
        active: False once it was made inactive in QBO.
    """

    id: str
    name: str
    due_days: int | None
    active: bool = True


# --- readers: each takes the object, the key and the path prefix, and names the field it refuses


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _required(raw: Mapping[str, Any], key: str, prefix: str = "") -> Any:
    value = raw.get(key)
    if value is None:  # JSON null counts as absent
        raise MappingError(_path(prefix, key), "missing")
    return value


def _object(raw: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    value = _required(raw, key, prefix)
    if not isinstance(value, Mapping):
        raise MappingError(_path(prefix, key), f"expected an object, got {type(value).__name__}")
    return value


def _text(raw: Mapping[str, Any], key: str, prefix: str = "", *, default: str | None = None) -> str:
    value = raw.get(key)
    if value is None and default is not None:
        return default
    value = _required(raw, key, prefix)
    if not isinstance(value, str):
        raise MappingError(_path(prefix, key), f"expected text, got {type(value).__name__}")
    return value


def _id(raw: Mapping[str, Any], key: str = "Id", prefix: str = "") -> str:
    value = _required(raw, key, prefix)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # QBO sends ids as strings; an int is taken as meant
    if not isinstance(value, str) or not value.strip():
        raise MappingError(_path(prefix, key), f"not an id: {value!r}")
    return value


def _ref(raw: Mapping[str, Any], key: str) -> str:
    """The ``value`` of a reference object such as ``CustomerRef``."""
    return _id(_object(raw, key), "value", key)


def _amount(raw: Mapping[str, Any], key: str, prefix: str = "") -> Decimal:
    value = _required(raw, key, prefix)
    field = _path(prefix, key)
    if isinstance(value, bool):
        raise MappingError(field, f"expected a number, got {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = str(value)  # defensively: a float parsed without parse_float=Decimal, via its shortest repr
    if isinstance(value, str):
        if not _NUMBER.fullmatch(value.strip()):
            raise MappingError(field, f"not a number: {value!r}")
        return Decimal(value.strip())
    if isinstance(value, Decimal) and value.is_finite():
        return value
    shown = repr(value) if isinstance(value, Decimal) else type(value).__name__
    raise MappingError(field, f"expected a number, got {shown}")


def _non_negative(raw: Mapping[str, Any], key: str, prefix: str = "") -> Decimal:
    value = _amount(raw, key, prefix)
    if value < 0:
        raise MappingError(_path(prefix, key), f"negative: {value}")
    return value


def _date(raw: Mapping[str, Any], key: str) -> date:
    value = _text(raw, key)
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)  # company-local date, no zone (notes §0.6, §3.1)
    except ValueError:
        raise MappingError(key, f"not a date (YYYY-MM-DD): {value!r}") from None


def _currency(raw: Mapping[str, Any], home_currency: str) -> str:
    if raw.get("CurrencyRef") is None:
        return home_currency  # single-currency companies may omit CurrencyRef (notes §3.3)
    code = _text(_object(raw, "CurrencyRef"), "value", "CurrencyRef")
    if code.upper() not in ISO_CURRENCIES:
        raise MappingError("CurrencyRef.value", f"unknown currency {code!r}")
    return code.upper()


def _objects(raw: Mapping[str, Any], key: str, prefix: str = "") -> list[Mapping[str, Any]]:
    """A list of objects; absent or null is empty."""
    value = raw.get(key)
    path = _path(prefix, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(path, f"expected a list, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise MappingError(f"{path}[{i}]", f"expected an object, got {type(item).__name__}")
    return value


def _emails(value: str) -> tuple[str, ...]:
    # An email field may hold several comma-separated addresses (notes §3.3, unverified): split,
    # keep what looks like an address, drop duplicates regardless of case.
    found: dict[str, str] = {}
    for part in re.split(r"[,;]", value):
        address = part.strip()
        if _EMAIL.fullmatch(address):
            found.setdefault(address.lower(), address)
    return tuple(found.values())


def _address(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    if raw.get(key) is None:
        return ()
    return _emails(_text(_object(raw, key), "Address", key, default=""))


def _refuse_stub(raw: Mapping[str, Any]) -> None:
    # A deleted stub carries only Id/MetaData and looks paid: check status first (notes §0.4, §1.5).
    if raw.get("status") == "Deleted":
        raise MappingError("status", "a deleted record has nothing to map (map_record reports it as deleted)")


def _active(raw: Mapping[str, Any]) -> bool:
    value = raw.get("Active")
    if value is None:
        return True  # name-list records are active unless they say otherwise
    if not isinstance(value, bool):
        raise MappingError("Active", f"expected true or false, got {value!r}")
    return value


def _check_home(home_currency: str) -> str:
    if not isinstance(home_currency, str) or home_currency.upper() not in ISO_CURRENCIES:
        raise ValueError(f"home_currency must be an ISO 4217 code, not {home_currency!r}")
    return home_currency.upper()


def _transaction(raw: Mapping[str, Any], home_currency: str) -> tuple[str, str, str]:
    """Id, customer id and currency of an invoice, payment or credit memo."""
    home = _check_home(home_currency)
    _refuse_stub(raw)
    return _id(raw), _ref(raw, "CustomerRef"), _currency(raw, home)


# --- entities


def map_customer(raw: Mapping[str, Any], *, home_currency: str) -> Customer:
    """Map a QBO Customer.

    ``emails`` are the addresses of ``PrimaryEmailAddr`` (an invoice's ``BillEmail`` is read by
    :func:`invoice_emails`). ``language`` is ``"en"``, a neutral default: QBO has none, and the
    connector does not overwrite a language set locally. ``excluded`` is False (QBO has no such
    flag). An inactive customer (``Active: false``, QBO's "delete") maps like any other.
    ``home_currency`` is only checked: a customer record carries no money.
    """
    _check_home(home_currency)
    _refuse_stub(raw)
    name = _text(raw, "DisplayName").strip()
    if not name:
        raise MappingError("DisplayName", "empty")
    return Customer(id=_id(raw), name=name, emails=_address(raw, "PrimaryEmailAddr"), active=_active(raw))


def invoice_emails(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The addresses of an invoice's ``BillEmail`` (where QBO itself sends it), in order.

    Raises:
        MappingError: when ``BillEmail`` is not an object with a text ``Address``.
    """
    return _address(raw, "BillEmail")


def _invoice_status(total: Decimal, balance: Decimal, note: str) -> InvoiceStatus:
    # No status field: derive it (notes §0.6, §3.5). Void zeroes the amounts and prepends "Voided".
    if total == 0 and balance == 0 and note.startswith("Voided"):
        return InvoiceStatus.VOIDED
    if balance > 0:
        return InvoiceStatus.OPEN
    # Balance 0: paid, whether by a Payment LinkedTxn (the usual case), a credit memo (which QBO
    # links through a zero Payment, notes §3.3) or anything else; a zero-total invoice owes nothing.
    return InvoiceStatus.PAID


def map_invoice(raw: Mapping[str, Any], *, home_currency: str) -> Invoice:
    """Map a QBO Invoice, deriving its status (notes §0.6).

    ``number`` is ``DocNumber`` (``""`` when absent), ``issue_date`` is ``TxnDate``, ``due_date``
    ``DueDate`` (both company-local dates), ``total`` ``TotalAmt`` and ``balance`` ``Balance``, in
    ``CurrencyRef`` or the home currency. ``paid_date`` is None (see :func:`derive_paid_date`).
    A deleted stub is refused (``status``): :func:`map_record` reports those as deleted.
    """
    invoice_id, customer_id, currency = _transaction(raw, home_currency)
    total = _non_negative(raw, "TotalAmt")
    balance = _non_negative(raw, "Balance")
    if balance > total:
        raise MappingError("Balance", f"{balance} is more than TotalAmt {total}")
    return Invoice(
        id=invoice_id,
        customer_id=customer_id,
        number=_text(raw, "DocNumber", default=""),
        issue_date=_date(raw, "TxnDate"),
        due_date=_date(raw, "DueDate"),
        total=money(total, currency),
        balance=money(balance, currency),
        status=_invoice_status(total, balance, _text(raw, "PrivateNote", default="")),
        pay_url=_pay_url(raw),
        terms=_term_name(raw),
    )


def _term_name(raw: Mapping[str, Any]) -> str:
    """``SalesTermRef.name`` when the reference carries it; the platform fills it from the Terms
    it synced otherwise (a reference may hold only the id)."""
    ref = raw.get("SalesTermRef")
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name.strip() if isinstance(name, str) else ""


def term_id(raw: Mapping[str, Any]) -> str | None:
    """The id in an invoice's ``SalesTermRef``, if any."""
    ref = raw.get("SalesTermRef")
    value = ref.get("value") if isinstance(ref, Mapping) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _pay_url(raw: Mapping[str, Any]) -> str | None:
    """``InvoiceLink`` when the response carries one (only with ``include=invoiceLink``, online
    payment on and a BillEmail, notes §0.7); the SDK's default ``""`` counts as none (§1.9.1)."""
    link = raw.get("InvoiceLink")
    return link if isinstance(link, str) and link.startswith(("https://", "http://")) else None


def map_payment(raw: Mapping[str, Any], *, home_currency: str) -> Payment:
    """Map a QBO Payment: ``amount`` is ``TotalAmt``, ``payment_date`` is ``TxnDate``.

    Allocations come from ``Line[].LinkedTxn`` entries of ``TxnType`` Invoice, one per line, zero
    amounts left out. Lines linked to a CreditMemo are credit consumed, not money received: when QBO
    applies a credit memo it makes a Payment with ``TotalAmt`` 0, one Invoice line and one
    CreditMemo line (notes §3.3, Payment 74), which maps to amount 0 with one allocation.
    """
    payment_id, customer_id, currency = _transaction(raw, home_currency)
    allocations: list[Allocation] = []
    for i, line in enumerate(_objects(raw, "Line")):
        invoices = [
            _id(linked, "TxnId", f"Line[{i}].LinkedTxn[{j}]")
            for j, linked in enumerate(_objects(line, "LinkedTxn", f"Line[{i}]"))
            if _text(linked, "TxnType", f"Line[{i}].LinkedTxn[{j}]") == "Invoice"
        ]
        if len(invoices) > 1:
            raise MappingError(f"Line[{i}].LinkedTxn", "one line linked to several invoices")
        amount = _non_negative(line, "Amount", f"Line[{i}]") if invoices else Decimal(0)
        if amount:  # zeroed lines (a voided payment) move nothing
            allocations.append(Allocation(invoices[0], money(amount, currency)))
    unapplied = raw.get("UnappliedAmt")
    return Payment(
        id=payment_id,
        customer_id=customer_id,
        payment_date=_date(raw, "TxnDate"),
        amount=money(_non_negative(raw, "TotalAmt"), currency),
        allocations=tuple(allocations),
        unapplied=money(_non_negative(raw, "UnappliedAmt"), currency) if unapplied is not None else None,
    )


def unapplied_credit(payment: Payment) -> Credit | None:
    """The part of a payment not allocated to invoices, as an unapplied-payment credit.

    It is QBO's ``UnappliedAmt`` when the payment carried it (exact even when the same payment also
    consumed a credit memo), else ``amount`` minus the allocations. The credit's id is the payment's.

    Returns:
        The credit, or None when nothing is left over.
    """
    return _unapplied(payment, payment.unapplied_amount().amount)


def map_unapplied_payment(raw: Mapping[str, Any], *, home_currency: str) -> Credit | None:
    """A Payment's ``UnappliedAmt`` as an unapplied-payment credit (None when zero).

    QBO states it (``Line: []`` and ``UnappliedAmt = TotalAmt`` for a payment not applied at all,
    notes §3.3); without ``UnappliedAmt`` this is :func:`unapplied_credit`. The credit's number is
    the ``PaymentRefNum``.
    """
    payment = map_payment(raw, home_currency=home_currency)
    return _unapplied(payment, payment.unapplied_amount().amount, _text(raw, "PaymentRefNum", default=""))


def _unapplied(payment: Payment, left: Decimal, number: str = "") -> Credit | None:
    if left <= 0:
        return None
    amount = money(left, payment.amount.currency)
    return Credit(payment.id, payment.customer_id, amount, CreditKind.UNAPPLIED_PAYMENT, number, payment.payment_date,
                  payment.amount)  # fmt: skip


def map_credit_memo(raw: Mapping[str, Any], *, home_currency: str) -> Credit:
    """Map a QBO CreditMemo to a credit note whose amount is ``RemainingCredit``.

    A fully applied memo maps to a zero credit (not None), so a stored credit is brought to zero.
    Without ``RemainingCredit`` the memo's ``Balance`` is used (they are equal in every sample).
    ``number`` is ``DocNumber``, ``issue_date`` ``TxnDate`` and ``total`` ``TotalAmt``.
    """
    memo_id, customer_id, currency = _transaction(raw, home_currency)
    key = "RemainingCredit" if raw.get("RemainingCredit") is not None or raw.get("Balance") is None else "Balance"
    return Credit(
        memo_id,
        customer_id,
        money(_non_negative(raw, key), currency),
        CreditKind.CREDIT_NOTE,
        number=_text(raw, "DocNumber", default=""),
        issue_date=_date(raw, "TxnDate"),
        total=money(_non_negative(raw, "TotalAmt"), currency),
    )


def map_term(raw: Mapping[str, Any]) -> Term:
    """Map a QBO Term. ``due_days`` is ``DueDays`` (None for a DATE_DRIVEN term without it)."""
    due_days: int | None = None
    if raw.get("DueDays") is not None:
        days = _amount(raw, "DueDays")
        if days != days.to_integral_value() or days < 0:
            raise MappingError("DueDays", f"not a whole number of days: {raw['DueDays']!r}")
        due_days = int(days)
    return Term(id=_id(raw), name=_text(raw, "Name"), due_days=due_days, active=_active(raw))


def derive_paid_date(invoice: Invoice, payments: Iterable[Payment]) -> date | None:
    """The day a paid invoice's balance reached zero: the latest date of a payment allocated to it.

    QBO does not put it on the invoice (notes §3.3). None for an invoice that is not paid, or when
    no payment given allocates to it.
    """
    if invoice.status is not InvoiceStatus.PAID:
        return None
    dates = [p.payment_date for p in payments if any(a.invoice_id == invoice.id for a in p.allocations)]
    return max(dates, default=None)


def parse_qbo_datetime(value: str) -> datetime:
    """Parse a QBO instant (``2015-07-24T10:33:39-07:00``, ``…-0700``, ``…179851517Z``) to UTC.

    Fractional digits beyond microseconds are dropped (notes §3.1: CloudEvents send nine).

    Raises:
        ValueError: for anything else, a date or a time without an offset included.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 instant, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 instant: {value!r}") from None
    if parsed.tzinfo is None or "T" not in value.upper():
        raise ValueError(f"no time or no UTC offset: {value!r}")
    return parsed.astimezone(UTC)


_MAPPERS: Mapping[Entity, Callable[..., DomainRecord]] = MappingProxyType(
    {Entity.CUSTOMER: map_customer, Entity.INVOICE: map_invoice, Entity.PAYMENT: map_payment,
     Entity.CREDIT_NOTE: map_credit_memo}
)  # fmt: skip


def _updated_at(raw: Mapping[str, Any]) -> datetime | None:
    if raw.get("MetaData") is None:
        return None  # doc samples omit it (invoice_void_response)
    meta = _object(raw, "MetaData")
    if meta.get("LastUpdatedTime") is None:
        return None
    try:
        return parse_qbo_datetime(_text(meta, "LastUpdatedTime", "MetaData"))
    except MappingError:
        raise
    except ValueError as exc:
        raise MappingError("MetaData.LastUpdatedTime", str(exc)) from None


def map_record(entity: Entity, raw: Mapping[str, Any], *, home_currency: str) -> Fetched | BadRecord:
    """Map one record of a query page, CDC page or GET, never raising for bad data.

    A deleted stub (``{"domain": "QBO", "status": "Deleted", "Id": …}``, notes §0.4) becomes
    ``Fetched(deleted=True, record=None)``; a record that does not map becomes a
    :class:`BadRecord` naming the field, with the payload kept (a payload that is not a JSON object
    is kept as ``{"value": payload}``). ``updated_at`` is ``MetaData.LastUpdatedTime`` in UTC.

    Raises:
        ValueError: for an entity QBO does not have, or a home currency that is not ISO 4217
            (caller bugs, not bad data).
    """
    mapper = _MAPPERS.get(entity)
    if mapper is None:
        raise ValueError(f"QuickBooks has no {entity.value} records")
    home = _check_home(home_currency)
    if not isinstance(raw, Mapping):
        # XML where JSON was expected: keep it whole, under its <Id> when it has one (for the person reading it).
        found = _XML_ID.search(raw) if isinstance(raw, str) else None
        return BadRecord(
            entity,
            found.group(1) if found else "",
            "",
            f"expected a JSON object, got {type(raw).__name__}",
            {"value": raw},
        )
    external_id = raw.get("Id")
    external_id = str(external_id) if isinstance(external_id, str | int) and not isinstance(external_id, bool) else ""
    try:
        record_id = _id(raw)
        updated_at = _updated_at(raw)
        if raw.get("status") == "Deleted":
            return Fetched(entity, record_id, None, raw, deleted=True, updated_at=updated_at)
        record = mapper(raw, home_currency=home)
    except MappingError as exc:
        return BadRecord(entity, external_id, exc.field, exc.message, raw)
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # a safety net; tests show it unused
        return BadRecord(entity, external_id, "", f"unexpected {type(exc).__name__}: {exc}", raw)
    return Fetched(entity, record_id, record, raw, updated_at=updated_at)
