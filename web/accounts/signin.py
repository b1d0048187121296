"""Sign-in with e-mail and password, password reset by e-mailed link, and the UI language.

Passwords are hashed with werkzeug's scrypt (``generate_password_hash``'s default): memory-hard,
salted, and it comes with Flask, so no further dependency. A wrong address, a wrong password and
an account without a password get one message; a locked-out attempt gets one message too,
whichever limit it hit and whether or not the address exists.
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from connector.db import User
from connector.mail import DeliveryError
from web import runtime
from web.accounts import bp, links, throttle
from web.accounts.forms import LanguageForm, LoginForm, NewPasswordForm, ResetRequestForm
from web.auth import PASSWORD_MARK, SignedIn, password_mark
from web.i18n import SESSION_KEY

log = logging.getLogger(__name__)

#: Checked against when the address is unknown, so that a wrong address takes as long as a
#: wrong password (no telling which addresses have accounts by the time taken).
_DUMMY_HASH = generate_password_hash("arcadence-no-such-user")


def hash_password(password: str) -> str:
    """The stored form of ``password`` (scrypt, salted)."""
    return generate_password_hash(password, method="scrypt")


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (no open redirect), else None."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


def start_session(user: User) -> None:
    """Sign ``user`` in with a fresh session (nothing of the visitor's session is kept but the
    chosen language), marked with their password fingerprint."""
    chosen = session.get(SESSION_KEY)
    session.clear()
    if chosen is not None and user.locale is None:
        session[SESSION_KEY] = chosen
    login_user(SignedIn.of(user))
    session[PASSWORD_MARK] = password_mark(user.password_hash)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """The sign-in form; rate-limited per address and per client before any password check."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return _login_page(form, 400 if request.method == "POST" else 200)
    rt = runtime()
    now = rt.clock.now()
    email, client = form.email.data, request.remote_addr
    with rt.sessions.begin() as db:
        if throttle.locked(db, email, client, now):
            log.warning("sign-in refused by the rate limit (client %s)", client)
            form.password.errors.append(
                _("Too many sign-in attempts. Please wait 15 minutes, or reset your password by e-mail.")
            )
            return _login_page(form, 429)
        user = db.scalar(select(User).where(User.email == email))
        stored = user.password_hash if user is not None and user.is_active else None
        ok = check_password_hash(stored or _DUMMY_HASH, form.password.data) and stored is not None
        throttle.record(db, email, client, now, succeeded=ok)
        if not ok or user is None:
            form.password.errors.append(_("Wrong e-mail address or password."))
            return _login_page(form, 400)
        user.last_login_at = now
        start_session(user)
    log.info("user %s signed in with a password", current_user.id)
    return redirect(safe_next(form.next.data) or url_for("home.index"))


def _login_page(form: LoginForm, status: int) -> tuple[str, int]:
    rt = runtime()
    return render_template(
        "accounts/login.html", form=form, platforms=rt.registry.status(), configured=set(rt.configs)
    ), status


@bp.route("/reset", methods=["GET", "POST"])
def reset_request() -> Response | str | tuple[str, int]:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ResetRequestForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("accounts/reset_request.html", form=form), status
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        user = db.scalar(select(User).where(User.email == form.email.data, User.is_active.is_(True)))
        if user is not None and throttle.reset_allowed(db, user.email, now):
            _send_reset(user)
    flash(_("If %(email)s has an account, a link to set a new password is on its way.", email=form.email.data), "info")
    return redirect(url_for("accounts.login"))


def _send_reset(user: User) -> None:
    token = links.reset_token(user.id, password_mark(user.password_hash))
    text = _(
        "Hello,\n\nsomeone (hopefully you) asked to set a new password for %(email)s on arcadence.\n"
        "Open this link within one hour to choose it:\n\n%(link)s\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n",
        email=user.email,
        link=links.public_link("accounts.reset", token=token),
    )
    try:
        links.send(user.email, _("Set your arcadence password"), text)
    except DeliveryError as exc:
        log.error("reset link for user %s could not be sent: %s", user.id, exc.message)
    else:
        log.info("reset link sent to user %s", user.id)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Response | str | tuple[str, int]:
    """Set a new password with a reset link (it works once: the password it was made for changes)."""
    rt = runtime()
    found = links.read_reset_token(token)
    form = NewPasswordForm()
    with rt.sessions.begin() as db:
        user = db.get(User, found[0]) if found is not None else None
        if found is None or user is None or not user.is_active or password_mark(user.password_hash) != found[1]:
            return render_template("accounts/link_invalid.html", kind="reset"), 400
        if not form.validate_on_submit():
            status = 400 if request.method == "POST" else 200
            return render_template("accounts/reset.html", form=form, email=user.email), status
        user.password_hash = hash_password(form.password.data)
        throttle.forgive(db, user.email, rt.clock.now())
        log.info("password of user %s set through a reset link", user.id)
    flash(_("Your new password is set. Sign in with it."), "info")
    return redirect(url_for("accounts.login"))


@bp.post("/language")
def language() -> Response:
    """Choose the UI language: kept on the user when signed in, in the session otherwise."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        rt = runtime()
        with rt.sessions.begin() as db:
            db.get_one(User, current_user.id).locale = form.locale.data
    else:
        session[SESSION_KEY] = form.locale.data
    return redirect(safe_next(form.next.data) or url_for("home.index"))
