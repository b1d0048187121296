"""The Xero sandbox's per-tenant limits over HTTP: headers on every answer, minute and day 429s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests

from connector.clock import FixedClock
from plugins.xero.sandbox import XeroSandbox


def _get(api: requests.Session, sandbox: XeroSandbox, tenant: int = 0) -> requests.Response:
    headers = {"xero-tenant-id": sandbox.tenant_ids[tenant]}
    return api.get(f"{sandbox.api_base}/Organisation", headers=headers, timeout=10)


def test_every_answer_carries_the_remaining_budgets(xero_sandbox: XeroSandbox, xero_api: requests.Session) -> None:
    first, second = _get(xero_api, xero_sandbox), _get(xero_api, xero_sandbox)
    assert (first.headers["X-MinLimit-Remaining"], second.headers["X-MinLimit-Remaining"]) == ("59", "58")
    assert (first.headers["X-DayLimit-Remaining"], second.headers["X-DayLimit-Remaining"]) == ("4999", "4998")
    assert second.headers["X-AppMinLimit-Remaining"] == "9998"
    missing = xero_api.get(f"{xero_sandbox.api_base}/Invoices/nope", timeout=10)
    assert missing.status_code == 404 and missing.headers["X-MinLimit-Remaining"] == "57"


def test_the_minute_limit_is_per_tenant_and_clears_after_a_minute(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_clock: FixedClock
) -> None:
    xero_sandbox.set_rate_limits(per_minute=2)
    assert [_get(xero_api, xero_sandbox).status_code for _ in range(2)] == [200, 200]
    xero_clock.advance(timedelta(seconds=20))
    refused = _get(xero_api, xero_sandbox)
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute" and refused.headers["Retry-After"] == "40"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    assert _get(xero_api, xero_sandbox, tenant=1).status_code == 200  # the other organisation goes on
    xero_clock.advance(timedelta(seconds=40))
    assert _get(xero_api, xero_sandbox).status_code == 200
    assert xero_sandbox.call_details()["throttled:minute"] == 1


def test_the_day_limit_says_day_and_retry_after_is_hours(
    xero_sandbox: XeroSandbox, xero_api: requests.Session, xero_clock: FixedClock, xero_tokens: dict[str, Any]
) -> None:
    xero_sandbox.set_rate_limits(per_day=3)
    for _ in range(3):
        assert _get(xero_api, xero_sandbox).status_code == 200
        xero_clock.advance(timedelta(minutes=1))
    refused = _get(xero_api, xero_sandbox)
    assert refused.status_code == 429 and refused.headers["X-Rate-Limit-Problem"] == "day"
    assert 80000 < int(refused.headers["Retry-After"]) <= 86400 - 180
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert xero_sandbox.rate_limit_status()["day_remaining"] == 0
    xero_clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    data = {"grant_type": "refresh_token", "refresh_token": xero_tokens["refresh_token"]}
    auth = (xero_sandbox.client_id, xero_sandbox.client_secret)
    fresh = requests.post(xero_sandbox.token_url, auth=auth, data=data, timeout=10).json()
    xero_api.headers["Authorization"] = f"Bearer {fresh['access_token']}"  # a day later the access token is long gone
    assert _get(xero_api, xero_sandbox).status_code == 200


def test_the_concurrency_limit_and_an_injected_429(xero_sandbox: XeroSandbox, xero_api: requests.Session) -> None:
    xero_sandbox.set_rate_limits(concurrent=0)
    busy = _get(xero_api, xero_sandbox)
    assert busy.status_code == 429 and busy.headers["X-Rate-Limit-Problem"] == "concurrent"
    xero_sandbox.set_rate_limits(concurrent=5)
    xero_sandbox.inject_fault("*/Invoices", status=429, problem="day", retry_after=66975)
    injected = xero_api.get(f"{xero_sandbox.api_base}/Invoices", timeout=10)
    assert (injected.status_code, injected.headers["Retry-After"]) == (429, "66975")  # Codat's logged value, notes §3
    assert xero_api.get(f"{xero_sandbox.api_base}/Invoices", timeout=10).status_code == 200
