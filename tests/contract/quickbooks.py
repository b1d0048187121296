"""The QuickBooks Online harness of the contract suite (its sandbox + the arcadence app)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.clock import Clock
from connector.platform import PlatformConfig
from connector.sync import EntityReport
from plugins.quickbooks.sandbox import QuickBooksSandbox
from tests.contract.harness import AppServer, InvoiceState, free_port, money_of


class QuickBooksHarness:
    """QBO sandbox + app; the oracle reads the sandbox's raw records (QBO has no status field:
    open = Balance > 0, voided = zero amounts with a "Voided" note, paid otherwise)."""

    name = "quickbooks"
    idle_sync_calls = 1  # one CDC call covers every entity (notes/quickbooks.md §0.4)
    pay_link_calls_per_invoice = 0
    """``include=invoiceLink`` puts the link in the query answer itself (notes/quickbooks.md §0.7)."""

    def __init__(self, tmp: Path, clock: Clock, database_url: str | None = None, **sandbox: int) -> None:
        self.sandbox = QuickBooksSandbox(clock=clock, **sandbox)  # type: ignore[arg-type]
        self.sandbox.serve()
        self.sandbox.set_auto_consent(True)
        port = free_port()
        config = PlatformConfig(
            client_id=self.sandbox.client_id, client_secret=self.sandbox.client_secret,
            redirect_uri=f"http://127.0.0.1:{port}/connect/quickbooks/callback",
            identity_url=self.sandbox.discovery_url, api_base=self.sandbox.api_url_v3,
            webhook_key=self.sandbox.webhook_verifier,
        )  # fmt: skip
        self.server = AppServer.start(tmp, clock, {"quickbooks": config}, port, database_url)
        self.runtime, self.http, self.app_url = self.server.runtime, self.server.http, self.server.url

    def close(self) -> None:
        self.server.stop()
        self.runtime.close()
        self.sandbox.stop()

    # -- flow ------------------------------------------------------------------------------------

    def connect(self) -> int:
        def consent(authorize_url: str) -> str:
            assert urlsplit(authorize_url).netloc == urlsplit(self.sandbox.base_url).netloc
            answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
            assert answer.status_code == 302, answer.text
            return str(answer.headers["Location"])

        self.server.connect(self.name, consent)
        return self.server.organisation_id(self.name)

    def sync(self, *, full: bool = False) -> list[EntityReport]:
        return self.server.sync(self.name, full=full)

    def stored(self) -> dict[str, InvoiceState]:
        return self.server.stored()

    def stored_emails(self, customer: str) -> list[str]:
        return self.server.stored_emails(customer)

    def process_webhooks(self) -> int:
        return self.server.process_webhooks()

    # -- the sandbox's truth ---------------------------------------------------------------------

    def truth(self) -> dict[str, InvoiceState]:
        result = {}
        for raw in self.sandbox.records("Invoice"):
            state = _oracle(raw)
            if state is not None:
                result[str(raw["Id"])] = state
        return result

    def malformed_ids(self) -> set[str]:
        return {str(raw["Id"]) for raw in self.sandbox.records("Invoice") if _oracle(raw) is None}

    def truth_emails(self, customer: str) -> list[str]:
        raw = self.sandbox.record("Customer", customer)
        address = (raw.get("PrimaryEmailAddr") or {}).get("Address")
        return [address] if address else []

    def open_invoice(self) -> str:
        return next(i for i, (status, _) in sorted(self.truth().items(), key=lambda kv: int(kv[0])) if status == "open")

    def payable_invoice(self) -> str:
        """An open invoice QBO gives a pay link for: online payment on and a BillEmail (notes §0.7)."""
        for raw in self.sandbox.records("Invoice"):
            online = raw.get("AllowOnlineCreditCardPayment") or raw.get("AllowOnlineACHPayment")
            if _oracle(raw) is not None and _oracle(raw)[0] == "open" and online and raw.get("BillEmail"):  # type: ignore[index]
                return str(raw["Id"])
        raise LookupError("the sample company has no payable invoice")

    def some_customer(self) -> str:
        return next(str(c["Id"]) for c in self.sandbox.records("Customer") if c.get("PrimaryEmailAddr"))

    # -- changes, as a user of QuickBooks would make them -----------------------------------------

    def create_invoice(self, customer: str, amount: str) -> str:
        return str(self.sandbox.create_invoice(customer, amount)["Id"])

    def pay(self, invoice: str, amount: str | None = None) -> None:
        self.sandbox.apply_payment(invoice, amount)

    def credit(self, invoice: str, amount: str) -> None:
        customer = self.sandbox.record("Invoice", invoice)["CustomerRef"]["value"]
        memo = self.sandbox.create_credit_memo(customer, amount)
        self.sandbox.apply_credit_memo(memo["Id"], invoice, amount)

    def void(self, invoice: str) -> None:
        self.sandbox.void_invoice(invoice)

    def delete(self, invoice: str) -> None:
        self.sandbox.delete_invoice(invoice)

    def set_email(self, customer: str, email: str) -> None:
        self.sandbox.set_customer_email(customer, email)

    def add_malformed_invoice(self) -> str:
        return str(self.sandbox.add_malformed_invoice("total_not_a_number")["Id"])

    def expire_access_tokens(self) -> None:
        self.sandbox.expire_access_tokens()

    def throttle_after(self, calls: int) -> None:
        self.sandbox.set_rate_limit(calls)

    def unthrottle(self) -> None:
        self.sandbox.set_rate_limit(500)

    def notes_on(self, invoice: str) -> list[str]:
        notes = []
        for raw in self.sandbox.records("Attachable"):
            refs = [r.get("EntityRef", {}) for r in raw.get("AttachableRef", [])]
            if any(ref.get("type") == "Invoice" and str(ref.get("value")) == invoice for ref in refs):
                notes.append(str(raw.get("Note", "")))
        return notes

    def deliver_webhooks(self) -> list[int]:
        self.sandbox.configure_webhooks(url=f"{self.app_url}/webhooks/quickbooks", format="legacy", delivery="manual")
        return [int(d["status"]) for d in self.sandbox.flush_webhooks()]

    def api_calls(self) -> int:
        return sum(self.sandbox.call_counts().values())

    def pay_link_calls(self) -> int:
        """Single-record reads: ``pay_now_url``'s ``Invoice/{id}`` is the only QBO call made for a pay
        link alone (connecting reads ``CompanyInfo`` the same way: compare before and after)."""
        return self.sandbox.call_counts().get("api_read", 0)


def _oracle(raw: Any) -> InvoiceState | None:
    """Status and balance of a raw QBO invoice; None for a record that is not a valid invoice."""
    if not isinstance(raw, dict) or not isinstance(raw.get("CustomerRef"), dict):
        return None
    if (raw.get("CurrencyRef") or {}).get("value", "USD") not in {"USD", "EUR", "GBP", "CAD"}:
        return None
    try:
        total, balance = money_of(raw["TotalAmt"]), money_of(raw["Balance"])
    except (KeyError, InvalidOperation):
        return None
    if balance > 0:
        return "open", balance
    if total == 0 and str(raw.get("PrivateNote", "")).startswith("Voided"):
        return "voided", balance
    return "paid", Decimal("0.00")
