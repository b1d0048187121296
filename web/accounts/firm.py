"""The firm's members, their roles, and invitations by e-mail.

Any member may see who else is in their firm; only the firm's admins invite, change roles and
remove members (``require_firm(Role.ADMIN)``), and a firm always keeps at least one admin. The
firm is the user's first one unless the page is asked for another (``?firm=<id>``, or the
``firm`` field of a form): a firm the user is not a member of is 404.

Each change is written to the activity log of every organisation of the firm (the log is kept
per organisation), with the user as the actor.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from connector.db import Firm, Invitation, Membership, Organisation, Role, User
from connector.db.activity import ActivityLog
from connector.mail import DeliveryError
from web import runtime
from web.accounts import bp, links
from web.accounts.forms import AcceptInviteForm, InviteForm, MemberRoleForm, RemoveMemberForm, role_names
from web.accounts.signin import hash_password, start_session
from web.auth import require_firm
from web.forms import ButtonForm

log = logging.getLogger(__name__)


def _firm_arg() -> int | None:
    raw = request.values.get("firm", "")
    return int(raw) if raw.isdigit() else None


def log_firm(
    db: Session, firm_id: int, *, kind: str, summary: str, now: datetime, data: dict[str, Any], actor: int | None = None
) -> None:
    """Append one activity to the log of each organisation of the firm (actor: the signed-in user
    unless given)."""
    who = str(actor if actor is not None else current_user.id)
    for org_id in db.scalars(select(Organisation.id).where(Organisation.firm_id == firm_id)):
        ActivityLog(db, org_id).append(kind=kind, actor=who, occurred_at=now, summary=summary, data=data)


@bp.get("/firm/members")
@login_required
def members() -> str:
    """The firm's members with their roles, pending invitations, and (for admins) the controls."""
    firm, role = require_firm(Role.VIEWER, _firm_arg())
    return _members_page(firm, role)


def _members_page(
    firm: Firm,
    role: str,
    *,
    invite: InviteForm | None = None,
    row_errors: dict[int, str] | None = None,
) -> str:
    rt = runtime()
    with rt.sessions() as db:
        people = db.execute(
            select(User, Membership.role, Membership.created_at)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.firm_id == firm.id)
            .order_by(func.lower(User.name), User.email)
        ).all()
        pending = db.scalars(
            select(Invitation)
            .where(
                Invitation.firm_id == firm.id,
                Invitation.accepted_at.is_(None),
                Invitation.expires_at > rt.clock.now(),
            )
            .order_by(Invitation.created_at)
        ).all()
        firms = db.execute(
            select(Firm.id, Firm.name)
            .join(Membership, Membership.firm_id == Firm.id)
            .where(Membership.user_id == current_user.id)
            .order_by(Firm.id)
        ).all()
    return render_template(
        "accounts/members.html",
        firm=firm,
        my_role=role,
        people=people,
        pending=pending,
        firms=firms,
        invite=invite or InviteForm(),
        role_form=MemberRoleForm,
        remove_form=RemoveMemberForm(),
        row_errors=row_errors or {},
        role_names=role_names(),
    )


@bp.post("/firm/invitations")
@login_required
def invite() -> Response | tuple[str, int]:
    """Invite someone by e-mail with a role: an invitation row (token hashed) and an e-mail."""
    firm, role = require_firm(Role.ADMIN, _firm_arg())
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(firm, role, invite=form), 400
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        member = db.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.firm_id == firm.id, User.email == form.email.data)
        )
        if member is not None:
            form.email.errors.append(_("%(email)s is already a member of this firm.", email=form.email.data))
            return _members_page(firm, role, invite=form), 400
        # A new invitation replaces an earlier one to the same address: only the latest link works.
        db.execute(
            delete(Invitation).where(
                Invitation.firm_id == firm.id, Invitation.email == form.email.data, Invitation.accepted_at.is_(None)
            )
        )
        token, digest = links.new_invitation_token()
        db.add(
            Invitation(
                firm_id=firm.id,
                email=form.email.data,
                role=form.role.data,
                token_hash=digest,
                invited_by_id=current_user.id,
                created_at=now,
                expires_at=now + links.INVITATION_VALID,
            )
        )
        try:
            _send_invitation(firm, form.email.data, form.role.data, token)
        except DeliveryError as exc:
            db.rollback()
            log.error("invitation to firm %s could not be sent: %s", firm.id, exc.message)
            form.email.errors.append(_("The invitation could not be sent: %(reason)s", reason=exc.message))
            return _members_page(firm, role, invite=form), 400
        log_firm(db, firm.id, kind="member_invited", now=now, data={"role": form.role.data},
                 summary=f"{form.email.data} invited as {form.role.data} by {current_user.email}")  # fmt: skip
    flash(_("Invitation sent to %(email)s.", email=form.email.data), "info")
    return redirect(url_for("accounts.members", firm=firm.id))


def _send_invitation(firm: Firm, email: str, role: str, token: str) -> None:
    text = _(
        "Hello,\n\n%(who)s invites you to work on the receivables of %(firm)s in arcadence, as %(role)s.\n"
        "Open this link within 7 days to accept:\n\n%(link)s\n",
        who=current_user.name or current_user.email,
        firm=firm.name,
        role=role_names()[role],
        link=links.public_link("accounts.accept_invite", token=token),
    )
    links.send(email, _("Invitation to %(firm)s on arcadence", firm=firm.name), text)


@bp.post("/firm/members/role")
@login_required
def change_role() -> Response | tuple[str, int]:
    """Give a member another role; the last admin keeps theirs."""
    firm, role = require_firm(Role.ADMIN, _firm_arg())
    form = MemberRoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a member and a role."), "error")
        return _members_page(firm, role), 400
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        membership = _membership_or_404(db, firm.id, form.user_id.data)
        if membership.role == form.role.data:
            return redirect(url_for("accounts.members", firm=firm.id))
        if membership.role == Role.ADMIN.value and _admins(db, firm.id) == 1:
            return _members_page(
                firm, role, row_errors={membership.user_id: _("The firm needs at least one admin.")}
            ), 400
        before, membership.role = membership.role, form.role.data
        email = membership.user.email
        log_firm(db, firm.id, kind="member_role_changed", now=now, data={"from": before, "to": form.role.data},
                 summary=f"{email}: {before} → {form.role.data}, by {current_user.email}")  # fmt: skip
    flash(_("%(email)s's role is changed.", email=email), "info")
    return redirect(url_for("accounts.members", firm=firm.id))


@bp.post("/firm/members/remove")
@login_required
def remove_member() -> Response | tuple[str, int]:
    """Remove a member from the firm; the last admin stays."""
    firm, role = require_firm(Role.ADMIN, _firm_arg())
    form = RemoveMemberForm()
    if not form.validate_on_submit():
        flash(_("Choose a member to remove."), "error")
        return _members_page(firm, role), 400
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        membership = _membership_or_404(db, firm.id, form.user_id.data)
        if membership.role == Role.ADMIN.value and _admins(db, firm.id) == 1:
            return _members_page(
                firm, role, row_errors={membership.user_id: _("The firm needs at least one admin.")}
            ), 400
        email = membership.user.email
        db.delete(membership)
        log_firm(db, firm.id, kind="member_removed", now=now, data={"role": membership.role},
                 summary=f"{email} removed from the firm by {current_user.email}")  # fmt: skip
    flash(_("%(email)s is no longer a member.", email=email), "info")
    return redirect(url_for("accounts.members", firm=firm.id))


def _membership_or_404(db: Session, firm_id: int, user_id: int | None) -> Membership:
    membership = db.scalar(select(Membership).where(Membership.firm_id == firm_id, Membership.user_id == user_id))
    if membership is None:
        log.warning("user %s addressed user %s, not a member of firm %s", current_user.id, user_id, firm_id)
        abort(404)
    return membership


def _admins(db: Session, firm_id: int) -> int:
    query = select(func.count()).where(Membership.firm_id == firm_id, Membership.role == Role.ADMIN.value)
    return int(db.scalar(query) or 0)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str) -> Response | str | tuple[str, int]:
    """Accept an invitation: someone new (or without a password) chooses a name and password,
    someone with an account signs in first; then they join the firm with the invited role."""
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        invitation = db.scalar(select(Invitation).where(Invitation.token_hash == links.token_hash(token)))
        if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
            return render_template("accounts/link_invalid.html", kind="invitation"), 404
        firm = db.get_one(Firm, invitation.firm_id)
        user = db.scalar(select(User).where(User.email == invitation.email))
        if current_user.is_authenticated and current_user.email != invitation.email:
            return render_template("accounts/invite_other.html", invitation=invitation, firm=firm), 403
        if user is not None and not user.is_active:
            return render_template("accounts/link_invalid.html", kind="disabled"), 403
        new = user is None or user.password_hash is None
        if not new and not current_user.is_authenticated:
            flash(_("You already have an account: sign in to accept the invitation."), "info")
            return redirect(url_for("accounts.login", next=url_for("accounts.accept_invite", token=token)))
        form = AcceptInviteForm() if new else ButtonForm()
        if not form.validate_on_submit():
            if user is not None and new and request.method == "GET":
                form.name.data = user.name
            status = 400 if request.method == "POST" else 200
            return render_template(
                "accounts/accept.html", form=form, new=new, invitation=invitation, firm=firm, role_names=role_names()
            ), status
        if user is None:
            user = User(email=invitation.email, created_at=now, is_active=True)
            db.add(user)
        if isinstance(form, AcceptInviteForm):
            user.name = form.name.data.strip()
            user.password_hash = hash_password(form.password.data)
        db.flush()
        joined = _join(db, firm, user, invitation.role, now)
        invitation.accepted_at = now
        if joined:
            log_firm(db, firm.id, kind="member_joined", now=now, data={"role": invitation.role}, actor=user.id,
                     summary=f"{user.email} joined as {invitation.role} (invited)")  # fmt: skip
        user.last_login_at = now
        start_session(user)
        firm_name = firm.name
    flash(_("Welcome to %(firm)s.", firm=firm_name) if joined else _("You are already a member of %(firm)s.",
          firm=firm_name), "info")  # fmt: skip
    return redirect(url_for("home.index"))


def _join(db: Session, firm: Firm, user: User, role: str, now: datetime) -> bool:
    """Make ``user`` a member of ``firm`` with ``role``; False if they already were (role kept)."""
    exists = db.scalar(select(Membership.id).where(Membership.firm_id == firm.id, Membership.user_id == user.id))
    if exists is not None:
        return False
    db.add(Membership(user_id=user.id, firm_id=firm.id, role=role, created_at=now))
    log.info("user %s joined firm %s by invitation", user.id, firm.id)
    return True
