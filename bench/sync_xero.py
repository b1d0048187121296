"""Xero sync benchmark: the first sync of 10,000 invoices / 2,000 contacts from the sandbox over real
HTTP on loopback into SQLite, then an idle incremental sync.

The sandbox keeps Xero's real limits per tenant (60 calls a minute, 5,000 a day, notes/xero.md
§0.3); the app and the sandbox share one fixed clock, so the rate limiter's waits move the clock,
not the wall clock. When the day's budget runs out (a 429 with ``X-Rate-Limit-Problem: day``) the
sync is parked as the scheduler would park it, the clock moves to ``Retry-After`` and the sync
goes on: the report says how many days the first sync needs.

Reports API calls per kind (list pages: goal ceil(N / 1000) per entity; OnlineInvoice: none, a pay
link is fetched at an invoice's first reminder, issue 7), the sync's wall time against the time to
merely fetch the same list pages, to merely parse their JSON and to merely map their records, peak
memory (tracemalloc during the sync; the process's peak RSS), and the calls left in the tenant's daily budget as Xero's
``X-DayLimit-Remaining`` header said after each step.
"""

from __future__ import annotations

import math
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

CONTACTS, INVOICES = 2000, 10_000
NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
REDIRECT_URI = "http://127.0.0.1:9/cb"
ENTITIES = ("Contacts", "Invoices", "Payments", "CreditNotes", "Overpayments", "Prepayments")


def connect_xero(sandbox: Any, tmp: Path, clock: Any) -> tuple[Any, int]:
    """A runtime on ``tmp``/bench.sqlite3 and the id of the main sample organisation, connected to
    ``sandbox`` through the real PKCE code flow (no browser: the sandbox consents on its own)."""
    from cryptography.fernet import Fernet

    from connector.config import Settings
    from connector.connect import resolve_user, store_grant
    from connector.db.session import upgrade
    from connector.platform import PlatformConfig
    from connector.runtime import build_runtime

    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    settings = Settings(
        "test", tmp, url, (Fernet.generate_key(),), "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:9"
    )
    config = PlatformConfig(
        sandbox.client_id, sandbox.client_secret, REDIRECT_URI, sandbox.identity_url, sandbox.api_base
    )
    runtime = build_runtime(
        settings, configs={"xero": config}, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s))
    )
    platform = runtime.platform("xero")
    verifier = "v" * 64
    consent = requests.get(
        platform.authorize_url(redirect_uri=REDIRECT_URI, state="s", code_verifier=verifier, sign_in=True),
        allow_redirects=False,
        timeout=10,
    )
    params = dict(p.split("=", 1) for p in consent.headers["Location"].split("?", 1)[1].split("&"))
    grant = platform.exchange_code(
        code=params["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        callback_params=params,
        sign_in=True,
        now=clock.now(),
    )
    with runtime.sessions.begin() as session:
        user = resolve_user(session, None, grant, clock.now())
        organisations = store_grant(session, runtime.cipher, platform="xero", grant=grant, user=user, now=clock.now())
        org_id = next(o.id for o in organisations if o.external_id == sandbox.tenant_ids[0])
    return runtime, org_id


def sync_until_done(runtime: Any, org_id: int, clock: Any, platform: Any, access: Any) -> list[dict[str, Any]]:
    """Run the sync; on a daily-limit 429 wait (on the clock) until ``Retry-After`` and go on, as
    the scheduler does with a parked tenant. One entry per day: calls, wall seconds, budget left."""
    from connector.errors import RateLimited
    from connector.sync import sync_organisation

    tenant = access.external_id
    days: list[dict[str, Any]] = []
    while True:
        calls, started = platform.calls, time.perf_counter()
        try:
            sync_organisation(runtime.sessions, org_id, platform, access, clock)
        except RateLimited as exc:
            days.append(_day(platform, tenant, calls, started, parked_s=exc.retry_after))
            if len(days) > 5:
                raise
            clock.advance(timedelta(seconds=exc.retry_after + 1))
            continue
        days.append(_day(platform, tenant, calls, started, parked_s=None))
        return days


def _day(platform: Any, tenant: str, calls: int, started: float, parked_s: float | None) -> dict[str, Any]:
    return {
        "calls": platform.calls - calls,
        "wall_s": time.perf_counter() - started,
        "left": platform.day_limit_remaining.get(tenant),
        "parked_s": parked_s,
    }


def main() -> None:
    from connector.clock import FixedClock
    from connector.db import Invoice, Organisation
    from plugins.xero.sandbox import XeroSandbox

    clock = FixedClock(NOW)
    sandbox = XeroSandbox(clock=clock, contacts=CONTACTS, invoices=INVOICES, auto_consent=True)
    sandbox.serve()
    main_tenant = sandbox.tenant_ids[0]
    truth = {e: len(sandbox.records(e, tenant_id=main_tenant)) for e in ENTITIES}
    with tempfile.TemporaryDirectory() as tmp:
        runtime, org_id = connect_xero(sandbox, Path(tmp), clock)
        platform = runtime.platform("xero")
        with runtime.sessions() as session:
            access = runtime.access(session.get_one(Organisation, org_id))
        access.tokens.current()  # the token's own refresh is not part of the sync
        clock.advance(timedelta(days=1))  # a fresh daily budget: connecting cost a few calls
        sandbox.reset_call_counts()

        tracemalloc.start()
        started = time.perf_counter()
        days = sync_until_done(runtime, org_id, clock, platform, access)
        first_s = time.perf_counter() - started
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        first_calls = _counts(sandbox)
        with runtime.sessions() as session:
            stored = session.query(Invoice).filter(Invoice.organisation_id == org_id).count()
            linked = session.query(Invoice).filter(Invoice.organisation_id == org_id, Invoice.pay_url.is_not(None))
            pay_links = linked.count()

        clock.advance(timedelta(minutes=15))  # the budget keeps its memory: calls left are Xero's count
        idle = sync_until_done(runtime, org_id, clock, platform, access)
        idle_calls = {k: v - first_calls.get(k, 0) for k, v in _counts(sandbox).items() if v > first_calls.get(k, 0)}
        clock.advance(timedelta(days=1))
        sandbox.reset_call_counts()
        fetch_s, parse_s, map_s = _fetch_parse_map(sandbox, access.tokens.current().access_token, main_tenant, truth)
        runtime.close()
    sandbox.stop()
    _report(truth, days, first_s, first_calls, stored, pay_links, idle, idle_calls, (fetch_s, parse_s, map_s))
    print(f"peak traced memory during the first sync: {traced_peak / 2**20:6.1f} MB")
    print(
        f"peak RSS of the process:                  {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.1f} MB"
    )


def _counts(sandbox: Any) -> dict[str, int]:
    """The sandbox's call counts: per endpoint (``api_online_invoice`` …) and per list entity."""
    return {**sandbox.call_counts(), **sandbox.call_details()}


def _report(
    truth: dict[str, int],
    days: list[dict[str, Any]],
    first_s: float,
    calls: dict[str, int],
    stored: int,
    pay_links: int,
    idle: list[dict[str, Any]],
    idle_calls: dict[str, int],
    baseline: tuple[float, float, float],
) -> None:
    fetch_s, parse_s, map_s = baseline
    print(f"sandbox organisation (main tenant): {truth}")
    print("first sync, list calls per entity (goal: ceil(N / 1000) pages, one more when N is a multiple of 1000):")
    for entity, n in truth.items():
        made = calls.get("list:" + entity, 0)
        print(f"  {entity:<13} {made:>3} call(s) for {n:>6} records (ceil(N/1000) = {max(1, math.ceil(n / 1000))})")
    online = calls.get("api_online_invoice", 0)
    print(f"  OnlineInvoice {online:>5} call(s): goal 0, links wait for a reminder ({pay_links} pay links stored)")
    print(f"  all calls:    {sum(d['calls'] for d in days):>5}   ({calls.get('throttled:day', 0)} daily-limit 429s)")
    print(f"first sync needs {len(days)} day(s) of Xero's 5,000-call daily budget ({stored} invoices stored):")
    for number, day in enumerate(days, 1):
        parked = f", then parked {day['parked_s'] / 3600:4.1f} h (Retry-After)" if day["parked_s"] else ""
        print(f"  day {number}: {day['calls']:>5} calls, {day['wall_s']:6.2f} s wall, {day['left']} left{parked}")
    print(f"first sync wall time:          {first_s:7.2f} s  (waits for the minute limit move the clock, not the wall)")
    print(f"  fetch the list pages only:   {fetch_s:7.2f} s")
    print(f"  parse their JSON only:       {parse_s:7.2f} s   (sync / parse = {first_s / parse_s:5.1f}x)")
    print(f"  map their records only:      {map_s:7.2f} s")
    idle_total = sum(d["calls"] for d in idle)
    print(f"idle incremental sync:         {idle[-1]['wall_s'] * 1000:7.1f} ms, {idle_total} API call(s) "
          f"(goal: one per entity = {len(truth)}), {idle[-1]['left']} calls left today")  # fmt: skip
    print(f"  calls by kind: { {k: v for k, v in idle_calls.items() if k.startswith('list:')} }")


def _fetch_parse_map(sandbox: Any, token: str, tenant: str, truth: dict[str, int]) -> tuple[float, float, float]:
    """Fetch every list page of the first sync again (no pay links, no storing), then parse the
    bodies with the client's parser, then map the records with the plugin's mapping."""
    from connector.platform import Entity
    from plugins.xero.client import parse_json
    from plugins.xero.mapping import ENTITY_ENDPOINTS, map_record
    from plugins.xero.platform import LIST_FILTERS

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "xero-tenant-id": tenant}
    bodies: list[tuple[Entity, bytes]] = []
    started = time.perf_counter()
    with requests.Session() as http:
        for entity in Entity:
            endpoint = ENTITY_ENDPOINTS[entity]
            for page in range(1, truth[endpoint] // 1000 + 2):
                params = {**LIST_FILTERS.get(entity, {}), "page": str(page), "pageSize": "1000"}
                body = http.get(f"{sandbox.api_base}/{endpoint}", params=params, headers=headers, timeout=60).content
                bodies.append((entity, body))
    fetch_s = time.perf_counter() - started
    started = time.perf_counter()
    parsed = [(entity, parse_json(body)) for entity, body in bodies]
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    for entity, body in parsed:
        for row in body.get(ENTITY_ENDPOINTS[entity]) or []:
            map_record(entity, row, home_currency="GBP")
    return fetch_s, parse_s, time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
