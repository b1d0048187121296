"""``simulate`` and ``explain`` on scenario files, through click and as a real subprocess.

Every ``tests/core/scenarios/NAME.json`` is run through the CLI and compared byte for byte with
``NAME.expected.json``; ``NAME.daysN.expected.json`` holds the output of ``--days N``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli.engine import explain, simulate
from tests.core.scenario_doc import EXAMPLE, changed, text

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "core" / "scenarios"
CASES = sorted(p for p in SCENARIOS.glob("*.json") if not p.name.endswith(".expected.json"))
DAYS_CASES = sorted(SCENARIOS.glob("*.days*.expected.json"))


def _expected(path: Path) -> str:
    return path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8")


def _runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.stem) for c in CASES])
def test_scenario_output_is_byte_for_byte_the_expected(case: Path) -> None:
    result = _runner().invoke(simulate, [str(case)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == _expected(case)


@pytest.mark.parametrize("expected", [pytest.param(c, id=c.name) for c in DAYS_CASES])
def test_days_output_is_byte_for_byte_the_expected(expected: Path) -> None:
    match = re.fullmatch(r"(.+)\.days(\d+)\.expected\.json", expected.name)
    assert match is not None
    result = _runner().invoke(simulate, [str(SCENARIOS / f"{match[1]}.json"), "--days", match[2]])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected.read_text(encoding="utf-8")


def test_there_are_enough_realistic_cases() -> None:
    assert len(CASES) >= 6
    assert any("bavaria" in c.name for c in CASES)


def test_days_feed_each_days_touches_into_the_next(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(text(changed("pauses", [])), encoding="utf-8")
    result = _runner().invoke(simulate, [str(path), "--days", "8"])
    days = json.loads(result.stdout)["days"]
    assert [d["date"] for d in days][:2] == ["2026-03-10", "2026-03-11"]
    sent = [(d["date"], t["step"]) for d in days for t in d["touches"]]
    # s3 is reached on 16 March (30 days after due), but 10 March was only six days before.
    assert sent == [("2026-03-10", "s2"), ("2026-03-17", "s3")]
    assert days[1]["skipped"] == [{"invoice": "I1", "customer": "C1", "reason": "next_step_not_reached"}]
    assert days[6]["skipped"] == [{"invoice": "I1", "customer": "C1", "reason": "too_soon"}]


BAD_INPUT = [
    pytest.param(
        text(changed("invoices.0.due_date", "2026-02-30")),
        "invoices[0].due_date: not a date: '2026-02-30'",
        id="bad-date",
    ),
    pytest.param(text(changed("invoices.0.balance", 1190.0)), "invoices[0].balance: float money", id="float-money"),
    pytest.param(text(changed("extra", 1)), "extra: unknown field", id="unknown-field"),
    pytest.param("{not json", "scenario: not valid JSON", id="invalid-json"),
    pytest.param(b"\xff\xfe".decode("latin-1"), "scenario: not valid JSON", id="binary"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_INPUT)
def test_bad_input_is_one_line_on_stderr_exit_2_nothing_on_stdout(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = _runner().invoke(simulate, [str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1


def test_unreadable_file_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _runner().invoke(simulate, [str(tmp_path / "missing.json")])
    assert (result.exit_code, result.stdout) == (2, "")
    assert "missing.json: cannot read the file" in result.stderr
    assert result.stderr.count("\n") == 1


def _module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(Path(sys.executable).parent / "arcadence"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_simulate_as_a_subprocess_prints_the_same_bytes() -> None:
    case = SCENARIOS / "de_letzte_mahnung_claim.json"
    done = _module("simulate", str(case))
    assert done.returncode == 0, done.stderr
    assert done.stdout == _expected(case)


def test_bad_input_as_a_subprocess(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text(changed("invoices.0.currency", "EURO")), encoding="utf-8")
    done = _module("simulate", str(path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "invoices[0].currency: unknown currency code: 'EURO'\n"


@pytest.mark.parametrize(
    ("language", "invoice", "expected"),
    [
        pytest.param("en", "I1", "Nothing today (paused_dispute): The invoice is disputed.", id="en-dispute"),
        pytest.param("de", "I1", "Heute nichts (paused_dispute): Die Rechnung ist beanstandet", id="de-dispute"),
    ],
)
def test_explain_prints_the_reason_in_words(tmp_path: Path, language: str, invoice: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text(EXAMPLE), encoding="utf-8")
    result = _runner().invoke(explain, [str(path), "--invoice", invoice, "--language", language])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(expected)


def test_explain_as_a_subprocess_with_json() -> None:
    done = _module("explain", str(SCENARIOS / "de_letzte_mahnung_claim.json"), "--invoice", "R-2026-011", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["outcome"], found["touch"]["flags"]) == ("touch", ["broken_promise"])


def test_explain_unknown_invoice_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(text(EXAMPLE), encoding="utf-8")
    result = _runner().invoke(explain, [str(path), "--invoice", "NOPE"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "--invoice: unknown invoice 'NOPE'\n"


def test_claim_outside_the_rate_table_asks_for_a_fixed_rate(tmp_path: Path) -> None:
    doc = changed("today", "2031-03-11")
    doc = changed("pauses", [], doc)
    doc = changed("policy.statutory_claims", True, doc)
    doc = changed("invoices.0.due_date", "2031-01-02", doc)
    doc = changed("history.0.date", "2031-02-01", doc)
    doc = changed("history.0.invoices.0", {"id": "I1", "step": "s2", "level": 2}, doc)
    path = tmp_path / "s.json"
    path.write_text(text(doc), encoding="utf-8")
    result = _runner().invoke(simulate, [str(path)])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("organisation.reference_rate_percent: ")
    fixed = changed("organisation.reference_rate_percent", "2.00", doc)
    path.write_text(text(fixed), encoding="utf-8")
    result = _runner().invoke(simulate, [str(path)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["touches"][0]["claim"]["rate_percent"] == "11.00"
