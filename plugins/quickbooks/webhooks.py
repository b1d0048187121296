"""QuickBooks Online webhooks: check the signature, read the events (pure: no I/O, no clock, no SDK).

Intuit signs the raw request body: ``intuit-signature`` = base64(HMAC-SHA256(verifier token, body))
(notes §4.2). The SDK's own check needs ``str``, compares with ``==`` and raises on bad base64
(notes §1.9.3), so this module has its own over bytes, in constant time.

Two payload formats arrive, and an app switches from one to the other (notes §0.5, §4.3):

- legacy: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [{"name", "id",
  "operation", "lastUpdated"[, "deletedId"]}]}}]}``;
- CloudEvents: a JSON array of ``{"specversion", "type": "qbo.<entity>.<verb>.v1",
  "intuitaccountid", "intuitentityid", "time", …}``.

Both become :class:`~connector.platform.WebhookNotice` values; operations use the legacy
vocabulary in lower case (``create``, ``update``, ``delete``, ``merge``, ``void``, ``emailed``),
CloudEvents verbs being brought to it (``created`` → ``create``). Events of entities this plugin
does not sync (Account, Vendor, Class, Term …) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from connector.platform import Entity, WebhookNotice
from connector.signing import signature_matches
from plugins.quickbooks.mapping import ENTITY_NAMES, parse_qbo_datetime

SIGNATURE_HEADER = "intuit-signature"
"""The request header that carries the signature (HTTP headers are case-insensitive)."""

# Entity names compared in lower case: legacy sends "CreditMemo", CloudEvents "creditmemo".
_ENTITIES: Mapping[str, Entity] = MappingProxyType({name.lower(): entity for entity, name in ENTITY_NAMES.items()})

# CloudEvents verbs → legacy operations. The void and emailed verbs are unverified (notes §4.3:
# third parties use both "voided" and "void"); an unknown verb is passed on as it is.
_VERBS: Mapping[str, str] = MappingProxyType(
    {"created": "create", "updated": "update", "deleted": "delete", "merged": "merge", "voided": "void"}
)


class WebhookFormatError(ValueError):
    """A webhook body that is neither of the two payload formats; the message names the path."""


def verify_signature(body: bytes, signature: str | None, verifier_token: str) -> bool:
    """True when the ``intuit-signature`` header is base64(HMAC-SHA256(``verifier_token``, raw ``body``));
    constant time, never raises (see :func:`connector.signing.signature_matches`)."""
    return signature_matches(body, signature, verifier_token)


def parse_notifications(body: bytes) -> list[WebhookNotice]:
    """The events of a (verified) webhook body, in either payload format, in the order sent.

    A legacy Merge event with a ``deletedId`` (the record merged away, notes §4.3) gives a second
    notice for that id, operation ``merge``: both records are to be fetched again.

    Args:
        body: the raw request body.

    Returns:
        One notice per event of an entity this plugin syncs (an empty list when there is none).

    Raises:
        WebhookFormatError: when the body is not JSON, or not one of the two formats, or an event
            lacks its realm, id, operation or time; the message names the path at fault.
    """
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WebhookFormatError(f"not JSON: {exc}") from None
    if isinstance(payload, list):
        return list(_cloud_events(payload))
    if isinstance(payload, Mapping) and "specversion" in payload:
        return list(_cloud_events([payload]))  # one CloudEvent sent on its own
    if isinstance(payload, Mapping) and "eventNotifications" in payload:
        return list(_legacy(payload))
    raise WebhookFormatError("neither eventNotifications nor a CloudEvents array")


def _legacy(payload: Mapping[str, Any]) -> Iterator[WebhookNotice]:
    for i, notification in enumerate(_items(payload, "eventNotifications", "")):
        where = f"eventNotifications[{i}]"
        realm = _id(notification, "realmId", where)
        change = _object(notification, "dataChangeEvent", where)
        for j, event in enumerate(_items(change, "entities", f"{where}.dataChangeEvent")):
            at = f"{where}.dataChangeEvent.entities[{j}]"
            entity = _ENTITIES.get(_text(event, "name", at).lower())
            if entity is None:
                continue
            operation = _text(event, "operation", at).lower()
            occurred_at = _time(event, "lastUpdated", at)
            yield WebhookNotice(realm, entity, _id(event, "id", at), operation, occurred_at)
            if operation == "merge" and event.get("deletedId") is not None:
                yield WebhookNotice(realm, entity, _id(event, "deletedId", at), operation, occurred_at)


def _cloud_events(events: list[Any]) -> Iterator[WebhookNotice]:
    for i, event in enumerate(events):
        at = f"[{i}]"
        if not isinstance(event, Mapping):
            raise WebhookFormatError(f"{at}: expected an object, got {type(event).__name__}")
        kind = _text(event, "type", at)
        parts = kind.split(".")
        if len(parts) != 4 or parts[0] != "qbo" or not parts[3].startswith("v") or not all(parts):
            raise WebhookFormatError(f"{at}.type: not qbo.<entity>.<verb>.v<n>: {kind!r}")
        entity = _ENTITIES.get(parts[1].lower())
        if entity is None:
            continue
        verb = parts[2].lower()
        yield WebhookNotice(
            external_org_id=_id(event, "intuitaccountid", at),
            entity=entity,
            external_id=_id(event, "intuitentityid", at),
            operation=_VERBS.get(verb, verb),
            occurred_at=_time(event, "time", at),
        )


# --- readers that name the path they refuse


def _field(obj: Mapping[str, Any], key: str, where: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise WebhookFormatError(f"{where}.{key}: missing".lstrip("."))
    return value


def _object(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _field(obj, key, where)
    if not isinstance(value, Mapping):
        raise WebhookFormatError(f"{where}.{key}: expected an object, got {type(value).__name__}")
    return value


def _items(obj: Mapping[str, Any], key: str, where: str) -> Iterator[Mapping[str, Any]]:
    value = _field(obj, key, where)
    path = f"{where}.{key}".lstrip(".")
    if not isinstance(value, list):
        raise WebhookFormatError(f"{path}: expected a list, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise WebhookFormatError(f"{path}[{i}]: expected an object, got {type(item).__name__}")
        yield item


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(obj, key, where)
    if not isinstance(value, str) or not value.strip():
        raise WebhookFormatError(f"{where}.{key}: expected text, got {value!r}")
    return value.strip()


def _id(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(obj, key, where)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # Intuit sends ids as strings; an int is taken as meant
    return _text(obj, key, where)


def _time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    # Legacy "lastUpdated" may be "-0700" (no colon); CloudEvents "time" has 9 digits and Z (notes §3.1).
    try:
        return parse_qbo_datetime(_text(obj, key, where))
    except ValueError as exc:
        if isinstance(exc, WebhookFormatError):
            raise
        raise WebhookFormatError(f"{where}.{key}: {exc}") from None
