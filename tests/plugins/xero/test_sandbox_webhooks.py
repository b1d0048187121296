"""The Xero sandbox's webhooks: signed ID-only events per category, and the intent-to-receive check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from connector.sandboxkit import serve_in_thread
from plugins.xero.sandbox import XeroSandbox, sign

SAMPLES = Path(__file__).parent / "samples"


class Receiver:
    """A webhook endpoint that checks the signature itself (or, ``lenient``, answers 200 to all)."""

    def __init__(self, key: str, lenient: bool = False) -> None:
        self.key, self.lenient = key, lenient
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        raw = request.get_data()
        expected = base64.b64encode(hmac.new(self.key.encode(), raw, hashlib.sha256).digest()).decode()
        good = hmac.compare_digest(expected, request.headers.get("x-xero-signature", ""))
        if good:
            self.bodies.append(raw)
        status = 200 if good or self.lenient else 401
        return Response(b"", status=status)(environ, start_response)


@pytest.fixture
def receiver(xero_sandbox: XeroSandbox) -> Iterator[tuple[Receiver, str]]:
    app = Receiver(xero_sandbox.webhook_key)
    url, stop = serve_in_thread(app)  # type: ignore[arg-type]
    yield app, f"{url}/webhooks/xero"
    stop()


def test_the_signature_matches_the_public_vector() -> None:
    vector = json.loads((SAMPLES / "webhook_signature_test_vector.xero-php.json").read_text())
    raw = (SAMPLES / "webhook_intent_to_receive.xero-php.raw.json").read_bytes()
    assert sign(vector["webhook_key"], raw) == vector["x-xero-signature"]


def test_events_are_id_only_per_category_and_signed(xero_sandbox: XeroSandbox, receiver: tuple[Receiver, str]) -> None:
    app, url = receiver
    xero_sandbox.configure_webhooks(url=url, delivery="manual")
    invoice = next(r for r in xero_sandbox.records("Invoices") if r["Status"] == "AUTHORISED")
    contact = invoice["Contact"]["ContactID"]
    xero_sandbox.apply_payment(invoice["InvoiceID"], "1.00")
    xero_sandbox.create_overpayment(contact, "10.00")  # no overpayment events (notes §0.5)
    note = xero_sandbox.create_credit_note(contact, "5.00")
    xero_sandbox.set_contact_email(contact, "new@example.com")
    outcomes = xero_sandbox.flush_webhooks()
    assert [o["status"] for o in outcomes] == [200]
    body = json.loads(app.bodies[0])
    events = body["events"]
    assert [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in events] == [
        ("INVOICE", "UPDATE", invoice["InvoiceID"]),
        ("CREDITNOTE", "CREATE", note["CreditNoteID"]),
        ("CONTACT", "UPDATE", contact),
    ]
    assert events[1]["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}
    assert {e["tenantId"] for e in events} == {xero_sandbox.tenant_ids[0]}
    assert events[0]["eventDateUtc"].endswith("Z") and not events[1]["eventDateUtc"].endswith("Z")
    assert events[0]["resourceUrl"] == f"{xero_sandbox.api_base}/Invoices/{invoice['InvoiceID']}"
    assert (body["firstEventSequence"], body["lastEventSequence"], len(body["entropy"])) == (1, 3, 20)
    assert xero_sandbox.pending_webhooks() == []


def test_intent_to_receive_passes_only_a_receiver_that_checks_signatures(
    xero_sandbox: XeroSandbox, receiver: tuple[Receiver, str]
) -> None:
    _, url = receiver
    check = xero_sandbox.intent_to_receive(url)
    assert check["verified"] is True
    assert [(r["signed_correctly"], r["status"]) for r in check["results"]] == [
        (True, 200), (False, 401), (True, 200), (False, 401), (False, 401), (True, 200),
    ]  # fmt: skip
    assert all(json.loads(r["body"])["events"] == [] for r in check["results"])
    lenient = Receiver(xero_sandbox.webhook_key, lenient=True)
    lenient_url, stop = serve_in_thread(lenient)  # type: ignore[arg-type]
    try:
        failed = xero_sandbox.intent_to_receive(lenient_url, pattern="GB")
    finally:
        stop()
    assert failed["verified"] is False and [r["ok"] for r in failed["results"]] == [True, False]
