"""Platform plugins are found through entry points, loaded lazily, and fail one at a time."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from connector.errors import PluginError
from connector.platform import Platform, UnfinishedPlatform
from connector.registry import GROUP, Registry


def _point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


def test_installed_plugins_are_quickbooks_and_xero() -> None:
    registry = Registry()
    assert registry.names() == ["quickbooks", "xero"]
    assert registry.load("quickbooks").display_name == "QuickBooks Online"
    assert registry.load("xero").display_name == "Xero"
    assert registry.load("quickbooks").implemented is True
    assert registry.load("xero").implemented is True


@pytest.mark.parametrize("name", ["quickbooks", "xero"])
def test_every_plugin_builds_a_platform_from_its_config(name: str) -> None:
    from datetime import UTC, datetime

    from connector.clock import FixedClock
    from connector.platform import PlatformConfig
    from connector.ratelimit import RateLimiter

    clock = FixedClock(datetime(2026, 3, 10, tzinfo=UTC))
    limiter = RateLimiter(per_minute=60, burst=5, clock=clock, sleep=lambda s: None)
    platform = Registry().create(name, PlatformConfig(client_id="id", client_secret="secret"), clock=clock,
                                 limiter=limiter)  # fmt: skip
    assert isinstance(platform, Platform)
    assert Registry().sandbox_class(name).__name__.endswith("Sandbox")


def test_listing_plugins_imports_none_of_them() -> None:
    code = (
        "import sys; from connector.registry import Registry; r = Registry(); r.names(); r.names();"
        "print(any(m.startswith('plugins.') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_unknown_plugin_is_a_clear_error_naming_it() -> None:
    with pytest.raises(PluginError, match=r"unknown platform plugin 'sage' \(registered: quickbooks, xero\)"):
        Registry().load("sage")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "plugins.nowhere.platform:Gone", "failed to load: No module named 'plugins.nowhere'", id="missing-module"
        ),
        pytest.param("plugins.quickbooks.platform:Missing", "failed to load", id="missing-attribute"),
        pytest.param("connector.errors:ConfigError", "is not a Platform class", id="not-a-platform"),
    ],
)
def test_a_broken_plugin_names_itself_and_the_others_still_load(value: str, message: str) -> None:
    registry = Registry(
        [_point("broken", value), _point("quickbooks", "plugins.quickbooks.platform:QuickBooksPlatform")]
    )
    with pytest.raises(PluginError, match="'broken'") as caught:
        registry.load("broken")
    assert message in str(caught.value)
    status = {s.name: s for s in registry.status()}
    assert status["broken"].error is not None and "broken" in status["broken"].error
    assert status["quickbooks"].error is None and status["quickbooks"].display_name == "QuickBooks Online"


def test_a_placeholder_plugin_says_it_is_not_implemented() -> None:
    # No installed plugin is a placeholder any more (Xero landed with issue #7): a registered one is.
    registry = Registry([_point("later", "tests.test_registry:_Later")])
    status = {s.name: s for s in registry.status()}
    assert status["later"].implemented is False
    with pytest.raises(NotImplementedError, match=r"not implemented yet \(issue #\d\)"):
        registry.create("later").verify_webhook(b"{}", {})


class _Later(UnfinishedPlatform):
    name = "later"
    display_name = "Later"
    issue = 9
