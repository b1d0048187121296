"""The contract suite runs once per platform sandbox: QuickBooks Online and Xero."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.clock import FixedClock
from tests.contract.harness import Harness
from tests.contract.quickbooks import QuickBooksHarness
from tests.contract.xero import XeroHarness

CONTRACT_NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
PLATFORMS: dict[str, type[QuickBooksHarness] | type[XeroHarness]] = {
    "quickbooks": QuickBooksHarness,
    "xero": XeroHarness,
}


@pytest.fixture(params=sorted(PLATFORMS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A platform sandbox and the arcadence app, both served on loopback, on one fixed clock."""
    built = PLATFORMS[request.param](tmp_path, FixedClock(CONTRACT_NOW))
    yield built
    built.close()


@pytest.fixture
def connected(harness: Harness) -> Harness:
    """The harness with its company connected through the real OAuth flow."""
    harness.connect()
    return harness
