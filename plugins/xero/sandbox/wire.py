"""How the Xero sandbox writes things on the wire: dates, envelopes, error bodies, JSON.

- ``/Date(ms+0000)/`` for dates and timestamps, plus the ``DateString``/``DueDateString``
  (``2018-12-30T00:00:00``) and ``UpdatedDateUTCString`` companions (notes §0.6, §6;
  invoices_list_ACCREC.spec.json). Date-only fields are midnight UTC. The envelope's
  ``DateTimeUTC`` has no offset (``/Date(1552326816230)/``, same sample).
- Connections use ISO with seven fractional digits and no ``Z`` (connections.spec.json).
- Envelope ``{"Id", "Status": "OK", "ProviderName", "DateTimeUTC", …}`` as every spec sample.
- 401/403 are problem bodies ``{"Type":null,"Title","Status","Detail","Instance","Extensions":{}}``:
  403 ``AuthenticationUnsuccessful`` for a missing or unconnected ``xero-tenant-id`` (NangoHQ/nango#203,
  XeroAPI/xero-node#432), 401 ``TokenExpired: token expired at MM/dd/yyyy HH:mm:ss`` (pyxero PR #337).
- 400 validation: ``ErrorNumber`` 10 ``ValidationException`` with ``Elements[].ValidationErrors[]``
  (error_400_validation_*.spec.json).
- 429 body: the OAuth1-era form string from pyxero's mock (http_429_rate_limit_day.pyxero-mock.json);
  notes §3 say the real body is undocumented — clients must key off status and headers.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

PROVIDER_NAME = "arcadence sandbox"
RATE_LIMIT_BODY = (
    "oauth_problem=rate%20limit%20exceeded&oauth_problem_advice=please%20wait%20before%20retrying%20the%20xero%20api"
)
MONEY = Decimal("0.01")


def money(value: Any) -> Decimal:
    """A two-decimal amount."""
    return Decimal(str(value)).quantize(MONEY)


def ms(at: datetime) -> int:
    """Milliseconds since the epoch."""
    return int(at.timestamp() * 1000)


def ms_date(at: datetime) -> str:
    """``/Date(ms+0000)/`` of an instant (``UpdatedDateUTC``)."""
    return f"/Date({ms(at)}+0000)/"


def day_date(day: date) -> str:
    """``/Date(ms+0000)/`` of a date-only field: midnight UTC (notes §0.6)."""
    return ms_date(datetime.combine(day, time(), UTC))


def day_string(day: date) -> str:
    """``DateString``/``DueDateString``: ``2018-12-30T00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def utc_string(at: datetime) -> str:
    """``UpdatedDateUTCString``: ``2018-11-02T16:31:30Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso7(at: datetime) -> str:
    """Connections' ``createdDateUtc``: seven fractional digits, no ``Z`` (connections.spec.json)."""
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0"


def parse_ms_date(value: str) -> datetime | None:
    """The instant of a ``/Date(…)/`` string (None when it is not one)."""
    text = value.strip().strip("\\/").removeprefix("Date(").split(")")[0]
    digits = text[:-5] if len(text) > 5 and text[-5] in "+-" else text
    try:
        return datetime.fromtimestamp(int(digits) / 1000, tz=UTC)
    except ValueError:
        return None


def set_day(record: dict[str, Any], field: str, day: date) -> None:
    """Write a date-only field and its ``…String`` companion (``Date``/``DateString`` …)."""
    record[field] = day_date(day)
    record[f"{field}String"] = day_string(day)


def set_updated(record: dict[str, Any], at: datetime) -> None:
    """Write ``UpdatedDateUTC`` (and ``UpdatedDateUTCString`` where the record carries it)."""
    record["UpdatedDateUTC"] = ms_date(at)
    if "UpdatedDateUTCString" in record:
        record["UpdatedDateUTCString"] = utc_string(at)


def dumps(payload: Any) -> bytes:
    """JSON bytes with money written as the API writes it (``115.00``, not ``115.0``)."""
    return _encode(payload).encode("utf-8")


def _encode(payload: Any) -> str:
    # json's C encoder formats floats with float.__repr__; a pure-Python walk keeps Decimal text.
    if isinstance(payload, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in payload.items()) + "}"
    if isinstance(payload, list | tuple):
        return "[" + ",".join(_encode(v) for v in payload) + "]"
    if isinstance(payload, Decimal):
        return str(payload)
    return json.dumps(payload, ensure_ascii=False)


def envelope(now: datetime, **content: Any) -> dict[str, Any]:
    """The accounting API's response wrapper around ``content``."""
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": f"/Date({ms(now)})/",
    }
    body.update(content)
    return body


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response (``application/json; charset=utf-8`` as the API sends it)."""
    response = Response(dumps(payload), status=status, content_type="application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """The ``{"Type":null,"Title",…}`` body of a 401/403 from the API gateway."""
    return {"Type": None, "Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4())}


def forbidden() -> Response:
    """403 for a missing, unknown or disconnected ``xero-tenant-id``."""
    body = problem(403, "Forbidden", "AuthenticationUnsuccessful")
    return json_response({**body, "Extensions": {}}, 403)


def unauthorized(expired_at: datetime | None) -> Response:
    """401 for an expired (or unknown) bearer token."""
    if expired_at is not None:
        detail = f"TokenExpired: token expired at {expired_at.astimezone(UTC).strftime('%m/%d/%Y %H:%M:%S')}"
    else:
        detail = "AuthenticationUnsuccessful"
    response = json_response({**problem(401, "Unauthorized", detail), "Extensions": {}}, 401)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def validation_error(elements: list[dict[str, Any]]) -> Response:
    """400 ``ValidationException`` with the given elements (each carries its ``ValidationErrors``)."""
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }
    return json_response(body, 400)


def query_error(message: str) -> Response:
    """400 for a ``where``/``order`` the sandbox cannot read (ErrorNumber 16 is ours)."""
    return json_response({"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}, 400)


def not_found() -> Response:
    """404 for an unknown id (plain text; the live text is not in the samples)."""
    return Response("The resource you're looking for cannot be found", status=404, mimetype="text/plain")


def rate_limited(problem_kind: str, retry_after: int, headers: dict[str, str]) -> Response:
    """429 with ``Retry-After`` and ``X-Rate-Limit-Problem`` (notes §0.3, §3)."""
    response = Response(RATE_LIMIT_BODY, status=429, content_type="text/html; charset=utf-8")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["X-Rate-Limit-Problem"] = problem_kind
    for name, value in headers.items():
        response.headers[name] = value
    return response


def history_element(at: datetime, details: str, message: str) -> dict[str, Any]:
    """One ``Elements`` entry of a refused History write (error_400_validation_history_not_found.spec.json)."""
    return {
        "DateUTCString": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "DateUTC": f"/Date({ms(at)})/",
        "Details": details,
        "ValidationErrors": [{"Message": message}],
    }
