"""Strict reading of scenario JSON: every value checked for its type, every error naming its field.

JSON is decoded with :func:`decode`, which keeps the difference between ``1190`` and ``1190.0``
(a JSON number with a fraction becomes a :class:`JsonFloat`, so money given as a float is
refused by name) and notes duplicate keys. :class:`Fields` then reads one JSON object at a
known path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import NoReturn, TypeVar

from core.model import ISO_CURRENCIES, Money

E = TypeVar("E", bound=StrEnum)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")


class ScenarioError(ValueError):
    """Invalid scenario input. ``str()`` is one line: ``invoices[3].due_date: not a date: '2026-02-30'``.

    Attributes:
        field: the path of the field at fault (``"invoices[3].due_date"``).
        message: what is wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class JsonFloat(Decimal):
    """A JSON number written with a fraction or exponent (``1190.0``): exact, but never money."""


class _Object(dict[str, object]):
    """A decoded JSON object that remembers keys it saw twice."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    result = _Object(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicates = []
        for key, _ in pairs:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        result.duplicates = tuple(duplicates)
    return result


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def decode(text: str) -> object:
    """Decode JSON text strictly (no NaN or Infinity).

    Raises:
        ScenarioError: for text that is not JSON, with its line and column.
    """
    try:
        return json.loads(text, parse_float=JsonFloat, parse_constant=_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as error:
        raise ScenarioError(
            "scenario", f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except ValueError as error:
        raise ScenarioError("scenario", f"not valid JSON: {error}") from None


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return "a list" if isinstance(value, list) else "an object"


def items(value: object, path: str) -> Iterator[tuple[str, object]]:
    """The elements of a JSON list with their paths (``invoices[0]``, ``invoices[1]`` …)."""
    if not isinstance(value, list):
        raise ScenarioError(path, f"expected a list, got {type_name(value)}")
    for index, item in enumerate(value):
        yield f"{path}[{index}]", item


class Fields:
    """One JSON object at ``path``, checked for unknown, duplicate and missing fields up front."""

    def __init__(self, value: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        self.path = path
        if not isinstance(value, dict):
            raise ScenarioError(path or "scenario", f"expected an object, got {type_name(value)}")
        for key in getattr(value, "duplicates", ()):
            raise ScenarioError(self.at(key), "appears twice")
        for key in value:
            if key not in required and key not in optional:
                raise ScenarioError(self.at(key), "unknown field")
        for key in required:
            if key not in value:
                raise ScenarioError(self.at(key), "missing field")
        self.values: dict[str, object] = value

    def at(self, key: str) -> str:
        """The path of ``key`` in this object."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """True when ``key`` is present and not null."""
        return self.values.get(key) is not None

    def raw(self, key: str) -> object:
        """The decoded value of ``key`` (None when absent)."""
        return self.values.get(key)

    def fail(self, key: str, message: str) -> NoReturn:
        """Raise a :class:`ScenarioError` for ``key``."""
        raise ScenarioError(self.at(key), message)

    def string(self, key: str, default: str | None = None, *, empty: bool = False) -> str:
        """A string (non-empty unless ``empty``); ``default`` when absent."""
        value = self.values.get(key, default)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {type_name(value)}")
        if not value and not empty:
            self.fail(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        """A non-empty string, or None when absent or null."""
        return self.string(key) if self.has(key) else None

    def integer(self, key: str, default: int | None = None) -> int:
        """A whole JSON number (not a boolean, not ``1.0``)."""
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected a whole number, got {type_name(value)}")
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        """``true`` or ``false``."""
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {type_name(value)}")
        return value

    def day(self, key: str) -> date:
        """An ISO date ``YYYY-MM-DD``."""
        value = self.values.get(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a date string (YYYY-MM-DD), got {type_name(value)}")
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(key, f"not a date: {value!r}")

    def optional_day(self, key: str) -> date | None:
        """An ISO date, or None when absent or null."""
        return self.day(key) if self.has(key) else None

    def decimal(self, key: str, default: str | None = None, *, numbers: bool = False) -> Decimal:
        """A decimal string (``"1190.00"``); a JSON number only where ``numbers`` allows it (never money)."""
        value = self.values.get(key, default)
        if numbers and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, JsonFloat):
            self.fail(key, f'float money: {value} must be a decimal string like "{value:.2f}"')
        if not isinstance(value, str):
            self.fail(key, f'expected a decimal string like "10.00", got {type_name(value)}')
        try:
            if not _DECIMAL.fullmatch(value):
                raise InvalidOperation(value)
            return Decimal(value)
        except InvalidOperation:
            self.fail(key, f"not a decimal amount: {value!r}")

    def currency(self, key: str) -> str:
        """An ISO 4217 code in upper case."""
        code = self.string(key)
        if code not in ISO_CURRENCIES:
            self.fail(key, f"unknown currency code: {code!r}")
        return code

    def money(self, key: str, currency: str, default: str | None = None) -> Money:
        """An amount of ``currency`` from a decimal string."""
        return Money(self.decimal(key, default), currency)

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings (empty when absent)."""
        result = []
        for path, value in items(self.values.get(key, []), self.at(key)):
            if not isinstance(value, str) or not value:
                raise ScenarioError(path, f"expected a non-empty string, got {type_name(value)}")
            result.append(value)
        return tuple(result)

    def choice(self, key: str, enum: type[E], default: str | None = None) -> E:
        """One of the values of a string enum."""
        value = self.values.get(key, default)
        if isinstance(value, str) and value in enum._value2member_map_:
            return enum(value)
        names = ", ".join(member.value for member in enum)
        self.fail(key, f"expected one of {names}, got {type_name(value)}")
