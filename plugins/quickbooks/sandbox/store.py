"""The sandbox company's state: entity records as the API shows them, a change log, deleted stubs.

Records are kept in their JSON shape (money as ``Decimal``) so that what goes out is what the real
service sends. Every write goes through :meth:`CompanyStore.add`, :meth:`CompanyStore.touch` or
:meth:`CompanyStore.delete`, which bump ``SyncToken`` and ``MetaData.LastUpdatedTime`` (notes §6
"Store") and tell the listeners (webhooks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plugins.quickbooks.sandbox.faults import meta_time, not_found

# The entities the sandbox serves, as the API names them. Transactions share one id sequence
# (NANGO: Invoice 71, CreditMemo 73, Payment 74); name lists and attachables have their own.
ENTITIES = ("Customer", "Invoice", "Payment", "CreditMemo", "Term", "Attachable", "CompanyInfo", "Preferences")
TRANSACTIONS = frozenset({"Invoice", "Payment", "CreditMemo"})
CDC_ENTITIES = frozenset({"Customer", "Invoice", "Payment", "CreditMemo", "Term", "Attachable"})
RAW = "__raw__"  # a record stored as text (an XML record for the malformed-data tests)

Listener = Callable[[str, str, str, datetime], None]


def canonical_entity(name: str) -> str:
    """The API's spelling of an entity name given in any case; ``LookupError`` when unknown."""
    for entity in ENTITIES:
        if entity.lower() == name.lower():
            return entity
    raise LookupError(f"unknown entity {name!r}")


@dataclass
class CompanyStore:
    """All records of one company (realm), thread-safe through :attr:`lock`."""

    realm_id: str
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    updated_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    deleted_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _next: dict[str, int] = field(default_factory=lambda: {"txn": 1, "Customer": 1, "Term": 1, "Attachable": 1})

    def new_id(self, entity: str) -> str:
        """The next free id for ``entity``."""
        key = "txn" if entity in TRANSACTIONS else entity
        number = self._next[key]
        self._next[key] = number + 1
        if entity == "Attachable":
            return str(200900000000000008540 + number)  # the shape of DOCS attachable ids
        return str(number)

    def add(self, entity: str, body: dict[str, Any], at: datetime, *, notify: bool = True) -> dict[str, Any]:
        """Store a new record (an ``Id`` is assigned unless given) created at ``at``."""
        with self.lock:
            record_id = str(body.get("Id") or self.new_id(entity))
            if RAW not in body:
                body.update(domain="QBO", sparse=False, SyncToken="0")
            body["Id"] = record_id
            body["MetaData"] = {"CreateTime": meta_time(at), "LastUpdatedTime": meta_time(at)}
            self.records[entity][record_id] = body
            self.updated_at[(entity, record_id)] = at
            self._notify(entity, record_id, "Create", at, notify)
            return body

    def touch(
        self, entity: str, record_id: str, at: datetime, operation: str = "Update", *, notify: bool = True
    ) -> None:
        """Mark a record changed: ``SyncToken`` + 1, ``LastUpdatedTime`` = ``at``."""
        with self.lock:
            body = self.get(entity, record_id)
            body["SyncToken"] = str(int(body.get("SyncToken", "0")) + 1)
            body.setdefault("MetaData", {})["LastUpdatedTime"] = meta_time(at)
            self.updated_at[(entity, record_id)] = at
            self._notify(entity, record_id, operation, at, notify)

    def delete(self, entity: str, record_id: str, at: datetime, *, notify: bool = True) -> None:
        """Remove a record; only its stub remains (CDC, webhooks), a GET then gives 610."""
        with self.lock:
            self.get(entity, record_id)
            del self.records[entity][record_id]
            self.updated_at.pop((entity, record_id), None)
            self.deleted_at[(entity, record_id)] = at
            self._notify(entity, record_id, "Delete", at, notify)

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        """The live record, or the 610 fault the API answers for deleted and unknown ids."""
        found = self.records[entity].get(str(record_id))
        if found is None:
            raise not_found(entity, str(record_id))
        return found

    def find(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The live record or None."""
        return self.records[entity].get(str(record_id))

    def all(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every live record of ``entity`` in id order (numeric ids sort as numbers)."""
        items = self.records[entity]
        yield from (items[key] for key in sorted(items, key=lambda k: (len(k), k)))

    def stub(self, entity: str, record_id: str) -> dict[str, Any]:
        """A deleted record as CDC returns it (cdc_response_with_deleted.intuit-docs.json)."""
        at = self.deleted_at[(entity, record_id)]
        return {"domain": "QBO", "status": "Deleted", "Id": record_id, "MetaData": {"LastUpdatedTime": meta_time(at)}}

    def changes_since(self, entity: str, since: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(live records, deleted stubs) of ``entity`` changed after ``since``, oldest change first.

        CDC-DOC: objects come "in order of last updated time", deleted ones after the active ones.
        """
        with self.lock:
            live = [(at, rid) for (ent, rid), at in self.updated_at.items() if ent == entity and at > since]
            gone = [(at, rid) for (ent, rid), at in self.deleted_at.items() if ent == entity and at > since]
            live.sort()
            gone.sort()
            return [self.records[entity][rid] for _, rid in live], [self.stub(entity, rid) for _, rid in gone]

    def announce(self, entity: str, record_id: str, operation: str, at: datetime) -> None:
        """Tell the listeners about a change made without :meth:`add`/:meth:`touch` notifying."""
        self._notify(entity, record_id, operation, at, True)

    def _notify(self, entity: str, record_id: str, operation: str, at: datetime, notify: bool) -> None:
        if notify:
            for listener in self.listeners:
                listener(entity, record_id, operation, at)
