"""The sign-in rate limit, kept in ``login_attempts`` so that every worker process sees it.

At most :data:`PER_EMAIL` failed passwords per e-mail address (counted since its last success)
and :data:`PER_CLIENT` per client address within :data:`WINDOW`. The check comes *before* the
password is verified, and a locked-out attempt is not recorded: the lock lifts one window after
the failure that set it, whatever is tried meanwhile. The time is the runtime's clock.

The client address is ``request.remote_addr``: behind a reverse proxy, put werkzeug's
``ProxyFix`` in front of the app, or every visitor shares the proxy's address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.db import LoginAttempt

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5
PER_CLIENT = 20
#: Reset links sent per address within the window (no mail-bombing a colleague).
RESETS_PER_EMAIL = 3


def email_key(email: str) -> str:
    """The rate-limit key of an e-mail address."""
    return f"email:{email.strip().lower()}"[:400]


def client_key(address: str | None) -> str:
    """The rate-limit key of a client address."""
    return f"ip:{address or 'unknown'}"[:400]


def reset_key(email: str) -> str:
    """The key counting reset links sent to an address."""
    return f"reset:{email.strip().lower()}"[:400]


def locked(db: Session, email: str, client: str | None, now: datetime) -> bool:
    """True when this e-mail address or this client has used up its failures in the window."""
    by_email, by_client = email_key(email), client_key(client)
    rows = db.execute(
        select(LoginAttempt.key, LoginAttempt.succeeded)
        .where(LoginAttempt.key.in_((by_email, by_client)), LoginAttempt.attempted_at > now - WINDOW)
        .order_by(LoginAttempt.id)
    ).all()
    email_failures = client_failures = 0
    for key, succeeded in rows:
        if key == by_email:
            email_failures = 0 if succeeded else email_failures + 1
        elif not succeeded:  # a success from the same address does not forgive its other guesses
            client_failures += 1
    return email_failures >= PER_EMAIL or client_failures >= PER_CLIENT


def record(db: Session, email: str, client: str | None, now: datetime, *, succeeded: bool) -> None:
    """Record one verified attempt under both keys, and forget attempts older than the window."""
    keys = (email_key(email), client_key(client))
    db.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys), LoginAttempt.attempted_at <= now - WINDOW))
    db.add_all(LoginAttempt(key=key, succeeded=succeeded, attempted_at=now) for key in keys)


def forgive(db: Session, email: str, now: datetime) -> None:
    """Count a proof of the mailbox (a completed reset) as a success for the address."""
    db.add(LoginAttempt(key=email_key(email), succeeded=True, attempted_at=now))


def reset_allowed(db: Session, email: str, now: datetime) -> bool:
    """True (and counted) when another reset link may go to ``email`` in this window."""
    key = reset_key(email)
    db.execute(delete(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.attempted_at <= now - WINDOW))
    sent = db.scalars(select(LoginAttempt.id).where(LoginAttempt.key == key)).all()
    if len(sent) >= RESETS_PER_EMAIL:
        return False
    db.add(LoginAttempt(key=key, succeeded=True, attempted_at=now))
    return True
