"""Run every benchmark under bench/, each in its own process (so peak memory is its own).

Each module has a ``main()`` and runs as a script; benchmarks print ratios, API-call counts and
peak memory, and are never part of the test suite.
scale.py (500 organisations, 4 worker processes) needs PostgreSQL on 127.0.0.1:5432 (`make postgres`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    modules = sorted(p for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    failed = 0
    for path in modules:
        print(f"== bench/{path.name} ==", flush=True)
        failed += subprocess.run([sys.executable, str(path)], env=env, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
