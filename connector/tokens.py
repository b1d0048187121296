"""OAuth tokens at rest: encrypted with MultiFernet, readable with any configured key.

Keys come from ``ARCADENCE_SECRET_KEYS`` (comma-separated, newest first): the newest encrypts,
all decrypt, and :func:`rotate_all` re-encrypts every stored token with the newest key so an old
key can then be retired. No token appears in a log line, a ``repr`` or an exception message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock
from connector.db import Connection, ConnectionStatus
from connector.errors import AuthRevoked

log = logging.getLogger(__name__)

_TOKEN_COLUMNS = ("access_token_enc", "refresh_token_enc", "id_token_enc")


class TokenDecryptError(Exception):
    """A stored token cannot be decrypted with the configured keys (the message holds no secret)."""


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The tokens of one grant, in the clear (only in memory, never logged).

    Attributes:
        access_token: the bearer token for API calls.
        refresh_token: the token that gets the next access token (rotates on QBO and Xero).
        access_expires_at: when the access token expires (UTC).
        refresh_expires_at: when the refresh token expires, if the platform says.
        id_token: the OpenID Connect id token, when the grant signed a user in.
        scopes: the granted scopes, space-separated.
        refresh_hard_expires_at: the grant's absolute end (QBO's 5-year limit), when the platform says.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    id_token: str | None = field(default=None, repr=False)
    scopes: str = ""
    refresh_hard_expires_at: datetime | None = None


class TokenCipher:
    """Encrypts and decrypts token strings with the configured keys (newest first)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, secret: str) -> bytes:
        """Encrypt with the newest key."""
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """Decrypt with whichever configured key made ``blob``."""
        try:
            return self._fernet.decrypt(blob).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError("stored token cannot be decrypted with the keys in ARCADENCE_SECRET_KEYS") from None

    def rotate(self, blob: bytes) -> bytes:
        """Re-encrypt ``blob`` with the newest key."""
        try:
            return self._fernet.rotate(blob)
        except InvalidToken:
            raise TokenDecryptError("stored token cannot be decrypted with the keys in ARCADENCE_SECRET_KEYS") from None


class TokenStore:
    """Reads and writes the tokens of :class:`Connection` rows through a cipher."""

    def __init__(self, cipher: TokenCipher) -> None:
        self._cipher = cipher

    def save(self, connection: Connection, tokens: TokenSet, *, now: datetime) -> None:
        """Store ``tokens`` on ``connection`` (in the caller's transaction) and mark it active."""
        connection.access_token_enc = self._cipher.encrypt(tokens.access_token)
        connection.refresh_token_enc = self._cipher.encrypt(tokens.refresh_token)
        connection.id_token_enc = self._cipher.encrypt(tokens.id_token) if tokens.id_token else None
        connection.access_expires_at = tokens.access_expires_at
        connection.refresh_expires_at = tokens.refresh_expires_at
        if tokens.refresh_hard_expires_at is not None:
            connection.refresh_hard_expires_at = tokens.refresh_hard_expires_at
        connection.scopes = tokens.scopes
        connection.refreshed_at = now
        connection.updated_at = now
        connection.token_version = (connection.token_version or 0) + 1
        connection.status = ConnectionStatus.ACTIVE.value
        connection.last_error = None
        log.info("stored tokens of connection %s (version %s)", connection.id, connection.token_version)

    def load(self, connection: Connection) -> TokenSet:
        """The tokens of ``connection``.

        Raises:
            TokenDecryptError: no configured key can read them.
            LookupError: the connection holds no tokens.
        """
        if connection.access_token_enc is None or connection.refresh_token_enc is None:
            raise LookupError(f"connection {connection.id} holds no tokens")
        if connection.access_expires_at is None:
            raise LookupError(f"connection {connection.id} has no access token expiry")
        return TokenSet(
            access_token=self._cipher.decrypt(connection.access_token_enc),
            refresh_token=self._cipher.decrypt(connection.refresh_token_enc),
            access_expires_at=connection.access_expires_at,
            refresh_expires_at=connection.refresh_expires_at,
            id_token=self._cipher.decrypt(connection.id_token_enc) if connection.id_token_enc else None,
            scopes=connection.scopes,
            refresh_hard_expires_at=connection.refresh_hard_expires_at,
        )


def rotate_all(session: Session, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token with the newest key, in the caller's transaction.

    Returns:
        How many connections were re-encrypted.

    Raises:
        TokenDecryptError: a token cannot be read with any configured key (nothing is changed
        then if the caller rolls back).
    """
    count = 0
    for connection in session.scalars(select(Connection).order_by(Connection.id).with_for_update()):
        for column in _TOKEN_COLUMNS:
            blob = getattr(connection, column)
            if blob is not None:
                setattr(connection, column, cipher.rotate(blob))
        count += 1
    log.info("re-encrypted the tokens of %d connection(s) with the newest key", count)
    return count


def lock_connection(session: Session, connection_id: int) -> Connection:
    """Lock the connection's row for the rest of the transaction and return it, fresh.

    A no-op UPDATE comes first: on PostgreSQL it takes the row lock, on SQLite it takes the
    database's write lock before anything is read, so the read below sees the latest commit on
    both (a plain ``SELECT … FOR UPDATE`` is ignored by SQLite).
    """
    session.execute(
        update(Connection).where(Connection.id == connection_id).values(token_version=Connection.token_version)
    )
    return session.scalars(
        select(Connection).where(Connection.id == connection_id).execution_options(populate_existing=True)
    ).one()


class StoredTokenSource:
    """The tokens of one connection, refreshed at most once at a time across threads and processes.

    ``current()`` returns the stored tokens, refreshing first when the access token expires within
    ``early`` (default 5 minutes). ``refreshed(stale)`` locks the connection row; if the stored
    tokens already differ from ``stale`` someone else refreshed and those are returned; otherwise
    the platform is asked, and the rotated tokens are **committed before they are used**. When the
    platform says the grant is gone (``AuthRevoked``, e.g. ``invalid_grant``), the connection is
    marked ``needs_reauth`` only after re-reading the row under the lock.

    Args:
        sessions: session factory of the store.
        cipher: the token cipher.
        connection_id: the connection row.
        refresh: calls the platform: stale tokens in, new tokens out (``AuthRevoked`` if refused).
        clock: where the time comes from.
        early: refresh this long before the access token expires.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: TokenCipher,
        connection_id: int,
        refresh: Callable[[TokenSet], TokenSet],
        clock: Clock,
        early: timedelta = timedelta(minutes=5),
    ) -> None:
        self._sessions = sessions
        self._store = TokenStore(cipher)
        self._connection_id = connection_id
        self._refresh = refresh
        self._clock = clock
        self._early = early
        self._cached: TokenSet | None = None
        self._lock = threading.Lock()

    def current(self) -> TokenSet:
        """The latest tokens, refreshed first if the access token is about to expire."""
        tokens = self._cached or self._load()
        if tokens.access_expires_at - self._clock.now() <= self._early:
            tokens = self.refreshed(tokens)
        return tokens

    def refreshed(self, stale: TokenSet) -> TokenSet:
        """Tokens newer than ``stale`` (see the class docstring)."""
        revoked: AuthRevoked | None = None
        with self._lock, self._sessions.begin() as session:
            row = lock_connection(session, self._connection_id)
            if row.status != ConnectionStatus.ACTIVE.value:
                raise AuthRevoked(f"connection {row.id} needs to be reconnected ({row.status})")
            stored = self._store.load(row)
            if stored.access_token != stale.access_token:
                log.info("connection %s was refreshed meanwhile (version %s)", row.id, row.token_version)
                self._cached = stored
                return stored
            try:
                fresh: TokenSet | None = self._refresh(stored)
            except AuthRevoked as exc:
                revoked, fresh = exc, None
                self._mark_needs_reauth(session, row, str(exc))
            if fresh is not None:
                self._store.save(row, fresh, now=self._clock.now())
        # Committed: the rotated refresh token is safe before the new access token is used.
        if revoked is not None or fresh is None:
            raise revoked or AuthRevoked("refresh failed")
        self._cached = fresh
        return fresh

    def _load(self) -> TokenSet:
        with self._sessions() as session:
            row = session.get_one(Connection, self._connection_id)
            if row.status != ConnectionStatus.ACTIVE.value:
                raise AuthRevoked(f"connection {row.id} needs to be reconnected ({row.status})")
            self._cached = self._store.load(row)
            return self._cached

    def _mark_needs_reauth(self, session: Session, row: Connection, reason: str) -> None:
        session.refresh(row)  # re-read under the lock before declaring the grant dead
        row.status = ConnectionStatus.NEEDS_REAUTH.value
        row.last_error = reason
        row.updated_at = self._clock.now()
        log.warning("connection %s needs to be reconnected: %s", row.id, reason)
