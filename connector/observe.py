"""One structured log line per job, organisation and outcome, the same shape wherever it is written:

    job=sync organisation=12 outcome=rate_limited retry_after=86356 worker=host:4711

``key=value`` pairs (logfmt) read well in a terminal and are parsed by the usual log shippers; the
same values ride on the record (``record.arcadence``) for a JSON formatter. A line never carries a
token: the fields are ids, counts, instants and error classes, and the handler's redacting filter
(``connector.logsetup``) is the last line of defence.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import date, datetime, timedelta
from typing import Any

from connector.errors import AuthRevoked, PlatformError, PluginError, RateLimited

log = logging.getLogger("arcadence.jobs")

#: Outcomes that need someone's attention sooner or later: logged as warnings.
PROBLEMS = frozenset({"failed", "error", "needs_reauth", "rate_limited", "in_doubt", "bad_settings"})


def worker_id() -> str:
    """This process, as claims and log lines name it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def log_outcome(job: str, org_id: int | None, outcome: str, *, exc_info: bool = False, **fields: Any) -> str:
    """Log what ``job`` did for organisation ``org_id`` and return the line.

    Args:
        job: the job's name (``sync``, ``reconcile``, ``collect``, ``dispatch``, ``keepalive``…).
        org_id: the organisation (None for work that belongs to none).
        outcome: a short word: ``synced``, ``rate_limited``, ``needs_reauth``, ``failed``…
            (:func:`outcome_of` names the outcome of an exception).
        exc_info: add the traceback of the exception being handled (for unexpected errors).
        fields: anything else worth a column (counts, ``retry_after``, ``duration_ms``, ``worker``).
    """
    pairs = {"job": job, "organisation": org_id, "outcome": outcome, **fields}
    line = " ".join(f"{key}={_value(value)}" for key, value in pairs.items())
    level = logging.WARNING if outcome in PROBLEMS else logging.INFO
    log.log(level, "%s", line, extra={"arcadence": pairs}, exc_info=exc_info)
    return line


def outcome_of(error: BaseException) -> str:
    """The outcome word for a job step that ended with ``error``."""
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, AuthRevoked):
        return "needs_reauth"
    if isinstance(error, PlatformError | PluginError):
        return "failed"
    return "error"


def _value(value: object) -> str:
    """One logfmt value: instants in ISO 8601, durations in seconds, quoted when it has a space."""
    if value is None:
        text = "-"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, timedelta):
        text = _number(value.total_seconds())
    elif isinstance(value, float):
        text = _number(value)
    else:
        text = str(value)
    text = " ".join(text.split())  # one line, whatever the message held
    if not text or any(c in text for c in ' "=\\'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(round(value, 3))
