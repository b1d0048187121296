"""The test-only control API: the same functions as Python methods and as ``/_sandbox/<name>``.

Every method returns plain JSON values (money as strings), so a test gets the same thing whether
it calls ``sandbox.apply_payment(...)`` or ``POST /_sandbox/apply_payment``. Data changes go
through books.py, so they bump ``UpdatedDateUTC`` and queue webhooks exactly as Xero would —
including the changes that, per notes §0.7, do neither. Every data method takes ``tenant_id=``
(default: the main sample organisation).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from connector.sandboxkit import (
    CallCounter,
    ConcurrencyGate,
    ControlAPI,
    FaultInjector,
    InjectedFault,
    TokenAuthority,
    WindowBudget,
    to_json_value,
)
from plugins.xero.sandbox import books, wire
from plugins.xero.sandbox.store import Organisation, canonical_entity

MALFORMED_KINDS = ("total_not_a_number", "missing_contact", "unknown_currency", "bad_date", "strings_for_numbers")


def plain(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy of a record (Decimal → string)."""
    copy: dict[str, Any] = json.loads(json.dumps(value, default=to_json_value))
    return copy


def _day(value: str | None, default: date) -> date:
    return date.fromisoformat(value) if value else default


class ControlMethods:
    """Mixin of :class:`plugins.xero.sandbox.XeroSandbox`: what tests may do to it."""

    organisations: dict[str, Organisation]
    tenant_ids: list[str]
    clock: Any
    tokens: TokenAuthority
    day_budget: WindowBudget
    minute_budget: WindowBudget
    app_budget: WindowBudget
    gate: ConcurrencyGate
    faults: FaultInjector
    lost: FaultInjector
    control: ControlAPI
    calls: CallCounter
    call_details_counter: CallCounter
    webhooks: Any
    auto_consent: bool
    authorize_errors: list[str]
    consent_tenants: list[str]
    connections: dict[str, dict[str, Any]]

    CONTROL_FUNCTIONS = (
        "create_invoice", "authorise_invoice", "update_invoice", "void_invoice", "delete_invoice", "apply_payment",
        "create_credit_note", "apply_credit_note", "create_overpayment", "create_prepayment", "allocate_credit",
        "set_contact_email", "set_contact_persons", "add_malformed_invoice", "set_invoice_reminders", "record",
        "records", "advance_clock", "now", "expire_access_tokens", "set_rate_limit", "set_rate_limits",
        "rate_limit_status", "inject_fault", "lose_next_response", "call_counts", "call_details", "reset_call_counts",
        "reset", "configure_webhooks", "pending_webhooks", "flush_webhooks", "intent_to_receive", "fail_next_authorize",
        "set_auto_consent", "set_consent_tenants", "list_connection_records",
    )  # fmt: skip

    def register_control(self) -> None:
        """Expose :attr:`CONTROL_FUNCTIONS` under ``/_sandbox/<name>``."""
        for name in self.CONTROL_FUNCTIONS:
            self.control.register(name, getattr(self, name))
        self.control.register("webhooks/flush", self.flush_webhooks)

    def org(self, tenant_id: str | None = None) -> Organisation:
        """The organisation of ``tenant_id`` (default: the main one)."""
        found = self.organisations.get((tenant_id or self.tenant_ids[0]).lower())
        if found is None:
            raise LookupError(f"no tenant {tenant_id}")
        return found

    # ----- data -------------------------------------------------------------------------------

    def create_invoice(
        self, contact_id: str, amount: Any, issued: str | None = None, due: str | None = None,
        status: str = "AUTHORISED", currency: str | None = None, number: str | None = None,
        tenant_id: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A new one-line invoice of ``amount`` (VAT added on top); due in 30 days unless ``due``."""
        org = self.org(tenant_id)
        now = self.clock.now()
        with org.lock:
            day = _day(issued, now.date())
            count = sum(1 for i in org.all("Invoices") if i.get("Type") == "ACCREC")
            invoice = books.new_invoice(
                org, now, contact_id=contact_id, lines=[books.line_item(org, "Joinery work", 1, amount)],
                issued=day, due=_day(due, day + timedelta(days=30)), number=number or f"INV-{count + 5001:04d}",
                status=status, currency=currency, sent=status == "AUTHORISED",
            )  # fmt: skip
            return plain(invoice)

    def authorise_invoice(self, invoice_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """DRAFT/SUBMITTED → AUTHORISED."""
        org = self.org(tenant_id)
        with org.lock:
            return plain(books.authorise(org, self.clock.now(), invoice_id))

    def update_invoice(self, invoice_id: str, tenant_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Change ``DueDate`` (ISO), ``SentToContact`` or ``Reference`` as a Xero user would.

        On an invoice with money applied, ``DueDate``/``SentToContact`` changes do not bump
        ``UpdatedDateUTC`` and send no webhook (notes §0.7). The answer says ``bumped``.
        """
        org = self.org(tenant_id)
        with org.lock:
            bumped = books.update_invoice(org, self.clock.now(), invoice_id, fields)
            return {"bumped": bumped, "invoice": plain(org.get("Invoices", invoice_id))}

    def void_invoice(self, invoice_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """VOIDED (only without payments or credits, as in Xero)."""
        org = self.org(tenant_id)
        with org.lock:
            return plain(books.void(org, self.clock.now(), invoice_id))

    def delete_invoice(self, invoice_id: str, force: bool = False, tenant_id: str | None = None) -> dict[str, Any]:
        """DELETED: DRAFT/SUBMITTED only, or an unpaid AUTHORISED one with ``force=True``."""
        org = self.org(tenant_id)
        with org.lock:
            return plain(books.delete(org, self.clock.now(), invoice_id, force=bool(force)))

    def apply_payment(self, invoice_id: str, amount: Any = None, tenant_id: str | None = None) -> dict[str, Any]:
        """Pay in full (no amount) or in part; returns the Payment."""
        org = self.org(tenant_id)
        with org.lock:
            return plain(books.apply_payment(org, self.clock.now(), invoice_id, amount))

    def _credit(self, entity: str, contact_id: str, amount: Any, tenant_id: str | None) -> dict[str, Any]:
        org = self.org(tenant_id)
        now = self.clock.now()
        with org.lock:
            number = f"CN-{sum(1 for _ in org.all(entity)) + 101:04d}" if entity == "CreditNotes" else ""
            return plain(books.new_credit(org, now, entity, contact_id=contact_id, amount=amount, issued=now.date(),
                                          number=number))  # fmt: skip

    def create_credit_note(self, contact_id: str, amount: Any, tenant_id: str | None = None) -> dict[str, Any]:
        """An AUTHORISED ACCRECCREDIT note with ``RemainingCredit`` = amount."""
        return self._credit("CreditNotes", contact_id, amount, tenant_id)

    def create_overpayment(self, contact_id: str, amount: Any, tenant_id: str | None = None) -> dict[str, Any]:
        """A RECEIVE-OVERPAYMENT with credit left (no webhook: notes §0.5)."""
        return self._credit("Overpayments", contact_id, amount, tenant_id)

    def create_prepayment(self, contact_id: str, amount: Any, tenant_id: str | None = None) -> dict[str, Any]:
        """A RECEIVE-PREPAYMENT with credit left (no webhook: notes §0.5)."""
        return self._credit("Prepayments", contact_id, amount, tenant_id)

    def allocate_credit(
        self, entity: str, credit_id: str, invoice_id: str, amount: Any = None, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Apply a credit note, overpayment or prepayment to an invoice; returns the allocation."""
        org = self.org(tenant_id)
        with org.lock:
            return plain(books.allocate(org, self.clock.now(), canonical_entity(entity), credit_id, invoice_id, amount))

    def apply_credit_note(
        self, credit_note_id: str, invoice_id: str, amount: Any = None, tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Apply a credit note to an invoice (all of what the invoice still owes, at most)."""
        return self.allocate_credit("CreditNotes", credit_note_id, invoice_id, amount, tenant_id)

    def set_contact_email(self, contact_id: str, email: str | None, tenant_id: str | None = None) -> dict[str, Any]:
        """Change (or with None/"" remove) a contact's ``EmailAddress``; bumps the contact."""
        org = self.org(tenant_id)
        with org.lock:
            contact = org.get("Contacts", contact_id)
            contact["EmailAddress"] = email or ""
            org.touch("Contacts", contact["ContactID"], self.clock.now())
            return plain(contact)

    def set_contact_persons(
        self, contact_id: str, persons: list[dict[str, Any]], tenant_id: str | None = None
    ) -> dict[str, Any]:
        """Replace ``ContactPersons`` (``FirstName``, ``LastName``, ``EmailAddress``, ``IncludeInEmails``)."""
        org = self.org(tenant_id)
        with org.lock:
            contact = org.get("Contacts", contact_id)
            contact["ContactPersons"] = [dict(p) for p in persons]
            org.touch("Contacts", contact["ContactID"], self.clock.now())
            return plain(contact)

    def add_malformed_invoice(self, kind: str, contact_id: str | None = None, tenant_id: str | None = None) -> Any:
        """An ACCREC invoice a mapper must quarantine (or, ``strings_for_numbers``, map).

        ``total_not_a_number``: ``Total``/``AmountDue`` are ``"abc"``; ``missing_contact``: no
        ``Contact``; ``unknown_currency``: ``XXY``; ``bad_date``: ``DueDate`` ``/Date(soon)/``;
        ``strings_for_numbers``: valid amounts sent as strings and ``SentToContact: "true"`` (the
        odd real shapes of payments_list.spec.json), which must map, not quarantine.
        """
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {MALFORMED_KINDS}")
        org = self.org(tenant_id)
        now = self.clock.now()
        with org.lock:
            cid = contact_id or next(c["ContactID"] for c in org.all("Contacts") if c.get("EmailAddress"))
            today = now.date()
            invoice = books.new_invoice(
                org, now, contact_id=cid, lines=[books.line_item(org, "Odd record", 1, 100)],
                issued=today - timedelta(days=40), due=today - timedelta(days=10), number=f"ODD-{kind}", notify=False,
            )  # fmt: skip
            if kind == "total_not_a_number":
                invoice["Total"] = invoice["AmountDue"] = "abc"
            elif kind == "missing_contact":
                del invoice["Contact"]
            elif kind == "unknown_currency":
                invoice["CurrencyCode"] = "XXY"
            elif kind == "bad_date":
                invoice["DueDate"] = "/Date(soon)/"
            else:
                for name in ("AmountDue", "AmountPaid", "AmountCredited", "SubTotal", "TotalTax", "Total"):
                    invoice[name] = str(invoice[name])
                invoice["SentToContact"] = "true"
            org.touch("Invoices", invoice["InvoiceID"], now)
            return plain(invoice)

    def set_invoice_reminders(self, enabled: bool = True, tenant_id: str | None = None) -> bool:
        """Switch Xero's own invoice reminders on or off (``InvoiceReminders/Settings``)."""
        self.org(tenant_id).reminders_enabled = bool(enabled)
        return bool(enabled)

    def record(self, entity: str, record_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """The sandbox's truth for one record (``LookupError``/404 when unknown)."""
        found = self.org(tenant_id).find(canonical_entity(entity), record_id)
        if found is None:
            raise LookupError(f"no {entity} {record_id}")
        return plain(found)

    def records(self, entity: str, tenant_id: str | None = None) -> list[Any]:
        """Every record of an entity (all statuses, ACCPAY bills included), in creation order."""
        return [plain(r) for r in self.org(tenant_id).all(canonical_entity(entity))]

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
        """The per-tenant minute budget (60 by default); same name as on the QuickBooks sandbox."""
        self.minute_budget.set_limit(int(per_minute))
        return self.minute_budget.limit

    def set_rate_limits(
        self, per_minute: int | None = None, per_day: int | None = None, concurrent: int | None = None,
        app_per_minute: int | None = None,
    ) -> dict[str, int]:  # fmt: skip
        """Lower (or restore) the limits: 60/min, 5,000/day, 5 in flight per tenant, 10,000/min per app."""
        for value, budget in ((per_minute, self.minute_budget), (per_day, self.day_budget),
                              (app_per_minute, self.app_budget)):  # fmt: skip
            if value is not None:
                budget.set_limit(int(value))
        if concurrent is not None:
            self.gate.set_limit(int(concurrent))
        return {"per_minute": self.minute_budget.limit, "per_day": self.day_budget.limit,
                "concurrent": self.gate.limit, "app_per_minute": self.app_budget.limit}  # fmt: skip

    def rate_limit_status(self, tenant_id: str | None = None) -> dict[str, int]:
        """What the headers would say now: calls left today, this minute, app-wide; calls in flight."""
        tenant = self.org(tenant_id).tenant_id
        return {
            "day_remaining": self.day_budget.remaining(tenant),
            "min_remaining": self.minute_budget.remaining(tenant),
            "app_min_remaining": self.app_budget.remaining("app"),
            "in_flight": self.gate.active(tenant),
        }

    def inject_fault(
        self, path: str, status: int = 500, times: int = 1, method: str | None = None, body: str | None = None,
        content_type: str | None = None, problem: str = "minute", retry_after: int = 60,
    ) -> dict[str, Any]:  # fmt: skip
        """Answer the next ``times`` calls to ``path`` (prefix or glob) with ``status``.

        Default bodies: 429 → the rate-limit body with ``Retry-After``/``X-Rate-Limit-Problem``
        (``problem``, ``retry_after``); 401 → ``TokenExpired``; 403 → ``AuthenticationUnsuccessful``;
        others → a problem body.
        """
        status, headers = int(status), {}
        if body is not None:
            raw, kind = body.encode(), content_type or "application/json"
        elif status == 429:
            raw, kind = wire.RATE_LIMIT_BODY.encode(), "text/html; charset=utf-8"
            headers = {"Retry-After": str(int(retry_after)), "X-Rate-Limit-Problem": problem}
        elif status in {401, 403}:
            answer = wire.unauthorized(self.clock.now()) if status == 401 else wire.forbidden()
            raw, kind = answer.get_data(), "application/json; charset=utf-8"
        else:
            raw, kind = (
                wire.dumps({**wire.problem(status, "Server Error", "An error occurred"), "Extensions": {}}),
                "application/json",
            )
        self.faults.add(InjectedFault(path, status, raw, kind, int(times), method, headers))
        return {"path": path, "status": status, "times": int(times)}

    def lose_next_response(self, path: str, times: int = 1, method: str | None = None) -> dict[str, Any]:
        """Carry out the next ``times`` calls to ``path`` but answer 504, as a gateway that timed out
        would: e.g. a refresh that rotated the token while the client never saw the new one (the
        case Xero's 30-minute grace for the old refresh token exists for, notes §0.4)."""
        raw = wire.dumps({**wire.problem(504, "Gateway Timeout", "The upstream did not answer in time"),
                          "Extensions": {}})  # fmt: skip
        self.lost.add(InjectedFault(path, 504, raw, "application/json", int(times), method))
        return {"path": path, "status": 504, "times": int(times)}

    def call_counts(self) -> dict[str, int]:
        """HTTP calls per endpoint (``api_list``, ``api_get``, ``token`` …); the values add up to all calls."""
        return dict(self.calls.snapshot())

    def call_details(self) -> dict[str, int]:
        """``total``, ``list:<Entity>``, ``throttled(:<problem>)``, ``unauthorized``, ``forbidden``, ``injected``."""
        return dict(self.call_details_counter.snapshot())

    def reset_call_counts(self) -> dict[str, int]:
        """Zero the call counts and the budgets' memory."""
        self.calls.reset()
        self.call_details_counter.reset()
        for budget in (self.minute_budget, self.day_budget, self.app_budget):
            budget.reset()
        return {}

    # ----- OAuth and webhooks -----------------------------------------------------------------

    def fail_next_authorize(self, error: str = "access_denied", times: int = 1) -> int:
        """The next ``times`` consents redirect back with ``error=<error>``."""
        self.authorize_errors.extend([error] * int(times))
        return len(self.authorize_errors)

    def set_auto_consent(self, enabled: bool = True) -> bool:
        """Skip the consent page: authorize connects :meth:`set_consent_tenants` at once."""
        self.auto_consent = bool(enabled)
        return self.auto_consent

    def set_consent_tenants(self, tenant_ids: list[str]) -> list[str]:
        """Which organisations an automatic consent connects (default: all)."""
        unknown = [t for t in tenant_ids if t not in self.organisations]
        if unknown or not tenant_ids:
            raise ValueError(f"unknown or no tenants: {unknown}")
        self.consent_tenants = list(tenant_ids)
        return self.consent_tenants

    def list_connection_records(self) -> list[dict[str, Any]]:
        """The connections as ``GET /connections`` shows them (without a token)."""
        return [{k: v for k, v in c.items() if not k.startswith("_")} for c in self.connections.values()]

    def configure_webhooks(self, url: str | None = None, delivery: str | None = None) -> dict[str, Any]:
        """Receiver URL and ``manual`` (flush) or ``immediate`` delivery."""
        self.webhooks.configure(url, delivery)
        return {"url": self.webhooks.url, "delivery": self.webhooks.delivery}

    def pending_webhooks(self) -> list[dict[str, str]]:
        """Events waiting for the next flush."""
        return list(self.webhooks.pending())

    def flush_webhooks(self) -> list[dict[str, Any]]:
        """Post what waits now, synchronously; one entry per POST with its status and body."""
        return [{"status": d.status, "error": d.error, "body": d.body.decode()} for d in self.webhooks.flush()]

    def intent_to_receive(self, url: str | None = None, pattern: str = "GBGBBG") -> dict[str, Any]:
        """Run the intent-to-receive check against ``url`` (default: the configured one)."""
        return dict(self.webhooks.intent_to_receive(url, pattern))
