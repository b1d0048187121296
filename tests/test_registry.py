"""Platform plugins are found through entry points, loaded lazily, and fail one at a time."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from connector.errors import PluginError
from connector.platform import Platform
from connector.registry import GROUP, Registry


def _point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


def test_installed_plugins_are_quickbooks_and_xero() -> None:
    registry = Registry()
    assert registry.names() == ["quickbooks", "xero"]
    assert registry.load("quickbooks").display_name == "QuickBooks Online"
    assert registry.load("xero").display_name == "Xero"
    assert isinstance(registry.create("xero"), Platform)
    assert registry.load("quickbooks").implemented is True


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


@pytest.mark.parametrize("name", ["xero"])
def test_placeholder_plugins_say_they_are_not_implemented(name: str) -> None:
    platform = Registry().create(name)
    status = {s.name: s for s in Registry().status()}
    assert status[name].implemented is False
    with pytest.raises(NotImplementedError, match=r"not implemented yet \(issue #\d\)"):
        platform.verify_webhook(b"{}", {})
