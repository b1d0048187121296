"""Personal links to the payer's self-service page: signed, expiring, scoped to one customer of
one organisation, and unguessable.

A link carries ``(organisation id, customer id, expiry day)`` signed with HMAC-SHA256 under a key
derived from the session secret with its own salt, so a session cookie can never be replayed as
a link nor a link as a cookie. Nothing about the customer is readable from the link beyond those
numbers, and a changed byte fails the signature. The expiry is checked against the clock the
caller passes (tests use a fixed one), not the wall clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

#: How long a link in a message stays valid: long enough for a slow payer, short enough to age out.
LINK_DAYS = 60

SALT = "arcadence.payer-portal.v1"


@dataclass(frozen=True, slots=True)
class PayerScope:
    """What a valid link opens: one customer of one organisation, until ``expires_on`` (inclusive)."""

    organisation_id: int
    customer_id: int
    expires_on: date


class LinkRefused(Exception):
    """The link is not valid. ``expired`` tells a stale link from a tampered or foreign one; the page
    says the same polite thing either way and reveals nothing."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


class PortalLinks:
    """Makes and reads payer links.

    Args:
        secret: the application's session secret (the key is derived from it with :data:`SALT`).
        public_url: where the app is reached, without a trailing slash.
    """

    def __init__(self, secret: str, public_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})
        self._public_url = public_url.rstrip("/")

    def token(self, organisation_id: int, customer_id: int, *, today: date, days: int = LINK_DAYS) -> str:
        """A signed token for the customer's page, valid through ``today + days``."""
        expires = today + timedelta(days=days)
        return str(self._serializer.dumps([organisation_id, customer_id, expires.toordinal()]))

    def url(self, organisation_id: int, customer_id: int, *, today: date, days: int = LINK_DAYS) -> str:
        """The full link to put in a message."""
        return f"{self._public_url}/pay/{self.token(organisation_id, customer_id, today=today, days=days)}"

    def read(self, token: str, *, today: date) -> PayerScope:
        """The scope of a valid link; :class:`LinkRefused` for anything else."""
        try:
            value = self._serializer.loads(token)
        except BadSignature:
            raise LinkRefused("bad signature") from None
        if not (
            isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) and v > 0 for v in value)
        ):  # pragma: no cover (only a holder of the key could sign another shape)
            raise LinkRefused("unexpected payload")
        organisation_id, customer_id, expires = value
        expires_on = date.fromordinal(expires)
        if today > expires_on:
            raise LinkRefused("expired", expired=True)
        return PayerScope(organisation_id, customer_id, expires_on)


def portal_links(secret: str, public_url: str) -> PortalLinks:
    """The links of an installation: keyed by its session secret (``Settings.session_secret``),
    pointing at its public URL (``Settings.public_url``). The secret is never logged."""
    return PortalLinks(secret, public_url)
