"""Xero webhooks: check the signature, read the events (pure: no I/O, no clock, no SDK).

Xero signs the raw request body: ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, body))
(notes §0.5, §4). Neither official SDK has a helper; this one works over the bytes as received,
compares in constant time and never raises, which is what the intent-to-receive sequence needs:
Xero posts bodies with ``"events": []``, some signed right and some not, and expects 200 for the
first and 401 for the others (notes §4).

A body is ``{"events": [{"resourceId", "eventCategory", "eventType", "tenantId", "eventDateUtc",
…}], "firstEventSequence", "lastEventSequence", "entropy"}``. Events carry ids only; each becomes
a :class:`~connector.platform.WebhookNotice` to be fetched. Decisions:

- Categories: INVOICE → invoice, CONTACT → customer, CREDITNOTE → credit note. SUBSCRIPTION and
  any category Xero adds later are skipped (there are no payment events: payments are polled).
- A CREDITNOTE event whose ``data.Type`` is ACCPAYCREDIT (a supplier credit note) is skipped: it
  can never be ours (notes §4). INVOICE events do not say the type: bills are fetched, and the
  mapping reports them as not ours.
- ``operation`` is ``eventType`` in lower case (``create``, ``update``).
- ``eventDateUtc`` comes with or without ``Z`` and with 2–3 fractional digits; it is read as UTC.
- An event without its id, tenant, category, type or time makes the body a
  :class:`WebhookFormatError` naming the path: the signature was right, so the body is kept by
  the caller, not bounced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from connector.platform import Entity, WebhookNotice
from connector.signing import signature_matches
from plugins.xero.mapping import parse_xero_instant

SIGNATURE_HEADER = "x-xero-signature"
"""The request header that carries the signature (HTTP headers are case-insensitive)."""

CATEGORIES: Mapping[str, Entity] = MappingProxyType(
    {"INVOICE": Entity.INVOICE, "CONTACT": Entity.CUSTOMER, "CREDITNOTE": Entity.CREDIT_NOTE}
)
"""Webhook ``eventCategory`` → the entity to fetch (notes §4)."""

_NOT_OURS = frozenset({"ACCPAYCREDIT"})


class WebhookFormatError(ValueError):
    """A webhook body that is not Xero's event format; the message names the path at fault."""


def verify_signature(body: bytes, signature: str | None, webhook_key: str) -> bool:
    """True when the ``x-xero-signature`` header is base64(HMAC-SHA256(``webhook_key``, raw ``body``));
    constant time, never raises (see :func:`connector.signing.signature_matches`)."""
    return signature_matches(body, signature, webhook_key)


def parse_notifications(body: bytes) -> list[WebhookNotice]:
    """The events of a (verified) webhook body, in the order sent.

    Args:
        body: the raw request body.

    Returns:
        One notice per event of a category this plugin syncs; an empty list for an
        intent-to-receive body (``"events": []``) or one with nothing of ours.

    Raises:
        WebhookFormatError: when the body is not JSON, not an object with an ``events`` list, or an
            event lacks its id, tenant, category, type or time; the message names the path.
    """
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WebhookFormatError(f"not JSON: {exc}") from None
    if not isinstance(payload, Mapping):
        raise WebhookFormatError(f"expected an object with events, got {type(payload).__name__}")
    events = payload.get("events")
    if not isinstance(events, list):
        raise WebhookFormatError("events: missing" if events is None else f"events: expected a list, got {events!r}")
    notices: list[WebhookNotice] = []
    for i, event in enumerate(events):
        at = f"events[{i}]"
        if not isinstance(event, Mapping):
            raise WebhookFormatError(f"{at}: expected an object, got {type(event).__name__}")
        entity = CATEGORIES.get(_text(event, "eventCategory", at).upper())
        if entity is None or _supplier_credit(event, at):
            continue
        notices.append(
            WebhookNotice(
                external_org_id=_text(event, "tenantId", at),
                entity=entity,
                external_id=_text(event, "resourceId", at),
                operation=_text(event, "eventType", at).lower(),
                occurred_at=_time(event, "eventDateUtc", at),
            )
        )
    return notices


def _supplier_credit(event: Mapping[str, Any], where: str) -> bool:
    data = event.get("data")
    if data is None:
        return False
    if not isinstance(data, Mapping):
        raise WebhookFormatError(f"{where}.data: expected an object, got {type(data).__name__}")
    kind = data.get("Type")
    return isinstance(kind, str) and kind.strip().upper() in _NOT_OURS


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        raise WebhookFormatError(f"{where}.{key}: missing")
    if not isinstance(value, str) or not value.strip():
        raise WebhookFormatError(f"{where}.{key}: expected text, got {value!r}")
    return value.strip()


def _time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    # "2018-02-09T09:18:28.917Z", or "2024-06-21T01:15:39.902" without Z: UTC either way (notes §4).
    value = _text(obj, key, where)
    try:
        return parse_xero_instant(value)
    except ValueError as exc:
        raise WebhookFormatError(f"{where}.{key}: {exc}") from None
