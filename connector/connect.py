"""Connecting and disconnecting organisations: what a completed OAuth consent changes in the store.

The consent that connects a company also signs the person in (the app-store install path): a
first consent creates the user and their firm, with them as its admin. Tokens are stored
encrypted; each organisation the grant covers is created or updated; every step is logged in the
activity log of the organisation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import Connection, ConnectionStatus, Firm, Membership, Organisation, Role, User
from connector.db.activity import ActivityLog
from connector.errors import PlatformError
from connector.platform import DisconnectsOrganisations, Grant, OrgAccess, Platform
from connector.tokens import TokenCipher, TokenStore

log = logging.getLogger(__name__)


class ConnectRefused(Exception):
    """The consent cannot be stored; the message is for the person who gave it."""


def resolve_user(session: Session, user_id: int | None, grant: Grant, now: datetime) -> User:
    """The signed-in user, or the person the consent identified (created on first sign-in)."""
    if user_id is not None:
        return session.get_one(User, user_id)
    if not grant.user_email:
        raise ConnectRefused("The consent did not tell us who you are. Sign in first, then connect.")
    email = grant.user_email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=grant.user_name or "", created_at=now, is_active=True)
        session.add(user)
        session.flush()
        log.info("created user %s from a platform sign-in", user.id)
    if not user.is_active:
        raise ConnectRefused("This account is disabled.")
    user.last_login_at = now
    return user


def firm_of(session: Session, user: User, name: str, now: datetime) -> Firm:
    """The firm the user administers (the first one), or a new firm with the user as its admin."""
    firm = session.scalar(
        select(Firm)
        .join(Membership, Membership.firm_id == Firm.id)
        .where(Membership.user_id == user.id, Membership.role == Role.ADMIN.value)
        .order_by(Firm.id)
    )
    if firm is not None:
        return firm
    firm = Firm(name=name, created_at=now)
    session.add(firm)
    session.add(Membership(user=user, firm=firm, role=Role.ADMIN.value, created_at=now))
    session.flush()
    return firm


def store_grant(
    session: Session, cipher: TokenCipher, *, platform: str, grant: Grant, user: User, now: datetime
) -> list[Organisation]:
    """Store the grant's tokens (encrypted) and its organisations in the user's firm.

    Raises:
        ConnectRefused: an organisation is already connected by another firm, or the consent
            covered no organisation.
    """
    if not grant.organisations:
        raise ConnectRefused("The consent did not include any company.")
    firm = firm_of(session, user, grant.organisations[0].name, now)
    connection = _connection(session, firm, platform, grant.grant_ref, now)
    TokenStore(cipher).save(connection, grant.tokens, now=now)
    organisations = []
    for ref in grant.organisations:
        org = session.scalar(
            select(Organisation).where(Organisation.platform == platform, Organisation.external_id == ref.external_id)
        )
        if org is not None and org.firm_id != firm.id:
            raise ConnectRefused(f"{ref.name} is already connected to arcadence by another firm.")
        if org is None:
            org = Organisation(firm=firm, platform=platform, external_id=ref.external_id, created_at=now)
            session.add(org)
        org.name = ref.name
        org.country = ref.country or org.country or "DE"
        org.base_currency = ref.base_currency or org.base_currency or "EUR"
        org.timezone = ref.timezone or org.timezone or "Europe/Berlin"
        org.connection = connection
        org.next_sync_at = now
        session.flush()
        ActivityLog(session, org.id).append(
            kind="connected",
            actor=str(user.id),
            occurred_at=now,
            summary=f"{ref.name} connected by {user.email}",
            data={"platform": platform},
        )
        organisations.append(org)
    return organisations


def _connection(session: Session, firm: Firm, platform: str, grant_ref: str | None, now: datetime) -> Connection:
    connection = None
    if grant_ref:
        connection = session.scalar(
            select(Connection).where(
                Connection.firm_id == firm.id, Connection.platform == platform, Connection.grant_ref == grant_ref
            )
        )
    if connection is None:
        connection = Connection(firm=firm, platform=platform, grant_ref=grant_ref, created_at=now, updated_at=now)
        session.add(connection)
        session.flush()
    return connection


class DisconnectScope(StrEnum):
    """What a disconnect ends."""

    ORGANISATION = "organisation"
    """This organisation only: the grant and its other organisations stay (Xero)."""
    GRANT = "grant"
    """The whole grant, revoked: every organisation of that consent is disconnected."""


def may_disconnect_alone(platform: Platform | None, organisation: Organisation) -> bool:
    """Whether ``organisation`` can be disconnected while its grant's other organisations stay:
    the grant covers others and the platform can disconnect one (``DisconnectsOrganisations``)."""
    connection = organisation.connection
    if connection is None or not isinstance(platform, DisconnectsOrganisations):
        return False
    return any(org.id != organisation.id for org in connection.organisations)


def disconnect(
    session: Session,
    cipher: TokenCipher,
    platform: Platform | None,
    organisation: Organisation,
    *,
    actor: str,
    now: datetime,
    scope: DisconnectScope = DisconnectScope.GRANT,
    access: OrgAccess | None = None,
) -> list[Organisation]:
    """Disconnect ``organisation``; returns the organisations that were disconnected.

    ``scope`` GRANT revokes the grant at the platform (best effort) and forgets its tokens; the
    connection's other organisations (Xero grants cover several) are disconnected too. ``platform``
    is None when the platform is no longer configured here: the tokens are forgotten without
    revoking them (the owner can remove the app in the platform's own settings).

    ``scope`` ORGANISATION, where :func:`may_disconnect_alone`, ends the grant's access to this
    organisation at the platform through ``access`` (its API access) and detaches it from the
    connection; the grant keeps serving the others. The platform is asked before anything is
    written in ``session``, so a token refresh on the way commits on its own. Elsewhere (the last
    organisation of its grant) it is the same as GRANT: a grant that reaches nothing is revoked.

    Raises:
        PlatformError: ORGANISATION only, when the platform refused or could not be reached (then
            nothing changed here).
    """
    connection = organisation.connection
    if connection is None:
        return []
    alone = scope is DisconnectScope.ORGANISATION and may_disconnect_alone(platform, organisation)
    if alone and isinstance(platform, DisconnectsOrganisations):
        if access is None:
            raise ValueError("disconnecting one organisation needs its access")
        platform.disconnect_organisation(access)
        organisation.connection = None
        ActivityLog(session, organisation.id).append(
            kind="disconnected",
            actor=actor,
            occurred_at=now,
            summary=f"{organisation.name} disconnected; the grant stays for the other organisations",
            data={"scope": scope.value, "connection": connection.id},
        )
        return [organisation]
    return _revoke_grant(session, cipher, platform, connection, actor=actor, now=now)


def _revoke_grant(
    session: Session,
    cipher: TokenCipher,
    platform: Platform | None,
    connection: Connection,
    *,
    actor: str,
    now: datetime,
) -> list[Organisation]:
    siblings: Sequence[Organisation] = list(connection.organisations)
    if platform is None:
        log.warning("platform of connection %s is not configured: tokens forgotten, not revoked", connection.id)
    elif connection.refresh_token_enc is not None and connection.status != ConnectionStatus.REVOKED.value:
        try:
            platform.revoke(TokenStore(cipher).load(connection))
        except PlatformError as exc:
            log.warning("revoking connection %s at %s failed (%s); forgetting the tokens anyway",
                        connection.id, platform.name, exc)  # fmt: skip
    connection.access_token_enc = connection.refresh_token_enc = connection.id_token_enc = None
    connection.status, connection.updated_at = ConnectionStatus.REVOKED.value, now
    for org in siblings:
        ActivityLog(session, org.id).append(
            kind="disconnected",
            actor=actor,
            occurred_at=now,
            summary=f"{org.name} disconnected; tokens revoked",
            data={"scope": DisconnectScope.GRANT.value, "connection": connection.id},
        )
    return list(siblings)
