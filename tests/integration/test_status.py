"""Observability: where each organisation stands (``connector.status``, on SQLite and PostgreSQL),
as ``arcadence status`` prints it and the health endpoints serve it, and the one structured line a
job logs per organisation and outcome (``connector.observe``)."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import socket
import subprocess
import urllib.request
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.db import (
    Connection,
    Customer,
    Firm,
    Invoice,
    Organisation,
    OutboxMessage,
    QuarantinedRecord,
    RateBudget,
    WebhookEvent,
)
from connector.db.session import make_engine, session_factory, upgrade
from connector.errors import AuthRevoked, PlatformError, RateLimited
from connector.observe import log_outcome, outcome_of
from connector.status import database_answers, organisation_statuses
from tests.personas import NOW, World
from web import create_app

LAST_SYNC = NOW - timedelta(minutes=7)
NEXT_SYNC = NOW + timedelta(minutes=8)
NEXT_RUN = NOW + timedelta(hours=22, minutes=30)


def _busy_day(sessions: sessionmaker[Session], org_id: int) -> None:
    """One organisation mid-day: a backlog, a send in doubt, a bad record, a waiting webhook,
    parked by a daily limit; and rows in other states that must not be counted."""
    with sessions.begin() as s:
        org = s.get_one(Organisation, org_id)
        org.last_sync_at, org.next_sync_at, org.next_run_at = LAST_SYNC, NEXT_SYNC, NEXT_RUN
        org.parked_until = NOW + timedelta(minutes=40)
        s.add(RateBudget(key=f"{org.platform}:{org.external_id}", problem="day", updated_at=NOW))
        customer = Customer(organisation_id=org_id, external_id="C1", name="Kunde GmbH", synced_at=NOW)
        s.add(customer)
        s.flush()
        for n, status in enumerate(["open", "open", "paid"]):
            s.add(
                Invoice(
                    organisation_id=org_id,
                    customer_id=customer.id,
                    external_id=f"I{n}",
                    number=f"100{n}",
                    issue_date=date(2026, 1, 10),
                    due_date=date(2026, 2, 9),
                    currency="EUR",
                    total=Decimal("100.00"),
                    balance=Decimal("100.00") if status == "open" else Decimal("0"),
                    status=status,
                    synced_at=NOW,
                )
            )
        for n, status in enumerate(["pending", "pending", "pending", "in_doubt", "sent", "cancelled"]):
            s.add(
                OutboxMessage(
                    organisation_id=org_id,
                    dedupe_key=f"k{n}",
                    customer_id=customer.id,
                    currency="EUR",
                    step_key="s1",
                    level=1,
                    action="email",
                    template_key="friendly_reminder",
                    planned_date=date(2026, 3, 10),
                    invoice_ids="I0",
                    status=status,
                    created_at=NOW,
                )
            )
        for n, resolved in enumerate([None, NOW]):
            s.add(
                QuarantinedRecord(
                    organisation_id=org_id,
                    entity="invoice",
                    external_id=f"Q{n}",
                    field="TotalAmt",
                    error="not a number: 'abc'",
                    payload="{}",
                    first_seen_at=NOW,
                    last_seen_at=NOW,
                    resolved_at=resolved,
                )
            )
        for n, status in enumerate(["pending", "done"]):
            s.add(
                WebhookEvent(
                    platform=org.platform,
                    organisation_id=org_id,
                    external_org_id=org.external_id,
                    event_key=f"e{n}",
                    entity="Invoice",
                    entity_external_id="I0",
                    operation="Update",
                    body="{}",
                    status=status,
                    received_at=NOW,
                )
            )


def _two_orgs(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions.begin() as s:
        firm = Firm(name="Kanzlei", created_at=NOW)
        connection = Connection(firm=firm, platform="xero", created_at=NOW, updated_at=NOW)
        busy = Organisation(
            firm=firm, connection=connection, platform="xero", external_id="t1", name="Busy", created_at=NOW
        )
        idle = Organisation(firm=firm, platform="quickbooks", external_id="r9", name="Idle", created_at=NOW)
        s.add_all([busy, idle])
        s.flush()
        ids = busy.id, idle.id
    _busy_day(sessions, ids[0])
    return ids


def test_status_counts_each_organisation_s_backlog_and_problems(sessions: sessionmaker[Session]) -> None:
    busy_id, idle_id = _two_orgs(sessions)
    with sessions() as session:
        busy, idle = organisation_statuses(session, NOW)
    assert (busy.organisation_id, busy.connection, busy.connection_note) == (busy_id, "active", "")
    assert (busy.last_sync_at, busy.next_sync_at, busy.next_run_at) == (LAST_SYNC, NEXT_SYNC, NEXT_RUN)
    assert (busy.parked_until, busy.parked_for) == (NOW + timedelta(minutes=40), "day")
    counts = (busy.open_invoices, busy.outbox_pending, busy.in_doubt, busy.quarantined, busy.webhooks_pending)
    assert counts == (2, 3, 1, 1, 1)
    assert not busy.healthy
    assert (idle.organisation_id, idle.connection, idle.last_sync_at, idle.parked_until) == (
        idle_id,
        "none",
        None,
        None,
    )
    assert (idle.open_invoices, idle.outbox_pending, idle.in_doubt, idle.quarantined) == (0, 0, 0, 0)


def test_a_park_that_has_ended_is_not_shown(sessions: sessionmaker[Session]) -> None:
    busy_id, _ = _two_orgs(sessions)
    with sessions() as session:
        (later,) = organisation_statuses(session, NOW + timedelta(hours=1), [busy_id])
    assert (later.parked_until, later.parked_for) == (None, None)


def test_a_connection_to_redo_says_what_to_do(sessions: sessionmaker[Session]) -> None:
    busy_id, _ = _two_orgs(sessions)
    with sessions.begin() as s:
        connection = s.get_one(Organisation, busy_id).connection
        assert connection is not None
        connection.status, connection.last_error = "needs_reauth", "invalid_grant"
        connection.refresh_hard_expires_at = NOW + timedelta(days=3)
    with sessions() as session:
        (row,) = organisation_statuses(session, NOW, [busy_id])
    assert row.connection == "needs_reauth"
    assert "reconnect in the web app: invalid_grant" in row.connection_note
    assert "ends for good on 2026-03-13" in row.connection_note


# -- arcadence status -----------------------------------------------------------------------------


def test_the_status_command_prints_every_organisation(env: dict[str, str], sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    _two_orgs(session_factory(engine))
    engine.dispose()
    done = subprocess.run(
        [".venv/bin/arcadence", "status"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    busy, idle = done.stdout.split("\n2  Idle")
    assert busy.startswith("1  Busy  [xero t1]")
    assert "connection: active" in busy
    assert f"last sync:  {LAST_SYNC:%Y-%m-%d %H:%M} UTC" in busy
    assert f"next sync: {NEXT_SYNC:%Y-%m-%d %H:%M} UTC" in busy
    assert f"next collection run: {NEXT_RUN:%Y-%m-%d %H:%M} UTC" in busy
    assert "outbox pending: 3   in doubt: 1   quarantined: 1   webhooks pending: 1" in busy
    assert "invoice Q0: TotalAmt: not a number: 'abc'" in busy and "Q1" not in busy
    assert "connection: none (connect the organisation in the web app)" in idle
    assert "last sync:  never   next sync: not planned   next collection run: not planned" in idle


def test_the_status_command_prints_json_lines_for_scripts(env: dict[str, str], sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    _two_orgs(session_factory(engine))
    engine.dispose()
    done = subprocess.run(
        [".venv/bin/arcadence", "status", "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    busy, idle = (json.loads(line) for line in done.stdout.splitlines())
    assert (busy["name"], busy["connection"], busy["healthy"]) == ("Busy", "active", False)
    assert datetime.fromisoformat(busy["next_run_at"]) == NEXT_RUN
    assert (busy["outbox_pending"], busy["in_doubt"], busy["quarantined"], busy["webhooks_pending"]) == (3, 1, 1, 1)
    assert (idle["name"], idle["connection"], idle["last_sync_at"]) == ("Idle", "none", None)


# -- health endpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "ready"),
    [
        pytest.param(["web"], "no jobs run here", id="web-tier-alone"),
        pytest.param(["run", "--no-demo"], "arcadence is running on", id="web-and-jobs-in-one-process"),
    ],
)
def test_a_serving_command_answers_healthz_and_stops_cleanly_on_sigterm(
    env: dict[str, str], sqlite_url: str, command: list[str], ready: str
) -> None:
    upgrade(sqlite_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = subprocess.Popen(
        [".venv/bin/arcadence", *command],
        env={**env, "ARCADENCE_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert web.stdout is not None
        first = web.stdout.readline()
        while first and f"http://127.0.0.1:{port}/" not in first:
            first = web.stdout.readline()
        assert ready in first
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            assert (response.status, json.load(response)) == (200, {"status": "ok", "database": "ok"})
    finally:
        web.send_signal(signal.SIGTERM)
        rest, _ = web.communicate(timeout=60)
    assert web.returncode == 0 and rest.rstrip().endswith("stopped")


def test_healthz_answers_200_when_the_database_answers(world: World) -> None:
    response = world.client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://arcadence:hunter2@127.0.0.1:1/arcadence", id="postgresql-refused"),
        pytest.param("sqlite:////nonexistent-dir/hunter2/arcadence.sqlite3", id="sqlite-unopenable"),
    ],
)
def test_healthz_answers_503_and_reveals_nothing_when_the_database_does_not(
    world: World, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(url)
    assert not database_answers(engine)
    app = create_app({"TESTING": True}, runtime=dataclasses.replace(world.runtime, engine=engine))
    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/healthz")
    engine.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert "hunter2" not in response.get_data(as_text=True) and "hunter2" not in caplog.text


def test_the_org_status_page_shows_a_member_where_the_organisation_stands(world: World) -> None:
    org_id = world.orgs["A"]
    _busy_day(world.sessions, org_id)
    page = world.client("bob").get(f"/orgs/{org_id}/status")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        "Weber Maschinenbau GmbH",
        f"{LAST_SYNC:%Y-%m-%d %H:%M} UTC",
        f"{NEXT_SYNC:%Y-%m-%d %H:%M} UTC",
        f"{NEXT_RUN:%Y-%m-%d %H:%M} UTC",
        "day limit",
        "not a number: &#39;abc&#39;",
    ):
        assert text in html, text
    data = world.client("bob").get(f"/orgs/{org_id}/status", headers={"Accept": "application/json"}).get_json()
    assert data["organisation_id"] == org_id and data["connection"] == "active"
    assert data["next_run_at"] == NEXT_RUN.isoformat() and data["parked_for"] == "day"
    assert (data["outbox_pending"], data["in_doubt"], data["quarantined"], data["open_invoices"]) == (3, 1, 1, 2)
    assert data["healthy"] is False


# -- one structured line per organisation and outcome ---------------------------------------------


def test_a_job_outcome_is_one_structured_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="arcadence.jobs"):
        line = log_outcome("sync", 12, "synced", written=40, duration=timedelta(milliseconds=1500), at=NOW)
        problem = log_outcome("sync", 13, "rate_limited", retry_after=86356.0, error="Xero throttled xero:t1 (day)")
    assert line == "job=sync organisation=12 outcome=synced written=40 duration=1.5 at=2026-03-10T08:30:00+00:00"
    assert (
        problem
        == 'job=sync organisation=13 outcome=rate_limited retry_after=86356 error="Xero throttled xero:t1 (day)"'
    )
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, line), (logging.WARNING, problem)
    ]  # fmt: skip
    assert caplog.records[1].arcadence["retry_after"] == 86356.0  # type: ignore[attr-defined]


def test_a_value_cannot_forge_another_field_or_line() -> None:
    line = log_outcome("dispatch", None, "failed", error='bad\nline job=fake "quoted"')
    assert line == 'job=dispatch organisation=- outcome=failed error="bad line job=fake \\"quoted\\""'


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        pytest.param(RateLimited("slow down", retry_after=60), "rate_limited", id="rate-limited"),
        pytest.param(AuthRevoked("invalid_grant"), "needs_reauth", id="revoked"),
        pytest.param(PlatformError("HTTP 400"), "failed", id="platform"),
        pytest.param(ValueError("bug"), "error", id="bug"),
    ],
)
def test_an_exception_names_its_outcome(error: Exception, outcome: str) -> None:
    assert outcome_of(error) == outcome
