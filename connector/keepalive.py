"""Token keep-alive: refresh grants before they lapse, so a quiet organisation never has to be
reconnected.

Two reasons to refresh an active connection: its access token expires within
:data:`ACCESS_WINDOW` (the next sync or send finds a fresh one), or its refresh token has not been
used for :data:`IDLE_LIMIT` (Xero forgets a refresh token unused for 60 days, notes/xero.md §2;
QuickBooks' last about 100 days, notes/quickbooks.md §2.3). Each refresh goes through the
connection's :class:`connector.tokens.StoredTokenSource`: serialised across workers by the row
lock, the rotated token committed before anything uses it, and a grant the platform refuses
(``invalid_grant``) marked ``needs_reauth`` under that lock. One connection's failure never stops
the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from connector.db import Connection, ConnectionStatus
from connector.errors import AuthRevoked, PlatformError, PluginError
from connector.runtime import Runtime
from connector.tokens import StoredTokenSource, TokenDecryptError, TokenSet, TokenStore

log = logging.getLogger(__name__)

#: Refresh an access token that expires within this long.
ACCESS_WINDOW = timedelta(minutes=10)
#: Refresh a refresh token that has not been used for this long (half of Xero's 60 days).
IDLE_LIMIT = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Due:
    """Why a connection needs refreshing now.

    Attributes:
        connection_id: the connection.
        platform: its platform's name.
        reason: ``access_expiring`` or ``refresh_idle``.
    """

    connection_id: int
    platform: str
    reason: str


def due_connections(runtime: Runtime, now: datetime) -> list[Due]:
    """Active connections with tokens whose access token expires within :data:`ACCESS_WINDOW` or
    whose refresh token has been idle for :data:`IDLE_LIMIT`, oldest refresh first."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(Connection.id, Connection.platform, Connection.access_expires_at, Connection.refreshed_at)
            .where(
                Connection.status == ConnectionStatus.ACTIVE.value,
                Connection.refresh_token_enc.is_not(None),
                or_(
                    Connection.access_expires_at.is_(None),
                    Connection.access_expires_at <= now + ACCESS_WINDOW,
                    Connection.refreshed_at.is_(None),
                    Connection.refreshed_at <= now - IDLE_LIMIT,
                ),
            )
            .order_by(Connection.refreshed_at, Connection.id)
        ).all()
    return [Due(row.id, row.platform, _reason(row.access_expires_at, row.refreshed_at, now)) for row in rows]


def keep_alive(runtime: Runtime) -> int:
    """Refresh every connection that is due (see the module docstring); returns how many this
    call refreshed at the platform."""
    now = runtime.clock.now()
    refreshed = 0
    for due in due_connections(runtime, now):
        try:
            outcome = _refresh(runtime, due)
        except AuthRevoked as exc:  # the token source has marked it needs_reauth under the row lock
            log.warning(
                "keep_alive connection=%s platform=%s reason=%s outcome=needs_reauth error=%s",
                due.connection_id,
                due.platform,
                due.reason,
                exc,
            )
            continue
        except (PlatformError, PluginError, TokenDecryptError, LookupError) as exc:
            log.warning(
                "keep_alive connection=%s platform=%s reason=%s outcome=failed error=%s",
                due.connection_id,
                due.platform,
                due.reason,
                exc,
            )
            continue
        refreshed += outcome == "refreshed"
        log.info(
            "keep_alive connection=%s platform=%s reason=%s outcome=%s",
            due.connection_id,
            due.platform,
            due.reason,
            outcome,
        )
    return refreshed


def _refresh(runtime: Runtime, due: Due) -> str:
    """Refresh one connection through its token source; ``refreshed`` when the platform was
    asked, ``refreshed_elsewhere`` when another worker did it first."""
    platform = runtime.platform(due.platform)
    clock = runtime.clock
    asked = []

    def refresh(tokens: TokenSet) -> TokenSet:
        asked.append(True)
        return platform.refresh(tokens, now=clock.now())

    with runtime.sessions() as session:
        row = session.get_one(Connection, due.connection_id)
        if row.status != ConnectionStatus.ACTIVE.value or not _is_due(
            row.access_expires_at, row.refreshed_at, clock.now()
        ):
            return "refreshed_elsewhere"  # between the query and now; asking again would waste a rotation
        stale = TokenStore(runtime.cipher).load(row)
    StoredTokenSource(runtime.sessions, runtime.cipher, due.connection_id, refresh, clock).refreshed(stale)
    return "refreshed" if asked else "refreshed_elsewhere"


def _is_due(access_expires_at: datetime | None, refreshed_at: datetime | None, now: datetime) -> bool:
    access_due = access_expires_at is None or access_expires_at <= now + ACCESS_WINDOW
    return access_due or refreshed_at is None or refreshed_at <= now - IDLE_LIMIT


def _reason(access_expires_at: datetime | None, refreshed_at: datetime | None, now: datetime) -> str:
    if access_expires_at is None or access_expires_at <= now + ACCESS_WINDOW:
        return "access_expiring"
    return "refresh_idle"
