"""The platform-neutral sandbox plumbing (connector/sandboxkit.py), on its own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connector.clock import FixedClock
from connector.sandboxkit import (
    ControlAPI,
    FaultInjector,
    IdempotencyCache,
    InjectedFault,
    InvalidGrant,
    RateBudget,
    SandboxClock,
    TokenAuthority,
    WebhookOutbox,
    serve_in_thread,
)

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


class RealLikeClock:
    """A clock without ``advance`` (like the system clock)."""

    def now(self) -> datetime:
        return NOW


def authority(clock: FixedClock) -> TokenAuthority:
    return TokenAuthority(
        clock,
        access_ttl=timedelta(hours=1),
        refresh_ttl=timedelta(days=100),
        rotation_grace=timedelta(hours=24),
        hard_ttl=timedelta(days=1825),
    )


def test_sandbox_clock_moves_a_shared_fixed_clock_and_offsets_one_that_cannot_move() -> None:
    shared = FixedClock(NOW)
    SandboxClock(shared).advance(timedelta(days=1))
    assert shared.now() == NOW + timedelta(days=1)
    own = SandboxClock(RealLikeClock())
    own.advance(timedelta(hours=2))
    assert own.now() == NOW + timedelta(hours=2)


def test_grace_runs_from_the_first_supersession_and_is_not_extended_by_reuse() -> None:
    clock = FixedClock(NOW)
    tokens = authority(clock)
    code = tokens.issue_code("app", "http://cb", "realm-1", ["accounting"])
    first = tokens.redeem_code(code, "app", "http://cb")
    tokens.refresh("app", first.refresh_token)
    clock.advance(timedelta(hours=20))
    tokens.refresh("app", first.refresh_token)  # reused within the grace: works, grace not restarted
    clock.advance(timedelta(hours=4))
    with pytest.raises(InvalidGrant):
        tokens.refresh("app", first.refresh_token)


def test_a_refresh_token_belongs_to_its_client_and_a_code_to_its_redirect() -> None:
    tokens = authority(FixedClock(NOW))
    code = tokens.issue_code("app", "http://cb", "realm-1", [])
    with pytest.raises(InvalidGrant):
        tokens.redeem_code(code, "app", "http://elsewhere")
    pair = tokens.redeem_code(code, "app", "http://cb")
    with pytest.raises(InvalidGrant):
        tokens.refresh("another-app", pair.refresh_token)


def test_access_tokens_expire_and_revocation_ends_the_grant() -> None:
    clock = FixedClock(NOW)
    tokens = authority(clock)
    pair = tokens.redeem_code(tokens.issue_code("app", "http://cb", "realm-1", []), "app", "http://cb")
    assert tokens.authenticate(pair.access_token) is pair.grant
    clock.advance(timedelta(hours=1))
    assert tokens.authenticate(pair.access_token) is None
    assert tokens.revoke(pair.refresh_token) and not tokens.revoke("unknown")
    with pytest.raises(InvalidGrant):
        tokens.refresh("app", pair.refresh_token)


def test_rate_budget_is_a_sliding_minute_on_the_clock() -> None:
    clock = FixedClock(NOW)
    budget = RateBudget(clock, per_minute=2)
    assert [budget.take("r"), budget.take("r"), budget.take("r"), budget.take("other")] == [True, True, False, True]
    clock.advance(timedelta(seconds=60))
    assert budget.take("r")


def test_faults_match_by_glob_prefix_and_method_and_run_out() -> None:
    faults = FaultInjector()
    faults.add(InjectedFault("*/query", 500, b"", "text/plain", remaining=1))
    faults.add(InjectedFault("/v3/", 503, b"", "text/plain", remaining=1, method="POST"))
    assert faults.take("GET", "/v3/company/1/query").status == 500  # type: ignore[union-attr]
    assert faults.take("GET", "/v3/company/1/query") is None
    assert faults.take("GET", "/v3/company/1/cdc") is None
    assert faults.take("POST", "/v3/company/1/batch").status == 503  # type: ignore[union-attr]


def test_idempotency_runs_the_action_once_even_when_raced() -> None:
    cache: IdempotencyCache[int] = IdempotencyCache()
    runs: list[int] = []

    def action() -> int:
        runs.append(1)
        return len(runs)

    threads = [threading.Thread(target=cache.run, args=(("realm", "rq"), action)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [1] and cache.run(("realm", "rq"), action) == 1


def test_webhook_outbox_keeps_a_failed_body_first_in_line() -> None:
    statuses = iter([500, 200, 200])
    got: list[bytes] = []

    def receiver(environ: dict[str, object], start_response: object) -> object:
        got.append(Request(environ).get_data())
        return Response(b"", status=next(statuses))(environ, start_response)  # type: ignore[arg-type]

    url, stop = serve_in_thread(receiver)  # type: ignore[arg-type]
    try:
        outbox = WebhookOutbox()
        outbox.enqueue(url, b"one", {})
        outbox.enqueue(url, b"two", {})
        assert [d.status for d in outbox.flush()] == [500] and outbox.pending() == 2
        assert [d.ok for d in outbox.flush()] == [True, True] and got == [b"one", b"one", b"two"]
    finally:
        stop()


def test_control_api_dispatches_and_can_be_switched_off() -> None:
    control = ControlAPI()
    control.register("add", lambda a, b=1: int(a) + int(b))
    url, stop = serve_in_thread(lambda environ, start: control.dispatch(Request(environ))(environ, start))
    try:
        assert requests.post(f"{url}/_sandbox/add", json={"a": 2, "b": 3}, timeout=10).json() == {"result": 5}
        assert requests.get(f"{url}/_sandbox/add?a=4", timeout=10).json() == {"result": 5}
        assert requests.post(f"{url}/_sandbox/add", json={"c": 1}, timeout=10).status_code == 400
        assert requests.post(f"{url}/_sandbox/nope", timeout=10).status_code == 404
    finally:
        stop()
    assert not ControlAPI(enabled=False).handles("/_sandbox/add")
