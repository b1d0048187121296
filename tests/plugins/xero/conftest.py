"""Fixtures for anything that talks to the Xero sandbox over real HTTP on loopback.

``xero_sandbox`` (stable, shared with the contract suite, the client and the mapping tests):
    a running :class:`plugins.xero.sandbox.XeroSandbox` with the two sample organisations, on a free
    127.0.0.1 port, on the clock ``xero_clock`` (a FixedClock at 2026-03-10 08:30 UTC).
    Attributes: ``base_url``; ``identity_url`` (token/revocation/discovery live under it:
    ``/connect/token``, ``/connect/revocation``, ``/.well-known/openid-configuration``);
    ``authorize_url``, ``token_url``, ``connections_url``; ``api_base`` (``…/api.xro/2.0``);
    ``client_id``, ``client_secret``, ``webhook_key``; ``tenant_ids`` (main organisation first).
    Control methods such as ``apply_payment``, ``advance_clock``, ``expire_access_tokens``,
    ``set_rate_limits``, ``inject_fault``, ``configure_webhooks``/``flush_webhooks``,
    ``intent_to_receive``, ``call_counts``, ``record``/``records``, ``reset`` (README "Control API").
``xero_authorize``/``xero_exchange``: the two steps of the code flow as callables (no browser).
``xero_tokens``: a completed PKCE grant over both organisations (the token endpoint's JSON).
``xero_api``: a ``requests.Session`` with the bearer token, ``Accept: application/json`` and the
    main organisation's ``xero-tenant-id``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from connector.clock import FixedClock
from connector.sandboxkit import pkce_challenge
from plugins.xero.sandbox import XeroSandbox

SANDBOX_NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
REDIRECT_URI = "http://127.0.0.1:9/callback"
SCOPES = "offline_access openid email profile accounting.contacts.read accounting.invoices accounting.payments.read"


@pytest.fixture
def xero_clock() -> FixedClock:
    """The sandbox's clock; advance it (or call ``xero_sandbox.advance_clock``) to move time."""
    return FixedClock(SANDBOX_NOW)


@pytest.fixture
def xero_sandbox(xero_clock: FixedClock) -> Iterator[XeroSandbox]:
    """A running sandbox with the sample organisations (see the module docstring)."""
    sandbox = XeroSandbox(clock=xero_clock)
    sandbox.serve()
    yield sandbox
    sandbox.stop()


def _authorize(
    sandbox: XeroSandbox, scopes: str = SCOPES, state: str = "state-1", verifier: str | None = None, **extra: str
) -> dict[str, str]:
    """Run the consent step without a browser (``auto=1``); the redirect's query parameters.

    With ``verifier`` the request carries its S256 ``code_challenge``.
    """
    params = {"client_id": sandbox.client_id, "response_type": "code", "scope": scopes}
    params.update(redirect_uri=REDIRECT_URI, state=state, auto="1", **extra)
    if verifier is not None:
        params.update(code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
    response = requests.get(sandbox.authorize_url, params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return {key: values[0] for key, values in parse_qs(urlparse(response.headers["Location"]).query).items()}


def _exchange(
    sandbox: XeroSandbox, code: str, verifier: str | None = None, *, secret: bool = True
) -> requests.Response:
    """POST the code to the token endpoint: HTTP Basic client auth, or a PKCE public client."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    if secret:
        return requests.post(sandbox.token_url, auth=(sandbox.client_id, sandbox.client_secret), data=data, timeout=10)
    return requests.post(sandbox.token_url, data={**data, "client_id": sandbox.client_id}, timeout=10)


@pytest.fixture
def xero_authorize() -> Any:
    """``xero_authorize(sandbox, scopes=…, state=…, verifier=…)``: the consent redirect's parameters."""
    return _authorize


@pytest.fixture
def xero_exchange() -> Any:
    """``xero_exchange(sandbox, code, verifier=None, secret=True)``: the token endpoint's response."""
    return _exchange


@pytest.fixture
def xero_tokens(xero_sandbox: XeroSandbox) -> dict[str, Any]:
    """A fresh PKCE grant connecting both organisations: the token endpoint's JSON."""
    verifier = secrets.token_urlsafe(48)
    response = _exchange(xero_sandbox, _authorize(xero_sandbox, verifier=verifier)["code"], verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


@pytest.fixture
def xero_api(xero_sandbox: XeroSandbox, xero_tokens: dict[str, Any]) -> Iterator[requests.Session]:
    """A session that sends the bearer token, asks for JSON and names the main organisation."""
    with requests.Session() as session:
        session.headers.update(
            {
                "Authorization": f"Bearer {xero_tokens['access_token']}",
                "Accept": "application/json",
                "xero-tenant-id": xero_sandbox.tenant_ids[0],
            }
        )
        yield session
