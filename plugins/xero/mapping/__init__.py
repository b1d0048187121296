"""Xero JSON → :mod:`core.model` records (pure: no I/O, no clock, no SDK).

The input is one element of a list response (``Invoices[i]``, ``Contacts[i]`` …; a GET by id
answers a one-element list too), parsed with ``parse_float=Decimal`` (notes §1.8). Amounts may
also be ints, numeric strings (``"50.00"``, as in the spec's own Payments example) or floats
(through their shortest repr); anything else where an amount belongs is a :class:`MappingError`
naming the field. Booleans may be strings (``"false"``, notes §0.8). Dates are ``/Date(ms±hhmm)/``
in UTC, escaped or not, with or without offset, or the ``DateString`` twins (notes §0.6).
:func:`map_record` never raises for bad data: it gives a :class:`~connector.platform.BadRecord`
naming the field, with the payload kept, so a sync quarantines the record and goes on.

Decisions where the notes are silent (each also in the function's docstring):

- **Not ours** (bills ``ACCPAY``, supplier credit notes ``ACCPAYCREDIT``, ``SPEND-`` overpayments
  and prepayments, supplier payments and refunds of customer credit): the ``map_*`` functions
  raise :class:`NotReceivable`; :func:`map_record` reports them as
  ``Fetched(deleted=True, record=None)``: not a bad record (nothing is wrong with them, and
  quarantine would fill with every bill a webhook names), and never stored as receivables (an
  upsert of a deletion creates nothing). The client should still ask for ``Type=="ACCREC"``.
- **DRAFT and SUBMITTED** invoices map with status ``draft`` (the engine does not chase them).
  SUBMITTED is "submitted for approval": not yet an invoice the customer owes. A draft without a
  due date falls due on its date. Draft and submitted credits count as no credit (amount 0).
- **AUTHORISED** with ``AmountDue`` 0 is ``paid``; ``PAID`` with something due is refused.
- **Deleted**: invoices, payments and credits with ``Status`` DELETED, and credits VOIDED, are
  ``Fetched(deleted=True)``; a VOIDED invoice maps with status ``voided`` (its history matters).
  Contacts are never deleted: ARCHIVED (or GDPRREQUEST) is ``active=False``.
- **Credits**: ``amount`` is ``RemainingCredit``; applied amounts and refunds are already out of it.
- **Currency**: ``CurrencyCode``, else the home currency; amounts are in the document's currency
  (``CurrencyRate`` and ``BankAmount`` are not used: the engine works per currency).
- **HasErrors / ValidationErrors** are not read: on a fetched record they describe a refused
  write. An element of a 400 response carries the all-zero id and is refused on its id.
- ``updated_at`` is ``UpdatedDateUTC`` in UTC (None when absent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any

from connector.platform import BadRecord, DomainRecord, Entity, Fetched
from plugins.xero.mapping.entities import (
    CREDIT_STATUSES,
    INVOICE_STATUSES,
    map_contact,
    map_credit,
    map_invoice,
    map_payment,
)
from plugins.xero.mapping.readers import (
    ZERO_ID,
    MappingError,
    NotReceivable,
    check_home,
    ident,
    parse_xero_date,
    parse_xero_instant,
    text,
)

__all__ = [
    "CREDIT_STATUSES",
    "ENTITY_ENDPOINTS",
    "ENTITY_KEYS",
    "ENTITY_LIST_KEYS",
    "INVOICE_STATUSES",
    "MappingError",
    "NotReceivable",
    "map_contact",
    "map_credit",
    "map_invoice",
    "map_payment",
    "map_record",
    "parse_xero_date",
    "parse_xero_instant",
]

ENTITY_ENDPOINTS: Mapping[Entity, str] = MappingProxyType(
    {
        Entity.CUSTOMER: "Contacts",
        Entity.INVOICE: "Invoices",
        Entity.PAYMENT: "Payments",
        Entity.CREDIT_NOTE: "CreditNotes",
        Entity.OVERPAYMENT: "Overpayments",
        Entity.PREPAYMENT: "Prepayments",
    }
)
"""The API path (``/api.xro/2.0/<endpoint>``) of each entity, in sync order (contacts first)."""

ENTITY_LIST_KEYS: Mapping[Entity, str] = ENTITY_ENDPOINTS
"""The key of the list in a response: the endpoint's name (``{"Invoices": [...]}``)."""

ENTITY_KEYS: Mapping[Entity, str] = MappingProxyType(
    {
        Entity.CUSTOMER: "ContactID",
        Entity.INVOICE: "InvoiceID",
        Entity.PAYMENT: "PaymentID",
        Entity.CREDIT_NOTE: "CreditNoteID",
        Entity.OVERPAYMENT: "OverpaymentID",
        Entity.PREPAYMENT: "PrepaymentID",
    }
)
"""The id key of each entity's records (the list key is :data:`ENTITY_LIST_KEYS`)."""

_MAPPERS: Mapping[Entity, Callable[..., DomainRecord]] = MappingProxyType(
    {
        Entity.CUSTOMER: map_contact,
        Entity.INVOICE: map_invoice,
        Entity.PAYMENT: map_payment,
        Entity.CREDIT_NOTE: partial(map_credit, entity=Entity.CREDIT_NOTE),
        Entity.OVERPAYMENT: partial(map_credit, entity=Entity.OVERPAYMENT),
        Entity.PREPAYMENT: partial(map_credit, entity=Entity.PREPAYMENT),
    }
)

_GONE: Mapping[Entity, frozenset[str]] = MappingProxyType(
    {
        Entity.CUSTOMER: frozenset(),
        Entity.INVOICE: frozenset({"DELETED"}),
        Entity.PAYMENT: frozenset({"DELETED"}),
        Entity.CREDIT_NOTE: frozenset({"DELETED", "VOIDED"}),
        Entity.OVERPAYMENT: frozenset({"DELETED", "VOIDED"}),
        Entity.PREPAYMENT: frozenset({"DELETED", "VOIDED"}),
    }
)
"""The ``Status`` values that make a record gone, per entity."""


def _updated_at(raw: Mapping[str, Any]) -> datetime | None:
    if raw.get("UpdatedDateUTC") is None:
        return None
    try:
        return parse_xero_instant(text(raw, "UpdatedDateUTC"))
    except MappingError:
        raise
    except ValueError as exc:
        raise MappingError("UpdatedDateUTC", str(exc)) from None


def _gone(entity: Entity, raw: Mapping[str, Any]) -> bool:
    status = raw.get("Status")
    return isinstance(status, str) and status.strip().upper() in _GONE[entity]


def map_record(entity: Entity, raw: Mapping[str, Any], *, home_currency: str) -> Fetched | BadRecord:
    """Map one record of a list or GET response, never raising for bad data.

    A deleted record (see the module docstring) and a record that is not receivable become
    ``Fetched(deleted=True, record=None)``; one that does not map becomes a :class:`BadRecord`
    naming the field, with the payload kept (a payload that is not a JSON object is kept as
    ``{"value": payload}``). ``updated_at`` is ``UpdatedDateUTC`` in UTC.

    Raises:
        ValueError: for a home currency that is not ISO 4217 (a caller bug, not bad data).
    """
    mapper = _MAPPERS[entity]
    home = check_home(home_currency)
    if not isinstance(raw, Mapping):
        return BadRecord(entity, "", "", f"expected a JSON object, got {type(raw).__name__}", {"value": raw})
    id_key = ENTITY_KEYS[entity]
    given = raw.get(id_key)
    external_id = given.strip() if isinstance(given, str) and given.strip() != ZERO_ID else ""
    try:
        record_id = ident(raw, id_key)
        updated_at = _updated_at(raw)
        if _gone(entity, raw):
            return Fetched(entity, record_id, None, raw, deleted=True, updated_at=updated_at)
        try:
            record = mapper(raw, home_currency=home)
        except NotReceivable:
            return Fetched(entity, record_id, None, raw, deleted=True, updated_at=updated_at)
    except MappingError as exc:
        return BadRecord(entity, external_id, exc.field, exc.message, raw)
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # a safety net; tests show it unused
        return BadRecord(entity, external_id, "", f"unexpected {type(exc).__name__}: {exc}", raw)
    return Fetched(entity, record_id, record, raw, updated_at=updated_at)
