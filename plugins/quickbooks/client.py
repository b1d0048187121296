"""The one seam to QuickBooks Online: the only module that imports ``intuitlib`` (intuit-oauth)
and ``quickbooks`` (python-quickbooks).

We use both SDKs for what they do well and go around them where they are unsafe
(``plugins/quickbooks/README.md`` lists each point with its source):

- **OAuth** goes through ``intuitlib.AuthClient``, subclassed to put a timeout on every request
  (it sets none, notes/quickbooks.md §1.9.4) and to ask for the refresh token's hard expiry
  (``x-include-refresh-token-hard-expires-in``, §2.3). ``expires_at`` is computed by us.
- **API calls** go through ``quickbooks.QuickBooks`` with **our session object** in ``qb.session``
  (§1.3: any object with ``access_token`` and ``request``): every request then passes through
  :class:`connector.transport.Transport` (timeouts, the per-realm limiter, refresh-once on 401,
  429 and XML ``ThrottleExceeded`` → ``RateLimited``, 5xx → ``TemporaryFailure``, ``intuit_tid``
  logged). The client is built **without** an ``AuthClient``, so its constructor can never refresh
  and silently rotate the refresh token (§1.2, PQ #392). ``use_decimal=True`` and
  ``minorversion=75`` always (§1.4, §1.7).
- We read **raw JSON**, never SDK model objects (deleted CDC stubs become "paid"-looking
  defaults, §1.5) and never call ``save()`` (it sends defaults that kill the pay link, §1.9.1):
  writes are minimal explicit JSON with ``sparse: true`` and a ``requestid``.
- CDC's ``changedSince`` is passed as an ISO string **with its offset** (the SDK drops the
  time zone of a ``datetime``, §1.5).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks import exceptions as qbo_errors

from connector.clock import Clock
from connector.errors import AuthRevoked, PlatformError, TemporaryFailure
from connector.tokens import TokenSet
from connector.transport import Transport, TransportOptions

MINOR_VERSION = 75
OPTIONS = TransportOptions(
    platform="quickbooks",
    trace_header="intuit_tid",
    throttle_markers=(b"ThrottleExceeded",),  # the real 429 body is XML (notes §3.2)
    default_retry_after=60.0,  # "wait 60 seconds before retrying" (Intuit, notes §0.3)
    read_timeout=120.0,  # QBO times requests out after 120 s (LIMITS)
)
OAUTH_TIMEOUT = (5.0, 30.0)
NOTE_LIMIT = 2000  # Attachable.Note (notes §0.8)
REQUEST_ID_LIMIT = 50  # requestid length (notes §3.1)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What the token endpoint returned, with expiry instants computed by us.

    Attributes:
        tokens: the token set to store.
        hard_expires_at: the 5-year hard expiry of the refresh token, when the platform says.
    """

    tokens: TokenSet
    hard_expires_at: datetime | None


class _AuthClient(AuthClient):  # type: ignore[misc]
    """intuit-oauth's client with a timeout on every request and the hard-expiry header."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["x-include-refresh-token-hard-expires-in"] = "true"

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", OAUTH_TIMEOUT)
        response: requests.Response = super().request(method, url, *args, **kwargs)
        return response


def _oauth_error(exc: Exception, action: str) -> PlatformError:
    """Translate an intuit-oauth failure; never quotes tokens (the body is an error JSON)."""
    if isinstance(exc, requests.RequestException):
        return TemporaryFailure(f"quickbooks {action}: {type(exc).__name__}")
    assert isinstance(exc, AuthClientError)
    status = exc.status_code
    try:
        error = json.loads(exc.content or b"{}").get("error", "")
    except ValueError:
        error = ""
    if status == 400 and error == "invalid_grant":
        return AuthRevoked(f"quickbooks {action}: invalid_grant (intuit_tid {exc.intuit_tid})")
    if status >= 500 or status == 429:
        return TemporaryFailure(f"quickbooks {action}: HTTP {status} (intuit_tid {exc.intuit_tid})")
    return PlatformError(f"quickbooks {action}: HTTP {status} {error} (intuit_tid {exc.intuit_tid})", permanent=True)


class OAuthClient:
    """OAuth 2.0 with Intuit through intuit-oauth (one instance per process, serialised).

    ``AuthClient`` fetches the discovery document in its constructor and keeps the last token
    response in attributes, so it is built once, lazily, and used under a lock.
    """

    def __init__(self, *, client_id: str, client_secret: str, redirect_uri: str, discovery_url: str, clock: Clock):
        self._args = (client_id, client_secret, redirect_uri, discovery_url)
        self._clock = clock
        self._client: _AuthClient | None = None
        self._lock = threading.Lock()

    def _auth(self) -> _AuthClient:
        if self._client is None:
            try:
                self._client = _AuthClient(*self._args)
            except requests.RequestException as exc:
                raise TemporaryFailure(f"quickbooks discovery document: {type(exc).__name__}") from None
        return self._client

    def authorize_url(self, *, state: str, sign_in: bool) -> str:
        """Intuit's consent page; ``sign_in`` adds OpenID Connect (email, profile)."""
        scopes = [Scopes.ACCOUNTING] + ([Scopes.OPENID, Scopes.EMAIL, Scopes.PROFILE] if sign_in else [])
        with self._lock:
            url: str = self._auth().get_authorization_url(scopes, state_token=state)
            return url

    def exchange(self, code: str, realm_id: str) -> TokenGrant:
        """Trade an authorization code for tokens."""
        return self._token_call("code exchange", lambda client: client.get_bearer_token(code, realm_id=realm_id))

    def refresh(self, tokens: TokenSet) -> TokenGrant:
        """A fresh token set (the refresh token may rotate: always store what comes back)."""
        return self._token_call("refresh", lambda client: client.refresh(refresh_token=tokens.refresh_token))

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the grant (disconnects the app from the company)."""
        with self._lock:
            try:
                self._auth().revoke(token=tokens.refresh_token)
            except (AuthClientError, requests.RequestException) as exc:
                raise _oauth_error(exc, "revoke") from None

    def user_info(self, access_token: str) -> Mapping[str, Any]:
        """The signed-in user's OpenID Connect claims (email, givenName, familyName …)."""
        with self._lock:
            try:
                info: Mapping[str, Any] = self._auth().get_user_info(access_token=access_token).json()
                return info
            except (AuthClientError, requests.RequestException) as exc:
                raise _oauth_error(exc, "user info") from None

    def _token_call(self, action: str, call: Any) -> TokenGrant:
        with self._lock:
            client = self._auth()
            for name in ("access_token", "refresh_token", "expires_in", "x_refresh_token_expires_in", "id_token"):
                setattr(client, name, None)
            client.x_refresh_token_hard_expires_in = None
            now = self._clock.now()
            try:
                call(client)
            except (AuthClientError, requests.RequestException) as exc:
                raise _oauth_error(exc, action) from None
            if not client.access_token or not client.refresh_token or client.expires_in is None:
                raise PlatformError(f"quickbooks {action}: token response without tokens", permanent=False)
            return _grant(client, now)


def _grant(client: _AuthClient, now: datetime) -> TokenGrant:
    def after(seconds: object) -> datetime | None:
        return now + timedelta(seconds=int(str(seconds))) if seconds not in (None, "") else None

    access_expires_at = after(client.expires_in)
    assert access_expires_at is not None
    tokens = TokenSet(
        access_token=str(client.access_token),
        refresh_token=str(client.refresh_token),
        access_expires_at=access_expires_at,
        refresh_expires_at=after(client.x_refresh_token_expires_in),
        id_token=client.id_token or None,
        scopes="",
    )
    return TokenGrant(tokens, after(getattr(client, "x_refresh_token_hard_expires_in", None)))


class _SdkSession:
    """What python-quickbooks expects in ``qb.session``: ``access_token`` and ``request(...)``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @property
    def access_token(self) -> str:
        return self._transport.tokens.current().access_token

    def request(
        self, method: str, url: str, headers: Any = None, params: Any = None, data: Any = None, **_: Any
    ) -> requests.Response:
        return self._transport.request(method, url, headers=headers, params=params, data=data)


def request_id(key: str) -> str:
    """A ``requestid`` within Intuit's 50 characters, stable for the same ``key``."""
    return key if len(key) <= REQUEST_ID_LIMIT else hashlib.sha256(key.encode()).hexdigest()[:REQUEST_ID_LIMIT]


class ApiClient:
    """The accounting API of one realm through python-quickbooks, returning raw JSON (Decimal numbers)."""

    def __init__(self, *, realm_id: str, api_base: str, transport: Transport) -> None:
        self.realm_id = realm_id
        self.transport = transport
        # No auth_client: the SDK's constructor then cannot refresh (and rotate) the token itself.
        self._qb = QuickBooks(company_id=realm_id, minorversion=MINOR_VERSION, use_decimal=True)
        self._qb.sandbox = False
        self._qb.api_url_v3 = api_base.rstrip("/")
        self._qb.session = _SdkSession(transport)

    def query(self, sql: str, *, invoice_link: bool = False) -> Mapping[str, Any]:
        """Run a query (``SELECT … STARTPOSITION … MAXRESULTS …``); ``QueryResponse`` and ``time``."""
        params = {"include": "invoiceLink"} if invoice_link else None
        return self._call(lambda: self._qb.query(sql, params=params))

    def cdc(self, entities: Sequence[str], since: datetime) -> Mapping[str, Any]:
        """Changes since ``since`` (offset kept in the string) for the given entity names."""
        if since.tzinfo is None:
            raise ValueError("CDC needs an aware datetime")
        return self._call(lambda: self._qb.change_data_capture(",".join(entities), since.isoformat(timespec="seconds")))

    def get(self, entity: str, entity_id: str, *, invoice_link: bool = False) -> Mapping[str, Any] | None:
        """One record by id, or None when QBO says it no longer exists (fault 610)."""
        params = {"include": "invoiceLink"} if invoice_link else None
        try:
            result = self._call(lambda: self._qb.get_single_object(entity, entity_id, params=params))
        except _NotFound:
            return None
        record: Mapping[str, Any] | None = result.get(entity)
        return record

    def company_info(self) -> Mapping[str, Any]:
        """The company's CompanyInfo record."""
        record = self.get("CompanyInfo", self.realm_id)
        if record is None:
            raise PlatformError(f"quickbooks: no CompanyInfo for realm {self.realm_id}", permanent=True)
        return record

    def create(self, entity: str, body: Mapping[str, Any], *, idempotency_key: str) -> Mapping[str, Any]:
        """Create a record with explicit JSON and a ``requestid`` (a retry never doubles it)."""
        payload = json.dumps(body, default=str)
        rid = request_id(idempotency_key)
        result = self._call(lambda: self._qb.create_object(entity, payload, request_id=rid))
        record: Mapping[str, Any] = result.get(entity, result)
        return record

    def _call(self, call: Any) -> Mapping[str, Any]:
        try:
            result: Mapping[str, Any] = call()
            return result
        except qbo_errors.ObjectNotFoundException:
            raise _NotFound from None
        except qbo_errors.AuthorizationException as exc:
            # Codes 1-499 in a Fault (e.g. 120: the connecting admin was removed) end the grant.
            raise AuthRevoked(f"quickbooks realm {self.realm_id}: authorization failed ({exc.error_code})") from None
        except qbo_errors.QuickbooksException as exc:
            raise _translate(exc, self.realm_id) from None


class _NotFound(Exception):
    """Fault 610: the object was deleted (or never existed)."""


def _translate(exc: qbo_errors.QuickbooksException, realm_id: str) -> PlatformError:
    code = exc.error_code
    where = f"quickbooks realm {realm_id}: fault {code}"
    if code == 10000 and "Error reading json response" in str(exc.message):
        return TemporaryFailure(f"{where}: the response was not JSON")
    if code == 3100:  # ApplicationAuthorizationFailed arrives as a validation fault (notes §1.9.7)
        return AuthRevoked(f"{where}: application authorization failed")
    if code == 5010:
        return PlatformError(f"{where}: stale object", permanent=False)
    if code == 6190:  # the company's subscription ended (notes §1.8)
        return PlatformError(f"{where}: the company's subscription is not active", permanent=True)
    if code is not None and int(code) >= 10000:
        return TemporaryFailure(f"{where}: {exc.message}")
    return PlatformError(f"{where}: {exc.message}", permanent=True)
