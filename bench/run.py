"""Run every benchmark under bench/ (each a module with a ``main()`` that prints its figures).

Benchmarks print ratios, API-call counts and peak memory; they are never part of the test suite.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    sys.path.insert(0, str(HERE.parent))
    modules = sorted(p for p in HERE.glob("*.py") if p.name not in {"run.py", "__init__.py"})
    for path in modules:
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"== bench/{path.name} ==", flush=True)
        module.main()
    if not modules:
        print("no benchmark yet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
