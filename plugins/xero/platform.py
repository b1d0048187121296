"""Xero as an arcadence :class:`connector.platform.Platform` (tenant = organisation).

One consent may cover several organisations (notes §2): each tenant becomes its own organisation,
all sharing the grant's tokens; ``grant_ref`` is the consent's ``authEventId``.

Sync reads each entity with its own list call (Xero has no change feed): the first time everything
(paged, 1,000 a page), later with ``If-Modified-Since`` = cursor − :data:`OVERLAP` (notes §3:
overlap a few minutes, dedupe by id — upserts are idempotent). The cursor is the server's time
(``DateTimeUTC``) of the entity's first page, so a change made while the pages are read is seen
next time. An idle sync therefore costs one call per entity. Changes that make no journal do not
bump ``UpdatedDateUTC`` (notes §0.7): the nightly reconcile re-reads open invoices by id.

Invoices carry what Xero's invoice itself does not say: ``terms`` from the contact's sales
payment terms (paged invoices embed the full contact). The OnlineInvoice ``pay_url`` costs a call
per invoice (``GET Invoices/{id}/OnlineInvoice``), so neither the sync nor :meth:`fetch_invoices`
asks for it: a first sync of 6,000 open invoices would spend more than the tenant's whole daily
budget of 5,000 calls (notes §0.3) on links most payers never see (issue 7). The dispatcher asks
for the links of a reminder about to go out (:meth:`XeroPlatform.with_pay_links`,
:class:`connector.platform.FetchesPayLinks`). The URL is stable (notes §5), so it costs one call
per invoice, ever: a URL the store already holds (``OrgAccess.stored_pay_urls``) or this process
has seen is reused; one that cannot be had now (429, a draft's 400) is left out for this reminder
and asked for again by the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests

from connector.clock import Clock
from connector.errors import AuthRevoked, ConfigError, PlatformError, RateLimited
from connector.platform import (
    BadRecord,
    ChangePage,
    Entity,
    Fetched,
    Grant,
    OrgAccess,
    OrgRef,
    PlatformConfig,
    TokenSource,
    WebhookNotice,
)
from connector.ratelimit import RateLimiter
from connector.tokens import TokenSet
from connector.transport import Transport
from core.model import Invoice, InvoiceStatus
from plugins.xero import webhooks
from plugins.xero.client import (
    DEFAULT_SCOPE_SET,
    HISTORY_LIMIT,
    OPTIONS,
    SCOPE_SETS,
    SIGN_IN_SCOPES,
    ApiClient,
    ConnectionsClient,
    OAuthClient,
    id_token_claims,
)
from plugins.xero.mapping import ENTITY_ENDPOINTS, ENTITY_KEYS, map_record, parse_xero_instant

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)  # "overlap the window by a few minutes and dedupe by ID" (notes §3)
API_SUFFIX = "/api.xro/2.0"

#: ``where`` filters that keep lists to receivables (notes §0: ACCREC only; the mapping would
#: report the others as not ours anyway, this only saves transfer).
LIST_FILTERS: Mapping[Entity, Mapping[str, str]] = {
    Entity.CUSTOMER: {"includeArchived": "true"},  # archived contacts become inactive customers
    Entity.INVOICE: {"where": 'Type=="ACCREC"'},
    Entity.CREDIT_NOTE: {"where": 'Type=="ACCRECCREDIT"'},
}

#: Xero's Windows-style ``Timezone`` names → IANA (the common ones; GMT Standard Time by country).
TIMEZONES: Mapping[str, str] = {
    "GMTSTANDARDTIME": "Europe/London",
    "GREENWICHSTANDARDTIME": "Atlantic/Reykjavik",
    "WEUROPESTANDARDTIME": "Europe/Berlin",
    "ROMANCESTANDARDTIME": "Europe/Paris",
    "CENTRALEUROPESTANDARDTIME": "Europe/Budapest",
    "CENTRALEUROPEANSTANDARDTIME": "Europe/Warsaw",
    "GTBSTANDARDTIME": "Europe/Bucharest",
    "FLESTANDARDTIME": "Europe/Kiev",
    "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg",
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
    "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EAUSTRALIASTANDARDTIME": "Australia/Brisbane",
    "CENAUSTRALIASTANDARDTIME": "Australia/Adelaide",
    "AUSCENTRALSTANDARDTIME": "Australia/Darwin",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth",
    "TASMANIASTANDARDTIME": "Australia/Hobart",
    "SINGAPORESTANDARDTIME": "Asia/Singapore",
    "EASTERNSTANDARDTIME": "America/New_York",
    "CENTRALSTANDARDTIME": "America/Chicago",
    "MOUNTAINSTANDARDTIME": "America/Denver",
    "USMOUNTAINSTANDARDTIME": "America/Phoenix",
    "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "ALASKANSTANDARDTIME": "America/Anchorage",
    "HAWAIIANSTANDARDTIME": "Pacific/Honolulu",
    "UTC": "UTC",
}
_GMT_BY_COUNTRY = {"IE": "Europe/Dublin", "PT": "Europe/Lisbon", "GB": "Europe/London"}

#: Xero's sales payment-term types (Contact/Organisation ``PaymentTerms.Sales.Type``) as text.
TERM_TYPES: Mapping[str, str] = {
    "DAYSAFTERBILLDATE": "{day} days after the invoice date",
    "DAYSAFTERBILLMONTH": "{day} days after the end of the invoice month",
    "OFCURRENTMONTH": "Day {day} of the invoice month",
    "OFFOLLOWINGMONTH": "Day {day} of the following month",
}


class _StaticTokens:
    """Tokens fresh from the token endpoint, before they are stored (used once, at connect)."""

    def __init__(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    def current(self) -> TokenSet:
        return self._tokens

    def refreshed(self, stale: TokenSet) -> TokenSet:
        raise AuthRevoked("xero rejected a brand-new access token")


class XeroPlatform:
    """Xero (tenant = organisation; one consent may connect several)."""

    name: ClassVar[str] = "xero"
    display_name: ClassVar[str] = "Xero"
    entities: ClassVar[tuple[Entity, ...]] = (
        Entity.CUSTOMER,
        Entity.INVOICE,
        Entity.PAYMENT,
        Entity.CREDIT_NOTE,
        Entity.OVERPAYMENT,
        Entity.PREPAYMENT,
    )
    implemented: ClassVar[bool] = True
    scope_sets: ClassVar[tuple[str, ...]] = tuple(SCOPE_SETS)
    """What ``ARCADENCE_XERO_SCOPES`` may say (notes §0.9): granular (the default) or broad."""
    sandbox: ClassVar[str] = "plugins.xero.sandbox:XeroSandbox"
    """The offline emulator of this platform (``arcadence sandbox xero``, ``make run``)."""
    defaults: ClassVar[Mapping[str, str]] = {
        # Xero's production endpoints (notes §2): identity (discovery, token, revocation) and the API.
        "identity_url": "https://identity.xero.com",
        "api_base": "https://api.xero.com/api.xro/2.0",
    }

    def __init__(self, config: PlatformConfig, *, clock: Clock, limiter: RateLimiter) -> None:
        self.config = config
        self.scopes = _scope_set(config.scopes)
        """What the consent asks for: ``ARCADENCE_XERO_SCOPES`` = granular (default) or broad (§0.9)."""
        self._clock = clock
        self._limiter = limiter
        self._http = requests.Session()
        self._http.hooks["response"].append(self._count)
        self.oauth = OAuthClient(
            client_id=config.client_id,
            client_secret=config.client_secret,
            identity_url=config.identity_url,
            clock=clock,
        )
        self.calls = 0
        """API calls made through this platform (benchmarks report them)."""
        self.day_limit_remaining: dict[str, int] = {}
        """The latest ``X-DayLimit-Remaining`` per tenant id: calls left in its daily budget (notes §0.3)."""
        self._pay_urls: dict[tuple[str, str], str] = {}
        """OnlineInvoice URLs per (tenant, invoice) seen by this process: stable, so fetched once
        (notes §5); the store keeps them across processes (``OrgAccess.stored_pay_urls``)."""
        self._pay_lock = threading.Lock()

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls += 1
        tenant, left = response.request.headers.get("xero-tenant-id"), response.headers.get("X-DayLimit-Remaining")
        if tenant and left and left.strip().isdigit():
            self.day_limit_remaining[str(tenant)] = int(left)
        return response

    @property
    def connections_url(self) -> str:
        """``https://api.xero.com/connections``: beside the API base, at the host's root (notes §2)."""
        base = self.config.api_base.rstrip("/")
        if base.endswith(API_SUFFIX):
            return base[: -len(API_SUFFIX)] + "/connections"
        parts = urlsplit(base)
        return urlunsplit((parts.scheme, parts.netloc, "/connections", "", ""))

    # -- OAuth -------------------------------------------------------------------------------

    def authorize_url(self, *, redirect_uri: str, state: str, code_verifier: str | None, sign_in: bool) -> str:
        """Xero's consent page (PKCE S256 from ``code_verifier``; ``sign_in`` adds OpenID Connect)."""
        _same_redirect(redirect_uri, self.config.redirect_uri)
        scopes = self.scopes + (SIGN_IN_SCOPES if sign_in else ())
        return self.oauth.authorize_url(
            redirect_uri=redirect_uri, state=state, code_verifier=code_verifier, scopes=scopes
        )

    def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        callback_params: Mapping[str, str],
        sign_in: bool,
        now: datetime,
    ) -> Grant:
        """Tokens for the code, the tenants this consent connected (``authEventId`` from the access
        token, notes §2) each described by its ``Organisation``, and the person from the id token."""
        _same_redirect(redirect_uri, self.config.redirect_uri)
        tokens = self.oauth.exchange(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        event = id_token_claims(tokens.access_token).get("authentication_event_id")
        grant_ref = str(event) if event else None
        organisations = tuple(self.list_organisations(tokens, grant_ref))
        email = name = None
        if sign_in:
            claims = id_token_claims(tokens.id_token)
            email = str(claims["email"]) if claims.get("email") else None
            name = " ".join(str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)) or None
        return Grant(tokens=tokens, organisations=organisations, user_email=email, user_name=name, grant_ref=grant_ref)

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """Rotate the tokens (store the new refresh token before using the access token, notes §0.4)."""
        return self.oauth.refresh(tokens)

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the grant: every organisation of the consent is disconnected (notes §2)."""
        self.oauth.revoke(tokens)

    def disconnect_tenant(self, tokens: TokenSet, connection_ref: str) -> None:
        """Disconnect one organisation only (``DELETE /connections/{id}``, notes §2)."""
        self._connections(_StaticTokens(tokens)).delete(connection_ref)

    def disconnect_organisation(self, org: OrgAccess) -> None:
        """Disconnect this tenant only: ``DELETE /connections/{id}`` of the connection that links the
        grant to it (notes §2); the grant and its other tenants stay. The connection id is looked up
        now (arcadence stores the tenant id), so a tenant already disconnected costs one call.
        See :class:`connector.platform.DisconnectsOrganisations`."""
        client = self._connections(org.tokens)
        for row in client.list():
            if str(row.get("tenantId") or "") == org.external_id and row.get("id"):
                client.delete(str(row["id"]))

    def list_organisations(self, tokens: TokenSet, grant_ref: str | None = None) -> Sequence[OrgRef]:
        """The organisations the grant reaches (those of consent ``grant_ref`` when given)."""
        rows = self._connections(_StaticTokens(tokens)).list(grant_ref)
        refs = []
        for row in rows:
            if str(row.get("tenantType", "ORGANISATION")).upper() != "ORGANISATION" or not row.get("tenantId"):
                continue  # PRACTICE tenants have no books
            tenant = str(row["tenantId"])
            info = self._api(OrgAccess(tenant, _StaticTokens(tokens))).organisation()
            country = str(info.get("CountryCode") or "").upper() or None
            refs.append(
                OrgRef(
                    external_id=tenant,
                    name=str(info.get("Name") or row.get("tenantName") or tenant),
                    country=country,
                    base_currency=str(info.get("BaseCurrency") or "").upper() or None,
                    timezone=_timezone(info.get("Timezone"), country),
                    connection_ref=str(row["id"]) if row.get("id") else None,
                )
            )
        return refs

    def _connections(self, tokens: TokenSource) -> ConnectionsClient:
        transport = Transport(
            key="xero:connections",
            tokens=tokens,
            limiter=self._limiter,
            options=OPTIONS,
            clock=self._clock,
            session=self._http,
        )
        return ConnectionsClient(connections_url=self.connections_url, transport=transport)

    # -- API ---------------------------------------------------------------------------------

    def _api(self, org: OrgAccess) -> ApiClient:
        transport = Transport(
            key=f"xero:{org.external_id}",  # the limits are per tenant (notes §0.3)
            tokens=org.tokens,
            limiter=self._limiter,
            options=OPTIONS,
            clock=self._clock,
            session=self._http,
        )
        return ApiClient(tenant_id=org.external_id, api_base=self.config.api_base, transport=transport)

    def invoice_reminders_enabled(self, org: OrgAccess) -> bool:
        """Whether Xero's own reminders are on: warn about double dunning (notes §5)."""
        return self._api(org).invoice_reminders_enabled()

    def own_reminders_enabled(self, org: OrgAccess) -> bool | None:
        """See :class:`connector.platform.ChecksOwnReminders` (``InvoiceReminders/Settings``)."""
        return self.invoice_reminders_enabled(org)

    def fetch_changes(self, org: OrgAccess, since: Mapping[Entity, datetime | None]) -> Iterator[ChangePage]:
        """See the module docstring."""
        api = self._api(org)
        for entity, cursor in since.items():
            endpoint = ENTITY_ENDPOINTS[entity]
            modified_since = cursor - OVERLAP if cursor is not None else None
            next_cursor: datetime | None = None
            for page in api.pages(endpoint, modified_since=modified_since, params=LIST_FILTERS.get(entity)):
                if next_cursor is None:
                    next_cursor = self._server_time(page.server_time)
                records, bad = self._map(entity, page.rows, org)
                yield ChangePage(entity, records, bad, next_cursor if page.last else None)

    def _server_time(self, value: str | None) -> datetime:
        if value:
            try:
                return parse_xero_instant(value)
            except ValueError:
                pass
        return self._clock.now()

    @staticmethod
    def _map(entity: Entity, rows: Sequence[Any], org: OrgAccess) -> tuple[tuple[Fetched, ...], tuple[BadRecord, ...]]:
        records: list[Fetched] = []
        bad: list[BadRecord] = []
        for row in rows:
            mapped = map_record(entity, row, home_currency=org.base_currency)
            if isinstance(mapped, BadRecord):
                bad.append(mapped)
                continue
            if isinstance(mapped.record, Invoice):
                terms = mapped.record.terms or _terms(row)
                if terms != mapped.record.terms:
                    mapped = replace(mapped, record=replace(mapped.record, terms=terms))
            records.append(mapped)
        return tuple(records), tuple(bad)

    def with_pay_links(self, org: OrgAccess, invoices: Sequence[Fetched]) -> Sequence[Fetched]:
        """Open invoices with their OnlineInvoice URL: the one already known (this process's cache,
        else the store), else one call; see :class:`connector.platform.FetchesPayLinks`. After a
        429 no further link is asked for in this batch: the tenant is parked, the reminders go."""
        wanted = [
            f.external_id
            for f in invoices
            if isinstance(f.record, Invoice) and f.record.status is InvoiceStatus.OPEN and f.record.pay_url is None
        ]
        urls = self._known_pay_urls(org, wanted)
        api = self._api(org)
        for invoice_id in (i for i in wanted if i not in urls):
            try:
                url = api.online_invoice_url(invoice_id)  # None for a draft (400): no link, no error
            except PlatformError as exc:
                log.warning("xero tenant %s: no pay link for invoice %s now: %s", org.external_id, invoice_id, exc)
                if isinstance(exc, RateLimited | AuthRevoked):
                    break
                continue
            if url:
                urls[invoice_id] = self._remember(org, invoice_id, url)
        return [
            replace(f, record=replace(f.record, pay_url=urls[f.external_id]))
            if isinstance(f.record, Invoice) and f.external_id in urls
            else f
            for f in invoices
        ]

    def _known_pay_urls(self, org: OrgAccess, invoice_ids: Sequence[str]) -> dict[str, str]:
        """The URLs of ``invoice_ids`` known without a call: cached here (a re-check whose write
        failed is not stored, its links are), else stored by an earlier reminder (one store query)."""
        with self._pay_lock:
            known = {
                i: self._pay_urls[(org.external_id, i)] for i in invoice_ids if (org.external_id, i) in self._pay_urls
            }
        missing = [i for i in invoice_ids if i not in known]
        if missing and org.stored_pay_urls is not None:
            for invoice_id, url in org.stored_pay_urls(missing).items():
                known[invoice_id] = self._remember(org, invoice_id, url)
        return known

    def _remember(self, org: OrgAccess, invoice_id: str, url: str) -> str:
        with self._pay_lock:
            self._pay_urls[(org.external_id, invoice_id)] = url
        return url

    def fetch_invoices(self, org: OrgAccess, external_ids: Sequence[str]) -> Sequence[Fetched]:
        """Current state by ``Invoices?IDs=`` (50 a call, notes §1.4); an id Xero no longer has is
        deleted. No pay links (they cost a call each): see :meth:`with_pay_links`."""
        api = self._api(org)
        ids = list(dict.fromkeys(external_ids))
        found: dict[str, Fetched] = {}
        records, _ = self._map(Entity.INVOICE, api.invoices_by_ids(ids), org)
        for fetched in records:
            found[fetched.external_id.lower()] = fetched
        key = ENTITY_KEYS[Entity.INVOICE]
        return [
            found.get(i.lower()) or Fetched(Entity.INVOICE, i, None, {key: i, "Status": "DELETED"}, deleted=True)
            for i in ids
        ]

    def pay_now_url(self, org: OrgAccess, invoice_external_id: str) -> str | None:
        """The invoice's OnlineInvoice URL (known ones without a call: stable per invoice); None for
        drafts (notes §5)."""
        known = self._known_pay_urls(org, [invoice_external_id])
        if invoice_external_id in known:
            return known[invoice_external_id]
        url = self._api(org).online_invoice_url(invoice_external_id)
        return self._remember(org, invoice_external_id, url) if url else None

    def write_note(self, org: OrgAccess, invoice_external_id: str, text: str, *, idempotency_key: str) -> None:
        """A History note on the invoice (≤ 250 characters, append-only, notes §5)."""
        note = " ".join(text.split())
        note = note if len(note) <= HISTORY_LIMIT else note[: HISTORY_LIMIT - 1] + "…"
        self._api(org).add_history(invoice_external_id, note, idempotency_key=idempotency_key)

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """``x-xero-signature`` over the raw body, constant time (notes §4)."""
        signature = next((v for k, v in headers.items() if k.lower() == webhooks.SIGNATURE_HEADER), None)
        return webhooks.verify_signature(body, signature, self.config.webhook_key)

    def parse_webhook(self, body: bytes) -> Sequence[WebhookNotice]:
        """The events of a verified delivery; an intent-to-receive body has none (notes §4)."""
        return webhooks.parse_notifications(body)


def _scope_set(name: str) -> tuple[str, ...]:
    """The scopes of the set ``ARCADENCE_XERO_SCOPES`` names ("" → the default, granular)."""
    key = name.strip().lower() or DEFAULT_SCOPE_SET
    if key not in SCOPE_SETS:
        raise ConfigError(f"ARCADENCE_XERO_SCOPES: must be {' or '.join(SCOPE_SETS)}, not {name!r}")
    return SCOPE_SETS[key]


def _same_redirect(given: str, configured: str) -> None:
    if given != configured:
        raise PlatformError(f"redirect URI {given!r} is not the configured one", permanent=True)


def _timezone(value: object, country: str | None) -> str | None:
    """Xero's ``Timezone`` (``GMTSTANDARDTIME``) as an IANA name, None when unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    key = value.strip().upper().replace(" ", "")
    if key == "GMTSTANDARDTIME" and country in _GMT_BY_COUNTRY:
        return _GMT_BY_COUNTRY[country]
    return TIMEZONES.get(key)


def _terms(raw: Any) -> str:
    """The sales payment terms of the invoice's contact as text (``""`` when it names none)."""
    contact = raw.get("Contact") if isinstance(raw, Mapping) else None
    terms = contact.get("PaymentTerms") if isinstance(contact, Mapping) else None
    sales = terms.get("Sales") if isinstance(terms, Mapping) else None
    if not isinstance(sales, Mapping):
        return ""
    template = TERM_TYPES.get(str(sales.get("Type") or "").upper())
    day = sales.get("Day")
    if template is None or day is None or not str(day).strip().isdigit():
        return ""
    return template.format(day=int(str(day).strip()))
