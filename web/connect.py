"""Connecting a company: the OAuth authorization-code flow with the platform.

``state`` (and the PKCE verifier where the platform supports it) live in the session and are
popped once: a missing or different state is 403. A provider error (the person declined) is a
flash and a redirect. Odd bodies are logged with secrets redacted (see ``connector.logsetup``).
"""

from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from connector.connect import ConnectRefused, resolve_user, store_grant
from connector.db import Organisation
from connector.errors import PlatformError, PluginError
from web import runtime
from web.auth import SignedIn
from web.forms import ButtonForm
from web.settings import OwnReminders, own_reminders

log = logging.getLogger(__name__)
bp = Blueprint("connect", __name__, url_prefix="/connect")


def _platform_or_404(name: str):  # type: ignore[no-untyped-def]
    try:
        return runtime().platform(name)
    except PluginError:
        abort(404)


@bp.post("/<name>")
def start(name: str) -> Response:
    """Send the person to the platform's consent page."""
    platform = _platform_or_404(name)
    if not ButtonForm().validate_on_submit():
        abort(400)
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    sign_in = not current_user.is_authenticated
    session["oauth"] = {"platform": name, "state": state, "verifier": verifier, "sign_in": sign_in}
    redirect_uri = runtime().configs[name].redirect_uri
    try:
        url = platform.authorize_url(redirect_uri=redirect_uri, state=state, code_verifier=verifier, sign_in=sign_in)
    except PlatformError as exc:
        log.warning("%s authorize URL failed: %s", name, exc)
        flash(
            _(
                "%(platform)s cannot be reached right now. Please try again in a few minutes.",
                platform=platform.display_name,
            ),
            "error",
        )
        return redirect(url_for("home.index"))
    return redirect(url)


@bp.get("/<name>/callback")
def callback(name: str) -> Response:
    """Finish the consent: check state, trade the code, store tokens and organisations."""
    platform = _platform_or_404(name)
    pending = session.pop("oauth", None)
    state = request.args.get("state", "")
    if not pending or pending.get("platform") != name or not hmac.compare_digest(str(pending.get("state")), state):
        abort(403)
    if "error" in request.args:
        reason = request.args.get("error", "")
        log.info("%s consent ended with error %r", name, reason)
        if reason == "access_denied":
            message = _("%(platform)s was not connected. You declined the connection.", platform=platform.display_name)
        else:
            message = _(
                "%(platform)s was not connected. It said: %(reason)s.", platform=platform.display_name, reason=reason
            )
        flash(message, "error")
        return redirect(url_for("home.index"))
    code = request.args.get("code", "")
    if not code:
        abort(400)
    rt = runtime()
    now = rt.clock.now()
    try:
        grant = platform.exchange_code(
            code=code,
            redirect_uri=rt.configs[name].redirect_uri,
            code_verifier=pending.get("verifier"),
            callback_params=dict(request.args),
            sign_in=bool(pending.get("sign_in")),
            now=now,
        )
        with rt.sessions.begin() as db:
            user = resolve_user(db, int(current_user.id) if current_user.is_authenticated else None, grant, now)
            organisations = store_grant(db, rt.cipher, platform=name, grant=grant, user=user, now=now)
            signed_in = SignedIn(user.id, user.email)
            names = ", ".join(org.name for org in organisations)
            org_ids = [org.id for org in organisations]
    except ConnectRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("home.index"))
    except PlatformError as exc:
        log.warning("%s connect failed: %s", name, exc)
        flash(
            _(
                "%(platform)s could not be connected: the platform did not answer as expected. Please try again.",
                platform=platform.display_name,
            ),
            "error",
        )
        return redirect(url_for("home.index"))
    login_user(signed_in)
    flash(_("Connected %(names)s. The first sync starts now.", names=names), "info")
    _warn_double_dunning(platform.display_name, org_ids)
    return redirect(url_for("home.index"))


def _warn_double_dunning(platform_name: str, org_ids: list[int]) -> None:
    """Right after connecting, name the organisations whose platform sends reminders of its own
    (their settings page says the same, and keeps saying it until they are off)."""
    rt = runtime()
    with rt.sessions() as db:
        organisations = [db.get_one(Organisation, org_id) for org_id in org_ids]
        dunning = [org.name for org in organisations if own_reminders(org) is OwnReminders.ON]
    if dunning:
        flash(
            _(
                "Double dunning: %(platform)s sends its own payment reminders for %(names)s. Switch them off in "
                "%(platform)s before collections run here, or customers are reminded twice.",
                platform=platform_name,
                names=", ".join(dunning),
            ),
            "warning",
        )
