"""The import direction holds: core is pure, plugins know nothing of the web, connector nothing of
the web (except the command line, the composition root that serves it).

The checks parse source with ``ast``; each one is also run on a bad snippet to show it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# core/ may use the standard library's pure parts and the `holidays` calendar data, nothing else.
CORE_FORBIDDEN = {
    "connector", "web", "plugins", "sqlalchemy", "flask", "requests", "httpx", "smtplib", "socket", "urllib",
    "http", "apscheduler", "psycopg", "sqlite3", "os", "pathlib", "subprocess", "shutil", "tempfile", "io",
    "logging", "time", "random", "secrets", "threading", "asyncio", "jinja2", "babel", "quickbooks", "intuitlib",
    "authlib", "cryptography", "alembic",
}  # fmt: skip
CLOCK_CALLS = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}  # fmt: skip
IO_BUILTINS = {"open", "print", "input"}


def imported_roots(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, top-level module) of every import in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]


def impure_calls(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of every clock read or I/O builtin called in ``tree``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (owner_name, func.attr) in CLOCK_CALLS:
                yield node.lineno, f"{owner_name}.{func.attr}()"
        elif isinstance(func, ast.Name) and func.id in IO_BUILTINS:
            yield node.lineno, f"{func.id}()"


def core_violations(source: str, name: str = "<snippet>") -> list[str]:
    """Every forbidden import or call in one core module's source."""
    tree = ast.parse(source, filename=name)
    found = [f"{name}:{line}: imports {root}" for line, root in imported_roots(tree) if root in CORE_FORBIDDEN]
    found += [f"{name}:{line}: calls {call}" for line, call in impure_calls(tree)]
    return found


def import_violations(folder: str, forbidden: set[str], allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        found += [f"{relative}:{line}: imports {root}" for line, root in imported_roots(tree) if root in forbidden]
    return found


def test_core_is_pure() -> None:
    modules = sorted((ROOT / "core").rglob("*.py"))
    assert modules, "core/ has no module"
    violations = [v for p in modules for v in core_violations(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert violations == []


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param("from connector.db import Invoice", id="project-import"),
        pytest.param("import sqlalchemy.orm", id="storage-import"),
        pytest.param("import requests", id="network-import"),
        pytest.param("from datetime import date\nx = date.today()", id="date-today"),
        pytest.param("import datetime\nx = datetime.datetime.now()", id="datetime-now"),
        pytest.param("with open('ledger.json') as f: pass", id="file-io"),
    ],
)
def test_core_check_catches_impurity(snippet: str) -> None:
    assert core_violations(snippet) != []


def test_core_check_accepts_pure_code() -> None:
    assert core_violations("from datetime import date, timedelta\nimport holidays\nx = date(2026, 3, 10)") == []


def test_plugins_import_nothing_from_the_web() -> None:
    assert import_violations("plugins", {"web", "flask", "flask_wtf", "flask_login"}) == []


def test_connector_imports_nothing_from_the_web_except_the_command_line() -> None:
    command_line = {"connector/cli/__init__.py", "connector/cli/tiers.py"}
    assert import_violations("connector", {"web", "flask"}, allowed=command_line) == []


def test_connector_imports_no_plugin() -> None:
    # Plugins are found through entry points and named by string (registry, sandbox declarations).
    assert import_violations("connector", {"plugins"}) == []


def test_import_check_catches_a_web_import(tmp_path: Path) -> None:
    tree = ast.parse("from web import create_app")
    assert [root for _, root in imported_roots(tree)] == ["web"]
