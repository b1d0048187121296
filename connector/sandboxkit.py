"""Plumbing shared by the platform sandboxes (QuickBooks now, Xero later).

A platform sandbox is a stateful WSGI emulator of a vendor API that the tests and the local demo
talk to over real HTTP on loopback. The vendor-specific parts (paths, payload shapes, fault bodies,
webhook formats) live in the plugin's ``sandbox`` package; the parts below are the same for every
vendor:

- :class:`SandboxClock`: the sandbox's notion of now, movable by the control API;
- :class:`TokenAuthority`: authorization codes (with PKCE, RFC 7636), access tokens with a lifetime,
  refresh tokens that rotate with a grace window for the superseded one, revocation;
- :class:`FaultInjector`: one-off faults (status + body) for the next N calls to a path;
- :class:`CallCounter` and :class:`RateBudget`: call counts per endpoint, a per-key budget per minute;
- :class:`WindowBudget` and :class:`ConcurrencyGate`: a per-key budget over any sliding window (a day)
  that says how much is left and when the next call is allowed; at most N calls in flight per key;
- :class:`IdempotencyCache`: the first response of a repeated request id, replayed;
- :class:`WebhookOutbox`: signed notifications posted in order, blocked behind a failed one;
- :class:`ControlAPI`: ``/_sandbox/<name>`` JSON endpoints dispatched to plain Python methods;
- :func:`serve_in_thread`: a WSGI app on a free loopback port in a background thread.

Everything is thread-safe (the server is threaded) and reads time only through the clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fnmatch import fnmatchcase
from typing import Any, Generic, Self, TypeVar, cast

import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from connector.clock import Clock
from connector.signing import hmac_sha256_base64 as hmac_sha256_base64

T = TypeVar("T")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SandboxClock:
    """The sandbox's clock: a base clock plus whatever the control API advanced it by.

    When the base clock can advance itself (a :class:`connector.clock.FixedClock` shared with the
    code under test), :meth:`advance` moves the base clock so both sides agree; otherwise an offset
    is kept (the real clock in the demo).
    """

    def __init__(self, base: Clock) -> None:
        self._base = base
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current sandbox instant, UTC-aware."""
        return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move the sandbox's time forward by ``delta``."""
        advance = getattr(self._base, "advance", None)
        if callable(advance):
            advance(delta)
        else:
            self._offset += delta


class InvalidGrant(Exception):
    """A code or refresh token that is unknown, used up, superseded past its grace, or revoked."""


@dataclass
class Grant:
    """One consent: a client's access to one subject (QBO realm, Xero tenant set) with scopes."""

    grant_id: str
    client_id: str
    subject: str
    scopes: tuple[str, ...]
    created_at: datetime
    hard_expires_at: datetime
    revoked: bool = False
    pkce: bool = False  # the code was redeemed with a code_verifier (a public client may refresh without secret)


@dataclass(frozen=True)
class TokenPair:
    """What a token endpoint hands out; lifetimes in seconds from the moment of issue."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    hard_expires_in: int
    grant: Grant


@dataclass
class _Refresh:
    grant: Grant
    expires_at: datetime
    superseded_at: datetime | None = None


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    subject: str
    scopes: tuple[str, ...]
    expires_at: datetime
    used: bool = False
    code_challenge: str | None = None


def pkce_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of a ``code_verifier``: base64url(SHA-256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _default_token(kind: str) -> str:
    return f"{kind}-{secrets.token_urlsafe(32)}"


class TokenAuthority:
    """Authorization codes, access tokens and rotating refresh tokens on the sandbox clock.

    Every refresh issues a new refresh token; the presented one keeps working for
    ``rotation_grace`` after it was first superseded, then raises :class:`InvalidGrant`. Each new
    refresh token lives ``refresh_ttl`` (a rolling expiry), never past the grant's hard expiry.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        rotation_grace: timedelta,
        hard_ttl: timedelta,
        code_ttl: timedelta = timedelta(minutes=10),
        token_factory: Callable[[str], str] = _default_token,
        access_factory: Callable[[Grant, datetime, datetime], str] | None = None,
    ) -> None:
        self._clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.rotation_grace = rotation_grace
        self.hard_ttl = hard_ttl
        self.code_ttl = code_ttl
        self._new_token = token_factory
        self._new_access = access_factory  # (grant, issued, expires) -> token, e.g. a JWT with claims
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, tuple[Grant, datetime]] = {}
        self._refresh: dict[str, _Refresh] = {}

    def issue_code(
        self,
        client_id: str,
        redirect_uri: str,
        subject: str,
        scopes: Iterable[str],
        code_challenge: str | None = None,
    ) -> str:
        """A single-use authorization code for a consent just given (bound to an S256 challenge if given)."""
        code = self._new_token("code")
        with self._lock:
            expires = self._clock.now() + self.code_ttl
            self._codes[code] = _Code(client_id, redirect_uri, subject, tuple(scopes), expires, False, code_challenge)
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, code_verifier: str | None = None) -> TokenPair:
        """Exchange a code once for a new grant's first token pair.

        A code issued with a ``code_challenge`` needs the matching ``code_verifier`` (RFC 7636 §4.6).
        """
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.used or found.client_id != client_id or found.redirect_uri != redirect_uri:
                raise InvalidGrant("unknown, used or mismatched authorization code")
            if self._clock.now() >= found.expires_at:
                raise InvalidGrant("authorization code expired")
            if found.code_challenge is not None and (
                not code_verifier or not hmac.compare_digest(pkce_challenge(code_verifier), found.code_challenge)
            ):
                raise InvalidGrant("code_verifier does not match the code_challenge")
            found.used = True
            now = self._clock.now()
            grant = Grant(secrets.token_hex(8), client_id, found.subject, found.scopes, now, now + self.hard_ttl)
            grant.pkce = found.code_challenge is not None
            return self._mint(grant)

    def refresh(self, client_id: str, refresh_token: str) -> TokenPair:
        """Rotate: a new pair for a live refresh token, the presented one now superseded."""
        with self._lock:
            now = self._clock.now()
            found = self._refresh.get(refresh_token)
            if found is None or found.grant.revoked or found.grant.client_id != client_id:
                raise InvalidGrant("unknown or revoked refresh token")
            if now >= found.expires_at or now >= found.grant.hard_expires_at:
                raise InvalidGrant("refresh token expired")
            if found.superseded_at is not None and now >= found.superseded_at + self.rotation_grace:
                raise InvalidGrant("refresh token superseded")
            if found.superseded_at is None:
                found.superseded_at = now
            return self._mint(found.grant)

    def _mint(self, grant: Grant) -> TokenPair:
        now = self._clock.now()
        access, refresh = self._new_token("access"), self._new_token("refresh")
        if self._new_access is not None:
            access = self._new_access(grant, now, now + self.access_ttl)
        refresh_expires = min(now + self.refresh_ttl, grant.hard_expires_at)
        self._access[access] = (grant, now + self.access_ttl)
        self._refresh[refresh] = _Refresh(grant, refresh_expires)
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=int(self.access_ttl.total_seconds()),
            refresh_expires_in=int((refresh_expires - now).total_seconds()),
            hard_expires_in=int((grant.hard_expires_at - now).total_seconds()),
            grant=grant,
        )

    def authenticate(self, access_token: str) -> Grant | None:
        """The live grant behind an access token, or None when unknown, expired or revoked."""
        with self._lock:
            found = self._access.get(access_token)
            if found is None:
                return None
            grant, expires_at = found
            if grant.revoked or self._clock.now() >= expires_at:
                return None
            return grant

    def grant_of(self, token: str) -> Grant | None:
        """The grant behind an access or refresh token (live or not), or None when unknown."""
        with self._lock:
            if token in self._access:
                return self._access[token][0]
            found = self._refresh.get(token)
            return found.grant if found is not None else None

    def revoke(self, token: str) -> bool:
        """Revoke the whole grant behind an access or refresh token; False when the token is unknown."""
        with self._lock:
            grant = self._access[token][0] if token in self._access else None
            if grant is None and token in self._refresh:
                grant = self._refresh[token].grant
            if grant is None:
                return False
            grant.revoked = True
            return True

    def expire_access_tokens(self) -> int:
        """Make every access token expired now (tests of refresh-on-401); returns how many."""
        with self._lock:
            now = self._clock.now()
            self._access = {token: (grant, min(exp, now)) for token, (grant, exp) in self._access.items()}
            return len(self._access)


@dataclass
class InjectedFault:
    """A canned response for the next ``remaining`` calls whose path matches ``pattern``."""

    pattern: str
    status: int
    body: bytes
    content_type: str
    remaining: int
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether a call is hit: glob (``*/query``) or plain prefix, and the method if one was given."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatchcase(path, self.pattern) or path.startswith(self.pattern)


class FaultInjector:
    """One-off faults: ``add`` arms one, ``take`` consumes it on a matching call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[InjectedFault] = []

    def add(self, fault: InjectedFault) -> None:
        """Arm a fault; earlier ones win when several match."""
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> InjectedFault | None:
        """The fault that hits this call, if any, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    return fault
            self._faults = [f for f in self._faults if f.remaining > 0]
            return None

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._faults.clear()


class CallCounter:
    """How many calls each endpoint key got (a benchmark reads these)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def count(self, *keys: str) -> None:
        """Add one call to each key."""
        with self._lock:
            for key in keys:
                self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts, sorted by key."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()


class RateBudget:
    """At most ``per_minute`` calls per key in any sliding 60 s window of the sandbox clock."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.per_minute = per_minute
        self._calls: dict[str, deque[datetime]] = {}

    def take(self, key: str) -> bool:
        """Spend one call of ``key``'s budget; False (nothing spent) when the budget is used up."""
        with self._lock:
            now = self._clock.now()
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - timedelta(minutes=1):
                calls.popleft()
            if len(calls) >= self.per_minute:
                return False
            calls.append(now)
            return True

    def set_limit(self, per_minute: int) -> None:
        """Change the budget (the calls already made still count)."""
        with self._lock:
            self.per_minute = per_minute

    def reset(self) -> None:
        """Forget the calls made so far."""
        with self._lock:
            self._calls.clear()


class WindowBudget:
    """At most ``limit`` calls per key in any sliding ``window`` of the sandbox clock (a minute, a day).

    Unlike :class:`RateBudget` it tells how much is left (for ``X-…-Remaining`` headers) and when
    the next call will be allowed (for ``Retry-After``).
    """

    def __init__(self, clock: Clock, limit: int, window: timedelta) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.limit = limit
        self.window = window
        self._calls: dict[str, deque[datetime]] = {}

    def _live(self, key: str, now: datetime) -> deque[datetime]:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        return calls

    def take(self, key: str) -> bool:
        """Spend one call of ``key``'s budget; False (nothing spent) when it is used up."""
        with self._lock:
            now = self._clock.now()
            calls = self._live(key, now)
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True

    def remaining(self, key: str) -> int:
        """Calls ``key`` may still make in the current window."""
        with self._lock:
            return max(0, self.limit - len(self._live(key, self._clock.now())))

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may call again (0 when it may call now)."""
        with self._lock:
            now = self._clock.now()
            calls = self._live(key, now)
            if len(calls) < self.limit:
                return 0
            if self.limit <= 0 or not calls:
                return int(self.window.total_seconds())
            free_at = calls[len(calls) - self.limit] + self.window
            return max(1, int((free_at - now).total_seconds() + 0.999))

    def set_limit(self, limit: int) -> None:
        """Change the budget (the calls already made still count)."""
        with self._lock:
            self.limit = limit

    def reset(self) -> None:
        """Forget the calls made so far."""
        with self._lock:
            self._calls.clear()


class ConcurrencyGate:
    """At most ``limit`` calls in flight per key: :meth:`enter` before the work, :meth:`leave` after."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self._active: dict[str, int] = {}

    def enter(self, key: str) -> bool:
        """Take a slot; False (nothing taken) when ``limit`` calls of ``key`` are already in flight."""
        with self._lock:
            if self._active.get(key, 0) >= self.limit:
                return False
            self._active[key] = self._active.get(key, 0) + 1
            return True

    def leave(self, key: str) -> None:
        """Give a slot back."""
        with self._lock:
            self._active[key] = max(0, self._active.get(key, 0) - 1)

    def active(self, key: str) -> int:
        """Calls of ``key`` in flight now."""
        with self._lock:
            return self._active.get(key, 0)

    def set_limit(self, limit: int) -> None:
        """Change how many calls may run at once."""
        with self._lock:
            self.limit = limit


class IdempotencyCache(Generic[T]):
    """The first outcome stored under a request id; a repeat gets it back instead of a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, ...], T] = {}

    def run(self, key: tuple[str, ...], action: Callable[[], T]) -> T:
        """``action()`` the first time ``key`` is seen, the stored outcome every later time.

        Runs under the cache's lock, so two concurrent calls with one key run the action once.
        """
        with self._lock:
            if key not in self._seen:
                self._seen[key] = action()
            return self._seen[key]

    def clear(self) -> None:
        """Forget every stored outcome."""
        with self._lock:
            self._seen.clear()


@dataclass(frozen=True)
class Delivery:
    """The outcome of posting one webhook body."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the receiver acknowledged it with a 2xx."""
        return self.status is not None and 200 <= self.status < 300


def deliver(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 10.0) -> Delivery:
    """POST one body once and say what the receiver answered (no queue, no retry)."""
    try:
        response = requests.post(url, data=body, headers=dict(headers), timeout=timeout)
        return Delivery(url, body, headers, response.status_code)
    except requests.RequestException as exc:
        return Delivery(url, body, headers, None, f"{type(exc).__name__}: {exc}")


class WebhookOutbox:
    """Signed webhook bodies waiting to be posted, in order.

    Like the real senders, a failed delivery blocks the ones behind it: :meth:`flush` stops at the
    first failure and keeps it (and everything after it) for the next flush.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._pending: deque[tuple[str, bytes, dict[str, str]]] = deque()
        self.timeout = timeout
        self.delivered: deque[Delivery] = deque(maxlen=500)  # the latest outcomes, for inspection

    def enqueue(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Queue one body for ``url``."""
        with self._lock:
            self._pending.append((url, body, dict(headers)))

    def pending(self) -> int:
        """How many bodies wait."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> list[Delivery]:
        """Post what waits, in order, until one fails; the outcomes of this flush."""
        outcomes: list[Delivery] = []
        with self._lock:
            while self._pending:
                url, body, headers = self._pending[0]
                delivery = deliver(url, body, headers, self.timeout)
                outcomes.append(delivery)
                self.delivered.append(delivery)
                if not delivery.ok:
                    break
                self._pending.popleft()
        return outcomes

    def clear(self) -> None:
        """Drop what waits and the delivery history."""
        with self._lock:
            self._pending.clear()
            self.delivered.clear()


def to_json_value(value: Any) -> Any:
    """``json.dumps`` default for control-API results: Decimal, dates and dataclasses as JSON."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ControlAPI:
    """Test-only ``<prefix>/<name>`` endpoints that call registered Python functions.

    ``POST <prefix>/<name>`` with a JSON object calls ``fn(**object)``; ``GET`` calls it with the
    query arguments. The result is returned as JSON (``{"result": ...}``). Bad arguments are a
    400, an unknown name or a ``LookupError`` a 404, a ``ValueError`` a 400. When the API is not
    enabled, :meth:`handles` is False for every path, so the sandbox answers as the vendor would.
    """

    def __init__(self, prefix: str = "/_sandbox", enabled: bool = True) -> None:
        self.prefix = prefix.rstrip("/")
        self.enabled = enabled
        self._functions: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, function: Callable[..., Any]) -> None:
        """Expose ``function`` as ``<prefix>/<name>``."""
        self._functions[name] = function

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._functions)

    def handles(self, path: str) -> bool:
        """Whether ``path`` belongs to the control API (and the API is enabled)."""
        return self.enabled and (path == self.prefix or path.startswith(self.prefix + "/"))

    def dispatch(self, request: Request) -> Response:
        """Run the named function with the request's arguments and answer with its result."""
        name = request.path[len(self.prefix) :].strip("/")
        if not name:
            return _json_response({"functions": self.names()}, 200)
        function = self._functions.get(name)
        if function is None:
            return _json_response({"error": f"no control function {name!r}", "functions": self.names()}, 404)
        if request.method == "POST" and request.get_data():
            try:
                arguments = json.loads(request.get_data())
            except ValueError as exc:
                return _json_response({"error": f"body is not JSON: {exc}"}, 400)
            if not isinstance(arguments, dict):
                return _json_response({"error": "body must be a JSON object"}, 400)
        else:
            arguments = dict(request.args.items())
        try:
            result = function(**arguments)
        except TypeError as exc:
            return _json_response({"error": f"bad arguments for {name}: {exc}"}, 400)
        except LookupError as exc:
            return _json_response({"error": str(exc)}, 404)
        except ValueError as exc:
            return _json_response({"error": str(exc)}, 400)
        except Exception as exc:  # a test helper: say what broke instead of dropping the connection
            return _json_response({"error": f"{type(exc).__name__}: {exc}"}, 500)
        return _json_response({"result": result}, 200)


def _json_response(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload, default=to_json_value), status=status, mimetype="application/json")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Access lines are left out (tests and the demo would drown in them)."""


def serve_in_thread(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False
) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` on ``host:port`` (0 = a free port) from a daemon thread.

    Returns the base URL (``http://127.0.0.1:PORT``, no trailing slash) and a ``stop()`` that shuts
    the server down and waits for the thread. The socket is listening before this returns.
    """
    handler = WSGIRequestHandler if log_requests else _QuietHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    bound_host, bound_port = server.socket.getsockname()[:2]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sandbox:{bound_port}", daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return f"http://{bound_host}:{bound_port}", stop


class ServedInThread:
    """Mixin for a sandbox WSGI app: ``serve()`` on loopback in a thread, ``stop()``, and use as a
    context manager. ``_served()`` runs once the base URL is known (a sandbox may need it)."""

    base_url: str | None = None
    _stop: Callable[[], None] | None = None

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` in a background thread; returns (and remembers) the base URL."""
        self.base_url, self._stop = serve_in_thread(cast(WSGIApp, self), host, port)
        self._served()
        return self.base_url

    def _served(self) -> None:
        """Hook: called right after serving starts."""

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._stop is not None:
            self._stop()
            self._stop = None

    def __enter__(self) -> Self:
        self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_key_lock = threading.Lock()
_private_key: rsa.RSAPrivateKey | None = None


def rsa_signing_key() -> rsa.RSAPrivateKey:
    """The process's RS256 key for the sandboxes' tokens (generated once; published in their JWKS)."""
    global _private_key
    with _key_lock:
        if _private_key is None:
            _private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _private_key
