"""The shared HTTP transport: outcomes become the error tree; 401 refreshes once; no token is logged.

Single faults are injected with ``responses`` (the real platforms are exercised through their
sandboxes elsewhere).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses

from connector.clock import FixedClock
from connector.errors import AuthRevoked, RateLimited, TemporaryFailure
from connector.ratelimit import RateLimiter
from connector.tokens import TokenSet
from connector.transport import Transport, TransportOptions

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
URL = "https://api.example.test/v3/company/4620816365/query"
QBO = TransportOptions(platform="quickbooks", trace_header="intuit_tid", throttle_markers=(b"ThrottleExceeded",))
THROTTLE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse><Fault type="SERVICE">'
    b'<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>'
    b"<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
)


class FakeTokens:
    def __init__(self) -> None:
        self.tokens = TokenSet("access-1-secret", "refresh-1-secret", NOW + timedelta(hours=1))
        self.refreshes = 0

    def current(self) -> TokenSet:
        return self.tokens

    def refreshed(self, stale: TokenSet) -> TokenSet:
        self.refreshes += 1
        self.tokens = TokenSet(f"access-{self.refreshes + 1}-secret", "refresh-2-secret", NOW + timedelta(hours=1))
        return self.tokens


def _transport(tokens: FakeTokens | None = None) -> tuple[Transport, RateLimiter, FakeTokens]:
    clock = FixedClock(NOW)
    limiter = RateLimiter(per_minute=500, burst=10, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s)))
    tokens = tokens or FakeTokens()
    return (
        Transport(key="quickbooks:4620816365", tokens=tokens, limiter=limiter, options=QBO, clock=clock),
        limiter,
        tokens,
    )


@responses.activate
def test_an_expired_token_is_refreshed_once_and_the_call_repeated() -> None:
    responses.post(URL, status=401, json={"fault": {"error": [{"code": "3200"}]}})
    responses.post(URL, status=200, json={"QueryResponse": {}})
    transport, _, tokens = _transport()
    assert transport.request("POST", URL, data="SELECT * FROM Invoice").status_code == 200
    assert tokens.refreshes == 1
    assert [c.request.headers["Authorization"] for c in responses.calls] == [
        "Bearer access-1-secret", "Bearer access-2-secret"
    ]  # fmt: skip
    assert transport.calls == 2


@responses.activate
def test_a_second_401_means_the_grant_is_revoked() -> None:
    responses.post(URL, status=401)
    responses.post(URL, status=401)
    transport, _, tokens = _transport()
    with pytest.raises(AuthRevoked):
        transport.request("POST", URL)
    assert tokens.refreshes == 1


@pytest.mark.parametrize(
    ("status", "headers", "body", "retry_after"),
    [
        pytest.param(429, {"Retry-After": "7"}, b"", 7.0, id="429-with-retry-after"),
        pytest.param(429, {}, THROTTLE_XML, 60.0, id="429-xml-throttle-default-60"),
        pytest.param(403, {}, THROTTLE_XML, 60.0, id="pre-2016-403-throttle"),
        pytest.param(429, {"Retry-After": "Tue, 10 Mar 2026 08:02:00 GMT"}, b"", 120.0, id="http-date"),
    ],
)
@responses.activate
def test_throttling_parks_the_organisation_and_raises_rate_limited(
    status: int, headers: dict[str, str], body: bytes, retry_after: float
) -> None:
    responses.post(URL, status=status, headers=headers, body=body)
    transport, limiter, _ = _transport()
    with pytest.raises(RateLimited) as caught:
        transport.request("POST", URL)
    assert caught.value.retry_after == pytest.approx(retry_after)
    assert limiter.parked_until(transport.key) == NOW + timedelta(seconds=retry_after)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="500"),
        pytest.param({"status": 503, "body": "<html>Service Unavailable</html>"}, id="503-html"),
        pytest.param({"body": requests.ConnectionError("connection reset by peer")}, id="reset"),
        pytest.param({"body": requests.ReadTimeout("read timed out")}, id="timeout"),
    ],
)
@responses.activate
def test_outages_are_temporary_failures(fault: dict[str, object]) -> None:
    responses.post(URL, **fault)  # type: ignore[arg-type]
    transport, _, _ = _transport()
    with pytest.raises(TemporaryFailure) as caught:
        transport.request("POST", URL)
    assert caught.value.permanent is False


@responses.activate
def test_a_validation_fault_is_returned_for_the_client_to_read() -> None:
    responses.post(URL, status=400, json={"Fault": {"Error": [{"code": "4000"}], "type": "ValidationFault"}})
    transport, _, _ = _transport()
    assert transport.request("POST", URL).status_code == 400


@responses.activate
def test_every_call_has_a_timeout() -> None:
    responses.post(URL, json={})
    transport, _, _ = _transport()
    sent: list[object] = []
    original = transport._session.request

    def spy(*args: object, **kwargs: object) -> requests.Response:
        sent.append(kwargs.get("timeout"))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    transport._session.request = spy  # type: ignore[method-assign]
    transport.request("POST", URL)
    assert sent == [(5.0, 60.0)]


@responses.activate
def test_log_lines_carry_the_trace_id_and_no_token_or_query(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(URL, status=401)
    responses.post(URL, json={}, headers={"intuit_tid": "1-5f2c-abc"})
    transport, _, _ = _transport()
    transport.request("POST", URL, params={"query": "SELECT * FROM Customer"})
    assert "trace 1-5f2c-abc" in caplog.text
    assert "secret" not in caplog.text and "SELECT" not in caplog.text
