"""Logging for every arcadence process, with secrets redacted as a last line of defence.

Code never logs a token on purpose; :class:`RedactingFilter` masks what slips through anyway
(an SDK's debug line with an ``Authorization`` header, a token response body, a callback URL
with ``code=``, an access-log line with a payer, reset or invitation link).
"""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|id_token|client_secret|code|password|token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    # Links whose path is the key: a payer's page, a password reset, an invitation (access logs).
    re.compile(r"(/(?:pay|reset|invite)/)[^/\s?\"']+"),
)
MASK = "[redacted]"


def redact(text: str) -> str:
    """``text`` with bearer tokens, token fields, auth codes and passwords masked."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks secrets in the final message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Send log lines to stderr with a redacting filter on the handler."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
