"""The test-only control API: the same functions as Python methods and as ``/_sandbox/<name>``.

Every method returns plain JSON values (numbers as the API sends them), so a test gets the same
thing whether it calls ``sandbox.apply_payment(...)`` or ``POST /_sandbox/apply_payment``.
Changes made here bump SyncToken/LastUpdatedTime and produce webhook events exactly like API writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from connector.sandboxkit import ControlAPI, Delivery, FaultInjector, InjectedFault, RateBudget, TokenAuthority
from plugins.quickbooks.sandbox import books
from plugins.quickbooks.sandbox.faults import (
    dumps,
    fault_body,
    plain,
    system_fault,
    throttled_body,
    unauthorized_body,
)
from plugins.quickbooks.sandbox.store import RAW, CompanyStore, canonical_entity

T = TypeVar("T")
MALFORMED_KINDS = ("total_not_a_number", "missing_customer_ref", "unknown_currency", "xml_record")


def locked(method: Callable[..., T]) -> Callable[..., T]:
    """Run a control method under the store's lock, so a change is never seen half-made by a request."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        with self.store.lock:
            return method(self, *args, **kwargs)

    return wrapper


def _date(value: str | None, default: date) -> date:
    return date.fromisoformat(value) if value else default


class ControlMethods:
    """Mixin of :class:`plugins.quickbooks.sandbox.QuickBooksSandbox`: what tests may do to it."""

    store: CompanyStore
    clock: Any
    tokens: TokenAuthority
    budget: RateBudget
    faults: FaultInjector
    control: ControlAPI
    calls: Any
    call_details_counter: Any
    webhooks: Any
    auto_consent: bool
    authorize_errors: list[str]

    CONTROL_FUNCTIONS = (
        "create_invoice", "update_invoice", "void_invoice", "delete_invoice", "apply_payment",
        "add_unapplied_payment", "delete_payment", "create_credit_memo", "apply_credit_memo", "set_customer_email",
        "add_malformed_invoice", "advance_clock", "now", "expire_access_tokens", "set_rate_limit", "inject_fault",
        "call_counts", "call_details", "reset_call_counts", "reset", "configure_webhooks", "flush_webhooks",
        "pending_webhooks", "fail_next_authorize", "set_auto_consent", "record", "records",
    )  # fmt: skip

    def register_control(self) -> None:
        """Expose :attr:`CONTROL_FUNCTIONS` under ``/_sandbox/<name>``."""
        for name in self.CONTROL_FUNCTIONS:
            self.control.register(name, getattr(self, name))
        self.control.register("webhooks/flush", self.flush_webhooks)

    def _today(self) -> date:
        return books.local_date(self.clock.now())

    # ----- data -------------------------------------------------------------------------------

    @locked
    def create_invoice(
        self,
        customer_id: str,
        amount: Any,
        txn_date: str | None = None,
        due_date: str | None = None,
        term_id: str | None = None,
        bill_email: str | None = None,
        online_payment: bool = True,
        doc_number: str | None = None,
    ) -> dict[str, Any]:
        """A new open invoice of one line; due ``due_date`` or by the term (default: the customer's)."""
        customer = self.store.get("Customer", str(customer_id))
        txn = _date(txn_date, self._today())
        term = term_id or customer.get("SalesTermRef", {}).get("value")
        days = int(self.store.get("Term", term)["DueDays"]) if term else 0
        line = books.sales_line(1, "Leistung / services", Decimal(1), books.money(amount), ("1", "Beratung"))
        invoice = books.new_invoice(
            self.store, self.clock.now(), customer_id=str(customer_id), lines=[line], txn_date=txn,
            due_date=_date(due_date, txn + timedelta(days=days)), term_id=term, bill_email=bill_email,
            online_payment=online_payment, doc_number=doc_number,
        )  # fmt: skip
        return plain(invoice)

    @locked
    def update_invoice(self, invoice_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields of an invoice as a user in QuickBooks would (``DueDate``, ``PrivateNote`` …)."""
        invoice = self.store.get("Invoice", str(invoice_id))
        for name, value in fields.items():
            if name in {"Id", "SyncToken", "MetaData", "Balance", "TotalAmt", "LinkedTxn"}:
                raise ValueError(f"{name} is not changed through update_invoice")
            if value is None:
                invoice.pop(name, None)
            else:
                invoice[name] = value
        self.store.touch("Invoice", invoice["Id"], self.clock.now())
        return plain(invoice)

    @locked
    def void_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Void an invoice (amounts zeroed, "Voided" note)."""
        return plain(books.void_invoice(self.store, self.clock.now(), str(invoice_id)))

    @locked
    def delete_invoice(self, invoice_id: str) -> dict[str, Any]:
        """Delete an invoice (only a CDC stub remains)."""
        return plain(books.delete_invoice(self.store, self.clock.now(), str(invoice_id)))

    @locked
    def apply_payment(self, invoice_id: str, amount: Any = None) -> dict[str, Any]:
        """Pay an invoice in full (no amount) or in part; returns the Payment."""
        try:
            return plain(books.apply_payment(self.store, self.clock.now(), str(invoice_id), amount))
        except ValueError as exc:
            raise ValueError(str(exc)) from None

    @locked
    def add_unapplied_payment(self, customer_id: str, amount: Any) -> dict[str, Any]:
        """A payment not applied to any invoice (``UnappliedAmt`` = ``TotalAmt``)."""
        return plain(books.receive_payment(self.store, self.clock.now(), customer_id=str(customer_id), amount=amount))

    @locked
    def delete_payment(self, payment_id: str) -> dict[str, Any]:
        """Delete a payment; the invoices it paid open again."""
        return plain(books.delete_payment(self.store, self.clock.now(), str(payment_id)))

    @locked
    def create_credit_memo(self, customer_id: str, amount: Any) -> dict[str, Any]:
        """An open credit memo (``RemainingCredit`` = amount)."""
        now = self.clock.now()
        memo = books.new_credit_memo(
            self.store, now, customer_id=str(customer_id), amount=amount, txn_date=books.local_date(now)
        )
        return plain(memo)

    @locked
    def apply_credit_memo(self, credit_memo_id: str, invoice_id: str, amount: Any = None) -> dict[str, Any]:
        """Apply credit to an invoice (a zero-amount linking Payment); returns that Payment."""
        now = self.clock.now()
        return plain(books.apply_credit_memo(self.store, now, str(credit_memo_id), str(invoice_id), amount))

    @locked
    def set_customer_email(self, customer_id: str, email: str | None) -> dict[str, Any]:
        """Change (or with None remove) a customer's ``PrimaryEmailAddr``."""
        customer = self.store.get("Customer", str(customer_id))
        if email:
            customer["PrimaryEmailAddr"] = {"Address": email}
        else:
            customer.pop("PrimaryEmailAddr", None)
        self.store.touch("Customer", customer["Id"], self.clock.now())
        return plain(customer)

    @locked
    def add_malformed_invoice(self, kind: str, customer_id: str = "1") -> dict[str, Any]:
        """An invoice that a mapper must quarantine; ``kind`` is one of :data:`MALFORMED_KINDS`.

        ``total_not_a_number``: ``TotalAmt``/``Balance`` are ``"abc"``. ``missing_customer_ref``: no
        ``CustomerRef``. ``unknown_currency``: ``CurrencyRef`` ``XXY``. ``xml_record``: the record is
        XML text — a string inside the JSON page of queries and CDC, and an ``application/xml`` body
        on a read by id. The real service does not do the last one for a single record; it stands in
        for "XML where JSON was expected" so one bad record can be tested next to good ones.
        """
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        now = self.clock.now()
        if kind == "xml_record":
            record_id = self.store.new_id("Invoice")
            xml = (
                '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Invoice domain="QBO" sparse="false">'
                f"<Id>{record_id}</Id><SyncToken>0</SyncToken><TotalAmt>100.00</TotalAmt></Invoice></IntuitResponse>"
            )
            return {"Id": self.store.add("Invoice", {RAW: xml, "Id": record_id}, now)["Id"], "raw": xml}
        line = books.sales_line(1, "Defekt / broken", Decimal(1), Decimal("100.00"), ("1", "Beratung"))
        today = books.local_date(now)
        invoice = books.new_invoice(
            self.store, now, customer_id=str(customer_id), lines=[line], txn_date=today - timedelta(days=40),
            due_date=today - timedelta(days=10), notify=False,
        )  # fmt: skip
        if kind == "total_not_a_number":
            invoice["TotalAmt"] = invoice["Balance"] = "abc"
        elif kind == "missing_customer_ref":
            del invoice["CustomerRef"]
        else:
            invoice["CurrencyRef"] = {"value": "XXY", "name": "XXY"}
        self.store.announce("Invoice", invoice["Id"], "Create", now)
        return plain(invoice)

    def record(self, entity: str, record_id: str) -> dict[str, Any]:
        """The sandbox's truth for one record (a ``LookupError``/404 when deleted or unknown)."""
        found = self.store.find(canonical_entity(entity), str(record_id))
        if found is None:
            raise LookupError(f"no {entity} {record_id}")
        return plain(found)

    def records(self, entity: str) -> list[Any]:
        """Every live record of an entity (inactive customers included), in id order."""
        return [plain(r) for r in self.store.all(canonical_entity(entity))]

    # ----- time, auth, limits, faults ---------------------------------------------------------

    def advance_clock(self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
        """Move the sandbox clock forward; returns the new now."""
        delta = timedelta(days=float(days), hours=float(hours), minutes=float(minutes), seconds=float(seconds))
        if delta < timedelta():
            raise ValueError("the clock only moves forward")
        self.clock.advance(delta)
        return self.now()

    def now(self) -> str:
        """The sandbox's current instant (ISO, UTC)."""
        return str(self.clock.now().isoformat())

    def expire_access_tokens(self) -> int:
        """Every issued access token is expired from now on (the next API call gets the 401)."""
        return self.tokens.expire_access_tokens()

    def set_rate_limit(self, per_minute: int) -> int:
        """Change the per-realm budget of API calls per minute (500 by default)."""
        self.budget.set_limit(int(per_minute))
        return self.budget.per_minute

    def inject_fault(
        self,
        path: str,
        status: int = 500,
        times: int = 1,
        method: str | None = None,
        body: str | None = None,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        """Answer the next ``times`` calls to ``path`` (prefix or glob) with ``status``.

        Default bodies: 429 → the XML ThrottleExceeded body; 401 → the lower-case fault; 5xx →
        a SystemFault 10000; 503 → an HTML page (notes §6 "Faults").
        """
        status = int(status)
        now = self.clock.now()
        if body is not None:
            raw, kind = body.encode(), content_type or "application/json"
        elif status == 429:
            raw, kind = throttled_body(now), "application/xml"
        elif status == 401:
            raw, kind = unauthorized_body(now), "application/json"
        elif status == 503:
            raw, kind = b"<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html"
        else:
            raw, kind = dumps(fault_body(system_fault(), now)), "application/json"
        self.faults.add(InjectedFault(path, status, raw, kind, int(times), method))
        return {"path": path, "status": status, "times": int(times)}

    def call_counts(self) -> dict[str, int]:
        """HTTP calls per endpoint (``api_query``, ``api_cdc``, ``token`` …); the values add up to all calls."""
        return dict(self.calls.snapshot())

    def call_details(self) -> dict[str, int]:
        """``total``, ``query:<Entity>`` (pages per entity), ``throttled``, ``unauthorized``, ``injected``."""
        return dict(self.call_details_counter.snapshot())

    def reset_call_counts(self) -> dict[str, int]:
        """Zero the call counts (and the rate budget's memory)."""
        self.calls.reset()
        self.call_details_counter.reset()
        self.budget.reset()
        return {}

    # ----- OAuth and webhooks -----------------------------------------------------------------

    def fail_next_authorize(self, error: str = "access_denied", times: int = 1) -> int:
        """The next ``times`` consents redirect back with ``error=<error>``."""
        self.authorize_errors.extend([error] * int(times))
        return len(self.authorize_errors)

    def set_auto_consent(self, enabled: bool = True) -> bool:
        """Skip the consent page: authorize redirects at once (for non-browser clients)."""
        self.auto_consent = bool(enabled)
        return self.auto_consent

    def configure_webhooks(
        self, url: str | None = None, format: str | None = None, delivery: str | None = None
    ) -> dict[str, Any]:
        """Receiver URL, ``legacy`` or ``cloudevents``, ``manual`` (flush) or ``immediate``."""
        self.webhooks.configure(url, format, delivery)
        return {"url": self.webhooks.url, "format": self.webhooks.format, "delivery": self.webhooks.delivery}

    def pending_webhooks(self) -> list[dict[str, str]]:
        """Events waiting for the next flush."""
        return list(self.webhooks.pending())

    def flush_webhooks(self) -> list[dict[str, Any]]:
        """Post what waits now, synchronously; one entry per POST with its status and body."""
        deliveries: list[Delivery] = self.webhooks.flush()
        return [{"status": d.status, "error": d.error, "body": d.body.decode()} for d in deliveries]
