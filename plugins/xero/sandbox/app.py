"""The Xero sandbox as one WSGI app: routing, bearer auth, tenant header, rate limits, faults.

Order of checks on an ``/api.xro/2.0`` call, as a client sees it: an injected fault answers first
(it stands for the infrastructure); then the bearer token (401, ``TokenExpired`` once expired);
then ``xero-tenant-id`` (403 ``AuthenticationUnsuccessful`` when missing, unknown or disconnected);
then the tenant's limits (notes §0.3, §3): 5,000 per rolling day, 60 per rolling minute, 10,000 per
minute app-wide, 5 in flight — a 429 with ``Retry-After`` and ``X-Rate-Limit-Problem``. Every API
response carries ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining``, ``X-AppMinLimit-Remaining``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import Clock, SystemClock
from connector.sandboxkit import (
    CallCounter,
    ConcurrencyGate,
    ControlAPI,
    FaultInjector,
    IdempotencyCache,
    SandboxClock,
    ServedInThread,
    WindowBudget,
)
from plugins.xero.sandbox import books, wire
from plugins.xero.sandbox.api import ApiRoutes
from plugins.xero.sandbox.control import ControlMethods
from plugins.xero.sandbox.oauth import OAuthRoutes
from plugins.xero.sandbox.seed import TENANTS, organisation_info, seed_organisation
from plugins.xero.sandbox.store import ENTITIES, Organisation
from plugins.xero.sandbox.webhooks import WebhookEmitter

API = "/api.xro/2.0"
_LISTS = "any(" + ",".join(ENTITIES) + ")"
URLS = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/.well-known/openid-configuration", endpoint="discovery"),
        Rule("/.well-known/openid-configuration/jwks", endpoint="jwks"),
        Rule("/identity/connect/authorize", endpoint="authorize", methods=["GET", "POST"]),
        Rule("/connect/token", endpoint="token", methods=["POST"]),
        Rule("/connect/revocation", endpoint="revocation", methods=["POST"]),
        Rule("/connect/userinfo", endpoint="userinfo"),
        Rule("/connections", endpoint="list_connections"),
        Rule("/connections/<connection_id>", endpoint="delete_connection", methods=["DELETE"]),
        Rule("/in/<token>", endpoint="online_page", methods=["GET", "POST"]),
        Rule(f"{API}/Organisation", endpoint="api_organisation"),
        Rule(f"{API}/InvoiceReminders/Settings", endpoint="api_reminders"),
        Rule(f"{API}/Invoices/<record_id>/OnlineInvoice", endpoint="api_online_invoice"),
        Rule(f"{API}/Invoices/<record_id>/Email", endpoint="api_email", methods=["POST"]),
        Rule(f"{API}/<{_LISTS}:entity>/<record_id>/History", endpoint="api_history", methods=["GET", "PUT", "POST"]),
        Rule(f"{API}/<{_LISTS}:entity>/<record_id>", endpoint="api_get"),
        Rule(f"{API}/<{_LISTS}:entity>", endpoint="api_list"),
    ],
    strict_slashes=False,
)


class XeroSandbox(OAuthRoutes, ApiRoutes, ControlMethods, ServedInThread):
    """A stateful emulator of the Xero endpoints arcadence uses (a WSGI app).

    Args:
        clock: the time source (tests pass a ``FixedClock``; the demo the system clock).
        seed: ``"sample"`` (two sample organisations) or ``"empty"`` (the organisations, no records).
        contacts, invoices: the size of the main sample organisation (the benchmark asks for more).
        control: serve the ``/_sandbox/…`` control API.
        per_minute, per_day, concurrent, app_per_minute: the limits (60, 5,000, 5, 10,000; notes §3).
        auto_consent: authorize redirects at once, connecting every organisation.
        redirect_uris: if given, the only redirect URIs accepted.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: str = "sample",
        contacts: int = 48,
        invoices: int = 320,
        client_id: str = "XEROSANDBOXCLIENTID0000000000000",
        client_secret: str = "xero-sandbox-client-secret",  # noqa: S107 (the sandbox's published test secret)
        webhook_key: str = "xero-sandbox-webhook-key",
        control: bool = True,
        per_minute: int = 60,
        per_day: int = 5000,
        concurrent: int = 5,
        app_per_minute: int = 10000,
        auto_consent: bool = False,
        redirect_uris: Iterable[str] | None = None,
    ) -> None:
        self.clock = SandboxClock(clock or SystemClock())
        self.client_id, self.client_secret, self.webhook_key = client_id, client_secret, webhook_key
        self.auto_consent = auto_consent
        self.redirect_uris = tuple(redirect_uris) if redirect_uris is not None else None
        self.authorize_errors: list[str] = []
        self.user = {
            "sub": "6e1f7c4a2b9d4e0f8a3c5b7d9e1f2a3b", "xero_userid": "0f5d2c8e-7a41-4b6e-9c3d-2e8f1a6b4c90",
            "given_name": "Maeve", "family_name": "Hollis", "email": "maeve.hollis@kestreljoinery.co.uk",
        }  # fmt: skip
        self.tenant_ids = [tenant[0] for tenant in TENANTS]
        self.consent_tenants = list(self.tenant_ids)
        self.connections: dict[str, dict[str, Any]] = {}
        self.auth_events: dict[str, list[str]] = {}
        self.conn_lock = threading.RLock()
        self.tokens = self.make_authority()
        self.calls = CallCounter()  # one key per endpoint: the values add up to the HTTP calls made
        self.call_details_counter = CallCounter()  # total, list:<Entity>, throttled:<problem>, unauthorized …
        self.day_budget = WindowBudget(self.clock, per_day, timedelta(days=1))
        self.minute_budget = WindowBudget(self.clock, per_minute, timedelta(minutes=1))
        self.app_budget = WindowBudget(self.clock, app_per_minute, timedelta(minutes=1))
        self.gate = ConcurrencyGate(concurrent)
        self._limit_lock = threading.Lock()
        self.faults = FaultInjector()
        self.lost = FaultInjector()  # answers replaced *after* the request was carried out
        self.idempotency: IdempotencyCache[tuple[int, bytes]] = IdempotencyCache()
        self.webhooks = WebhookEmitter(webhook_key, self.clock)
        self.control = ControlAPI(enabled=control)
        self.register_control()
        self.sizes = {"contacts": contacts, "invoices": invoices}
        self.seed_name = seed
        self.organisations: dict[str, Organisation] = {}
        self.base_url: str | None = None
        self.reset(seed)

    # ----- lifecycle --------------------------------------------------------------------------

    def reset(self, seed: str | None = None) -> dict[str, dict[str, int]]:
        """Rebuild the organisations (``sample`` or ``empty``); keeps tokens and connections."""
        seed = seed or self.seed_name
        if seed not in {"sample", "empty"}:
            raise ValueError("seed must be 'sample' or 'empty'")
        now = self.clock.now()
        organisations = {}
        for index, tenant_id in enumerate(self.tenant_ids):
            org = Organisation(tenant_id, organisation_info(index, now - timedelta(days=400)))
            if seed == "sample":
                sizes = self.sizes if index == 0 else {"contacts": 8, "invoices": 24}
                seed_organisation(org, now, rng_seed=7 + index, **sizes)
            org.listeners.append(self._on_change)
            organisations[tenant_id] = org
        self.organisations, self.seed_name = organisations, seed
        self.idempotency.clear()
        self.faults.clear()
        self.lost.clear()
        self.reset_call_counts()
        self.webhooks.clear()
        return {tid: {e: len(org.records[e]) for e in ENTITIES} for tid, org in organisations.items()}

    def _served(self) -> None:
        self.webhooks.resource_base = self.api_base

    @property
    def identity_url(self) -> str:
        """Where identity.xero.com (token, revocation, discovery) and login.xero.com (authorize) live."""
        return str(self.base_url)

    @property
    def api_base(self) -> str:
        """The accounting API base (``https://api.xero.com/api.xro/2.0`` in real life)."""
        return f"{self.base_url}{API}"

    @property
    def authorize_url(self) -> str:
        """The authorize endpoint (``https://login.xero.com/identity/connect/authorize``)."""
        return f"{self.base_url}/identity/connect/authorize"

    @property
    def token_url(self) -> str:
        """The token endpoint (``https://identity.xero.com/connect/token``)."""
        return f"{self.base_url}/connect/token"

    @property
    def connections_url(self) -> str:
        """``https://api.xero.com/connections``."""
        return f"{self.base_url}/connections"

    def _on_change(self, tenant_id: str, entity: str, record_id: str, operation: str, at: Any) -> None:
        data = None
        if entity == "CreditNotes":
            note = self.organisations[tenant_id].find(entity, record_id) or {}
            data = {"Type": str(note.get("Type", "")), "Status": str(note.get("Status", ""))}
        self.webhooks.record(tenant_id, entity, record_id, operation, at, data)

    # ----- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        response = self.dispatch(Request(environ))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        """Route one request through faults, auth, tenant and limits to its handler."""
        if self.control.handles(request.path):
            return self.control.dispatch(request)
        try:
            endpoint, args = URLS.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return Response(f"{exc.code} {exc.name}", status=exc.code or 404, mimetype="text/plain")
        self.calls.count(str(endpoint))
        self.call_details_counter.count("total")
        fault = self.faults.take(request.method, request.path)
        if fault is not None:
            self.call_details_counter.count("injected")
            response = Response(fault.body, status=fault.status, content_type=fault.content_type)
            response.headers.update(fault.headers)
            return response
        response = self._handle(request, str(endpoint), args)
        lost = self.lost.take(request.method, request.path)
        if lost is not None:  # the work is done, but the client never hears of it
            self.call_details_counter.count("lost")
            return Response(lost.body, status=lost.status, content_type=lost.content_type)
        return response

    def _handle(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        handler: Callable[..., Response] = getattr(self, endpoint)
        if not endpoint.startswith("api_"):
            return handler(request, **args)
        refusal, org = self._guard(request)
        if refusal is not None or org is None:
            return refusal or wire.forbidden()
        try:
            response = handler(request, org, **args)
        except LookupError:
            response = wire.not_found()
        finally:
            self.gate.leave(org.tenant_id)
        response.headers.update(self._limit_headers(org.tenant_id))
        return response

    def _guard(self, request: Request) -> tuple[Response | None, Organisation | None]:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if self.tokens.authenticate(token) is None:
            self.call_details_counter.count("unauthorized")
            return wire.unauthorized(_expiry(token) if self.tokens.grant_of(token) else None), None
        tenant = request.headers.get("xero-tenant-id", "").strip().lower()
        org = self.organisations.get(tenant)
        if org is None or not self.connected(tenant):
            self.call_details_counter.count("forbidden")
            return wire.forbidden(), None
        with self._limit_lock:
            problem, retry = None, 0
            if self.day_budget.remaining(tenant) <= 0:
                problem, retry = "day", self.day_budget.retry_after(tenant)
            elif self.minute_budget.remaining(tenant) <= 0:
                problem, retry = "minute", self.minute_budget.retry_after(tenant)
            elif self.app_budget.remaining("app") <= 0:
                problem, retry = "appminute", self.app_budget.retry_after("app")
            elif not self.gate.enter(tenant):
                problem, retry = "concurrent", 1
            else:
                self.day_budget.take(tenant)
                self.minute_budget.take(tenant)
                self.app_budget.take("app")
        if problem is not None:
            self.call_details_counter.count("throttled", f"throttled:{problem}")
            return wire.rate_limited(problem, retry, self._limit_headers(tenant)), None
        return None, org

    def _limit_headers(self, tenant: str) -> dict[str, str]:
        return {
            "X-DayLimit-Remaining": str(self.day_budget.remaining(tenant)),
            "X-MinLimit-Remaining": str(self.minute_budget.remaining(tenant)),
            "X-AppMinLimit-Remaining": str(self.app_budget.remaining("app")),
        }

    # ----- small pages ------------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        """A plain-text pointer for people who open the base URL in a browser."""
        base = request.host_url.rstrip("/")
        names = ", ".join(f"{o.info['Name']} ({tid})" for tid, o in self.organisations.items())
        text = f"arcadence Xero sandbox\norganisations: {names}\nidentity: {base}\napi: {base}{API}\n"
        return Response(text, mimetype="text/plain")

    def online_page(self, request: Request, token: str) -> Response:
        """Where ``OnlineInvoiceUrl`` points: the invoice and a button that pays it (demo only)."""
        for org in self.organisations.values():
            for invoice in org.all("Invoices"):
                if self.online_token(org.tenant_id, str(invoice.get("InvoiceID"))) != token:
                    continue
                if request.method == "POST" and invoice.get("AmountDue", 0) > 0:
                    with org.lock:
                        books.apply_payment(org, self.clock.now(), invoice["InvoiceID"], reference="Online payment")
                title = html.escape(f"Invoice {invoice['InvoiceNumber']} from {org.info['Name']}")
                due = f"{invoice['AmountDue']} {invoice['CurrencyCode']}"
                action = (
                    "<form method='post'><button id='pay' type='submit'>Pay now (sandbox)</button></form>"
                    if invoice["AmountDue"] > 0
                    else "<p id='paid'>Paid. Thank you!</p>"
                )
                body = (
                    f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
                    f"<h1>{title}</h1><p>Amount due: <strong id='balance'>{html.escape(due)}</strong></p>"
                    f"{action}</body></html>"
                )
                return Response(body, mimetype="text/html")
        return Response("This invoice link is no longer valid.", status=404, mimetype="text/plain")


def _expiry(token: str) -> datetime | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
