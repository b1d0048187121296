"""Platform plugins, discovered from the ``arcadence.platforms`` entry-point group.

Plugins are loaded lazily, on first use: listing them imports nothing. An unknown name or a
plugin that fails to import gives a :class:`connector.errors.PluginError` naming it, and the
other plugins still load.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connector.errors import PluginError
from connector.platform import Platform

log = logging.getLogger(__name__)

GROUP = "arcadence.platforms"


@dataclass(frozen=True, slots=True)
class PluginStatus:
    """Whether a plugin loads, for the landing page and ``arcadence version``.

    Attributes:
        name: entry-point name.
        display_name: what people read, when the plugin loaded.
        error: why it does not load, or None.
        implemented: False while the plugin is a registered placeholder.
    """

    name: str
    display_name: str | None
    error: str | None
    implemented: bool


class Registry:
    """The platform plugins of this installation."""

    def __init__(self, points: Iterable[EntryPoint] | None = None) -> None:
        found = entry_points(group=GROUP) if points is None else points
        self._points = {point.name: point for point in found}
        self._loaded: dict[str, type[Platform]] = {}

    def names(self) -> list[str]:
        """The registered plugin names, sorted (nothing is imported)."""
        return sorted(self._points)

    def load(self, name: str) -> type[Platform]:
        """The plugin class registered as ``name``, imported on first use.

        Raises:
            PluginError: the name is unknown, the import fails, or the object is not a platform.
        """
        if name in self._loaded:
            return self._loaded[name]
        point = self._points.get(name)
        if point is None:
            known = ", ".join(self.names()) or "none"
            raise PluginError(f"unknown platform plugin {name!r} (registered: {known})")
        try:
            loaded = point.load()
        except Exception as exc:
            raise PluginError(f"platform plugin {name!r} ({point.value}) failed to load: {exc}") from exc
        if not isinstance(loaded, type) or not hasattr(loaded, "fetch_changes"):
            raise PluginError(f"platform plugin {name!r} ({point.value}) is not a Platform class")
        self._loaded[name] = loaded
        return loaded

    def create(self, name: str, *args: Any, **kwargs: Any) -> Platform:
        """An instance of the plugin ``name`` (arguments go to its constructor)."""
        return self.load(name)(*args, **kwargs)

    def sandbox_class(self, name: str) -> Any:
        """The offline sandbox the plugin ``name`` declares (``sandbox = "module:Class"``), imported now.

        Raises:
            PluginError: the plugin is unknown or declares no sandbox.
        """
        reference = getattr(self.load(name), "sandbox", None)
        if not isinstance(reference, str) or ":" not in reference:
            raise PluginError(f"platform plugin {name!r} declares no sandbox")
        module_name, _, class_name = reference.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def status(self) -> list[PluginStatus]:
        """Every registered plugin with whether it loads; a broken one does not hide the others."""
        result = []
        for name in self.names():
            try:
                cls = self.load(name)
            except PluginError as exc:
                log.warning("%s", exc)
                result.append(PluginStatus(name, None, str(exc), False))
                continue
            result.append(PluginStatus(name, cls.display_name, None, getattr(cls, "implemented", True)))
        return result
