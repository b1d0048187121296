"""Tolerant readers for Xero JSON: each names the field it refuses (pure: no I/O, no clock).

Xero's JSON is looser than its own SDK's models (notes §0.8, §1.7): string booleans (``"false"``),
numbers as strings (``"50.00"``), enum values the spec does not list. These readers accept what
can be read without guessing and raise :class:`MappingError` naming the field for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.model import ISO_CURRENCIES

# "/Date(1546128000000+0000)/", "/Date(1552326816230)/" (no offset), and the wire escaping
# "\/Date(…)\/" kept as text when a body was decoded twice (notes §0.6, §6).
_MS_DATE = re.compile(r"\\?/Date\((-?\d{1,15})([+-]\d{4})?\)\\?/")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# "2018-12-30T00:00:00" (DateString), "2018-11-02T16:31:30Z", "2024-06-21T01:15:39.902" and the
# connections' seven fractional digits "2019-12-07T18:46:19.5165400" (notes §4, §6).
_ISO_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO_ID = "00000000-0000-0000-0000-000000000000"
"""The id Xero gives an element it did not save (400 validation responses, notes §6)."""


class MappingError(ValueError):
    """A Xero payload that cannot be mapped.

    Attributes:
        field: the path of the field at fault (``Contact.ContactID``, ``AmountDue``); ``""`` when
            the record as a whole is wrong.
        message: what is wrong with it, in one line.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class NotReceivable(MappingError):
    """A well-formed record that is not accounts receivable: a bill (ACCPAY), a supplier credit
    note (ACCPAYCREDIT), a SPEND overpayment or prepayment, a refund or a supplier payment.

    :func:`plugins.xero.mapping.map_record` reports these as gone (``Fetched(deleted=True)``),
    never as bad records.
    """


def parse_xero_instant(value: str) -> datetime:
    """Parse a Xero instant to a UTC-aware datetime.

    Accepts ``/Date(ms±hhmm)/`` (ms since the epoch in UTC; the offset is informational, notes
    §0.6), the same without offset or with the wire escaping ``\\/Date(…)\\/``, and ISO 8601 with
    or without ``Z``/offset and with up to nine fractional digits; a time without offset is UTC
    (``UpdatedDateUTCString``, webhook ``eventDateUtc``, connections: notes §4, §6).

    Raises:
        ValueError: for anything else, a bare date included.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a /Date(…)/ or ISO 8601 instant, got {type(value).__name__}")
    text = value.strip()
    ms = _MS_DATE.fullmatch(text)
    if ms:
        try:
            return _EPOCH + timedelta(milliseconds=int(ms.group(1)))
        except OverflowError:
            raise ValueError(f"instant out of range: {value!r}") from None
    iso = _ISO_INSTANT.fullmatch(text)
    if not iso:
        raise ValueError(f"not a /Date(…)/ or ISO 8601 instant: {value!r}")
    seconds, fraction, offset = iso.groups()
    micro = (fraction or "").ljust(6, "0")[:6]  # Python keeps microseconds; Xero may send 7 digits
    try:
        parsed = datetime.fromisoformat(f"{seconds}.{micro}{_offset(offset)}")
    except ValueError:
        raise ValueError(f"not a valid instant: {value!r}") from None
    return parsed.astimezone(UTC)


def _offset(offset: str | None) -> str:
    if offset is None or offset == "Z":
        return "+00:00"
    return offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"


def parse_xero_date(value: str) -> date:
    """Parse a Xero date field (``Date``, ``DueDate``, ``FullyPaidOnDate``) to a date.

    ``/Date(…)/`` values (any variant of :func:`parse_xero_instant`) are midnight UTC, so the date
    is taken in **UTC** (notes §0.6). ``DateString`` forms (``2018-12-30T00:00:00``) and plain
    ``2018-12-30`` give their date part: they are the organisation's calendar date.

    Raises:
        ValueError: for anything else.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a /Date(…)/ or YYYY-MM-DD date, got {type(value).__name__}")
    text = value.strip()
    if _MS_DATE.fullmatch(text):
        return parse_xero_instant(text).date()
    head = text[:10]
    try:
        if _ISO_DATE.fullmatch(head) and (len(text) == 10 or parse_xero_instant(text)):
            return date.fromisoformat(head)  # the organisation's calendar date, whatever the offset
    except ValueError:
        pass
    raise ValueError(f"not a /Date(…)/ or YYYY-MM-DD date: {value!r}")


# --- field readers: each takes the object, the key and the path prefix


def path(prefix: str, key: str) -> str:
    """``prefix.key``, or ``key`` at the top."""
    return f"{prefix}.{key}" if prefix else key


def required(raw: Mapping[str, Any], key: str, prefix: str = "") -> Any:
    """The value of ``key``; JSON null counts as absent."""
    value = raw.get(key)
    if value is None:
        raise MappingError(path(prefix, key), "missing")
    return value


def obj(raw: Mapping[str, Any], key: str, prefix: str = "") -> Mapping[str, Any]:
    """A nested object."""
    value = required(raw, key, prefix)
    if not isinstance(value, Mapping):
        raise MappingError(path(prefix, key), f"expected an object, got {type(value).__name__}")
    return value


def text(raw: Mapping[str, Any], key: str, prefix: str = "", *, default: str | None = None) -> str:
    """A string; ``default`` when absent (if given)."""
    value = raw.get(key)
    if value is None and default is not None:
        return default
    value = required(raw, key, prefix)
    if not isinstance(value, str):
        raise MappingError(path(prefix, key), f"expected text, got {type(value).__name__}")
    return value


def code(raw: Mapping[str, Any], key: str, prefix: str = "", *, default: str | None = None) -> str:
    """An enum value such as ``Status`` or ``Type``, upper case and stripped."""
    return text(raw, key, prefix, default=default).strip().upper()


def ident(raw: Mapping[str, Any], key: str, prefix: str = "") -> str:
    """A Xero id (a GUID as text); the all-zero id of an unsaved element is refused."""
    value = required(raw, key, prefix)
    if not isinstance(value, str) or not value.strip():
        raise MappingError(path(prefix, key), f"not an id: {value!r}")
    if value.strip() == ZERO_ID:
        raise MappingError(path(prefix, key), "the empty id of a record Xero did not save")
    return value.strip()


def flag(raw: Mapping[str, Any], key: str, prefix: str = "", *, default: bool) -> bool:
    """A boolean; ``"true"``/``"false"`` strings accepted (notes §0.8: string booleans)."""
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MappingError(path(prefix, key), f"expected true or false, got {value!r}")


def amount(raw: Mapping[str, Any], key: str, prefix: str = "") -> Decimal:
    """A non-negative amount: a Decimal (``parse_float=Decimal``), an int, a numeric string
    (``"50.00"``, notes §0.8) or a float through its shortest repr; nothing else."""
    value = required(raw, key, prefix)
    field = path(prefix, key)
    if isinstance(value, bool):
        raise MappingError(field, f"expected a number, got {value!r}")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float | str):
        shown = str(value).strip()  # a float: its shortest repr (a body parsed without parse_float)
        if not _NUMBER.fullmatch(shown):
            raise MappingError(field, f"not a number: {value!r}")
        number = Decimal(shown)
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    else:
        shown = repr(value) if isinstance(value, Decimal) else type(value).__name__
        raise MappingError(field, f"expected a number, got {shown}")
    if number < 0:
        raise MappingError(field, f"negative: {number}")
    return number


def xero_date(raw: Mapping[str, Any], key: str, prefix: str = "") -> date:
    """A date field, or its ``…String`` twin when only that is present (notes §0.6: the SDK drops
    ``DateString``/``DueDateString``, the API sends both)."""
    twin = f"{key}String"
    if raw.get(key) is None and raw.get(twin) is not None:
        key = twin
    value = text(raw, key, prefix)
    try:
        return parse_xero_date(value)
    except ValueError as exc:
        raise MappingError(path(prefix, key), str(exc)) from None


def optional_date(raw: Mapping[str, Any], key: str, prefix: str = "") -> date | None:
    """:func:`xero_date`, or None when neither the field nor its ``…String`` twin is there."""
    if raw.get(key) is None and raw.get(f"{key}String") is None:
        return None
    return xero_date(raw, key, prefix)


def currency(raw: Mapping[str, Any], home_currency: str) -> str:
    """``CurrencyCode``, else the home currency (single-currency organisations)."""
    if raw.get("CurrencyCode") is None:
        return home_currency
    value = code(raw, "CurrencyCode")
    if value not in ISO_CURRENCIES:
        raise MappingError("CurrencyCode", f"unknown currency {value!r}")
    return value


def objects(raw: Mapping[str, Any], key: str, prefix: str = "") -> list[Mapping[str, Any]]:
    """A list of objects; absent or null is empty."""
    value = raw.get(key)
    where = path(prefix, key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(where, f"expected a list, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise MappingError(f"{where}[{i}]", f"expected an object, got {type(item).__name__}")
    return value


def check_home(home_currency: str) -> str:
    """The home currency, upper case; a caller bug (ValueError, not MappingError) when not ISO 4217."""
    if not isinstance(home_currency, str) or home_currency.upper() not in ISO_CURRENCIES:
        raise ValueError(f"home_currency must be an ISO 4217 code, not {home_currency!r}")
    return home_currency.upper()
