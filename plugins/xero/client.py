"""The one seam to Xero: the only module of the plugin that makes HTTP calls.

A thin in-house client instead of ``xero-python`` (notes/xero.md §0.2, §0.8, §1.8: the SDK's
strict models crash on real data, its urllib3 retry sleeps for hours on a daily-limit 429, and it
has no reactive refresh):

- **OAuth** goes through authlib's ``OAuth2Session`` (authorization code with PKCE S256, refresh,
  revocation; notes §2), with a timeout on every call. The endpoints come from Xero's OpenID
  discovery document under the identity URL (``https://identity.xero.com``; authorize lives on
  login.xero.com, which the document names). ``invalid_grant`` → ``AuthRevoked``; 5xx, 429,
  timeouts and resets → ``TemporaryFailure``; anything else is a permanent ``PlatformError``.
  Refresh tokens rotate on every refresh (notes §0.4): the caller stores what comes back.
- **API calls** go through :class:`connector.transport.Transport` (timeouts, the per-tenant
  limiter, refresh-once on 401, 429 → ``RateLimited`` with the tenant parked for ``Retry-After``
  whether the problem is the minute or the day, notes §0.3, §3; ``Xero-Correlation-Id`` logged).
  Every call names its organisation in ``xero-tenant-id`` (notes §2). JSON is parsed here with
  ``parse_float=Decimal`` (notes §1.8); ``/Date(…)/`` values are left to the mapping.
- Lists page with ``page``/``pageSize`` at the largest page size Xero accepts (1,000, notes §3)
  and ``If-Modified-Since`` as an RFC 1123 date in UTC (accurate to the second, notes §3).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from connector.clock import Clock
from connector.errors import AuthRevoked, PlatformError, TemporaryFailure
from connector.tokens import TokenSet
from connector.transport import Transport, TransportOptions

OPTIONS = TransportOptions(
    platform="xero",
    trace_header="Xero-Correlation-Id",
    default_retry_after=60.0,  # a 429 without Retry-After: wait out the minute window (notes §3)
    read_timeout=60.0,
)
OAUTH_TIMEOUT = (5.0, 30.0)
PAGE_SIZE = 1000  # the largest pageSize Xero accepts (notes §3 "Paging")
IDS_PER_CALL = 50  # IDs= is capped by the URL length near 52 GUIDs (notes §1.4, §4)
HISTORY_LIMIT = 250  # HistoryRecords[].Details (notes §5)
IDEMPOTENCY_KEY_LIMIT = 128  # Idempotency-Key header (notes §3 "Idempotency")
REFRESH_TTL = timedelta(days=60)  # "Unused refresh tokens expire after 60 days" (notes §2)
GRANULAR_SCOPES = (
    "offline_access",
    "accounting.invoices",
    "accounting.payments.read",
    "accounting.contacts.read",
    "accounting.settings.read",
)
"""The granular scopes, mandatory for Xero apps created on or after 2026-03-02 (notes §0.9; old apps
must move by September 2027): notes §2 "Suggested dunning set". ``accounting.invoices`` (not
``.read``) is the write scope History notes need and covers credit notes; ``accounting.payments.read``
is taken to cover overpayments and prepayments too (notes §8: unverified)."""
BROAD_SCOPES = ("offline_access", "accounting.transactions", "accounting.contacts.read", "accounting.settings.read")
"""The legacy broad scopes, for apps created before 2026-03-02 (notes §2). ``accounting.transactions``
covers invoices, credit notes, payments, overpayments and prepayments, and History notes (§5)."""
SCOPE_SETS = {"granular": GRANULAR_SCOPES, "broad": BROAD_SCOPES}
"""``ARCADENCE_XERO_SCOPES`` → the scopes asked for; the default is ``granular`` (any app created now)."""
DEFAULT_SCOPE_SET = "granular"
SIGN_IN_SCOPES = ("openid", "profile", "email")
PRODUCTION_ENDPOINTS = {
    # Xero's discovery document names these (notes §1.8, §2); used if it cannot be read.
    "authorization_endpoint": "https://login.xero.com/identity/connect/authorize",
    "token_endpoint": "https://identity.xero.com/connect/token",
    "revocation_endpoint": "https://identity.xero.com/connect/revocation",
    "userinfo_endpoint": "https://identity.xero.com/connect/userinfo",
}


def parse_json(content: bytes) -> Any:
    """A Xero JSON body with every non-integer number as a ``Decimal`` (no float money)."""
    return json.loads(content, parse_float=Decimal)


def http_date(instant: datetime) -> str:
    """``instant`` as an RFC 1123 date in GMT (``If-Modified-Since``; seconds, notes §3)."""
    if instant.tzinfo is None:
        raise ValueError("If-Modified-Since needs an aware datetime")
    return format_datetime(instant.astimezone(UTC).replace(microsecond=0), usegmt=True)


def id_token_claims(id_token: str | None) -> Mapping[str, Any]:
    """The claims of an id token received straight from the token endpoint over TLS (OpenID
    Connect Core §3.1.3.7 allows TLS server validation instead of the signature check here)."""
    if not id_token or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, Mapping) else {}


# -- OAuth ---------------------------------------------------------------------------------------


class _ServerTrouble(Exception):
    """The identity server answered 5xx or 429 (raised by a response hook)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _raise_on_trouble(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    if response.status_code >= 500 or response.status_code == 429:
        raise _ServerTrouble(response.status_code)
    return response


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Xero's identity endpoints (from the discovery document)."""

    authorize: str
    token: str
    revocation: str
    userinfo: str


class OAuthClient:
    """OAuth 2.0 with Xero through authlib (code + PKCE S256, refresh with rotation, revocation).

    Args:
        client_id, client_secret: the app's credentials (HTTP Basic at the token endpoint, notes §1.8).
        identity_url: where the discovery document lives (``https://identity.xero.com``).
        clock: for the tokens' expiry instants.
    """

    def __init__(self, *, client_id: str, client_secret: str, identity_url: str, clock: Clock) -> None:
        self._client_id, self._client_secret = client_id, client_secret
        self._identity_url = identity_url.rstrip("/")
        self._clock = clock
        self._endpoints: Endpoints | None = None
        self._lock = threading.Lock()

    def endpoints(self) -> Endpoints:
        """The identity endpoints, read once from the discovery document."""
        with self._lock:
            if self._endpoints is None:
                url = f"{self._identity_url}/.well-known/openid-configuration"
                try:
                    response = requests.get(url, timeout=OAUTH_TIMEOUT)
                except requests.RequestException as exc:
                    raise TemporaryFailure(f"xero discovery document: {type(exc).__name__}") from None
                if response.status_code >= 500:
                    raise TemporaryFailure(f"xero discovery document: HTTP {response.status_code}")
                doc = dict(PRODUCTION_ENDPOINTS)
                if response.status_code == 200:
                    doc.update({k: v for k, v in response.json().items() if isinstance(v, str)})
                self._endpoints = Endpoints(
                    authorize=doc["authorization_endpoint"],
                    token=doc["token_endpoint"],
                    revocation=doc["revocation_endpoint"],
                    userinfo=doc["userinfo_endpoint"],
                )
            return self._endpoints

    def _session(self, **kwargs: Any) -> OAuth2Session:
        session = OAuth2Session(
            self._client_id,
            self._client_secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name, not a secret)
            revocation_endpoint_auth_method="client_secret_basic",
            default_timeout=OAUTH_TIMEOUT,
            **kwargs,
        )
        session.hooks["response"].append(_raise_on_trouble)
        return session

    def authorize_url(self, *, redirect_uri: str, state: str, code_verifier: str | None, scopes: Sequence[str]) -> str:
        """Xero's consent page, with the S256 challenge of ``code_verifier`` when given (notes §2)."""
        extra = {"code_challenge_method": "S256"} if code_verifier else {}
        with self._session(scope=" ".join(scopes), redirect_uri=redirect_uri, **extra) as session:
            url, _ = session.create_authorization_url(
                self.endpoints().authorize, state=state, code_verifier=code_verifier
            )
            return str(url)

    def exchange(self, *, code: str, redirect_uri: str, code_verifier: str | None) -> TokenSet:
        """Trade an authorization code (and its PKCE verifier) for tokens."""
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        with self._session(redirect_uri=redirect_uri) as session:
            return self._token_call(
                "code exchange",
                lambda: session.fetch_token(
                    self.endpoints().token, grant_type="authorization_code", code=code, **extra
                ),
            )

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """A fresh token set; the refresh token has rotated (notes §0.4)."""
        with self._session() as session:
            fresh = self._token_call(
                "refresh", lambda: session.refresh_token(self.endpoints().token, refresh_token=tokens.refresh_token)
            )
        # A refresh answer may omit what the grant already has (the id token, the scopes).
        return TokenSet(
            access_token=fresh.access_token,
            refresh_token=fresh.refresh_token,
            access_expires_at=fresh.access_expires_at,
            refresh_expires_at=fresh.refresh_expires_at,
            id_token=fresh.id_token or tokens.id_token,
            scopes=fresh.scopes or tokens.scopes,
        )

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the refresh token: ends the grant and removes all its connections (notes §2)."""
        with self._session() as session:
            try:
                response = session.revoke_token(
                    self.endpoints().revocation,
                    tokens.refresh_token,
                    token_type_hint="refresh_token",  # noqa: S106
                )
            except _ServerTrouble as exc:
                raise TemporaryFailure(f"xero revoke: HTTP {exc.status}") from None
            except requests.RequestException as exc:
                raise TemporaryFailure(f"xero revoke: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise PlatformError(f"xero revoke: HTTP {response.status_code}", permanent=True)

    def _token_call(self, action: str, call: Any) -> TokenSet:
        now = self._clock.now()
        try:
            body: Mapping[str, Any] = call()
        except _ServerTrouble as exc:
            raise TemporaryFailure(f"xero {action}: HTTP {exc.status}") from None
        except requests.RequestException as exc:
            raise TemporaryFailure(f"xero {action}: {type(exc).__name__}") from None
        except OAuthError as exc:
            # 400 {"error":"invalid_grant"}: expired, revoked or superseded (notes §2 "Errors").
            if exc.error == "invalid_grant":
                raise AuthRevoked(f"xero {action}: invalid_grant") from None
            raise PlatformError(f"xero {action}: {exc.error}", permanent=True) from None
        except ValueError:
            raise TemporaryFailure(f"xero {action}: the answer was not JSON") from None
        access, refresh, expires_in = body.get("access_token"), body.get("refresh_token"), body.get("expires_in")
        if not access or not refresh or expires_in is None:
            raise PlatformError(f"xero {action}: token response without tokens (offline_access?)", permanent=False)
        return TokenSet(
            access_token=str(access),
            refresh_token=str(refresh),
            access_expires_at=now + timedelta(seconds=int(str(expires_in))),
            refresh_expires_at=now + REFRESH_TTL,
            id_token=str(body["id_token"]) if body.get("id_token") else None,
            scopes=str(body.get("scope") or ""),
        )


# -- the API -------------------------------------------------------------------------------------


class NotFound(PlatformError):
    """Xero answered 404 for a record."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class ValidationFailed(PlatformError):
    """Xero answered 400 (``ValidationException``); ``messages`` are its validation errors."""

    def __init__(self, message: str, messages: Sequence[str]) -> None:
        super().__init__(message, permanent=True)
        self.messages = tuple(messages)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its rows and the server's time (``DateTimeUTC``) when known."""

    rows: Sequence[Any]
    server_time: str | None
    last: bool


class ConnectionsClient:
    """``https://api.xero.com/connections``: the tenants a grant reaches (no tenant header)."""

    def __init__(self, *, connections_url: str, transport: Transport) -> None:
        self._url = connections_url.rstrip("/")
        self._transport = transport

    def list(self, auth_event_id: str | None = None) -> list[Mapping[str, Any]]:
        """The connections (``?authEventId=`` keeps those of one consent, notes §2)."""
        params = {"authEventId": auth_event_id} if auth_event_id else None
        response = self._transport.request("GET", self._url, params=params)
        rows = _checked(response, "connections")
        if not isinstance(rows, list):
            raise PlatformError("xero connections: expected a list", permanent=False)
        return [r for r in rows if isinstance(r, Mapping)]

    def delete(self, connection_id: str) -> None:
        """Disconnect one tenant (``id`` is the connection's, not the tenant's; notes §2)."""
        response = self._transport.request("DELETE", f"{self._url}/{connection_id}")
        if response.status_code not in (200, 204):
            _checked(response, f"connection {connection_id}")


class ApiClient:
    """The accounting API of one tenant, returning raw JSON (``Decimal`` numbers)."""

    def __init__(self, *, tenant_id: str, api_base: str, transport: Transport) -> None:
        self.tenant_id = tenant_id
        self.transport = transport
        self._base = api_base.rstrip("/")

    def get(
        self, path: str, *, params: Mapping[str, str] | None = None, modified_since: datetime | None = None
    ) -> Mapping[str, Any]:
        """``GET <api_base>/<path>`` for this tenant."""
        headers = {"xero-tenant-id": self.tenant_id}
        if modified_since is not None:
            headers["If-Modified-Since"] = http_date(modified_since)
        response = self.transport.request("GET", f"{self._base}/{path}", params=params, headers=headers)
        body = _checked(response, f"tenant {self.tenant_id}: {path}")
        if not isinstance(body, Mapping):
            raise PlatformError(f"xero tenant {self.tenant_id}: {path}: expected an object", permanent=False)
        return body

    def pages(
        self, endpoint: str, *, modified_since: datetime | None = None, params: Mapping[str, str] | None = None
    ) -> Iterator[Page]:
        """Every page of a list (``page`` 1-based, ``pageSize`` 1,000; notes §3)."""
        page = 1
        while True:
            query = {**(params or {}), "page": str(page), "pageSize": str(PAGE_SIZE)}
            body = self.get(endpoint, params=query, modified_since=modified_since)
            rows = body.get(endpoint) or []
            if not isinstance(rows, list):
                raise PlatformError(f"xero tenant {self.tenant_id}: {endpoint}: expected a list", permanent=False)
            pagination = body.get("pagination")
            count = pagination.get("pageCount") if isinstance(pagination, Mapping) else None
            last = len(rows) < PAGE_SIZE or (isinstance(count, int) and page >= count)
            server_time = body.get("DateTimeUTC")
            yield Page(rows, str(server_time) if server_time else None, last)
            if last:
                return
            page += 1

    def invoices_by_ids(self, ids: Sequence[str]) -> list[Any]:
        """Invoices by id (≤ 50 a call; ``page=1`` so they come in full, with their contact)."""
        found: list[Any] = []
        for start in range(0, len(ids), IDS_PER_CALL):
            chunk = ids[start : start + IDS_PER_CALL]
            body = self.get("Invoices", params={"IDs": ",".join(chunk), "page": "1", "pageSize": str(PAGE_SIZE)})
            rows = body.get("Invoices") or []
            found.extend(rows if isinstance(rows, list) else [])
        return found

    def organisation(self) -> Mapping[str, Any]:
        """The tenant's ``Organisation`` record."""
        rows = self.get("Organisation").get("Organisations") or []
        if not rows or not isinstance(rows[0], Mapping):
            raise PlatformError(f"xero tenant {self.tenant_id}: no Organisation", permanent=True)
        record: Mapping[str, Any] = rows[0]
        return record

    def invoice_reminders_enabled(self) -> bool:
        """Whether Xero's own invoice reminders are on (double dunning, notes §5)."""
        rows = self.get("InvoiceReminders/Settings").get("InvoiceReminders") or []
        enabled = rows[0].get("Enabled") if rows and isinstance(rows[0], Mapping) else False
        return enabled is True or str(enabled).lower() == "true"

    def online_invoice_url(self, invoice_id: str) -> str | None:
        """The invoice's online page; None for drafts and bills, which have none (400, notes §5)."""
        try:
            body = self.get(f"Invoices/{invoice_id}/OnlineInvoice")
        except (ValidationFailed, NotFound):
            return None
        rows = body.get("OnlineInvoices") or []
        url = rows[0].get("OnlineInvoiceUrl") if rows and isinstance(rows[0], Mapping) else None
        return str(url) if url else None

    def add_history(self, invoice_id: str, details: str, *, idempotency_key: str) -> None:
        """``PUT Invoices/{id}/History`` with one note (≤ 250 characters) and an Idempotency-Key."""
        if not details.strip() or len(details) > HISTORY_LIMIT:
            raise ValueError(f"a History note has 1 to {HISTORY_LIMIT} characters")
        headers = {
            "xero-tenant-id": self.tenant_id,
            "Idempotency-Key": idempotency_key[:IDEMPOTENCY_KEY_LIMIT],
            "Content-Type": "application/json",
        }
        body = json.dumps({"HistoryRecords": [{"Details": details}]})
        response = self.transport.request(
            "PUT", f"{self._base}/Invoices/{invoice_id}/History", data=body, headers=headers
        )
        _checked(response, f"tenant {self.tenant_id}: history of {invoice_id}")


def _checked(response: requests.Response, what: str) -> Any:
    """The parsed body of a 2xx answer; 400/403/404 and the rest as errors (401/429/5xx are the
    transport's)."""
    status = response.status_code
    if 200 <= status < 300:
        if not response.content:
            return None
        try:
            return parse_json(response.content)
        except ValueError:
            raise TemporaryFailure(f"xero {what}: the answer was not JSON") from None
    if status == 404:
        raise NotFound(f"xero {what}: not found")
    if status == 400:
        messages = _validation_messages(response.content)
        raise ValidationFailed(f"xero {what}: HTTP 400 {'; '.join(messages)}".rstrip(), messages)
    if status == 403:
        # AuthenticationUnsuccessful: the tenant is not (or no longer) connected to this grant.
        raise PlatformError(f"xero {what}: HTTP 403 (the organisation is not connected)", permanent=True)
    raise PlatformError(f"xero {what}: HTTP {status}", permanent=True)


def _validation_messages(content: bytes) -> list[str]:
    try:
        body = parse_json(content)
    except ValueError:
        return []
    if not isinstance(body, Mapping):
        return []
    messages = [str(body["Message"])] if body.get("Message") else []
    for element in body.get("Elements") or []:
        for error in (element.get("ValidationErrors") or []) if isinstance(element, Mapping) else []:
            if isinstance(error, Mapping) and error.get("Message"):
                messages.append(str(error["Message"]))
    return messages
