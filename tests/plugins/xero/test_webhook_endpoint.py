"""POST /webhooks/xero, the app served over loopback: Xero's intent-to-receive check passes (200 with
an empty body for a good signature, 401 for a bad one, each within Xero's 5 s), the public vector
is accepted byte for byte, and a delivery only stores: what changed is fetched later, from the
inbox, never while Xero waits (notes/xero.md §0.5, §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db.session import upgrade
from connector.runtime import build_runtime
from tests.contract.xero import XeroHarness
from tests.personas import NOW
from web import create_app

SAMPLES = Path(__file__).parent / "samples"
VECTOR = json.loads((SAMPLES / "webhook_signature_test_vector.xero-php.json").read_text())
ITR_PHP = (SAMPLES / "webhook_intent_to_receive.xero-php.raw.json").read_bytes()


@pytest.fixture
def xero(tmp_path: Path) -> Iterator[XeroHarness]:
    harness = XeroHarness(tmp_path, FixedClock(NOW))
    harness.connect()
    harness.sync()
    yield harness
    harness.close()


def _sign(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def test_the_endpoint_passes_xeros_intent_to_receive_check(xero: XeroHarness) -> None:
    outcome = xero.sandbox.intent_to_receive(url=f"{xero.app_url}/webhooks/xero", pattern="GBGBBGGB")
    assert outcome["verified"], outcome["results"]
    assert [r["status"] for r in outcome["results"]] == [200, 401, 200, 401, 401, 200, 200, 401]


@pytest.mark.parametrize(
    ("good", "status"), [pytest.param(True, 200, id="good-signature"), pytest.param(False, 401, id="bad-signature")]
)
def test_the_answer_has_an_empty_body(xero: XeroHarness, good: bool, status: int) -> None:
    body = json.dumps({"events": [], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}).encode()
    key = xero.sandbox.webhook_key if good else "not-the-key"
    answer = requests.post(
        f"{xero.app_url}/webhooks/xero", data=body, headers={"x-xero-signature": _sign(key, body)}, timeout=5
    )
    assert answer.status_code == status and answer.content == b""


def test_the_public_vector_is_accepted_byte_for_byte(xero: XeroHarness, tmp_path: Path, env: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'vector.sqlite3'}"
    upgrade(url)
    config = replace(xero.runtime.configs["xero"], webhook_key=VECTOR["webhook_key"])
    runtime = build_runtime(load_settings({**env, "ARCADENCE_DATABASE_URL": url}), configs={"xero": config})
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    try:
        signed = {"x-xero-signature": VECTOR["x-xero-signature"]}
        assert client.post("/webhooks/xero", data=ITR_PHP, headers=signed).status_code == 200
        assert client.post("/webhooks/xero", data=ITR_PHP + b"\n", headers=signed).status_code == 401
        assert client.post("/webhooks/xero", data=ITR_PHP).status_code == 401  # no signature at all
    finally:
        runtime.close()


def test_a_delivery_is_stored_and_fetched_later_never_while_xero_waits(xero: XeroHarness) -> None:
    xero.pay(xero.open_invoice(), "1.00")  # the payment makes an INVOICE event (Xero has no payment ones)
    before = xero.sandbox.call_details().get("total", 0)
    assert xero.deliver_webhooks() == [200]
    assert xero.sandbox.call_details().get("total", 0) == before  # nothing fetched during the delivery
    assert xero.process_webhooks() >= 1
    assert xero.sandbox.call_details().get("total", 0) > before  # fetched from the inbox, by id
    assert xero.stored() == xero.truth()
