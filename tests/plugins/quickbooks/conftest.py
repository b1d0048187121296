"""Fixtures for anything that talks to the QuickBooks sandbox over real HTTP on loopback.

``qbo_sandbox`` (stable, shared with the contract suite and the client tests):
    a running :class:`plugins.quickbooks.sandbox.QuickBooksSandbox` seeded with the sample company,
    on a free 127.0.0.1 port, on the clock ``qbo_clock`` (a FixedClock at 2026-03-10 08:30 UTC).
    Attributes: ``base_url``, ``discovery_url``, ``api_url_v3``, ``client_id``, ``client_secret``,
    ``webhook_verifier``, ``realm_id``; control methods such as ``apply_payment``,
    ``advance_clock``, ``expire_access_tokens``, ``set_rate_limit``, ``inject_fault``,
    ``configure_webhooks``/``flush_webhooks``, ``call_counts``, ``record``/``records``, ``reset``.
``qbo_authorize``/``qbo_exchange``: the two steps of the code flow as callables (no browser).
``qbo_tokens``: a completed authorization-code grant (``access_token``, ``refresh_token``, …) for it.
``qbo_api``: a ``requests.Session`` with the bearer token and ``Accept: application/json`` set.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from connector.clock import FixedClock
from plugins.quickbooks.sandbox import QuickBooksSandbox

SANDBOX_NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPES = "com.intuit.quickbooks.accounting openid email profile"


@pytest.fixture
def qbo_clock() -> FixedClock:
    """The sandbox's clock; advance it (or call ``qbo_sandbox.advance_clock``) to move time."""
    return FixedClock(SANDBOX_NOW)


@pytest.fixture
def qbo_sandbox(qbo_clock: FixedClock) -> Iterator[QuickBooksSandbox]:
    """A running sandbox with the sample company (see the module docstring)."""
    sandbox = QuickBooksSandbox(clock=qbo_clock)
    sandbox.serve()
    yield sandbox
    sandbox.stop()


def _authorize(sandbox: QuickBooksSandbox, scopes: str = SCOPES, state: str = "state-1") -> dict[str, str]:
    """Run the consent step without a browser; the redirect's query parameters."""
    params = {"client_id": sandbox.client_id, "response_type": "code", "scope": scopes}
    params.update(redirect_uri=REDIRECT_URI, state=state, auto="1")
    response = requests.get(f"{sandbox.base_url}/connect/oauth2", params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return {key: values[0] for key, values in parse_qs(urlparse(response.headers["Location"]).query).items()}


def _exchange(sandbox: QuickBooksSandbox, code: str, **headers: str) -> requests.Response:
    """POST the authorization code to the token endpoint with HTTP Basic client auth."""
    return requests.post(
        f"{sandbox.base_url}/oauth2/v1/tokens/bearer",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers=headers,
        timeout=10,
    )


@pytest.fixture
def qbo_authorize() -> Any:
    """``qbo_authorize(sandbox, scopes=…, state=…)``: the consent redirect's query parameters."""
    return _authorize


@pytest.fixture
def qbo_exchange() -> Any:
    """``qbo_exchange(sandbox, code, **headers)``: the token endpoint's response to a code."""
    return _exchange


@pytest.fixture
def qbo_tokens(qbo_sandbox: QuickBooksSandbox) -> dict[str, Any]:
    """A fresh grant for the sandbox's realm: the token endpoint's JSON."""
    response = _exchange(qbo_sandbox, _authorize(qbo_sandbox)["code"])
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


@pytest.fixture
def qbo_api(qbo_tokens: dict[str, Any]) -> Iterator[requests.Session]:
    """A session that sends the bearer token and asks for JSON."""
    with requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {qbo_tokens['access_token']}", "Accept": "application/json"})
        yield session
