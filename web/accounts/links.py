"""The links the accounts e-mails carry, and sending those e-mails.

* A **reset link** is signed with the session secret (itsdangerous), stamped by the runtime's
  clock, valid for :data:`RESET_MAX_AGE`, and bound to a fingerprint of the current password
  hash: once the password is set, the same link no longer works. Nothing is stored.
* An **invitation link** carries a random token; only its SHA-256 is stored (``invitations``),
  so the table alone cannot be used to join a firm.

Links start with ``ARCADENCE_PUBLIC_URL``, never with the Host header of the request: a forged
Host must not turn a reset e-mail into a link to someone else's site. Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from connector.clock import Clock
from connector.mail import OutgoingMessage
from web import mailer, runtime

log = logging.getLogger(__name__)

RESET_MAX_AGE = timedelta(hours=1)
INVITATION_VALID = timedelta(days=7)


class _ClockSigner(TimestampSigner):
    """itsdangerous' timestamp signer on the runtime's clock (tests use a fixed one)."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock.now().timestamp())


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt="arcadence.password-reset",
        signer=_ClockSigner,
        signer_kwargs={"clock": runtime().clock},
    )


def reset_token(user_id: int, mark: str) -> str:
    """A signed token for resetting the password of ``user_id`` whose password mark is ``mark``."""
    return str(_reset_serializer().dumps([user_id, mark]))


def read_reset_token(token: str) -> tuple[int, str] | None:
    """(user id, password mark) of a genuine, unexpired token, else None."""
    try:
        user_id, mark = _reset_serializer().loads(token, max_age=int(RESET_MAX_AGE.total_seconds()))
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(user_id, int) or not isinstance(mark, str):
        return None
    return user_id, mark


def new_invitation_token() -> tuple[str, str]:
    """(token for the link, its SHA-256 hex digest for the store)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest an invitation token is stored as."""
    return hashlib.sha256(token.encode()).hexdigest()


def public_link(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` at the app's public address."""
    return runtime().settings.public_url.rstrip("/") + url_for(endpoint, **values)


def sender() -> str:
    """The From of the app's own mail: ``MAIL_FROM`` in the Flask config, else no-reply at the
    public host name."""
    configured = current_app.config.get("MAIL_FROM")
    return str(configured) if configured else f"arcadence <no-reply@{_mail_domain()}>"


def _mail_domain() -> str:
    host = urlsplit(runtime().settings.public_url).hostname or "localhost"
    return host if "." in host and not host.replace(".", "").isdigit() else "localhost"


def send(to: str, subject: str, text: str) -> None:
    """Send one plain-text message from the app (raises ``connector.mail.DeliveryError``)."""
    message = OutgoingMessage(
        message_id=f"<{secrets.token_hex(16)}@{_mail_domain()}>",
        sender=sender(),
        reply_to=sender(),
        recipients=(to,),
        subject=subject,
        text=text,
        html="",
    )
    mailer().send(message)
