"""QuickBooks sync benchmark: the first sync of 10,000 invoices / 2,000 customers from the sandbox
over real HTTP on loopback into SQLite, then an idle incremental sync.

The sandbox runs in this process (its serving shares the interpreter with the sync), so the
"fetch only" baseline pays for the same sandbox work as the sync does.

Reports API calls per entity against the goal (pages = ceil(N / 1000) per entity; idle sync = one
CDC call), the sync's wall time against the time to merely fetch and to merely parse the same JSON,
and peak memory (tracemalloc during the sync; the process's peak RSS).
"""

from __future__ import annotations

import json
import math
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import requests

CUSTOMERS, INVOICES = 2000, 10_000
NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


def main() -> None:
    from _support import connect_quickbooks

    from connector.clock import FixedClock
    from connector.db import Organisation
    from connector.sync import sync_organisation
    from plugins.quickbooks.sandbox import QuickBooksSandbox

    clock = FixedClock(NOW)
    sandbox = QuickBooksSandbox(
        clock=clock, customers=CUSTOMERS, invoices=INVOICES, auto_consent=True, rate_per_minute=100_000
    )
    sandbox.serve()
    truth = {e: len(sandbox.records(e)) for e in ("Customer", "Invoice", "Payment", "CreditMemo")}
    with tempfile.TemporaryDirectory() as tmp:
        runtime, org_id = connect_quickbooks(sandbox, Path(tmp), clock)
        platform = runtime.platform("quickbooks")
        with runtime.sessions() as session:
            access = runtime.access(session.get_one(Organisation, org_id))

        sandbox.reset_call_counts()
        tracemalloc.start()
        started = time.perf_counter()
        sync_organisation(runtime.sessions, org_id, platform, access, clock)
        first_s = time.perf_counter() - started
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        first_calls = sandbox.call_details()
        clock.advance(timedelta(minutes=15))
        sandbox.reset_call_counts()
        started = time.perf_counter()
        sync_organisation(runtime.sessions, org_id, platform, access, clock)
        idle_s = time.perf_counter() - started
        idle_calls = sum(sandbox.call_counts().values())
        fetch_s, parse_s = _fetch_and_parse(sandbox, access.tokens.current().access_token, truth)
        runtime.close()
    sandbox.stop()
    print(f"sandbox company: {truth}")
    print("first sync, API calls per entity (goal: ceil(N / 1000) pages; one more when N is a multiple")
    print("of 1000, because only a short page says the list has ended):")
    for entity, n in truth.items():
        calls = first_calls.get("query:" + entity, 0)
        print(f"  {entity:<10} {calls:>3} call(s) for {n:>6} records (ceil(N/1000) = {max(1, math.ceil(n / 1000))})")
    print(f"  all calls:  {sum(v for k, v in first_calls.items() if k.startswith('query:'))}")
    print(f"first sync wall time:          {first_s:7.2f} s")
    print(f"  fetch the same pages only:   {fetch_s:7.2f} s   (sync / fetch = {first_s / fetch_s:5.1f}x)")
    print(f"  parse the same JSON only:    {parse_s:7.2f} s   (sync / parse = {first_s / parse_s:5.1f}x)")
    print(f"idle incremental sync:         {idle_s * 1000:7.1f} ms, {idle_calls} API call(s) (goal 1)")
    print(f"peak traced memory during sync: {traced_peak / 2**20:6.1f} MB")
    print(f"peak RSS of the process:        {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.1f} MB")


def _fetch_and_parse(sandbox: object, token: str, truth: dict[str, int]) -> tuple[float, float]:
    """Fetch every page of the first sync again (no mapping, no storing), then parse the bodies."""
    base = f"{sandbox.api_url_v3}/company/{sandbox.realm_id}/query"  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Content-Type": "application/text"}
    bodies = []
    started = time.perf_counter()
    with requests.Session() as http:
        for entity, n in truth.items():
            for start in range(1, n + 2, 1000):
                sql = f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"
                bodies.append(
                    http.post(base, params={"minorversion": "75"}, data=sql, headers=headers, timeout=60).text
                )
    fetch_s = time.perf_counter() - started
    started = time.perf_counter()
    for body in bodies:
        json.loads(body, parse_float=Decimal)
    return fetch_s, time.perf_counter() - started


if __name__ == "__main__":
    main()
