"""The subset of QBO's query language the clients use, parsed and run against the store.

``SELECT * | COUNT(*) | f1, f2 FROM <Entity> [WHERE a op v [AND …]] [ORDERBY f [ASC|DESC], …]
[STARTPOSITION n] [MAXRESULTS m]`` with ``=, !=, <, >, <=, >=, IN (…), LIKE '%x%'``. As the real
service (notes §1.4): no ``OR``; ``STARTPOSITION`` is 1-based; ``MAXRESULTS`` defaults to 100 and
may not pass 1000 (Fault 4001, text from quickbooks-ruby issue #24); inactive name-list records
are left out unless the query names ``Active``; keywords and entity names are case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plugins.quickbooks.sandbox.faults import invalid_query, parse_error, parse_time
from plugins.quickbooks.sandbox.store import RAW, canonical_entity

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100
NAME_LISTS = frozenset({"Customer", "Term"})
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),*])"
    r"|(?P<num>-?\d+(?:\.\d+)?(?![\w.]))|(?P<word>[A-Za-z_][\w.]*))"
)


@dataclass(frozen=True)
class Condition:
    """``field op value`` (``values`` holds the list of an ``IN``)."""

    field: str
    op: str
    values: tuple[str, ...]


@dataclass
class Query:
    """A parsed SELECT."""

    entity: str
    count: bool = False
    fields: tuple[str, ...] = ()
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = text.strip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise parse_error(f'Encountered "{text[position : position + 10].strip()}" at position {position + 1}')
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at][1].upper() if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise parse_error(f'Encountered "<EOF>"{f", expected {expected}" if expected else ""}')
        token = self.tokens[self.at]
        if expected is not None and token[1].upper() != expected:
            raise parse_error(f'Encountered "{token[1]}" at token {self.at + 1}, expected {expected}')
        self.at += 1
        return token

    def value(self) -> str:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind in {"num", "word"}:
            return text
        raise parse_error(f'Encountered "{text}" where a value was expected')

    def integer(self, name: str) -> int:
        kind, text = self.take()
        if kind != "num" or "." in text:
            raise parse_error(f'{name} needs a whole number, got "{text}"')
        return int(text)


def parse(text: str) -> Query:
    """Parse one SELECT; a 4000/4001 fault for what the service would refuse."""
    p = _Parser(text)
    p.take("SELECT")
    count, fields = False, []
    if p.peek() == "COUNT":
        p.take(), p.take("("), p.take("*"), p.take(")")
        count = True
    elif p.peek() == "*":
        p.take()
    else:
        fields.append(p.take()[1])
        while p.peek() == ",":
            p.take()
            fields.append(p.take()[1])
    p.take("FROM")
    try:
        query = Query(canonical_entity(p.take()[1]), count=count, fields=tuple(fields))
    except LookupError as exc:
        raise invalid_query(f"QueryValidationError: {exc}") from None
    if p.peek() == "WHERE":
        p.take()
        query.where.append(_condition(p))
        while p.peek() in {"AND", "OR"}:
            if p.take()[1].upper() == "OR":
                raise parse_error(f'Encountered " "OR" "OR "" at token {p.at}; OR is not supported')
            query.where.append(_condition(p))
    if p.peek() == "ORDERBY" or (p.peek() == "ORDER" and p.take() and p.peek() == "BY"):
        p.take()
        while True:
            name = p.take()[1]
            descending = p.peek() == "DESC"
            if p.peek() in {"ASC", "DESC"}:
                p.take()
            query.order.append((name, descending))
            if p.peek() != ",":
                break
            p.take()
    if p.peek() == "STARTPOSITION":
        p.take()
        query.start = max(1, p.integer("STARTPOSITION"))
    if p.peek() == "MAXRESULTS":
        p.take()
        query.max_results = p.integer("MAXRESULTS")
    if p.at < len(p.tokens):
        raise parse_error(f'Encountered "{p.tokens[p.at][1]}" at token {p.at + 1}')
    if query.max_results > MAX_RESULTS:
        raise invalid_query(
            f"QueryValidationError: value {query.max_results} is too large. Max allowed value is {MAX_RESULTS}"
        )
    return query


def _condition(p: _Parser) -> Condition:
    name = p.take()[1]
    operator = p.take()[1].upper()
    if operator == "IN":
        p.take("(")
        values = [p.value()]
        while p.peek() == ",":
            p.take()
            values.append(p.value())
        p.take(")")
        return Condition(name, "IN", tuple(values))
    if operator not in {"=", "!=", "<>", "<", ">", "<=", ">=", "LIKE"}:
        raise parse_error(f'Encountered "{operator}" where an operator was expected')
    return Condition(name, "!=" if operator == "<>" else operator, (p.value(),))


def resolve(record: dict[str, Any], path: str) -> list[Any]:
    """The values at a dotted path (keys case-insensitive; lists fan out; a Ref means its value)."""
    current: list[Any] = [record]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict):
                    key = next((k for k in element if k.lower() == part.lower()), None)
                    if key is not None:
                        nxt.append(element[key])
        current = nxt
    flat: list[Any] = []
    for value in current:
        for element in value if isinstance(value, list) else [value]:
            flat.append(element["value"] if isinstance(element, dict) and "value" in element else element)
    return flat


def _typed(left: Any, right: str, path: str) -> tuple[Any, Any] | None:
    if path.lower().startswith("metadata."):
        try:
            return parse_time(str(left)), parse_time(right)
        except ValueError:
            return None
    if isinstance(left, bool):
        return left, right.lower() == "true"
    if isinstance(left, Decimal | int | float):
        try:
            return Decimal(str(left)), Decimal(right)
        except InvalidOperation:
            return None
    if isinstance(left, str):
        return left, right
    return None


def _test(left: Any, condition: Condition) -> bool:
    if condition.op == "IN":
        return any(_test(left, Condition(condition.field, "=", (v,))) for v in condition.values)
    if condition.op == "LIKE":
        pattern = "^" + ".*".join(re.escape(part) for part in condition.values[0].split("%")) + "$"
        return isinstance(left, str) and re.match(pattern, left, re.IGNORECASE) is not None
    pair = _typed(left, condition.values[0], condition.field)
    if pair is None:
        return False
    a, b = pair
    try:
        return {"=": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[condition.op]
    except TypeError:
        return False


def matches(record: dict[str, Any], query: Query) -> bool:
    """Whether a record passes every condition (and the default ``Active`` filter)."""
    names_active = any(c.field.lower() == "active" for c in query.where)
    if query.entity in NAME_LISTS and not names_active and record.get("Active") is False:
        return False
    for condition in query.where:
        if RAW in record and condition.field.lower() != "id":
            return False
        if not any(_test(value, condition) for value in resolve(record, condition.field)):
            return False
    return True


def _sort_key(record: dict[str, Any], path: str) -> tuple[int, Any]:
    values = resolve(record, path)
    if not values:
        return (2, "")
    value = values[0]
    if path.lower().startswith("metadata."):
        try:
            return (0, parse_time(str(value)).timestamp())
        except ValueError:
            return (2, "")
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return (0, float(value))
    if path.lower() == "id" and str(value).isdigit():
        return (0, int(value))
    return (1, str(value))


def run(records: Iterable[dict[str, Any]], query: Query) -> tuple[list[dict[str, Any]], int]:
    """(the page, the number of all matches) for a parsed query."""
    found = [record for record in records if matches(record, query)]
    for path, descending in reversed(query.order):
        found.sort(key=lambda record: _sort_key(record, path), reverse=descending)
    start = query.start - 1
    return found[start : start + max(query.max_results, 0)], len(found)


def project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``SELECT a, b``: only those fields, plus the identity the service always returns."""
    if not fields or RAW in record:
        return record
    wanted = {name.lower() for name in fields} | {"id", "synctoken", "domain", "sparse"}
    return {key: value for key, value in record.items() if key.lower() in wanted}


def changed_after(record: dict[str, Any]) -> datetime | None:
    """The record's ``LastUpdatedTime`` as an instant (None when it has none)."""
    values = resolve(record, "MetaData.LastUpdatedTime")
    return parse_time(str(values[0])) if values else None
