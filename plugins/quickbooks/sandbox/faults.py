"""QBO's wire formats for times, faults, 401 and 429, as the real service sends them.

Sources: ``shared/api-samples/quickbooks/`` (fault_5010, fault_610, error_401, error_429) and
``notes/quickbooks.md`` §3.1-§3.2. Where no public sample exists the text is ours and says so.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# MetaData times carry the service's Pacific offset (-07:00 / -08:00 in every sample, whatever
# the company's country): notes/quickbooks.md §3.1; NANGO and DOCS samples.
SERVICE_ZONE = ZoneInfo("America/Los_Angeles")


class QboFault(Exception):
    """A fault to answer with: HTTP status plus the ``Fault`` object (without ``time``)."""

    def __init__(self, status: int, code: str, message: str, detail: str, kind: str = "ValidationFault") -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.fault = {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": kind}


def meta_time(at: datetime) -> str:
    """``MetaData`` style: ``2026-05-05T03:13:07-07:00`` (seconds, offset with a colon)."""
    return at.astimezone(SERVICE_ZONE).isoformat(timespec="seconds")


def response_time(at: datetime) -> str:
    """The top-level ``time`` of a response: milliseconds and the Pacific offset."""
    return at.astimezone(SERVICE_ZONE).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """A QBO timestamp or date; a value without offset is read as service (Pacific) time.

    python-quickbooks drops the offset of ``changedSince`` (notes §1.5), so a naive value must mean
    something; Pacific is what every MetaData time is written in.
    """
    value = text.strip().replace(" ", "+") if "T" in text else text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":" and "T" in value:
        value = value[:-2] + ":" + value[-2:]  # -0700 → -07:00 (legacy webhook style)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SERVICE_ZONE)


def plain(value: Any) -> Any:
    """Stored records → JSON values: Decimal as the shortest number (``275``, ``362.07``)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def dumps(payload: Any) -> bytes:
    """Compact JSON as the service sends it."""
    return json.dumps(plain(payload), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fault_body(fault: QboFault, now: datetime) -> dict[str, Any]:
    """``{"Fault": …, "time": …}``: the top-level error envelope (Intuit "Handling common errors")."""
    return {"Fault": fault.fault, "time": response_time(now)}


def unauthorized_body(now: datetime) -> bytes:
    """The 401 body, byte for byte the shape of error_401_authentication (lower-case keys, epoch-ms time)."""
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": None,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def throttled_body(now: datetime) -> bytes:
    """The 429 body: XML even when JSON was asked for (error_429_throttle.quickbooks-ruby.xml)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse time="{response_time(now)}" xmlns="http://schema.intuit.com/finance/v3">\n'
        '  <Fault type="SERVICE">\n'
        '    <Error code="3001">\n'
        "      <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>\n"
        "      <Detail>The request limit was reached.  Try again later</Detail>\n"
        "    </Error>\n"
        "  </Fault>\n"
        "</IntuitResponse>"
    ).encode()


class ObjectNotFound(QboFault, LookupError):
    """Fault 610; also a ``LookupError``, so the control API answers 404 for it."""


def not_found(entity: str, entity_id: str) -> QboFault:
    """610 Object Not Found (fault_610_object_not_found.intuit-docs.json), HTTP 400."""
    return ObjectNotFound(
        400,
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def stale_object() -> QboFault:
    """5010 Stale Object Error (fault_5010_stale_object.intuit-docs.json), HTTP 400."""
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time. "
        "root finished before you did, so your work was not saved.",
    )


def invalid_query(detail: str) -> QboFault:
    """4001 Invalid query; the MAXRESULTS text is quoted from quickbooks-ruby issue #24."""
    return QboFault(400, "4001", "Invalid query", detail)


def parse_error(detail: str) -> QboFault:
    """4000 Error parsing query (QueryParserError)."""
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def required_missing(name: str) -> QboFault:
    """2020 Required param missing."""
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
    )


def string_too_long(limit: int, length: int) -> QboFault:
    """2050 String length out of range (e.g. an Attachable note over 2000 characters)."""
    return QboFault(
        400,
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{limit} supplied length:{length}",
    )


def invalid_request(detail: str) -> QboFault:
    """2010 Request has invalid or unsupported property (unreadable body, unknown operation)."""
    return QboFault(400, "2010", "Request has invalid or unsupported property", detail)


def unsupported(detail: str) -> QboFault:
    """500 Unsupported Operation (an entity or operation the sandbox does not model)."""
    return QboFault(400, "500", "Unsupported Operation", detail)


def forbidden_realm() -> QboFault:
    """3100 ApplicationAuthorizationFailed, HTTP 403: a token for another company."""
    return QboFault(
        403,
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "",
        "AuthorizationFault",
    )


def system_fault() -> QboFault:
    """10000 SystemFault, HTTP 500 (for injected server errors)."""
    return QboFault(
        500,
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data.",
        "SystemFault",
    )
