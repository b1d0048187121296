"""QBO webhooks: the signature over raw bytes, and both payload formats, on the public samples."""

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
from plugins.quickbooks.webhooks import WebhookFormatError, parse_notifications, verify_signature

SAMPLES = Path(__file__).parent / "samples"
VECTORS = json.loads((SAMPLES / "webhook_signature_test_vectors.json").read_text())["vectors"]
CLOUD_ACCOUNT = (SAMPLES / "webhook_cloudevents_account_created.intuit-blog-2025.json").read_bytes()
CLOUD_CLASS = (SAMPLES / "webhook_cloudevents_class_created.dotnet-sdk.raw.json").read_bytes()
LEGACY_ACCOUNT = (SAMPLES / "webhook_legacy_account_create.intuit-blog-2025.json").read_bytes()
LEGACY_CUSTOMER = (SAMPLES / "webhook_legacy_customer_create.java-sdk.raw.json").read_bytes()
LEGACY_VENDOR_CUSTOMER = (SAMPLES / "webhook_legacy_vendor_update_customer_create.dotnet-sdk.raw.json").read_bytes()
KEY = "00faeec4-08d0-4996-bb37-698ae19f0149"


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def vector_body(vector: dict[str, Any]) -> bytes:
    """The exact bytes that were signed: the sample file when there is one."""
    if "body_file" in vector:
        raw = (SAMPLES / vector["body_file"]).read_bytes()
        assert raw == vector["body"].encode("utf-8")  # the copy is byte-exact
        return raw
    return str(vector["body"]).encode("utf-8")


# --- signature ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=["python-quickbooks", "dotnet-sdk", "java-sdk"])
def test_public_vectors_verify(vector: dict[str, Any]) -> None:
    assert verify_signature(vector_body(vector), vector["intuit_signature"], vector["verifier_token"])


@pytest.mark.parametrize("vector", VECTORS, ids=["python-quickbooks", "dotnet-sdk", "java-sdk"])
def test_tampered_body_or_wrong_key_fails(vector: dict[str, Any]) -> None:
    body, signature, key = vector_body(vector), vector["intuit_signature"], vector["verifier_token"]
    flipped = bytearray(body)
    flipped[len(body) // 2] ^= 1
    assert not verify_signature(bytes(flipped), signature, key)
    assert not verify_signature(body + b"\n", signature, key)  # re-serialised JSON is another body
    assert not verify_signature(json.dumps(json.loads(body), indent=1).encode(), signature, key)
    assert not verify_signature(body, signature, key + "x")
    assert not verify_signature(body, signature, key.upper())


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing-header"),
        pytest.param("", id="empty"),
        pytest.param("not base64 at all!", id="garbage"),
        pytest.param("6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM", id="padding-cut"),
        pytest.param("6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sne", id="truncated"),
        pytest.param("6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=AAAA", id="too-long"),
        pytest.param("ëq+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=", id="non-ascii"),
        pytest.param(hmac.new(KEY.encode(), LEGACY_VENDOR_CUSTOMER, hashlib.sha256).hexdigest(), id="hex-not-base64"),
        pytest.param("sha256=6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM=", id="prefixed"),
    ],
)
def test_missing_or_garbage_signature_fails_without_raising(signature: str | None) -> None:
    assert not verify_signature(LEGACY_VENDOR_CUSTOMER, signature, KEY)


def test_the_dotnet_vector_is_the_signature_used_above() -> None:
    assert sign(LEGACY_VENDOR_CUSTOMER) == "6q+xGyMirJupwKTh2/WBl2NcdxzxqdIbk3sneKTxLWM="


def test_empty_verifier_token_verifies_nothing() -> None:
    assert not verify_signature(b"{}", sign(b"{}", ""), "")


def test_bytes_and_str_bodies() -> None:
    # The SDK's check needs str and fails on bytes (notes §1.9.3); ours takes the raw bytes, and a
    # str only as its UTF-8 encoding.
    signature = sign(LEGACY_VENDOR_CUSTOMER)
    assert verify_signature(LEGACY_VENDOR_CUSTOMER, signature, KEY)
    assert verify_signature(bytearray(LEGACY_VENDOR_CUSTOMER), signature, KEY)
    assert verify_signature(LEGACY_VENDOR_CUSTOMER.decode(), signature, KEY)
    body = '{"name":"Café"}'.encode()
    assert verify_signature(body.decode(), sign(body), KEY)
    assert not verify_signature(body.decode("latin-1"), sign(body), KEY)
    assert not verify_signature(None, signature, KEY)  # type: ignore[arg-type]


def test_surrounding_whitespace_in_the_header_is_tolerated() -> None:
    assert verify_signature(LEGACY_VENDOR_CUSTOMER, f"  {sign(LEGACY_VENDOR_CUSTOMER)}\n", KEY)


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr("connector.signing.hmac.compare_digest", spy)  # the shared check
    assert verify_signature(LEGACY_VENDOR_CUSTOMER, sign(LEGACY_VENDOR_CUSTOMER), KEY)
    assert not verify_signature(LEGACY_VENDOR_CUSTOMER, sign(b"other"), KEY)
    assert len(calls) == 2


# --- payloads from the samples -------------------------------------------------------------------


def test_legacy_customer_create_java_sample() -> None:
    assert parse_notifications(LEGACY_CUSTOMER) == [
        WebhookNotice("1185883450", Entity.CUSTOMER, "1", "create", datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC))
    ]


def test_legacy_dotnet_sample_keeps_the_customer_and_skips_the_vendor() -> None:
    assert parse_notifications(LEGACY_VENDOR_CUSTOMER) == [
        WebhookNotice("1269959970", Entity.CUSTOMER, "43", "create", datetime(2016, 10, 5, 3, 7, 4, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(LEGACY_ACCOUNT, id="legacy-account"),
        pytest.param(CLOUD_ACCOUNT, id="cloudevents-account"),
        pytest.param(CLOUD_CLASS, id="cloudevents-class"),
    ],
)
def test_samples_of_entities_not_synced_give_no_notice(body: bytes) -> None:
    assert parse_notifications(body) == []


def with_type(body: bytes, type_: str) -> bytes:
    """A CloudEvents sample with another event type (the rest of the event unchanged)."""
    events = json.loads(body)
    events[0]["type"] = type_
    return json.dumps(events).encode()


def test_cloudevents_blog_sample_as_an_invoice_update() -> None:
    assert parse_notifications(with_type(CLOUD_ACCOUNT, "qbo.invoice.updated.v1")) == [
        WebhookNotice("310687", Entity.INVOICE, "1234", "update", datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC))
    ]


def test_cloudevents_dotnet_sample_as_a_payment_creation() -> None:
    assert parse_notifications(with_type(CLOUD_CLASS, "qbo.payment.created.v1")) == [
        WebhookNotice("310687", Entity.PAYMENT, "1234", "create", datetime(2025, 10, 7, 19, 59, 7, 34359, tzinfo=UTC))
    ]


def test_legacy_blog_sample_as_an_invoice() -> None:
    payload = json.loads(LEGACY_ACCOUNT)
    payload["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["name"] = "Invoice"
    assert parse_notifications(json.dumps(payload).encode()) == [
        WebhookNotice("310687", Entity.INVOICE, "1234", "create", datetime(2025, 9, 8, 20, 52, 31, 657000, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("type_", "entity", "operation"),
    [
        pytest.param("qbo.invoice.created.v1", Entity.INVOICE, "create", id="invoice-created"),
        pytest.param("qbo.invoice.deleted.v1", Entity.INVOICE, "delete", id="invoice-deleted"),
        pytest.param("qbo.invoice.voided.v1", Entity.INVOICE, "void", id="invoice-voided"),
        pytest.param("qbo.invoice.void.v1", Entity.INVOICE, "void", id="invoice-void"),
        pytest.param("qbo.invoice.emailed.v1", Entity.INVOICE, "emailed", id="invoice-emailed"),
        pytest.param("qbo.payment.updated.v1", Entity.PAYMENT, "update", id="payment-updated"),
        pytest.param("qbo.creditmemo.created.v1", Entity.CREDIT_NOTE, "create", id="creditmemo-created"),
        pytest.param("qbo.customer.merged.v1", Entity.CUSTOMER, "merge", id="customer-merged"),
        pytest.param("qbo.customer.updated.v2", Entity.CUSTOMER, "update", id="later-version"),
        pytest.param("qbo.invoice.reopened.v1", Entity.INVOICE, "reopened", id="unknown-verb-passed-on"),
    ],
)
def test_cloudevents_types(type_: str, entity: Entity, operation: str) -> None:
    [notice] = parse_notifications(with_type(CLOUD_ACCOUNT, type_))
    assert (notice.entity, notice.operation) == (entity, operation)


@pytest.mark.parametrize("type_", ["qbo.term.updated.v1", "qbo.vendor.created.v1", "qbo.estimate.deleted.v1"])
def test_cloudevents_of_other_entities_are_skipped(type_: str) -> None:
    assert parse_notifications(with_type(CLOUD_ACCOUNT, type_)) == []


def legacy(*entities: dict[str, Any], realm: str = "1185883450") -> bytes:
    return json.dumps(
        {"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": list(entities)}}]}
    ).encode()


def event(name: str, id_: str = "1", operation: str = "Update", **extra: Any) -> dict[str, Any]:
    return {"name": name, "id": id_, "operation": operation, "lastUpdated": "2015-10-05T14:42:19-0700", **extra}


@pytest.mark.parametrize(
    ("name", "operation", "entity", "expected"),
    [
        pytest.param("Invoice", "Create", Entity.INVOICE, "create", id="invoice-create"),
        pytest.param("Invoice", "Void", Entity.INVOICE, "void", id="invoice-void"),
        pytest.param("Invoice", "Emailed", Entity.INVOICE, "emailed", id="invoice-emailed"),
        pytest.param("Invoice", "Delete", Entity.INVOICE, "delete", id="invoice-delete"),
        pytest.param("Payment", "Update", Entity.PAYMENT, "update", id="payment-update"),
        pytest.param("CreditMemo", "Create", Entity.CREDIT_NOTE, "create", id="creditmemo-create"),
        pytest.param("Customer", "Update", Entity.CUSTOMER, "update", id="customer-update"),
    ],
)
def test_legacy_entities_and_operations(name: str, operation: str, entity: Entity, expected: str) -> None:
    [notice] = parse_notifications(legacy(event(name, "7", operation)))
    assert (notice.entity, notice.external_id, notice.operation) == (entity, "7", expected)


def test_legacy_merge_gives_a_notice_for_both_customers() -> None:
    notices = parse_notifications(legacy(event("Customer", "5", "Merge", deletedId="9")))
    assert [(n.external_id, n.operation) for n in notices] == [("5", "merge"), ("9", "merge")]


def test_several_realms_and_events_keep_their_order() -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {"realmId": "1", "dataChangeEvent": {"entities": [event("Invoice", "10"), event("Term", "3")]}},
                {"realmId": "2", "dataChangeEvent": {"entities": [event("Payment", "20"), event("Invoice", "10")]}},
            ]
        }
    ).encode()
    notices = parse_notifications(body)
    assert [(n.external_org_id, n.entity, n.external_id) for n in notices] == [
        ("1", Entity.INVOICE, "10"),
        ("2", Entity.PAYMENT, "20"),
        ("2", Entity.INVOICE, "10"),
    ]


def test_a_single_cloudevent_outside_an_array_is_accepted() -> None:
    [single] = json.loads(with_type(CLOUD_ACCOUNT, "qbo.invoice.created.v1"))
    [notice] = parse_notifications(json.dumps(single).encode())
    assert (notice.entity, notice.external_id) == (Entity.INVOICE, "1234")


def test_empty_batches_give_no_notice() -> None:
    assert parse_notifications(b"[]") == []
    assert parse_notifications(b'{"eventNotifications": []}') == []


def test_unknown_entities_are_skipped_even_when_incomplete() -> None:
    assert parse_notifications(legacy({"name": "Vendor"})) == []


# --- malformed -----------------------------------------------------------------------------------

CLOUD = json.loads(with_type(CLOUD_ACCOUNT, "qbo.invoice.created.v1"))[0]


def cloud(**overrides: Any) -> bytes:
    return json.dumps([{k: v for k, v in {**CLOUD, **overrides}.items() if v is not None}]).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b'{"eventNotifications": [', "not JSON", id="truncated"),
        pytest.param((SAMPLES / "error_429_throttle.quickbooks-ruby.xml").read_bytes(), "not JSON", id="xml"),
        pytest.param(b"\xff\xfe\xfa", "not JSON", id="not-utf8"),
        pytest.param(b"[" * 100_000, "not JSON", id="too-deep"),
        pytest.param(b"null", "neither eventNotifications nor a CloudEvents array", id="null"),
        pytest.param(b'"hello"', "neither", id="a-string"),
        pytest.param(b"{}", "neither", id="empty-object"),
        pytest.param(b'{"eventNotifications": {}}', "eventNotifications: expected a list, got dict", id="not-a-list"),
        pytest.param(b'{"eventNotifications": [1]}', "eventNotifications[0]: expected an object", id="not-objects"),
        pytest.param(
            json.dumps({"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}).encode(),
            "eventNotifications[0].realmId: missing",
            id="legacy-without-realm",
        ),
        pytest.param(
            json.dumps({"eventNotifications": [{"realmId": "1"}]}).encode(),
            "eventNotifications[0].dataChangeEvent: missing",
            id="legacy-without-change",
        ),
        pytest.param(
            json.dumps({"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}).encode(),
            "eventNotifications[0].dataChangeEvent.entities: missing",
            id="legacy-without-entities",
        ),
        pytest.param(
            legacy({"name": "Invoice", "operation": "Update", "lastUpdated": "2015-10-05T14:42:19-0700"}),
            "eventNotifications[0].dataChangeEvent.entities[0].id: missing",
            id="legacy-without-id",
        ),
        pytest.param(
            legacy(event("Invoice", operation="")),
            "eventNotifications[0].dataChangeEvent.entities[0].operation: expected text, got ''",
            id="legacy-empty-operation",
        ),
        pytest.param(
            legacy(event("Invoice", lastUpdated="2015-10-05T14:42:19")),
            "entities[0].lastUpdated: no time or no UTC offset",
            id="legacy-naive-time",
        ),
        pytest.param(legacy({"name": 5}), "entities[0].name: expected text, got 5", id="legacy-name-not-text"),
        pytest.param(b"[1]", "[0]: expected an object, got int", id="cloudevents-not-objects"),
        pytest.param(cloud(type="qbo.invoice"), "[0].type: not qbo.<entity>.<verb>.v<n>", id="cloudevents-short-type"),
        pytest.param(cloud(type="com.example.x.v1"), "[0].type: not qbo", id="cloudevents-foreign-type"),
        pytest.param(cloud(type=None), "[0].type: missing", id="cloudevents-without-type"),
        pytest.param(cloud(intuitaccountid=None), "[0].intuitaccountid: missing", id="cloudevents-without-realm"),
        pytest.param(cloud(intuitentityid=None), "[0].intuitentityid: missing", id="cloudevents-without-id"),
        pytest.param(cloud(intuitentityid=[1]), "[0].intuitentityid: expected text", id="cloudevents-id-list"),
        pytest.param(cloud(time=None), "[0].time: missing", id="cloudevents-without-time"),
        pytest.param(cloud(time="last tuesday"), "[0].time: not an ISO 8601 instant", id="cloudevents-bad-time"),
    ],
)
def test_malformed_bodies_raise_naming_the_path(body: bytes, message: str) -> None:
    with pytest.raises(WebhookFormatError) as caught:
        parse_notifications(body)
    assert message in str(caught.value)


def test_int_ids_are_taken_as_meant() -> None:
    [notice] = parse_notifications(cloud(intuitentityid=1234, intuitaccountid=310687))
    assert (notice.external_org_id, notice.external_id) == ("310687", "1234")


# --- never anything but a notice list or WebhookFormatError ----------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from(["Invoice", "qbo.invoice.updated.v1", "qbo.x", "2015-10-05T14:42:19-0700", "Merge", "1.0"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(
        st.sampled_from(["eventNotifications", "realmId", "dataChangeEvent", "entities", "name", "id", "operation",
                         "lastUpdated", "deletedId", "specversion", "type", "time", "intuitaccountid",
                         "intuitentityid"]) | st.text(max_size=4),
        inner,
        max_size=6,
    ),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(payload=JSON)
def test_arbitrary_json_gives_notices_or_a_format_error(payload: Any) -> None:
    try:
        notices = parse_notifications(json.dumps(payload).encode())
    except WebhookFormatError:
        return
    assert all(isinstance(n, WebhookNotice) and n.occurred_at.tzinfo is UTC for n in notices)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=64), signature=st.none() | st.text(max_size=60), key=st.text(max_size=20))
def test_verify_never_raises(body: bytes, signature: str | None, key: str) -> None:
    assert verify_signature(body, signature, key) in (True, False)
    with contextlib.suppress(WebhookFormatError):
        parse_notifications(body)
