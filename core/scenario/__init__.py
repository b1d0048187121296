"""The scenario file (``shared/contracts/scenario.md``): the engine's versioned JSON interface.

:func:`parse` turns scenario text into core records or raises :class:`ScenarioError` naming the
field; :func:`plan_json`, :func:`days_json` and :func:`dumps` write the contract's output.
Pure: the caller reads the file and prints the text.
"""

from __future__ import annotations

from core.scenario.fields import ScenarioError
from core.scenario.output import days_json, dumps, plan_json, skipped_json, touch_json
from core.scenario.parse import VERSION, Scenario, parse

__all__ = [
    "VERSION",
    "Scenario",
    "ScenarioError",
    "days_json",
    "dumps",
    "parse",
    "plan_json",
    "skipped_json",
    "touch_json",
]
