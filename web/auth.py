"""Who is signed in (Flask-Login) and what they may see.

``require_org`` guards every organisation view (404 for outsiders, 403 for members without the
role); ``require_firm`` guards the firm's own pages (members, invitations) the same way.

People sign in with a local password (``web.accounts``) or through the platform consent
(OpenID Connect through the connect flow, ``web.connect``). A session started by the password
form carries a fingerprint of the password hash: once the password changes (a reset), every
session opened with the old one ends.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TypeVar

from flask import Blueprint, Flask, abort, redirect, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from connector.db import Firm, Membership, Organisation, Role, User

log = logging.getLogger(__name__)
#: A table row that belongs to one organisation (has ``id`` and ``organisation_id``).
Owned = TypeVar("Owned")
login_manager = LoginManager()
bp = Blueprint("auth", __name__)

#: What each role may do, by rank: an admin can do what a collector can, and so on.
RANK = {Role.VIEWER.value: 0, Role.COLLECTOR.value: 1, Role.ADMIN.value: 2}
#: The session key holding the password fingerprint of a password sign-in.
PASSWORD_MARK = "_pw"  # noqa: S105 (the name of a session key, not a password)


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees it (no ORM row: rows are read per request).

    Attributes:
        id: the user's id.
        email: their e-mail address (lower case).
        name: their display name (may be empty).
        locale: the UI language they chose (``de`` / ``en``), None for the browser's.
    """

    def __init__(self, user_id: int, email: str, name: str = "", locale: str | None = None) -> None:
        self.id = user_id
        self.email = email
        self.name = name
        self.locale = locale

    @classmethod
    def of(cls, user: User) -> SignedIn:
        """The signed-in view of a ``users`` row."""
        return cls(user.id, user.email, user.name or "", user.locale)


def password_mark(password_hash: str | None) -> str:
    """A short fingerprint of a password hash: changes whenever the password does.

    Kept in the session (signed, not secret) and in reset links, never the hash itself.
    """
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def init_app(app: Flask) -> None:
    """Bind Flask-Login and the auth routes to ``app``."""
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # the sign-in page says what to do; no flash in the wrong language
    # "basic": a session used from another address or browser is marked not fresh. "strong"
    # would end it, which also ends sessions made by tests without an identifier; the password
    # fingerprint (PASSWORD_MARK) is what ends stolen sessions after a reset.
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)


@login_manager.user_loader
def load_user(user_id: str) -> SignedIn | None:
    """The user of the session, if still active and (for password sign-ins) the password unchanged."""
    from web import runtime

    if not user_id.isdigit():
        return None
    with runtime().sessions() as db:
        user = db.get(User, int(user_id))
        if user is None or not user.is_active:
            return None
        mark = session.get(PASSWORD_MARK)
        if mark is not None and mark != password_mark(user.password_hash):
            log.info("session of user %s ended: the password changed since it began", user.id)
            return None
        return SignedIn.of(user)


def require_org(org_id: int, role: Role = Role.VIEWER) -> Organisation:
    """The organisation if the signed-in user may act on it with ``role``.

    Aborts 404 for organisations outside the user's firms (nothing is revealed), 403 when the
    user is a member but lacks the role.
    """
    from web import runtime

    if not current_user.is_authenticated:
        abort(404)
    with runtime().sessions() as db:
        found = db.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.firm_id == Organisation.firm_id)
            .where(Organisation.id == org_id, Membership.user_id == current_user.id)
        ).first()
    if found is None:
        log.warning("user %s asked for organisation %s outside their firms", current_user.id, org_id)
        abort(404)
    organisation, member_role = found
    if RANK.get(member_role, -1) < RANK[role.value]:
        abort(403)
    return organisation


def owned_or_404(db: Session, model: type[Owned], object_id: int, org: Organisation, what: str) -> Owned:
    """The ``model`` row with that id if it belongs to ``org`` (checked by :func:`require_org`);
    an id of another organisation's row is a 404 that reveals nothing, and is logged as forged."""
    row = db.get(model, object_id)
    if row is None or getattr(row, "organisation_id", None) != org.id:
        log.warning("user %s asked for %s %s outside organisation %s", current_user.id, what, object_id, org.id)
        abort(404)
    return row


def require_firm(role: Role = Role.VIEWER, firm_id: int | None = None) -> tuple[Firm, str]:
    """The firm (and the user's role in it) if the signed-in user may act on it with ``role``.

    Args:
        role: the least role needed.
        firm_id: the firm asked for; None means the user's first firm (the lowest id), which
            is the only one for almost everybody.

    Aborts 404 when the user is not a member of that firm (or of any), 403 when the user is a
    member without the role.
    """
    from web import runtime

    if not current_user.is_authenticated:
        abort(404)
    query = (
        select(Firm, Membership.role)
        .join(Membership, Membership.firm_id == Firm.id)
        .where(Membership.user_id == current_user.id)
        .order_by(Firm.id)
    )
    if firm_id is not None:
        query = query.where(Firm.id == firm_id)
    with runtime().sessions() as db:
        found = db.execute(query).first()
    if found is None:
        log.warning("user %s asked for firm %s outside their firms", current_user.id, firm_id)
        abort(404)
    firm, member_role = found
    if RANK.get(member_role, -1) < RANK[role.value]:
        abort(403)
    return firm, str(member_role)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out (a POST with CSRF, like every state change); the session is emptied."""
    logout_user()
    session.clear()
    return redirect(url_for("home.index"))
