"""The Xero harness of the contract suite (its sandbox + the arcadence app)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.clock import Clock
from connector.platform import PlatformConfig
from connector.sync import EntityReport
from plugins.xero.sandbox import XeroSandbox
from tests.contract.harness import AppServer, InvoiceState, free_port, money_of

CURRENCIES = {"GBP", "EUR", "USD"}
VAT = Decimal("0.20")  # the main sample organisation is in GB: Exclusive lines with 20 % VAT (sandbox README)


class XeroHarness:
    """Xero sandbox + app, on the main sample organisation only (the consent connects one tenant,
    so the suite's one-organisation checks hold; several tenants per consent are covered in
    ``tests/plugins/xero``). The oracle reads the sandbox's raw ACCREC invoices: AUTHORISED with
    ``AmountDue`` > 0 is open, PAID or nothing due is paid, VOIDED is voided, DRAFT/SUBMITTED are
    drafts, DELETED is gone."""

    name = "xero"
    idle_sync_calls = 6
    """Xero has no change feed: an idle incremental sync asks each of its six lists once with
    ``If-Modified-Since`` (notes/xero.md §3, §0.7)."""
    pay_link_calls_per_invoice = 1
    """``Invoices/{id}/OnlineInvoice`` at an invoice's first reminder, then stored since the URL is
    stable (notes/xero.md §5); the sync asks for none (issue 7)."""

    def __init__(self, tmp: Path, clock: Clock, database_url: str | None = None) -> None:
        self.sandbox = XeroSandbox(clock=clock)
        self.sandbox.serve()
        self.sandbox.set_auto_consent(True)
        self.tenant = self.sandbox.tenant_ids[0]
        self.sandbox.set_consent_tenants([self.tenant])
        port = free_port()
        config = PlatformConfig(
            client_id=self.sandbox.client_id, client_secret=self.sandbox.client_secret,
            redirect_uri=f"http://127.0.0.1:{port}/connect/xero/callback",
            identity_url=self.sandbox.identity_url, api_base=self.sandbox.api_base,
            webhook_key=self.sandbox.webhook_key,
        )  # fmt: skip
        self.server = AppServer.start(tmp, clock, {"xero": config}, port, database_url)
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

    def _invoices(self) -> list[Any]:
        return [r for r in self.sandbox.records("Invoices") if isinstance(r, dict) and r.get("Type") == "ACCREC"]

    def truth(self) -> dict[str, InvoiceState]:
        result = {}
        for raw in self._invoices():
            state = _oracle(raw)
            if state is not None:
                result[str(raw["InvoiceID"])] = state
        return result

    def malformed_ids(self) -> set[str]:
        return {str(r["InvoiceID"]) for r in self._invoices() if _oracle(r) is None and r.get("Status") != "DELETED"}

    def truth_emails(self, customer: str) -> list[str]:
        raw = self.sandbox.record("Contacts", customer)
        emails = [raw["EmailAddress"]] if raw.get("EmailAddress") else []
        for person in raw.get("ContactPersons") or []:
            if str(person.get("IncludeInEmails")).lower() == "true" and person.get("EmailAddress"):
                emails.append(person["EmailAddress"])
        return emails

    def open_invoice(self) -> str:
        return next(i for i, (status, _) in sorted(self.truth().items()) if status == "open")

    def payable_invoice(self) -> str:
        """An open invoice: every approved sales invoice has an online page (notes §5)."""
        return self.open_invoice()

    def some_customer(self) -> str:
        return next(
            str(c["ContactID"])
            for c in self.sandbox.records("Contacts")
            if c.get("EmailAddress") and c.get("IsCustomer") and c.get("ContactStatus") != "ARCHIVED"
        )

    # -- changes, as a user of Xero would make them ----------------------------------------------

    def create_invoice(self, customer: str, amount: str) -> str:
        # The sandbox adds VAT on top of the line: ask for the net that makes ``amount`` in total.
        net = (Decimal(amount) / (1 + VAT)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        invoice = self.sandbox.create_invoice(customer, str(net))
        assert money_of(invoice["Total"]) == money_of(amount), invoice["Total"]
        return str(invoice["InvoiceID"])

    def pay(self, invoice: str, amount: str | None = None) -> None:
        self.sandbox.apply_payment(invoice, amount)

    def credit(self, invoice: str, amount: str) -> None:
        customer = self.sandbox.record("Invoices", invoice)["Contact"]["ContactID"]
        note = self.sandbox.create_credit_note(customer, amount)
        self.sandbox.apply_credit_note(note["CreditNoteID"], invoice, amount)

    def void(self, invoice: str) -> None:
        self.sandbox.void_invoice(invoice)

    def delete(self, invoice: str) -> None:
        # Xero deletes only drafts (approved invoices are voided): force stands for a deletion the
        # API reports as DELETED, which the suite checks for both platforms.
        self.sandbox.delete_invoice(invoice, force=True)

    def set_email(self, customer: str, email: str) -> None:
        self.sandbox.set_contact_email(customer, email)

    def add_malformed_invoice(self) -> str:
        return str(self.sandbox.add_malformed_invoice("total_not_a_number")["InvoiceID"])

    def expire_access_tokens(self) -> None:
        self.sandbox.expire_access_tokens()

    def throttle_after(self, calls: int) -> None:
        self.sandbox.set_rate_limit(calls)

    def unthrottle(self) -> None:
        self.sandbox.set_rate_limit(60)  # Xero's real per-tenant minute limit (notes §3)

    def notes_on(self, invoice: str) -> list[str]:
        headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json",
                   "xero-tenant-id": self.tenant}  # fmt: skip
        answer = requests.get(f"{self.sandbox.api_base}/Invoices/{invoice}/History", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        return [str(h["Details"]) for h in reversed(answer.json()["HistoryRecords"]) if h.get("Changes") == "Note"]

    def _access_token(self) -> str:
        from sqlalchemy import select

        from connector.db import Connection
        from connector.tokens import TokenStore

        with self.runtime.sessions() as session:
            connection = session.scalars(select(Connection)).one()
            return TokenStore(self.runtime.cipher).load(connection).access_token

    def deliver_webhooks(self) -> list[int]:
        self.sandbox.configure_webhooks(url=f"{self.app_url}/webhooks/xero", delivery="manual")
        return [int(d["status"]) for d in self.sandbox.flush_webhooks()]

    def api_calls(self) -> int:
        return sum(self.sandbox.call_counts().values())

    def pay_link_calls(self) -> int:
        """``GET Invoices/{id}/OnlineInvoice`` calls: each asks for one invoice's pay link only."""
        return self.sandbox.call_counts().get("api_online_invoice", 0)


def _oracle(raw: Any) -> InvoiceState | None:
    """Status and open balance of a raw Xero sales invoice; None when it is gone or not valid."""
    if not isinstance(raw, dict) or not isinstance(raw.get("Contact"), dict) or not raw["Contact"].get("ContactID"):
        return None
    if (raw.get("CurrencyCode") or "GBP") not in CURRENCIES:
        return None
    try:
        due = money_of(raw["AmountDue"])
        money_of(raw["Total"])
    except (KeyError, InvalidOperation):
        return None
    status = str(raw.get("Status", "")).upper()
    if status == "DELETED":
        return None
    if not _dates_readable(raw):
        return None
    if status in {"DRAFT", "SUBMITTED"}:
        return "draft", due
    if status == "VOIDED":
        return "voided", due
    if status == "AUTHORISED" and due > 0:
        return "open", due
    if status in {"AUTHORISED", "PAID"}:
        return "paid", Decimal("0.00")
    return None


def _dates_readable(raw: dict[str, Any]) -> bool:
    for key in ("Date", "DueDate"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and value.strip("\\/").startswith("Date(")):
            return False
        if isinstance(value, str) and not value.strip("\\/")[5:].split("+")[0].split(")")[0].lstrip("-").isdigit():
            return False
    return True
