"""The sandbox as one WSGI app: routing, bearer auth, the per-realm budget, injected faults, ``intuit_tid``.

Order of checks on an API call, as seen from a client: an injected fault answers first (it stands
for the infrastructure); then the bearer token (401 with the lower-case fault body, notes §3.2);
then the realm (403 3100); then the per-realm budget (429 with the XML body, notes §0.3, §3.2).
Every response carries an ``intuit_tid`` header (notes §3.1).
"""

from __future__ import annotations

import html
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.clock import Clock, SystemClock
from connector.sandboxkit import (
    CallCounter,
    ControlAPI,
    FaultInjector,
    IdempotencyCache,
    RateBudget,
    SandboxClock,
    ServedInThread,
    TokenAuthority,
)
from plugins.quickbooks.sandbox import books, oauth
from plugins.quickbooks.sandbox.api import ApiRoutes
from plugins.quickbooks.sandbox.control import ControlMethods
from plugins.quickbooks.sandbox.faults import (
    QboFault,
    dumps,
    fault_body,
    forbidden_realm,
    throttled_body,
    unauthorized_body,
)
from plugins.quickbooks.sandbox.oauth import OAuthRoutes
from plugins.quickbooks.sandbox.seed import seed_company, seed_empty
from plugins.quickbooks.sandbox.store import CompanyStore
from plugins.quickbooks.sandbox.webhooks import WebhookEmitter

DEFAULT_REALM = "9341453172491001"
COMPANY = "/v3/company/<realm>"
URLS = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/.well-known/openid_configuration", endpoint="discovery"),
        Rule("/.well-known/openid_configuration/", endpoint="discovery"),
        Rule("/.well-known/openid_sandbox_configuration/", endpoint="discovery"),
        Rule("/connect/oauth2", endpoint="authorize", methods=["GET", "POST"]),
        Rule("/oauth2/v1/tokens/bearer", endpoint="token", methods=["POST"]),
        Rule("/oauth2/v1/tokens/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/v2/oauth2/tokens/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/v1/openid_connect/userinfo", endpoint="userinfo"),
        Rule("/op/v1/jwks", endpoint="jwks"),
        Rule("/comingSoonview/<token>", endpoint="pay_page", methods=["GET", "POST"]),
        Rule(f"{COMPANY}/query", endpoint="api_query", methods=["GET", "POST"]),
        Rule(f"{COMPANY}/cdc", endpoint="api_cdc"),
        Rule(f"{COMPANY}/batch", endpoint="api_batch", methods=["POST"]),
        Rule(f"{COMPANY}/preferences", endpoint="api_preferences"),
        Rule(f"{COMPANY}/invoice/<entity_id>/send", endpoint="api_send", methods=["POST"]),
        Rule(f"{COMPANY}/<entity>/<entity_id>", endpoint="api_read"),
        Rule(f"{COMPANY}/<entity>", endpoint="api_write", methods=["POST"]),
    ],
    strict_slashes=False,
)


class QuickBooksSandbox(OAuthRoutes, ApiRoutes, ControlMethods, ServedInThread):
    """A stateful emulator of the QuickBooks Online endpoints arcadence uses (a WSGI app).

    Args:
        clock: the time source (tests pass a ``FixedClock``; the demo the system clock).
        seed: ``"sample"`` (the sample company) or ``"empty"`` (a company with no records).
        control: serve the ``/_sandbox/…`` control API (always in tests and the demo; off to let a
            client see only what Intuit would serve).
        rate_per_minute: the per-realm budget of API calls (500 per LIMITS).
        customers, invoices: the size of the sample company (the benchmark asks for more).
        auto_consent: authorize redirects at once instead of showing the consent page.
        redirect_uris: if given, the only redirect URIs accepted (Intuit checks registered ones).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: str = "sample",
        realm_id: str = DEFAULT_REALM,
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 (the sandbox's published test secret)
        webhook_verifier: str = "sandbox-webhook-verifier",
        control: bool = True,
        rate_per_minute: int = 500,
        customers: int = 46,
        invoices: int = 320,
        auto_consent: bool = False,
        redirect_uris: Iterable[str] | None = None,
    ) -> None:
        self.clock = SandboxClock(clock or SystemClock())
        self.realm_id, self.client_id, self.client_secret = realm_id, client_id, client_secret
        self.webhook_verifier = webhook_verifier
        self.auto_consent = auto_consent
        self.redirect_uris = tuple(redirect_uris) if redirect_uris is not None else None
        self.authorize_errors: list[str] = []
        self.user = {"sub": "3f0c1f5e-5d2a-4c59-9a43-arcadence01", "givenName": "Greta", "familyName": "Kranich"}
        self.user["email"] = "greta.kranich@kranich-werkzeugbau.de"
        self.tokens = TokenAuthority(
            self.clock,
            access_ttl=oauth.ACCESS_TTL,
            refresh_ttl=oauth.REFRESH_TTL,
            rotation_grace=oauth.ROTATION_GRACE,
            hard_ttl=oauth.HARD_TTL,
        )
        self.calls = CallCounter()  # one key per endpoint: the values add up to the HTTP calls made
        self.call_details_counter = CallCounter()  # total, query:<Entity>, throttled, unauthorized, injected
        self.budget = RateBudget(self.clock, rate_per_minute)
        self.faults = FaultInjector()
        self.idempotency: IdempotencyCache[tuple[int, bytes, str]] = IdempotencyCache()
        self._tids = itertools.count(1)
        self._tid_lock = threading.Lock()
        self.webhooks = WebhookEmitter(realm_id, webhook_verifier, self.clock, self._new_tid)
        self.control = ControlAPI(enabled=control)
        self.register_control()
        self.sizes = {"customers": customers, "invoices": invoices}
        self.seed_name = seed
        self.base_url: str | None = None
        self.reset(seed)

    # ----- lifecycle --------------------------------------------------------------------------

    def reset(self, seed: str | None = None) -> dict[str, int]:
        """Rebuild the company (``sample`` or ``empty``); keeps tokens, forgets faults, counts, requestids."""
        seed = seed or self.seed_name
        if seed not in {"sample", "empty"}:
            raise ValueError("seed must be 'sample' or 'empty'")
        store = CompanyStore(self.realm_id)
        if seed == "sample":
            seed_company(store, self.clock.now(), **self.sizes)
        else:
            seed_empty(store, self.clock.now())
        store.listeners.append(self.webhooks.record)
        self.store, self.seed_name = store, seed
        self.idempotency.clear()
        self.faults.clear()
        self.calls.reset()
        self.call_details_counter.reset()
        self.budget.reset()
        self.webhooks.clear()
        return {entity: len(records) for entity, records in store.records.items()}

    @property
    def discovery_url(self) -> str:
        """The OpenID discovery URL to pass as intuit-oauth's ``environment``."""
        return f"{self.base_url}/.well-known/openid_configuration"

    @property
    def api_url_v3(self) -> str:
        """The value for python-quickbooks' ``qb.api_url_v3``."""
        return f"{self.base_url}/v3"

    def company_name(self) -> str:
        """The sandbox company's name."""
        return str(self.store.get("CompanyInfo", "1")["CompanyName"])

    # ----- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        response.headers["intuit_tid"] = self._new_tid()
        return response(environ, start_response)

    def _new_tid(self) -> str:
        with self._tid_lock:
            serial = next(self._tids)
        return f"1-{int(self.clock.now().timestamp()):08x}-{serial:024x}"

    def dispatch(self, request: Request) -> Response:
        """Route one request through faults, auth and budget to its handler."""
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
        if str(endpoint).startswith("api_"):
            refusal = self._guard(request, args["realm"])
            if refusal is not None:
                return refusal
        try:
            handler: Callable[..., Response] = getattr(self, str(endpoint))
            return handler(request, **args)
        except QboFault as fault_raised:
            body = dumps(fault_body(fault_raised, self.clock.now()))
            return Response(body, status=fault_raised.status, mimetype="application/json")

    def _guard(self, request: Request, realm: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        grant = self.tokens.authenticate(header[7:].strip()) if header.startswith("Bearer ") else None
        if grant is None:
            self.call_details_counter.count("unauthorized")
            return Response(unauthorized_body(self.clock.now()), status=401, mimetype="application/json")
        if grant.subject != realm or realm != self.realm_id or oauth.ACCOUNTING_SCOPE not in grant.scopes:
            body = dumps(fault_body(forbidden_realm(), self.clock.now()))
            return Response(body, status=403, mimetype="application/json")
        if not self.budget.take(realm):
            self.call_details_counter.count("throttled")
            return Response(throttled_body(self.clock.now()), status=429, mimetype="application/xml")
        return None

    # ----- small pages ------------------------------------------------------------------------

    def index(self, request: Request) -> Response:
        """A plain-text pointer for people who open the base URL in a browser."""
        text = (
            f"arcadence QuickBooks Online sandbox\ncompany: {self.company_name()} (realm {self.realm_id})\n"
            f"discovery: {request.host_url}.well-known/openid_configuration\napi: {request.host_url}v3\n"
        )
        return Response(text, mimetype="text/plain")

    def pay_page(self, request: Request, token: str) -> Response:
        """The target of ``InvoiceLink``: shows the invoice; its button pays the balance (demo only)."""
        wanted = token.removeprefix("scs-v1-")
        invoice = next((i for i in self.store.all("Invoice") if self.link_token(i.get("Id", "")) == wanted), None)
        if invoice is None or "Balance" not in invoice:
            return Response("This invoice link is no longer valid.", status=404, mimetype="text/plain")
        if request.method == "POST" and invoice["Balance"] > 0:
            with self.store.lock:
                books.apply_payment(self.store, self.clock.now(), invoice["Id"])
        title = f"Invoice {invoice['DocNumber']} from {self.company_name()}"
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Amount due: <strong id='balance'>{invoice['Balance']} "
            f"{html.escape(invoice['CurrencyRef']['value'])}</strong> (due {html.escape(invoice['DueDate'])})</p>"
            + (
                "<form method='post'><button id='pay' type='submit'>Pay now (sandbox)</button></form>"
                if invoice["Balance"] > 0
                else "<p id='paid'>Paid. Thank you!</p>"
            )
            + "</body></html>"
        )
        return Response(body, mimetype="text/html")
