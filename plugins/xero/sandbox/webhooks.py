"""Xero webhooks: ID-only events, signed, and the intent-to-receive check.

- Body (notes §4; webhook_*.json): ``{"events":[{"resourceUrl","resourceId","eventDateUtc",
  "eventType":"CREATE|UPDATE","eventCategory":"INVOICE|CONTACT|CREDITNOTE","tenantId",
  "tenantType":"ORGANISATION"}],"firstEventSequence","lastEventSequence","entropy"}``. CREDITNOTE
  events carry ``data: {Type, Status}`` (webhook_creditnote_create.spec.json). No payment,
  overpayment or prepayment events (notes §0.5).
- ``eventDateUtc`` alternates between ``…917Z`` and the ``Z``-less ``…902`` form of the spec
  samples, so receivers must parse both.
- Signature: ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)) (notes §4, the
  xero-php vector).
- Intent to receive (notes §4): a series of empty payloads, some signed correctly and some not;
  the subscription is verified only when every good one got 200 and every bad one 401.
"""

from __future__ import annotations

import json
import random
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.clock import Clock
from connector.sandboxkit import Delivery, WebhookOutbox, deliver, hmac_sha256_base64
from plugins.xero.sandbox.store import CATEGORIES

DELIVERY_MODES = ("manual", "immediate")
MAX_EVENTS_PER_POST = 100  # ours; Xero does not document a batch size


def sign(webhook_key: str, body: bytes) -> str:
    """The ``x-xero-signature`` of a raw body."""
    return hmac_sha256_base64(webhook_key, body)


@dataclass(frozen=True)
class Event:
    """One change to announce."""

    tenant_id: str
    entity: str
    resource_id: str
    event_type: str
    at: datetime
    data: dict[str, str] | None = None


def event_time(at: datetime, serial: int) -> str:
    """``2018-02-09T09:18:28.917Z`` on odd serials, ``2024-06-21T01:15:39.902`` (no Z) on even ones."""
    utc = at.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"
    return text + "Z" if serial % 2 else text


class WebhookEmitter:
    """Collects store changes and posts them signed; runs the intent-to-receive sequence.

    ``delivery="manual"`` (tests): nothing is sent until :meth:`flush`; ``"immediate"`` (demo):
    each change is flushed at once. Without a URL events are kept and nothing is posted.
    """

    def __init__(self, webhook_key: str, clock: Clock) -> None:
        self.key = webhook_key
        self._clock = clock
        self.url: str | None = None
        self.delivery = "manual"
        self.resource_base = "https://api.xero.com/api.xro/2.0"
        self.outbox = WebhookOutbox()
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._sequence = 0
        self._rng = random.Random(7)  # noqa: S311 (entropy strings, not secrets)
        self.itr_results: list[dict[str, Any]] = []

    def configure(self, url: str | None = None, delivery: str | None = None) -> None:
        """Set the receiver URL and the delivery mode (None keeps a setting)."""
        if delivery is not None and delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {DELIVERY_MODES}")
        self.url = url if url is not None else self.url
        self.delivery = delivery or self.delivery

    def record(
        self, tenant_id: str, entity: str, resource_id: str, event_type: str, at: datetime, data: Any = None
    ) -> None:
        """Store listener: keep an event for a covered category (send at once in immediate mode)."""
        if entity not in CATEGORIES:
            return
        with self._lock:
            self._events.append(Event(tenant_id, entity, resource_id, event_type, at, data))
        if self.delivery == "immediate" and self.url:
            threading.Thread(target=self.flush, daemon=True).start()

    def pending(self) -> list[dict[str, str]]:
        """Events not yet turned into a POST."""
        with self._lock:
            return [
                {"tenantId": e.tenant_id, "eventCategory": CATEGORIES[e.entity], "resourceId": e.resource_id,
                 "eventType": e.event_type}
                for e in self._events
            ]  # fmt: skip

    def _entropy(self) -> str:
        return "".join(self._rng.choice(string.ascii_uppercase) for _ in range(20))

    def body(self, events: list[Event]) -> bytes:
        """The raw body of one POST (sequence numbers continue across POSTs)."""
        rendered = []
        first = self._sequence + 1
        for event in events:
            self._sequence += 1
            item: dict[str, Any] = {
                "resourceUrl": f"{self.resource_base}/{event.entity}/{event.resource_id}",
                "resourceId": event.resource_id,
                "eventDateUtc": event_time(event.at, self._sequence),
                "eventType": event.event_type,
                "eventCategory": CATEGORIES[event.entity],
                "tenantId": event.tenant_id,
                "tenantType": "ORGANISATION",
            }
            if event.data is not None:
                item["data"] = event.data
            rendered.append(item)
        payload = {"events": rendered, "firstEventSequence": first, "lastEventSequence": self._sequence,
                   "entropy": self._entropy()}  # fmt: skip
        return json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def headers(self, body: bytes, *, good: bool = True) -> dict[str, str]:
        """Request headers of one POST; ``good=False`` signs with a wrong key (intent to receive)."""
        signature = sign(self.key if good else self.key + "-wrong", body)
        return {"Content-Type": "application/json; charset=utf-8", "x-xero-signature": signature}

    def flush(self) -> list[Delivery]:
        """Turn waiting events into signed bodies and post everything queued, in order."""
        if not self.url:
            raise ValueError("no webhook URL configured")
        with self._lock:
            events, self._events = self._events, []
            for start in range(0, len(events), MAX_EVENTS_PER_POST):
                body = self.body(events[start : start + MAX_EVENTS_PER_POST])
                self.outbox.enqueue(self.url, body, self.headers(body))
        return self.outbox.flush()

    def intent_to_receive(self, url: str | None = None, pattern: str = "GBGBBG") -> dict[str, Any]:
        """POST empty payloads, signed well (``G``) or badly (``B``) in ``pattern`` order; record the answers.

        ``verified`` is True only when every good one got 200 and every bad one 401 (notes §4).
        """
        target = url or self.url
        if not target:
            raise ValueError("no webhook URL configured")
        if not pattern or set(pattern) - {"G", "B"}:
            raise ValueError("pattern is a string of G (good signature) and B (bad signature)")
        results = []
        for mark in pattern:
            payload = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": self._entropy()}
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            outcome = deliver(target, body, self.headers(body, good=mark == "G"), timeout=5.0)  # 5 s rule, notes §4
            expected = 200 if mark == "G" else 401
            results.append(
                {"signed_correctly": mark == "G", "status": outcome.status, "expected": expected,
                 "ok": outcome.status == expected, "error": outcome.error, "body": body.decode()}
            )  # fmt: skip
        self.itr_results = results
        return {"url": target, "verified": all(r["ok"] for r in results), "results": results}

    def clear(self) -> None:
        """Drop waiting events and queued bodies."""
        with self._lock:
            self._events.clear()
        self.outbox.clear()
