"""List filters of the accounting API: ``where``, ``order``, ``If-Modified-Since``, paging.

The ``where`` subset (notes §1.4): clauses joined by ``&&`` or ``AND``, each ``Field op value``
with ``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=``; values ``"text"``, numbers, ``true``/``false``,
``DateTime(2024, 01, 31)`` and ``Guid("…")``; dotted fields such as ``Contact.ContactID``. Anything
else (``OR``, ``||``, method calls) is a 400 the client must not depend on.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from plugins.xero.sandbox import wire

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1000  # third parties document 1-1000 (notes §1.4, §3); larger asks are served 1000
CLAUSE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9.]*)\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$")
DATETIME = re.compile(
    r"^DateTime\(\s*(\d{4})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})(?:\s*,\s*(\d{1,2})\s*,\s*(\d{1,2})\s*,\s*(\d{1,2}))?\s*\)$"
)
GUID = re.compile(r'^Guid\(\s*"([0-9a-fA-F-]{36})"\s*\)$')
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}  # fmt: skip


class QueryError(ValueError):
    """A ``where`` or ``order`` the sandbox cannot read."""


Predicate = Callable[[dict[str, Any]], bool]


def _value(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.lower() in {"true", "false"}:
        return text.lower() == "true"
    found = DATETIME.match(text)
    if found:
        parts = [int(p) for p in found.groups() if p is not None]
        return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]
    found = GUID.match(text)
    if found:
        return found.group(1).lower()
    try:
        return Decimal(text)
    except InvalidOperation:
        raise QueryError(f"cannot read the value {text!r}") from None


def field_value(record: dict[str, Any], path: str) -> Any:
    """A record's field for comparison: ``/Date()/`` as datetimes, numbers as Decimal, ids lower-case."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str) and value.startswith("/Date("):
        return wire.parse_ms_date(value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(value, str) and path.endswith("ID"):
        return value.lower()
    return value


def parse_where(text: str) -> list[Predicate]:
    """The predicates of a ``where`` expression (all must hold)."""
    if "||" in text or re.search(r"\bOR\b", text):
        raise QueryError("OR is not supported by the sandbox; use IDs=/Statuses= or several calls")
    predicates: list[Predicate] = []
    for clause in re.split(r"&&|\bAND\b", text):
        clause = clause.strip()
        while clause.startswith("(") and clause.endswith(")") and not CLAUSE.match(clause):
            clause = clause[1:-1].strip()
        found = CLAUSE.match(clause)
        if not found:
            raise QueryError(f"cannot parse the clause {clause!r}")
        path, op, raw = found.groups()
        predicates.append(_predicate(path, OPS[op], _value(raw)))
    return predicates


def _predicate(path: str, compare: Callable[[Any, Any], bool], wanted: Any) -> Predicate:
    def check(record: dict[str, Any]) -> bool:
        actual = field_value(record, path)
        if isinstance(actual, str) and isinstance(wanted, Decimal):
            try:
                actual = Decimal(actual)
            except InvalidOperation:
                return False
        try:
            return bool(compare(actual, wanted))
        except TypeError:
            return False

    return check


def if_modified_since(header: str | None) -> datetime | None:
    """The instant of an ``If-Modified-Since`` header: ISO (with or without offset, UTC if none) or HTTP date."""
    if not header:
        return None
    text = header.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def order_key(order: str | None) -> tuple[Callable[[dict[str, Any]], Any], bool] | None:
    """A sort key and ``reverse`` flag for ``order=Field [ASC|DESC]``; None keeps creation order."""
    if not order:
        return None
    parts = order.split()
    if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in {"ASC", "DESC"}):
        raise QueryError(f"cannot read order {order!r}")
    path = parts[0]

    def key(record: dict[str, Any]) -> Any:
        value = field_value(record, path)
        return (value is None, value if value is not None else 0)

    return key, len(parts) == 2 and parts[1].upper() == "DESC"


def page_args(args: Any) -> tuple[int | None, int]:
    """``(page, pageSize)``: page is None when not asked for (the unpaged summary list)."""
    raw = args.get("page")
    try:
        page = max(1, int(raw)) if raw is not None else None
        size = int(args.get("pageSize", PAGE_SIZE_DEFAULT))
    except ValueError:
        raise QueryError("page and pageSize must be numbers") from None
    return page, min(max(size, 1), PAGE_SIZE_MAX)
