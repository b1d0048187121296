"""Dispatch benchmark: a sandbox company of 1,000 customers and 5,000 invoices is synced, one
collection run queues its touches, and the dispatcher re-checks, renders and sends them through
a local aiosmtpd server. Reports messages per second (re-check and render included), the API
calls of the re-check per 100 touches (goal <= 4), and peak memory.
"""

from __future__ import annotations

import resource
import socket
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


class _Count:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    from _support import connect_quickbooks
    from aiosmtpd.controller import Controller

    from connector.clock import FixedClock
    from connector.delivery import dispatcher
    from connector.mail import SmtpMailer
    from connector.outbox import collect
    from connector.sync import sync_organisation
    from plugins.quickbooks.sandbox import QuickBooksSandbox

    clock = FixedClock(NOW)
    sandbox = QuickBooksSandbox(clock=clock, customers=1000, invoices=5000, auto_consent=True, rate_per_minute=100_000)
    sandbox.serve()
    handler = _Count()
    smtp = Controller(handler, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        runtime, org_id = connect_quickbooks(sandbox, Path(tmp), clock)
        platform = runtime.platform("quickbooks")
        with runtime.sessions() as session:
            from connector.db import Organisation

            organisation = session.get_one(Organisation, org_id)
        sync_organisation(runtime.sessions, org_id, platform, runtime.access(organisation), clock)
        queued = collect(runtime.sessions, org_id, clock)
        touches = queued.created
        invoices = sum(len(t.invoices) for t in queued.plan.touches)
        sandbox.reset_call_counts()
        worker = dispatcher(runtime, SmtpMailer("127.0.0.1", smtp.port, security="none"))
        tracemalloc.start()
        started = time.perf_counter()
        sent = 0
        while True:
            report = worker.run_once(limit=200)
            sent += report.sent
            if not (report.sent or report.cancelled or report.failed or report.held or report.stale):
                break
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        recheck_calls = sandbox.call_details().get("query:Invoice", 0)
        note_calls = sandbox.call_counts().get("api_write", 0)
        runtime.close()
    smtp.stop()
    sandbox.stop()
    print(f"touches queued: {touches} (covering {invoices} invoices); messages received by SMTP: {handler.messages}")
    rate = sent / elapsed
    print(
        f"dispatch wall time:                 {elapsed:7.2f} s  ({rate:6.1f} messages/s; re-check, render, write-back)"
    )
    print(
        f"re-check API calls:                 {recheck_calls} ({100 * recheck_calls / max(touches, 1):.2f} per 100 "
        "touches; goal <= 4)"
    )
    print(
        f"write-back note calls:              {note_calls} (one Attachable note per invoice, in this process's sandbox)"
    )
    print(f"peak traced memory while sending:   {peak / 2**20:6.1f} MB")
    print(f"peak RSS of the process:            {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.1f} MB")


if __name__ == "__main__":
    main()
