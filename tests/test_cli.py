"""The ``arcadence`` command skeleton, run as users run it (a subprocess of the installed script)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import inspect

from connector.db.session import make_engine


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([".venv/bin/arcadence", *args], env=env, capture_output=True, text=True, check=False)


def test_help_lists_the_commands(env: dict[str, str]) -> None:
    done = _run(env, "--help")
    assert done.returncode == 0
    for command in ("db", "rotate-keys", "version", "run", "simulate", "explain"):
        assert command in done.stdout


def test_version_names_the_plugins_and_their_state(env: dict[str, str]) -> None:
    done = _run(env, "version")
    assert done.returncode == 0
    assert done.stdout.startswith("arcadence 0.1.0\n")
    assert "platform quickbooks: ready" in done.stdout
    assert "platform xero: ready" in done.stdout


def test_db_upgrade_migrates_the_configured_database(env: dict[str, str], sqlite_url: str) -> None:
    done = _run(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert "is at revision head" in done.stdout
    engine = make_engine(sqlite_url)
    try:
        assert "outbox" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_db_upgrade_on_postgresql(env: dict[str, str], postgres_url: str) -> None:
    done = _run({**env, "ARCADENCE_DATABASE_URL": postgres_url}, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    engine = make_engine(postgres_url)
    try:
        assert "activities" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_unknown_command_is_a_usage_error(env: dict[str, str]) -> None:
    done = _run(env, "frobnicate")
    assert done.returncode == 2 and "No such command" in done.stderr


def test_ci_script_runs_make_test() -> None:
    script = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "make test" in script


def test_simulate_through_the_installed_command_matches_the_expected_bytes(env: dict[str, str]) -> None:
    scenarios = Path(__file__).parent / "core" / "scenarios"
    scenario = scenarios / "de_bavaria_epiphany.json"
    done = _run(env, "simulate", str(scenario))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (scenarios / "de_bavaria_epiphany.expected.json").read_text(encoding="utf-8")


def test_simulate_names_the_bad_field_and_prints_nothing_on_stdout(env: dict[str, str], tmp_path: Path) -> None:
    scenario = tmp_path / "bad.json"
    scenario.write_text('{"version": 2}', encoding="utf-8")
    done = _run(env, "simulate", str(scenario))
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "version" in done.stderr
