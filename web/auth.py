"""Who is signed in (Flask-Login) and what they may see: ``require_org`` guards every
organisation view (404 for outsiders, 403 for members without the role).

Sign-in today comes from the platform consent (OpenID Connect through the connect flow); local
accounts, invitations and password reset come with the web UI issue.
"""

from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.db import Membership, Organisation, Role, User

login_manager = LoginManager()
bp = Blueprint("auth", __name__)

#: What each role may do, by rank: an admin can do what a collector can, and so on.
RANK = {Role.VIEWER.value: 0, Role.COLLECTOR.value: 1, Role.ADMIN.value: 2}


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees it (the id only; rows are read per request)."""

    def __init__(self, user_id: int, email: str) -> None:
        self.id = user_id
        self.email = email


def init_app(app: Flask) -> None:
    """Bind Flask-Login and the auth routes to ``app``."""
    login_manager.init_app(app)
    login_manager.login_view = "home.index"
    app.register_blueprint(bp)


@login_manager.user_loader
def load_user(user_id: str) -> SignedIn | None:
    from web import runtime

    if not user_id.isdigit():
        return None
    with runtime().sessions() as session:
        user = session.get(User, int(user_id))
        return SignedIn(user.id, user.email) if user is not None and user.is_active else None


def require_org(org_id: int, role: Role = Role.VIEWER) -> Organisation:
    """The organisation if the signed-in user may act on it with ``role``.

    Aborts 404 for organisations outside the user's firms (nothing is revealed), 403 when the
    user is a member but lacks the role.
    """
    from web import runtime

    if not current_user.is_authenticated:
        abort(404)
    with runtime().sessions() as session:
        found = session.execute(
            select(Organisation, Membership.role)
            .join(Membership, Membership.firm_id == Organisation.firm_id)
            .where(Organisation.id == org_id, Membership.user_id == current_user.id)
        ).first()
    if found is None:
        abort(404)
    organisation, member_role = found
    if RANK.get(member_role, -1) < RANK[role.value]:
        abort(403)
    return organisation


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Sign out (a POST with CSRF, like every state change)."""
    logout_user()
    return redirect(url_for("home.index"))
