"""QuickBooks Online as an arcadence :class:`connector.platform.Platform`.

Sync reads every entity with paged queries the first time (MAXRESULTS 1000) and later with
**one CDC call for all entities** since the oldest cursor. CDC looks back 30 days at most and
returns at most 1000 objects with no paging (notes/quickbooks.md §0.4): a cursor older than 29
days means a full re-query of that entity; a capped response is split per entity, and an entity
still capped on its own is re-read with ``MetaData.LastUpdatedTime >= since`` paging (deletions in
that window are then caught by the nightly reconcile, which re-reads open invoices by id).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from connector.clock import Clock
from connector.errors import AuthRevoked, PlatformError
from connector.platform import (
    BadRecord,
    ChangePage,
    Entity,
    Fetched,
    Grant,
    OrgAccess,
    OrgRef,
    PlatformConfig,
    WebhookNotice,
)
from connector.ratelimit import RateLimiter
from connector.tokens import TokenSet
from connector.transport import Transport
from core.model import Invoice
from plugins.quickbooks import webhooks
from plugins.quickbooks.client import NOTE_LIMIT, OPTIONS, ApiClient, OAuthClient
from plugins.quickbooks.mapping import ENTITY_NAMES, map_record, parse_qbo_datetime, term_id

PAGE = 1000  # MAXRESULTS maximum (notes §1.4)
CDC_CAP = 1000  # objects per CDC response (notes §0.4)
CDC_LOOKBACK = timedelta(days=29)  # 30 days allowed; one day of margin
OVERLAP = timedelta(minutes=2)  # re-read a little: upserts are idempotent, a gap is not
IDS_PER_QUERY = 100


class _StaticTokens:
    """Tokens fresh from the token endpoint, before they are stored (used once, at connect)."""

    def __init__(self, tokens: TokenSet) -> None:
        self._tokens = tokens

    def current(self) -> TokenSet:
        return self._tokens

    def refreshed(self, stale: TokenSet) -> TokenSet:
        raise AuthRevoked("quickbooks rejected a brand-new access token")


class QuickBooksPlatform:
    """QuickBooks Online (one realm = one organisation)."""

    name: ClassVar[str] = "quickbooks"
    display_name: ClassVar[str] = "QuickBooks Online"
    entities: ClassVar[tuple[Entity, ...]] = (Entity.CUSTOMER, Entity.INVOICE, Entity.PAYMENT, Entity.CREDIT_NOTE)
    implemented: ClassVar[bool] = True
    sandbox: ClassVar[str] = "plugins.quickbooks.sandbox:QuickBooksSandbox"
    """The offline emulator of this platform (``arcadence sandbox quickbooks``, ``make run``)."""
    defaults: ClassVar[Mapping[str, str]] = {
        # Intuit's production endpoints (notes/quickbooks.md §2.2, §3.1).
        "identity_url": "https://developer.intuit.com/.well-known/openid_configuration/",
        "api_base": "https://quickbooks.api.intuit.com/v3",
    }

    def __init__(self, config: PlatformConfig, *, clock: Clock, limiter: RateLimiter) -> None:
        self.config = config
        self._clock = clock
        self._limiter = limiter
        self._http = requests.Session()
        self._http.hooks["response"].append(self._count)
        self.oauth = OAuthClient(
            client_id=config.client_id,
            client_secret=config.client_secret,
            redirect_uri=config.redirect_uri,
            discovery_url=config.identity_url,
            clock=clock,
        )
        self.calls = 0
        """API calls made through this platform (benchmarks report them)."""
        self._terms: dict[str, dict[str, str]] = {}
        """Payment term names per realm (id → name), for invoices whose SalesTermRef holds only an id."""

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls += 1
        return response

    # -- OAuth -------------------------------------------------------------------------------

    def authorize_url(self, *, redirect_uri: str, state: str, code_verifier: str | None, sign_in: bool) -> str:
        """Intuit's consent page (intuit-oauth has no PKCE; ``state`` is checked by the caller)."""
        _same_redirect(redirect_uri, self.config.redirect_uri)
        return self.oauth.authorize_url(state=state, sign_in=sign_in)

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
        """Tokens for the callback's code, the company they reach (CompanyInfo) and, when the
        consent signed the person in, who they are (OpenID Connect userinfo)."""
        _same_redirect(redirect_uri, self.config.redirect_uri)
        realm_id = callback_params.get("realmId", "")
        if not realm_id:
            raise PlatformError("quickbooks callback without realmId", permanent=True)
        grant = self.oauth.exchange(code, realm_id)
        tokens = _with_hard_expiry(grant.tokens, grant.hard_expires_at)
        org = self._org_ref(tokens, realm_id)
        email = name = None
        if sign_in:
            info = self.oauth.user_info(tokens.access_token)
            email = info.get("email") if info.get("emailVerified", True) else None
            name = " ".join(p for p in (info.get("givenName"), info.get("familyName")) if p) or None
        return Grant(tokens=tokens, organisations=(org,), user_email=email, user_name=name, grant_ref=realm_id)

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """Rotate the tokens (the hard expiry is kept when the response omits it)."""
        grant = self.oauth.refresh(tokens)
        return _with_hard_expiry(grant.tokens, grant.hard_expires_at or tokens.refresh_hard_expires_at)

    def revoke(self, tokens: TokenSet) -> None:
        """Disconnect arcadence from the company."""
        self.oauth.revoke(tokens)

    def list_organisations(self, tokens: TokenSet, grant_ref: str | None = None) -> Sequence[OrgRef]:
        """The realm of the grant (a QBO grant reaches exactly one company)."""
        if not grant_ref:
            raise PlatformError("quickbooks: the realm id is needed to describe a grant", permanent=True)
        return [self._org_ref(tokens, grant_ref)]

    def _org_ref(self, tokens: TokenSet, realm_id: str) -> OrgRef:
        api = self._api(OrgAccess(realm_id, _StaticTokens(tokens)))
        info = api.company_info()
        prefs = api.query("SELECT * FROM Preferences").get("QueryResponse", {}).get("Preferences", [{}])
        home = _get(prefs[0] if prefs else {}, "CurrencyPrefs", "HomeCurrency", "value")
        country = info.get("Country") or _get(info, "CompanyAddr", "Country")
        return OrgRef(
            external_id=realm_id,
            name=str(info.get("CompanyName") or realm_id),
            country=_country(country),
            base_currency=str(home) if home else None,
            timezone=info.get("DefaultTimeZone") or None,
        )

    # -- API ---------------------------------------------------------------------------------

    def _api(self, org: OrgAccess) -> ApiClient:
        transport = Transport(
            key=f"quickbooks:{org.external_id}",
            tokens=org.tokens,
            limiter=self._limiter,
            options=OPTIONS,
            clock=self._clock,
            session=self._http,
        )
        return ApiClient(realm_id=org.external_id, api_base=self.config.api_base, transport=transport)

    def fetch_changes(self, org: OrgAccess, since: Mapping[Entity, datetime | None]) -> Iterator[ChangePage]:
        """See the module docstring."""
        api = self._api(org)
        horizon = self._clock.now() - CDC_LOOKBACK
        incremental = {e: c for e, c in since.items() if c is not None and c >= horizon}
        if Entity.INVOICE in since and (Entity.INVOICE not in incremental or org.external_id not in self._terms):
            self._load_terms(api, org.external_id)  # the first sync pages Terms too (one call)
        changes: dict[Entity, ChangePage] | None = None
        for entity in since:
            if entity not in incremental:
                yield from self._query_pages(api, entity, org.base_currency)
                continue
            if changes is None:
                changes = self._cdc(api, incremental, org.base_currency)
            yield from (
                [changes[entity]]
                if entity in changes
                else self._query_pages(api, entity, org.base_currency, updated_since=incremental[entity])
            )

    def _query_pages(
        self, api: ApiClient, entity: Entity, home: str, *, updated_since: datetime | None = None
    ) -> Iterator[ChangePage]:
        name = ENTITY_NAMES[entity]
        clauses = ["Active IN (true, false)"] if entity is Entity.CUSTOMER else []
        if updated_since is not None:
            clauses.append(f"MetaData.LastUpdatedTime >= '{updated_since.isoformat(timespec='seconds')}'")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        start, cursor = 1, None
        while True:
            sql = f"SELECT * FROM {name}{where} STARTPOSITION {start} MAXRESULTS {PAGE}"  # noqa: S608 (no user input)
            response = api.query(sql, invoice_link=entity is Entity.INVOICE)
            cursor = cursor or parse_qbo_datetime(str(response["time"])) - OVERLAP
            rows = response.get("QueryResponse", {}).get(name, [])
            records, bad = self._map(api, entity, rows, home)
            last = len(rows) < PAGE
            yield ChangePage(entity, records, bad, cursor if last else None)
            if last:
                return
            start += PAGE

    def _cdc(self, api: ApiClient, cursors: Mapping[Entity, datetime], home: str) -> dict[Entity, ChangePage]:
        """One CDC call for every entity; split when capped. Entities left out must be re-queried."""
        names = [ENTITY_NAMES[e] for e in cursors] + (["Term"] if Entity.INVOICE in cursors else [])
        response = api.cdc(names, min(cursors.values()))
        groups = _cdc_groups(response)
        self._update_terms(api.realm_id, groups.pop("Term", []))
        if sum(len(rows) for rows in groups.values()) >= CDC_CAP and len(cursors) > 1:
            result: dict[Entity, ChangePage] = {}
            for entity, since in cursors.items():
                result.update(self._cdc(api, {entity: since}, home))
            return result
        if sum(len(rows) for rows in groups.values()) >= CDC_CAP:
            return {}  # one entity, still capped: the caller re-reads it by query
        cursor = parse_qbo_datetime(str(response["time"])) - OVERLAP
        return {e: ChangePage(e, *self._map(api, e, groups.get(ENTITY_NAMES[e], []), home), cursor) for e in cursors}

    def _map(
        self, api: ApiClient, entity: Entity, rows: Sequence[Any], home: str
    ) -> tuple[tuple[Fetched, ...], tuple[BadRecord, ...]]:
        records: list[Fetched] = []
        bad: list[BadRecord] = []
        for row in rows:
            mapped = map_record(entity, row, home_currency=home)
            if isinstance(mapped, Fetched):
                records.append(self._with_terms(mapped, row, api.realm_id))
            else:
                bad.append(mapped)
        return tuple(records), tuple(bad)

    def _load_terms(self, api: ApiClient, realm_id: str) -> None:
        rows = api.query("SELECT * FROM Term MAXRESULTS 1000").get("QueryResponse", {}).get("Term", [])
        self._terms[realm_id] = {}
        self._update_terms(realm_id, rows)

    def _update_terms(self, realm_id: str, rows: Sequence[Any]) -> None:
        known = self._terms.setdefault(realm_id, {})
        for row in rows:
            if isinstance(row, Mapping) and row.get("Id") is not None and isinstance(row.get("Name"), str):
                known[str(row["Id"])] = row["Name"]

    def _with_terms(self, fetched: Fetched, raw: Any, realm_id: str) -> Fetched:
        record = fetched.record
        if not isinstance(record, Invoice) or record.terms or not isinstance(raw, Mapping):
            return fetched
        name = self._terms.get(realm_id, {}).get(term_id(raw) or "", "")
        return replace(fetched, record=replace(record, terms=name)) if name else fetched

    def fetch_invoices(self, org: OrgAccess, external_ids: Sequence[str]) -> Sequence[Fetched]:
        """Current state by ``Id IN (…)`` (100 ids a query); an id QBO no longer has is deleted."""
        api = self._api(org)
        found: dict[str, Fetched] = {}
        ids = list(dict.fromkeys(external_ids))
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            # QBO's query language has no parameters: quote and escape like the SDK's filter() (notes §1.4).
            quoted = ", ".join("'" + i.replace("\\", "\\\\").replace("'", "\\'") + "'" for i in chunk)
            sql = f"SELECT * FROM Invoice WHERE Id IN ({quoted}) MAXRESULTS {PAGE}"  # noqa: S608
            rows = api.query(sql, invoice_link=True).get("QueryResponse", {}).get("Invoice", [])
            for mapped in self._map(api, Entity.INVOICE, rows, org.base_currency)[0]:
                found[mapped.external_id] = mapped
        return [
            found.get(i) or Fetched(Entity.INVOICE, i, None, {"Id": i, "status": "Deleted"}, deleted=True) for i in ids
        ]

    def pay_now_url(self, org: OrgAccess, invoice_external_id: str) -> str | None:
        """The invoice's InvoiceLink (needs online payment enabled and a BillEmail, notes §0.7)."""
        record = self._api(org).get("Invoice", invoice_external_id, invoice_link=True)
        link = record.get("InvoiceLink") if record else None
        return str(link) if link else None

    def write_note(self, org: OrgAccess, invoice_external_id: str, text: str, *, idempotency_key: str) -> None:
        """An Attachable note on the invoice: append-only, leaves the invoice untouched (notes §0.8)."""
        note = text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"
        body = {
            "Note": note,
            "AttachableRef": [{"EntityRef": {"type": "Invoice", "value": invoice_external_id}, "IncludeOnSend": False}],
        }
        self._api(org).create("Attachable", body, idempotency_key=idempotency_key)

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """``intuit-signature`` over the raw body, constant time."""
        signature = next((v for k, v in headers.items() if k.lower() == "intuit-signature"), None)
        return webhooks.verify_signature(body, signature, self.config.webhook_key)

    def parse_webhook(self, body: bytes) -> Sequence[WebhookNotice]:
        """Legacy and CloudEvents payloads."""
        return webhooks.parse_notifications(body)


def _cdc_groups(response: Mapping[str, Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for block in response.get("CDCResponse", [{}])[0].get("QueryResponse", []):
        for key, value in block.items():
            if isinstance(value, list):
                groups.setdefault(key, []).extend(value)
    return groups


def _with_hard_expiry(tokens: TokenSet, hard: datetime | None) -> TokenSet:
    return replace(tokens, refresh_hard_expires_at=hard) if hard else tokens


def _same_redirect(given: str, configured: str) -> None:
    if given != configured:
        raise PlatformError(f"redirect URI {given!r} is not the configured one", permanent=True)


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)  # type: ignore[assignment]
    return obj


def _country(value: object) -> str | None:
    """CompanyInfo ``Country`` as an ISO alpha-2 code (QBO writes ``UK`` for Great Britain)."""
    if not isinstance(value, str) or len(value.strip()) != 2:
        return None
    code = value.strip().upper()
    return "GB" if code == "UK" else code
