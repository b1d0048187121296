"""Webhook signatures: base64(HMAC-SHA256(key, raw body)), as QuickBooks (``intuit-signature``)
and Xero (``x-xero-signature``) both sign their deliveries.

Always over the raw bytes as received (re-serialised JSON is another body) and compared in
constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256_base64(key: str, body: bytes) -> str:
    """The signature of ``body`` under ``key``."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def signature_matches(body: bytes | str, signature: str | bytes | None, key: str) -> bool:
    """True when ``signature`` is base64(HMAC-SHA256(``key``, ``body``)).

    Args:
        body: the raw request body (a ``str`` is taken as its UTF-8 bytes).
        signature: the signature header, or None when it is missing.
        key: the shared key; an empty one verifies nothing.

    Returns:
        True for a valid signature; a missing, malformed or wrong one gives False. Never raises;
        the comparison is constant time (``hmac.compare_digest``).
    """
    if not key or not isinstance(key, str) or not signature:
        return False
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes | bytearray | memoryview) or not isinstance(signature, str | bytes):
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        return False
    expected = hmac.new(key.encode("utf-8"), bytes(body), hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)
