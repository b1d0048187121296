"""Webhook notifications as Intuit sends them: legacy ``eventNotifications`` or CloudEvents, signed.

- Signature: header ``intuit-signature`` = base64(HMAC-SHA256(key=verifier token, msg=raw body))
  (notes §4.2; the three vectors in webhook_signature_test_vectors.json).
- Legacy body: webhook_legacy_*.json (``name, id, operation, lastUpdated``; ``lastUpdated`` in the
  2025 blog's UTC-with-milliseconds style).
- CloudEvents: a JSON array of ``{"specversion":"1.0", …, "type":"qbo.invoice.updated.v1",
  "intuitentityid", "intuitaccountid", "data":{}}`` (webhook_cloudevents_*.json); ``time`` with nine
  fractional digits and ``Z``. The verb for Void is unverified (notes §4.3): we send ``voided``.
- Covered entities: Invoice, Payment, CreditMemo, Customer, Term (notes §4.1); not Attachable.
- Up to 100 events per POST (notes §4.1); other headers from the docs sample (notes §4.2).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.clock import Clock
from connector.sandboxkit import Delivery, WebhookOutbox
from connector.signing import hmac_sha256_base64

WEBHOOK_ENTITIES = frozenset({"Invoice", "Payment", "CreditMemo", "Customer", "Term"})
FORMATS = ("legacy", "cloudevents")
DELIVERY_MODES = ("manual", "immediate")
MAX_EVENTS_PER_POST = 100
VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Emailed": "emailed"}


def sign(verifier: str, body: bytes) -> str:
    """The ``intuit-signature`` of a raw body."""
    return hmac_sha256_base64(verifier, body)


@dataclass(frozen=True)
class Event:
    """One data change to announce."""

    entity: str
    entity_id: str
    operation: str
    at: datetime


def _legacy_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cloud_time(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"


class WebhookEmitter:
    """Collects events from the store and turns them into signed POSTs on :meth:`flush`.

    ``delivery="manual"`` (tests): nothing is sent until :meth:`flush`. ``"immediate"`` (demo):
    every change is flushed right away. Without a URL, events are kept but nothing is posted.
    """

    def __init__(self, realm_id: str, verifier: str, clock: Clock, new_tid: Callable[[], str]) -> None:
        self.realm_id = realm_id
        self._clock = clock
        self.verifier = verifier
        self.url: str | None = None
        self.format = "legacy"
        self.delivery = "manual"
        self.outbox = WebhookOutbox()
        self._new_tid = new_tid
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._serial = 0

    def configure(self, url: str | None = None, format: str | None = None, delivery: str | None = None) -> None:
        """Set the receiver URL, the payload format and the delivery mode (None keeps a setting)."""
        if format is not None and format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        if delivery is not None and delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {DELIVERY_MODES}")
        self.url = url if url is not None else self.url
        self.format = format or self.format
        self.delivery = delivery or self.delivery

    def record(self, entity: str, entity_id: str, operation: str, at: datetime) -> None:
        """Store listener: keep an event for a covered entity (and send it at once in immediate mode)."""
        if entity not in WEBHOOK_ENTITIES:
            return
        with self._lock:
            self._events.append(Event(entity, entity_id, operation, at))
        if self.delivery == "immediate" and self.url:
            threading.Thread(target=self.flush, daemon=True).start()

    def pending(self) -> list[dict[str, str]]:
        """The events not yet turned into a POST."""
        with self._lock:
            return [{"name": e.entity, "id": e.entity_id, "operation": e.operation} for e in self._events]

    def flush(self) -> list[Delivery]:
        """Turn waiting events into signed bodies (≤ 100 events each) and post everything queued, in order."""
        if not self.url:
            raise ValueError("no webhook URL configured")
        with self._lock:  # bodies are built and queued in event order, one flush at a time
            events, self._events = self._events, []
            for start in range(0, len(events), MAX_EVENTS_PER_POST):
                body = self.body(events[start : start + MAX_EVENTS_PER_POST])
                self.outbox.enqueue(self.url, body, self.headers(body))
        return self.outbox.flush()

    def body(self, events: list[Event]) -> bytes:
        """The raw body for a batch of events in the configured format."""
        payload: Any
        if self.format == "cloudevents":
            payload = [self._cloud_event(event) for event in events]
        else:
            entities = [
                {"name": e.entity, "id": e.entity_id, "operation": e.operation, "lastUpdated": _legacy_time(e.at)}
                for e in events
            ]
            payload = {"eventNotifications": [{"realmId": self.realm_id, "dataChangeEvent": {"entities": entities}}]}
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def _cloud_event(self, event: Event) -> dict[str, Any]:
        self._serial += 1
        source = base64.b64encode(hashlib.sha256(self.realm_id.encode()).digest()).decode()
        return {
            "specversion": "1.0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"qbo-sandbox:{self.realm_id}:{self._serial}")),
            "source": f"intuit.{source}",
            "type": f"qbo.{event.entity.lower()}.{VERBS.get(event.operation, event.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": _cloud_time(event.at),
            "intuitentityid": event.entity_id,
            "intuitaccountid": self.realm_id,
            "data": {},
        }

    def headers(self, body: bytes) -> dict[str, str]:
        """The request headers of one POST, signature included."""
        return {
            "Content-Type": "application/json",
            "intuit-signature": sign(self.verifier, body),
            "intuit-created-time": _legacy_time(self._clock.now()),
            "intuit-t-id": self._new_tid(),
            "intuit-notification-schema-version": "0.1",
            "User-Agent": "intuit_notification_server/0.1",
        }

    def clear(self) -> None:
        """Drop waiting events and queued bodies."""
        with self._lock:
            self._events.clear()
        self.outbox.clear()
