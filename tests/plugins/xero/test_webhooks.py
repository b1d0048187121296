"""Xero webhooks: the signature over raw bytes, intent-to-receive, and the events of the public samples."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.platform import Entity, WebhookNotice
from plugins.xero.webhooks import SIGNATURE_HEADER, WebhookFormatError, parse_notifications, verify_signature

SAMPLES = Path(__file__).parent / "samples"
VECTOR = json.loads((SAMPLES / "webhook_signature_test_vector.xero-php.json").read_text())
ITR_PHP = (SAMPLES / "webhook_intent_to_receive.xero-php.raw.json").read_bytes()
ITR_DOCS = (SAMPLES / "webhook_intent_to_receive.xero-docs.json").read_bytes()
INVOICE_X2 = (SAMPLES / "webhook_invoice_update_x2.xero-php.raw.json").read_bytes()
CONTACT = (SAMPLES / "webhook_contact_update.spec.json").read_bytes()
CREDIT_NOTE = (SAMPLES / "webhook_creditnote_create.spec.json").read_bytes()
KEY = VECTOR["webhook_key"]


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


# --- signature ----------------------------------------------------------------------------------


def test_the_public_vector_verifies_over_the_byte_exact_body() -> None:
    assert VECTOR["raw_body_file"] == "webhook_intent_to_receive.xero-php.raw.json"
    assert VECTOR["raw_body"].encode() == ITR_PHP  # the copy is byte-exact (no trailing newline)
    assert (KEY, VECTOR["x-xero-signature"]) == ("test_key", "ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U=")
    assert verify_signature(ITR_PHP, VECTOR["x-xero-signature"], KEY)
    assert sign(ITR_PHP) == VECTOR["x-xero-signature"]
    assert SIGNATURE_HEADER == "x-xero-signature" and SIGNATURE_HEADER in VECTOR


def test_the_vectors_wrong_signature_fails() -> None:
    assert not verify_signature(ITR_PHP, VECTOR["wrong_signature_example"], KEY)


def test_tampered_body_or_wrong_key_fails() -> None:
    signature = VECTOR["x-xero-signature"]
    flipped = bytearray(ITR_PHP)
    flipped[len(flipped) // 2] ^= 1
    assert not verify_signature(bytes(flipped), signature, KEY)
    assert not verify_signature(ITR_PHP + b"\n", signature, KEY)
    assert not verify_signature(json.dumps(json.loads(ITR_PHP)).encode(), signature, KEY)  # re-serialised
    assert not verify_signature(ITR_PHP, signature, "test_key ")
    assert not verify_signature(ITR_PHP, signature, "TEST_KEY")
    assert not verify_signature(ITR_PHP, signature, "")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing-header"),
        pytest.param("", id="empty"),
        pytest.param("this will fail", id="garbage"),
        pytest.param("ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U", id="padding-cut"),
        pytest.param("ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejm", id="truncated"),
        pytest.param("ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U=AAAA", id="too-long"),
        pytest.param("ïxznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U=", id="non-ascii"),
        pytest.param(hmac.new(KEY.encode(), ITR_PHP, hashlib.sha256).hexdigest(), id="hex-not-base64"),
        pytest.param("sha256=ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U=", id="prefixed"),
        pytest.param(b"ixznmr+Pdl6QymsWZM+9UkY4lu97q04sJyejmSOp25U=x", id="bytes-garbage"),
        pytest.param(12345, id="not-text"),
    ],
)
def test_missing_or_garbage_signature_fails_without_raising(signature: Any) -> None:
    assert not verify_signature(ITR_PHP, signature, KEY)


def test_bodies_as_bytes_bytearray_or_text() -> None:
    signature = VECTOR["x-xero-signature"]
    assert verify_signature(bytearray(ITR_PHP), signature, KEY)  # type: ignore[arg-type]
    assert verify_signature(memoryview(ITR_PHP), signature, KEY)  # type: ignore[arg-type]
    assert verify_signature(ITR_PHP.decode(), signature, KEY)  # type: ignore[arg-type]
    body = '{"entropy":"Café"}'.encode()
    assert verify_signature(body.decode(), sign(body), KEY)  # type: ignore[arg-type]
    assert not verify_signature(body.decode("latin-1"), sign(body), KEY)  # type: ignore[arg-type]
    assert not verify_signature(None, signature, KEY)  # type: ignore[arg-type]
    assert not verify_signature(ITR_PHP, signature, None)  # type: ignore[arg-type]


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_signature(ITR_PHP, f" {VECTOR['x-xero-signature']}\r\n", KEY)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("connector.signing.hmac.compare_digest", spy)  # the shared check
    assert verify_signature(ITR_PHP, VECTOR["x-xero-signature"], KEY)
    assert not verify_signature(ITR_PHP, sign(b"other"), KEY)
    assert len(calls) == 2


# --- intent to receive --------------------------------------------------------------------------


def test_intent_to_receive_sequence_good_and_bad_signatures() -> None:
    # Xero posts ITR bodies signed right and wrong; each must verify (200) or not (401), and a
    # verified one has no events (notes §4).
    sequence = [
        (ITR_PHP, VECTOR["x-xero-signature"], True),
        (ITR_PHP, VECTOR["wrong_signature_example"], False),
        (ITR_DOCS, sign(ITR_DOCS), True),
        (ITR_DOCS, sign(ITR_PHP), False),
        (ITR_DOCS, sign(ITR_DOCS, "another key"), False),
        (ITR_DOCS, None, False),
    ]
    for body, signature, valid in sequence:
        assert verify_signature(body, signature, KEY) is valid
        assert parse_notifications(body) == []


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), key=st.text(min_size=1, max_size=20), signature=st.text(max_size=60))
def test_verification_never_raises(body: bytes, key: str, signature: str) -> None:
    assert verify_signature(body, sign(body, key), key)
    assert isinstance(verify_signature(body, signature, key), bool)


# --- events -------------------------------------------------------------------------------------


def test_two_updates_of_one_invoice() -> None:
    tenant, invoice = "e629a03c-7ffe-4913-bd94-ff2fdb36a702", "44aa0707-f718-4f1c-8d53-f2da9ca59533"
    assert parse_notifications(INVOICE_X2) == [
        WebhookNotice(tenant, Entity.INVOICE, invoice, "update", datetime(2018, 2, 9, 9, 18, 28, 917000, tzinfo=UTC)),
        WebhookNotice(tenant, Entity.INVOICE, invoice, "update", datetime(2018, 2, 9, 9, 19, 5, 60000, tzinfo=UTC)),
    ]


def test_contact_update_without_z_is_utc() -> None:
    assert b'"eventDateUtc": "2024-06-21T01:15:39.902"' in CONTACT
    [notice] = parse_notifications(CONTACT)
    assert notice == WebhookNotice(
        "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
        Entity.CUSTOMER,
        "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
        "update",
        datetime(2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC),
    )
    assert notice.occurred_at.tzinfo is UTC


def test_supplier_credit_note_is_skipped_and_a_customer_one_is_not() -> None:
    payload = json.loads(CREDIT_NOTE)
    assert payload["events"][0]["data"] == {"Type": "ACCPAYCREDIT", "Status": "DRAFT"}
    assert parse_notifications(CREDIT_NOTE) == []
    payload["events"][0]["data"]["Type"] = "ACCRECCREDIT"
    assert parse_notifications(json.dumps(payload).encode()) == [
        WebhookNotice(
            "aef86862-2015-4b6b-88bc-d89032cecc50",
            Entity.CREDIT_NOTE,
            "55d84274-a3da-4829-a7c0-0cab601b95cc",
            "create",
            datetime(2025, 12, 2, 0, 44, 9, 923000, tzinfo=UTC),
        )
    ]
    del payload["events"][0]["data"]  # no data block: fetch it and let the mapping decide
    assert [n.entity for n in parse_notifications(json.dumps(payload).encode())] == [Entity.CREDIT_NOTE]


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = json.loads(CONTACT)["events"][0]
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events), "firstEventSequence": 1, "lastEventSequence": 1}).encode()


def test_unknown_categories_are_skipped_in_order() -> None:
    notices = parse_notifications(
        body(
            event(eventCategory="SUBSCRIPTION", tenantType="APPLICATION"),
            event(eventCategory="INVOICE", resourceId="a"),
            event(eventCategory="PAYMENT", resourceId="b"),
            event(eventCategory="contact", resourceId="c", eventType="CREATE"),
            event(eventCategory="CREDITNOTE", resourceId="d"),
        )
    )
    assert [(n.entity, n.external_id, n.operation) for n in notices] == [
        (Entity.INVOICE, "a", "update"),
        (Entity.CUSTOMER, "c", "create"),
        (Entity.CREDIT_NOTE, "d", "update"),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"", r"^not JSON", id="empty"),
        pytest.param(b"<xml/>", r"^not JSON", id="xml"),
        pytest.param(b"\xff\xfe", r"^not JSON", id="not-utf8"),
        pytest.param(b"[]", r"^expected an object with events, got list", id="list"),
        pytest.param(b"{}", r"^events: missing$", id="no-events"),
        pytest.param(b'{"events": {}}', r"^events: expected a list", id="events-object"),
        pytest.param(b'{"events": ["x"]}', r"^events\[0\]: expected an object, got str$", id="event-text"),
        pytest.param(body(event(resourceId=None)), r"^events\[0\]\.resourceId: missing$", id="no-id"),
        pytest.param(body(event(tenantId="")), r"^events\[0\]\.tenantId: expected text", id="empty-tenant"),
        pytest.param(body(event(eventCategory=None)), r"^events\[0\]\.eventCategory: missing$", id="no-category"),
        pytest.param(body(event(eventType=7)), r"^events\[0\]\.eventType: expected text, got 7$", id="type-int"),
        pytest.param(body(event(eventDateUtc=None)), r"^events\[0\]\.eventDateUtc: missing$", id="no-time"),
        pytest.param(
            body(event(eventDateUtc="09/02/2018")), r"^events\[0\]\.eventDateUtc: not a /Date", id="time-garbage"
        ),
        pytest.param(
            body(event(eventCategory="CREDITNOTE", data="ACCPAYCREDIT")),
            r"^events\[0\]\.data: expected an object, got str$",
            id="data-text",
        ),
    ],
)
def test_malformed_bodies_name_the_path(raw: bytes, message: str) -> None:
    with pytest.raises(WebhookFormatError, match=message):
        parse_notifications(raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_body_parses_or_is_a_format_error(raw: bytes) -> None:
    with contextlib.suppress(WebhookFormatError):
        assert isinstance(parse_notifications(raw), list)
