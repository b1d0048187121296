"""POST /webhooks/quickbooks: the signature over the raw bytes decides (the three public vectors),
both payload formats are stored, nothing is fetched while the platform waits, and a redelivery
stores nothing new."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import WebhookEvent
from connector.db.session import upgrade
from connector.platform import PlatformConfig
from connector.runtime import Runtime, build_runtime
from tests.contract.quickbooks import QuickBooksHarness
from tests.personas import NOW
from web import create_app

SAMPLES = Path(__file__).parent / "samples"
VECTORS = json.loads((SAMPLES / "webhook_signature_test_vectors.json").read_text())["vectors"]


def _app(env: dict[str, str], sqlite_url: str, key: str) -> tuple[FlaskClient, Runtime]:
    upgrade(sqlite_url)
    config = PlatformConfig("cid", "secret", "http://127.0.0.1/cb", "http://127.0.0.1/d", "http://127.0.0.1/v3", key)
    runtime = build_runtime(load_settings(env), configs={"quickbooks": config}, clock=FixedClock(NOW))
    return create_app({"TESTING": True}, runtime=runtime).test_client(), runtime


def _sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("vector", VECTORS, ids=[f"vector-{i}" for i in range(len(VECTORS))])
def test_the_public_vectors_are_accepted_and_a_changed_byte_is_refused(
    env: dict[str, str], sqlite_url: str, vector: dict[str, str]
) -> None:
    client, runtime = _app(env, sqlite_url, vector["verifier_token"])
    body = vector["body"].encode()
    headers = {"intuit-signature": vector["intuit_signature"], "Content-Type": "application/json"}
    assert client.post("/webhooks/quickbooks", data=body, headers=headers).status_code == 200
    tampered = body.replace(b"}", b" }", 1)
    assert client.post("/webhooks/quickbooks", data=tampered, headers=headers).status_code == 401
    assert client.post("/webhooks/quickbooks", data=body).status_code == 401  # no header
    with runtime.sessions() as session:
        stored = session.scalars(select(WebhookEvent)).all()
        assert stored and all(e.body == vector["body"] for e in stored)  # kept byte for byte
    runtime.close()


def test_a_signed_body_that_is_no_payload_is_kept_as_unreadable(env: dict[str, str], sqlite_url: str) -> None:
    client, runtime = _app(env, sqlite_url, "k")
    body = b'{"stuff":"5"}'
    assert (
        client.post("/webhooks/quickbooks", data=body, headers={"intuit-signature": _sign("k", body)}).status_code
        == 200
    )
    with runtime.sessions() as session:
        row = session.scalars(select(WebhookEvent)).one()
        assert row.status == "unreadable" and row.last_error and row.body == '{"stuff":"5"}'
    runtime.close()


def _invoice_cloud_event() -> bytes:
    # The public CloudEvents samples are Account/Class events (entities arcadence skips): same shape,
    # retyped as an invoice update.
    events = json.loads((SAMPLES / "webhook_cloudevents_account_created.intuit-blog-2025.json").read_text())
    events[0]["type"] = "qbo.invoice.updated.v1"
    return json.dumps(events).encode()


@pytest.mark.parametrize(
    "body",
    [(SAMPLES / "webhook_legacy_customer_create.java-sdk.raw.json").read_bytes(), _invoice_cloud_event()],
    ids=["legacy", "cloudevents"],
)
def test_both_formats_are_stored_and_a_redelivery_adds_nothing(
    env: dict[str, str], sqlite_url: str, body: bytes
) -> None:
    client, runtime = _app(env, sqlite_url, "k")
    headers = {"intuit-signature": _sign("k", body)}
    for _ in range(2):
        assert client.post("/webhooks/quickbooks", data=body, headers=headers).status_code == 200
    with runtime.sessions() as session:
        rows = session.scalars(select(WebhookEvent)).all()
    assert len({r.event_key for r in rows}) == len(rows) >= 1
    runtime.close()


def test_delivery_answers_without_calling_the_platform(tmp_path: Path) -> None:
    qbo = QuickBooksHarness(tmp_path, FixedClock(NOW))
    try:
        qbo.connect()
        qbo.sync()
        qbo.pay(qbo.open_invoice(), "2.00")
        qbo.sandbox.reset_call_counts()
        assert qbo.deliver_webhooks() == [200]
        assert qbo.sandbox.call_counts() == {}  # the app fetched nothing while the sandbox waited
        assert qbo.process_webhooks() >= 1
        assert qbo.stored() == qbo.truth()
    finally:
        qbo.close()
