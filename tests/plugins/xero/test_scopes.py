"""Which scopes the Xero consent asks for: ``ARCADENCE_XERO_SCOPES`` = granular (the default: Xero
apps created on or after 2026-03-02 cannot ask for the broad ones, notes/xero.md §0.9) or broad
(older apps, until they migrate by September 2027)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connector.clock import FixedClock
from connector.errors import ConfigError
from connector.platform import PlatformConfig
from connector.ratelimit import RateLimiter
from connector.runtime import platform_configs
from plugins.xero.platform import XeroPlatform
from plugins.xero.sandbox import XeroSandbox

REDIRECT = "http://127.0.0.1:9/connect/xero/callback"
CLIENT = {"ARCADENCE_XERO_CLIENT_ID": "id", "ARCADENCE_XERO_CLIENT_SECRET": "secret"}


def _platform(sandbox: XeroSandbox, clock: FixedClock, scopes: str) -> XeroPlatform:
    config = PlatformConfig(
        client_id=sandbox.client_id, client_secret=sandbox.client_secret, redirect_uri=REDIRECT,
        identity_url=sandbox.identity_url, api_base=sandbox.api_base, scopes=scopes,
    )  # fmt: skip
    limiter = RateLimiter(per_minute=55, burst=5, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s)))
    return XeroPlatform(config, clock=clock, limiter=limiter)


def _asked(platform: XeroPlatform, verifier: str = "v" * 43) -> set[str]:
    url = platform.authorize_url(redirect_uri=REDIRECT, state="s", code_verifier=verifier, sign_in=False)
    return set(parse_qs(urlsplit(url).query)["scope"][0].split())


GRANULAR = {"accounting.invoices", "accounting.payments.read"}
BROAD = {"accounting.transactions"}


@pytest.mark.parametrize(
    ("setting", "wanted", "unwanted"),
    [
        pytest.param("", GRANULAR, BROAD, id="default"),
        pytest.param("granular", GRANULAR, BROAD, id="granular"),
        pytest.param("Broad", BROAD, GRANULAR, id="broad"),
    ],
)
def test_the_setting_chooses_the_scope_set(
    xero_sandbox: XeroSandbox, xero_clock: FixedClock, setting: str, wanted: set[str], unwanted: set[str]
) -> None:
    asked = _asked(_platform(xero_sandbox, xero_clock, setting))
    common = {"offline_access", "accounting.contacts.read", "accounting.settings.read"}
    assert wanted | common <= asked and not unwanted & asked


def test_the_granular_consent_is_granted_and_works(xero_sandbox: XeroSandbox, xero_clock: FixedClock) -> None:
    platform = _platform(xero_sandbox, xero_clock, "granular")
    verifier = secrets.token_urlsafe(48)
    url = platform.authorize_url(redirect_uri=REDIRECT, state="s", code_verifier=verifier, sign_in=False)
    answer = requests.get(url + "&auto=1", allow_redirects=False, timeout=10)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    grant = platform.exchange_code(
        code=params["code"], redirect_uri=REDIRECT, code_verifier=verifier, callback_params=params, sign_in=False,
        now=datetime.now(UTC),
    )  # fmt: skip
    assert set(grant.tokens.scopes.split()) == _asked(platform)
    assert [o.external_id for o in grant.organisations] == xero_sandbox.tenant_ids


@pytest.mark.parametrize("value", ["everything", "accounting.transactions", "granular broad"])
def test_an_unknown_scope_set_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^ARCADENCE_XERO_SCOPES: xero offers granular or broad, not "):
        platform_configs({**CLIENT, "ARCADENCE_XERO_SCOPES": value}, "http://127.0.0.1:5000")


def test_the_setting_reaches_the_platform(xero_sandbox: XeroSandbox, xero_clock: FixedClock) -> None:
    config = platform_configs({**CLIENT, "ARCADENCE_XERO_SCOPES": " BROAD "}, "http://127.0.0.1:5000")["xero"]
    assert config.scopes == "broad"
    assert platform_configs(CLIENT, "http://127.0.0.1:5000")["xero"].scopes == ""
    built = _platform(xero_sandbox, xero_clock, config.scopes)
    assert "accounting.transactions" in _asked(built)
    with pytest.raises(ConfigError, match="ARCADENCE_XERO_SCOPES"):
        XeroPlatform(replace(built.config, scopes="all"), clock=xero_clock, limiter=built._limiter)


def test_a_platform_without_scope_sets_refuses_the_setting() -> None:
    env = {"ARCADENCE_QUICKBOOKS_CLIENT_ID": "id", "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": "s",
           "ARCADENCE_QUICKBOOKS_SCOPES": "granular"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"^ARCADENCE_QUICKBOOKS_SCOPES: quickbooks offers nothing"):
        platform_configs(env, "http://127.0.0.1:5000")
