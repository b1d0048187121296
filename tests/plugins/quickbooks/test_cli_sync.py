"""``arcadence sync`` and ``arcadence status`` as a user runs them: a subprocess configured through
the environment, against the sandbox on loopback."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.contract.quickbooks import QuickBooksHarness


@pytest.fixture
def qbo(qbo_connected: QuickBooksHarness) -> QuickBooksHarness:
    return qbo_connected


def _run(h: QuickBooksHarness, *args: str) -> subprocess.CompletedProcess[str]:
    settings = h.runtime.settings
    config = h.runtime.configs["quickbooks"]
    env = {
        **os.environ,
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": str(settings.var_dir),
        "ARCADENCE_DATABASE_URL": settings.database_url,
        "ARCADENCE_SECRET_KEYS": ",".join(k.decode() for k in settings.secret_keys),
        "ARCADENCE_SESSION_SECRET": "x",
        "ARCADENCE_PUBLIC_URL": settings.public_url,
        "ARCADENCE_QUICKBOOKS_CLIENT_ID": config.client_id,
        "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": config.client_secret,
        "ARCADENCE_QUICKBOOKS_IDENTITY_URL": config.identity_url,
        "ARCADENCE_QUICKBOOKS_API_BASE": config.api_base,
    }
    return subprocess.run([".venv/bin/arcadence", *args], env=env, capture_output=True, text=True, check=False)


def test_sync_shows_progress_and_fills_the_store(qbo: QuickBooksHarness) -> None:
    qbo.add_malformed_invoice()
    done = _run(qbo, "sync", qbo.sandbox.realm_id)
    assert done.returncode == 0, done.stderr
    assert "syncing " + qbo.sandbox.company_name() in done.stdout
    assert "invoice      page   1:" in done.stdout and "quarantined" in done.stdout
    assert done.stdout.strip().splitlines()[-1].endswith("1 quarantined")
    assert qbo.stored() == qbo.truth()


def test_status_lists_connection_sync_and_quarantine(qbo: QuickBooksHarness) -> None:
    bad = qbo.add_malformed_invoice()
    assert _run(qbo, "sync", "1").returncode == 0
    done = _run(qbo, "status")
    assert done.returncode == 0, done.stderr
    assert "connection: active" in done.stdout
    assert f"invoice {bad}: TotalAmt" in done.stdout and "quarantined: 1" in done.stdout


def test_sync_of_an_unknown_organisation_says_so(qbo: QuickBooksHarness) -> None:
    done = _run(qbo, "sync", "nope")
    assert done.returncode != 0 and "no single organisation" in done.stderr


def test_collect_dry_run_prints_the_plan_and_a_real_run_queues_it_once(qbo: QuickBooksHarness) -> None:
    assert _run(qbo, "sync", "1").returncode == 0
    dry = _run(qbo, "collect", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(dry run)" in dry.stdout and "skipped" in dry.stdout and "email" in dry.stdout
    assert "queued" not in dry.stdout
    first = _run(qbo, "collect", "1")
    assert first.returncode == 0, first.stderr
    queued = int(first.stdout.strip().splitlines()[-1].split()[1])
    assert queued > 0
    second = _run(qbo, "collect", "1")
    assert second.stdout.strip().splitlines()[-1].startswith("queued 0 new touch(es)")
