"""Storage benchmark: migrate an empty SQLite file to head, then append 10,000 activities in one
transaction, and report the time of each and the peak memory of the process.

A first, small benchmark; the engine, sync and dispatch benchmarks come with their issues.
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def main() -> None:
    from connector.db import Firm, Organisation
    from connector.db.activity import ActivityLog
    from connector.db.session import make_engine, session_factory, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        upgrade(url)
        migrate_s = time.perf_counter() - started
        engine = make_engine(url)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        with session_factory(engine).begin() as session:
            firm = Firm(name="Bench", created_at=now)
            org = Organisation(firm=firm, platform="quickbooks", external_id="1", name="Bench", created_at=now)
            session.add(org)
            session.flush()
            log = ActivityLog(session, org.id)
            started = time.perf_counter()
            for i in range(10_000):
                log.append(kind="note", actor="system", summary=f"entry {i}", occurred_at=now)
            session.flush()
            append_s = time.perf_counter() - started
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"migrate empty SQLite to head: {migrate_s * 1000:8.1f} ms")
    print(f"append 10,000 activities:     {append_s * 1000:8.1f} ms ({append_s / 10_000 * 1e6:.1f} µs each)")
    print(f"peak RSS of the process:      {peak_mb:8.1f} MB")


if __name__ == "__main__":
    main()
