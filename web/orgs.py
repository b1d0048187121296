"""Organisations: disconnect one, or every organisation of its consent.

A grant that covers several organisations (one Xero consent, several tenants) can end for one of
them only, when the platform allows it: the disconnect button then asks which (the choice comes
back on the same POST, nothing is written until it is made). A grant that covers one organisation
is revoked at once, as before.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice

from connector.connect import DisconnectScope, disconnect, may_disconnect_alone
from connector.db import Organisation, Role
from connector.errors import PlatformError
from connector.platform import OrgAccess, Platform
from web import runtime
from web.auth import require_org
from web.forms import ButtonForm

bp = Blueprint("orgs", __name__, url_prefix="/orgs")


class DisconnectForm(FlaskForm):
    """Which organisations a disconnect ends: this one only, or every one of its consent."""

    scope = RadioField(
        _l("What to disconnect"),
        choices=[
            SelectChoice(
                DisconnectScope.ORGANISATION.value, _l("This organisation only: the others of the consent go on")
            ),
            SelectChoice(DisconnectScope.GRANT.value, _l("Every organisation of this consent: the grant is revoked")),
        ],
        default=DisconnectScope.ORGANISATION.value,
    )


@bp.post("/<int:org_id>/disconnect")
@login_required
def disconnect_org(org_id: int) -> Response | str | tuple[str, int]:
    """Disconnect the organisation (admins only); asks first when its grant covers others."""
    require_org(org_id, Role.ADMIN)
    if not ButtonForm().validate_on_submit():
        abort(400)
    rt = runtime()
    with rt.sessions() as db:
        org = db.get_one(Organisation, org_id)
        platform = rt.platform(org.platform) if org.platform in rt.configs else None
        shared = may_disconnect_alone(platform, org)
        others = [o.name for o in org.connection.organisations if o.id != org.id] if org.connection else []
        access = rt.access(org) if shared else None
        name = org.name
    scope = DisconnectScope.GRANT
    if shared:
        form = DisconnectForm()
        if "scope" not in request.form:
            return _choice(org_id, name, others, form)
        if not form.validate():
            return _choice(org_id, name, others, form), 400
        scope = DisconnectScope(form.scope.data)
    return _disconnect(org_id, platform, scope, access)


def _choice(org_id: int, name: str, others: list[str], form: DisconnectForm) -> str:
    return render_template("orgs/disconnect.html", org_id=org_id, name=name, others=", ".join(others), form=form)


def _disconnect(org_id: int, platform: Platform | None, scope: DisconnectScope, access: OrgAccess | None) -> Response:
    rt = runtime()
    try:
        with rt.sessions.begin() as db:
            org = db.get_one(Organisation, org_id)
            gone = disconnect(
                db, rt.cipher, platform, org, actor=str(current_user.id), now=rt.clock.now(), scope=scope,
                access=access,
            )  # fmt: skip
            names = ", ".join(o.name for o in gone) or org.name
    except PlatformError as exc:  # only a one-organisation disconnect asks the platform and may fail
        display = platform.display_name if platform is not None else ""
        flash(_("%(platform)s could not be reached, so nothing was disconnected: %(error)s. Please try again.",
                platform=display, error=exc), "error")  # fmt: skip
        return redirect(url_for("settings.edit", org_id=org_id))
    if scope is DisconnectScope.ORGANISATION and len(gone) == 1:
        flash(_("%(name)s is disconnected. The consent stays for the other organisations, which go on syncing.",
                name=names), "info")  # fmt: skip
    elif platform is None:
        flash(_("%(name)s is disconnected; its tokens were deleted (the platform is not configured here, "
                "so remove the app in its own settings too).", name=names), "warning")  # fmt: skip
    else:
        flash(_("%(name)s is disconnected; its tokens were revoked and deleted.", name=names), "info")
    return redirect(url_for("home.index"))
