"""The HTTP transport both platform clients use: one place for timeouts, rate limiting, token
refresh on 401, and the translation of HTTP outcomes into :mod:`connector.errors`.

- Every call waits for the organisation's rate budget and holds a concurrent slot while in flight
  (:class:`connector.ratelimit.RateLimiter`, shared across workers on PostgreSQL).
- Every call has a connect and a read timeout (the SDKs set none: notes/quickbooks.md §1.9.4).
- 401: the tokens are refreshed once through the :class:`connector.platform.TokenSource`
  (serialised per connection) and the call is repeated; a second 401 is ``AuthRevoked``.
- 429, or a throttling body on another status (QBO's XML ``ThrottleExceeded``): the key is parked
  for ``Retry-After`` (or a default), in every worker, and ``RateLimited`` is raised.
- 5xx, timeouts, resets: ``TemporaryFailure``. Other statuses are returned for the client to read.
- The platform's trace id (``intuit_tid``, ``Xero-Correlation-Id``) is logged; tokens never are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from connector.clock import Clock
from connector.errors import AuthRevoked, RateLimited, TemporaryFailure
from connector.platform import TokenSource
from connector.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """How one platform's HTTP is treated.

    Attributes:
        platform: name used in log lines and errors.
        trace_header: response header holding the platform's request id, logged for support.
        throttle_markers: byte strings that mark a throttling body whatever the status.
        default_retry_after: seconds to park after a 429 that names no ``Retry-After``.
        connect_timeout: seconds to establish a connection.
        read_timeout: seconds to wait for a response (QBO times requests out at 120 s).
    """

    platform: str
    trace_header: str = ""
    throttle_markers: Sequence[bytes] = ()
    default_retry_after: float = 60.0
    connect_timeout: float = 5.0
    read_timeout: float = 60.0


class Transport:
    """Authorised, rate-limited HTTP for one organisation.

    Args:
        key: the rate-limit key (``"quickbooks:<realm>"``).
        tokens: the grant's tokens (refreshed through the store on 401).
        limiter: the shared rate limiter.
        options: the platform's HTTP treatment.
        clock: for parsing HTTP-date ``Retry-After`` values.
        session: a ``requests.Session`` to reuse connections (one per client).
    """

    def __init__(
        self,
        *,
        key: str,
        tokens: TokenSource,
        limiter: RateLimiter,
        options: TransportOptions,
        clock: Clock,
        session: requests.Session | None = None,
    ) -> None:
        self.key = key
        self.tokens = tokens
        self._limiter = limiter
        self._options = options
        self._clock = clock
        self._session = session or requests.Session()
        self.calls = 0
        """How many HTTP requests went out (benchmarks report API-call counts)."""

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: str | bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one authorised request; see the module docstring for what each outcome becomes."""
        token = self.tokens.current()
        response = self._send(method, url, token.access_token, params=params, data=data, json=json, headers=headers)
        if response.status_code == 401:
            token = self.tokens.refreshed(token)
            response = self._send(method, url, token.access_token, params=params, data=data, json=json, headers=headers)
            if response.status_code == 401:
                raise AuthRevoked(f"{self._options.platform} rejected a freshly refreshed access token")
        self._raise_for_throttle_or_outage(response)
        return response

    def _send(
        self,
        method: str,
        url: str,
        access_token: str,
        *,
        params: Mapping[str, str] | None,
        data: str | bytes | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        merged = {"Accept": "application/json", **(headers or {}), "Authorization": f"Bearer {access_token}"}
        timeout = (self._options.connect_timeout, self._options.read_timeout)
        with self._limiter.slot(self.key):  # the concurrent slot is given back however the call ends
            self.calls += 1
            try:
                response = self._session.request(
                    method, url, params=params, data=data, json=json, headers=merged, timeout=timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TemporaryFailure(
                    f"{self._options.platform}: {type(exc).__name__} on {method} {_path(url)}"
                ) from None
        trace = response.headers.get(self._options.trace_header, "-") if self._options.trace_header else "-"
        log.info("%s %s %s -> %s (trace %s)", self._options.platform, method, _path(url), response.status_code, trace)
        return response

    def _raise_for_throttle_or_outage(self, response: requests.Response) -> None:
        throttled = response.status_code == 429 or (
            response.status_code >= 400 and any(marker in response.content for marker in self._options.throttle_markers)
        )
        if throttled:
            retry_after = self._retry_after(response)
            # Xero names the limit it hit (minute, day, an app-wide one: notes/xero.md §3); QBO names none.
            self._limiter.park(self.key, retry_after, response.headers.get("X-Rate-Limit-Problem"))
            raise RateLimited(
                f"{self._options.platform} throttled {self.key}: retry in {retry_after:.0f} s", retry_after=retry_after
            )
        if response.status_code >= 500:
            raise TemporaryFailure(f"{self._options.platform}: HTTP {response.status_code} on {_path(response.url)}")

    def _retry_after(self, response: requests.Response) -> float:
        raw = response.headers.get("Retry-After", "").strip()
        if raw.isdigit():
            return float(raw)
        if raw:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return self._options.default_retry_after
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - self._clock.now()).total_seconds())
        return self._options.default_retry_after


def _path(url: str) -> str:
    """The path of ``url`` only: query strings stay out of log lines."""
    return urlsplit(url).path or "/"
