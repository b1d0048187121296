"""Organisations: disconnect (more settings come with the web UI issue)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from connector.connect import disconnect
from connector.db import Organisation, Role
from web import runtime
from web.auth import require_org
from web.forms import ButtonForm

bp = Blueprint("orgs", __name__, url_prefix="/orgs")


@bp.post("/<int:org_id>/disconnect")
@login_required
def disconnect_org(org_id: int) -> Response:
    """Revoke the organisation's grant and forget its tokens (admins only)."""
    require_org(org_id, Role.ADMIN)
    if not ButtonForm().validate_on_submit():
        abort(400)
    rt = runtime()
    with rt.sessions.begin() as db:
        org = db.get_one(Organisation, org_id)
        platform = rt.platform(org.platform) if org.platform in rt.configs else None
        disconnect(db, rt.cipher, platform, org, actor=str(current_user.id), now=rt.clock.now())
        name = org.name
    if platform is None:
        flash(_("%(name)s is disconnected; its tokens were deleted (the platform is not configured here, "
                "so remove the app in its own settings too).", name=name), "warning")  # fmt: skip
    else:
        flash(_("%(name)s is disconnected; its tokens were revoked and deleted.", name=name), "info")
    return redirect(url_for("home.index"))
