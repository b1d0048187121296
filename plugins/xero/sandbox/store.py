"""One Xero organisation's records, as the API shows them, with change times and listeners.

Records are kept in their JSON shape (PascalCase, money as ``Decimal``, ``/Date()/`` strings), so
what goes out is what the real service sends. ``changed`` records the instant each record last
changed *as the API reports it* (``UpdatedDateUTC``); changes that Xero does not journal leave it
alone (notes §0.7), which is exactly what ``If-Modified-Since`` filters on.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plugins.xero.sandbox import wire

# The collections the sandbox serves, by their API name, and the id field of each.
ENTITIES = {
    "Contacts": "ContactID",
    "Invoices": "InvoiceID",
    "Payments": "PaymentID",
    "CreditNotes": "CreditNoteID",
    "Overpayments": "OverpaymentID",
    "Prepayments": "PrepaymentID",
}
# Webhook categories (notes §4): no payment, overpayment or prepayment events.
CATEGORIES = {"Contacts": "CONTACT", "Invoices": "INVOICE", "CreditNotes": "CREDITNOTE"}

Listener = Callable[[str, str, str, str, datetime], None]  # (tenant, entity, id, CREATE|UPDATE, at)


def canonical_entity(name: str) -> str:
    """The API's spelling of a collection (``invoice``, ``Invoices`` …); ``LookupError`` when unknown."""
    for entity in ENTITIES:
        if name.lower() in {entity.lower(), entity.lower()[:-1]}:
            return entity
    raise LookupError(f"unknown entity {name!r}")


@dataclass
class Organisation:
    """All records of one tenant, thread-safe through :attr:`lock`."""

    tenant_id: str
    info: dict[str, Any]
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    changed: dict[tuple[str, str], datetime] = field(default_factory=dict)
    history: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    reminders_enabled: bool = False
    _serial: int = 0

    def new_id(self, entity: str) -> str:
        """A deterministic GUID for the next record of ``entity`` in this tenant."""
        self._serial += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-sandbox:{self.tenant_id}:{entity}:{self._serial}"))

    def add(self, entity: str, body: dict[str, Any], at: datetime, *, notify: bool = True) -> dict[str, Any]:
        """Store a new record (its id field is set unless given) created at ``at``."""
        with self.lock:
            key = ENTITIES[entity]
            record_id = str(body.get(key) or self.new_id(entity))
            body[key] = record_id
            if "ID" in body:
                body["ID"] = record_id
            wire.set_updated(body, at)
            self.records[entity][record_id] = body
            self.changed[(entity, record_id)] = at
            self._notify(entity, record_id, "CREATE", at, notify)
            return body

    def touch(self, entity: str, record_id: str, at: datetime, *, notify: bool = True) -> None:
        """A journaled change: ``UpdatedDateUTC`` = ``at`` and an UPDATE event."""
        with self.lock:
            body = self.get(entity, record_id)
            wire.set_updated(body, at)
            self.changed[(entity, record_id)] = at
            self._notify(entity, record_id, "UPDATE", at, notify)

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        """The record; ``LookupError`` when unknown."""
        found = self.records[entity].get(str(record_id).lower())
        if found is None:
            raise LookupError(f"no {entity} {record_id} in tenant {self.tenant_id}")
        return found

    def find(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The record or None."""
        return self.records[entity].get(str(record_id).lower())

    def all(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record of ``entity`` in creation order."""
        yield from list(self.records[entity].values())

    def add_history(self, entity: str, record_id: str, changes: str, details: str, at: datetime) -> dict[str, Any]:
        """Append a History record (invoice_history_get.spec.json shape); never bumps the record."""
        entry = {
            "Changes": changes,
            "DateUTCString": at.strftime("%Y-%m-%dT%H:%M:%S"),
            "DateUTC": wire.ms_date(at),
            "User": "System Generated",
            "Details": details,
        }
        self.history.setdefault((entity, record_id), []).append(entry)
        return entry

    def _notify(self, entity: str, record_id: str, operation: str, at: datetime, notify: bool) -> None:
        if notify:
            for listener in self.listeners:
                listener(self.tenant_id, entity, record_id, operation, at)
