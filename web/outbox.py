"""The outbox: every message of an organisation by state (planned, sent, cancelled with the reason,
failed, held, stale, handed over, in doubt), each one openable as the payer sees it, and the
decisions a person makes on a message that needs one.

Decisions go through :func:`connector.outbox.resolve`, exactly as ``arcadence outbox resolve``
does (same states, same activity entry), with the signed-in user as the actor. Everyone in the
firm may read the outbox; collectors and admins decide (confirm sent, send again, release a held
message once its template renders again, cancel).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from connector.db import Activity, Customer, Membership, Organisation, OutboxMessage, Role, User
from connector.outbox import RESOLUTIONS, NotResolvable, resolve
from web import runtime
from web.auth import RANK, owned_or_404, require_org
from web.forms_outbox import ACTION_LABELS, GROUP_LABELS, GROUPS, FilterForm, ResolveForm
from web.outbox_preview import Preview, render

log = logging.getLogger(__name__)
bp = Blueprint("outbox", __name__, url_prefix="/orgs/<int:org_id>/outbox")

#: The policy of a rendered message's HTML: sandboxed (no script, no form, opaque origin), its own
#: inline styles and embedded images only, framed by this app's pages only.
MESSAGE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
#: At most this many messages on one page (newest planned first); the filters narrow it down.
PAGE = 200


@bp.get("")
@login_required
def index(org_id: int) -> tuple[str, int]:
    """The messages, filtered by state and planned day, with the count of each state."""
    org = require_org(org_id, Role.VIEWER)
    filters = FilterForm(request.args)
    valid = filters.validate()
    query = select(OutboxMessage, Customer.name).join(Customer, Customer.id == OutboxMessage.customer_id)
    query = query.where(OutboxMessage.organisation_id == org.id)
    if valid and filters.state.data:
        query = query.where(OutboxMessage.status.in_(GROUPS[filters.state.data]))
    if valid and filters.planned_from.data:
        query = query.where(OutboxMessage.planned_date >= filters.planned_from.data)
    if valid and filters.planned_to.data:
        query = query.where(OutboxMessage.planned_date <= filters.planned_to.data)
    with runtime().sessions() as db:
        rows = db.execute(query.order_by(OutboxMessage.planned_date.desc(), OutboxMessage.id.desc()).limit(PAGE)).all()
        counts = dict(
            db.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.organisation_id == org.id)
                .group_by(OutboxMessage.status)
            ).all()
        )
        cancelled_by = _cancelled_by(db, org.id, [r for r, _ in rows if r.status == "cancelled"])
    return render_template(
        "outbox/index.html",
        org=org,
        rows=rows,
        filters=filters,
        counts={group: sum(counts.get(s, 0) for s in states) for group, states in GROUPS.items()},
        total=sum(counts.values()),
        group_of={s: g for g, states in GROUPS.items() for s in states},
        labels=GROUP_LABELS,
        cancelled_by=cancelled_by,
        may_decide=_may_decide(org),
        form=ResolveForm(),
        page=PAGE,
        actions=ACTION_LABELS,
    ), (200 if valid else 400)


@bp.get("/<int:message_id>")
@login_required
def message(org_id: int, message_id: int) -> str:
    """One message: rendered as the payer sees it, its state, and its history."""
    org = require_org(org_id, Role.VIEWER)
    return _message_page(org, _row_or_404(org, message_id))


@bp.get("/<int:message_id>/html", endpoint="message_html")
@login_required
def message_html(org_id: int, message_id: int) -> Response:
    """The HTML part alone, for the page's sandboxed frame: its own CSP lets the message's inline
    styles work and nothing else (no script, no form, no remote image, an opaque origin)."""
    org = require_org(org_id, Role.VIEWER)
    preview = _preview(org, _row_or_404(org, message_id))
    body = preview.html if preview.html is not None else f"<p>{escape(preview.problem or '')}</p>"
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MESSAGE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/<int:message_id>/resolve", endpoint="resolve")
@login_required
def decide(org_id: int, message_id: int) -> Response | tuple[str, int]:
    """Confirm sent, send again, release or cancel (collectors and admins), logged by ``resolve``."""
    org = require_org(org_id, Role.COLLECTOR)
    row = _row_or_404(org, message_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        return _message_page(org, row, form=form, problem=_("That decision is not possible.")), 400
    action = str(form.action.data)
    rt = runtime()
    if action == "release":
        preview = _preview(org, row)
        if preview.template_failed:
            problem = _(
                "The template still fails, so the message would be held again: %(error)s", error=preview.problem
            )
            return _message_page(org, row, form=form, problem=problem), 409
    try:
        done = resolve(rt.sessions, row.id, action, actor=str(current_user.id), now=rt.clock.now())
    except NotResolvable as exc:
        log.info("outbox %s: %s refused for user %s: %s", row.id, action, current_user.id, exc)
        return _message_page(org, _row_or_404(org, message_id), form=form, problem=str(exc)), 409
    flash(_("Message %(id)s: %(action)s, it is %(state)s now.", id=done.id, action=ACTION_LABELS[action],
            state=_state_label(done.status)), "info")  # fmt: skip
    if form.back.data == "index":
        return redirect(url_for("outbox.index", org_id=org.id, state=request.args.get("state", "")))
    return redirect(url_for("outbox.message", org_id=org.id, message_id=row.id))


# -- helpers -----------------------------------------------------------------------------------------


def _row_or_404(org: Organisation, message_id: int) -> OutboxMessage:
    """The message if it belongs to ``org``: an id from another organisation is a 404, logged."""
    with runtime().sessions() as db:
        return owned_or_404(db, OutboxMessage, message_id, org, "outbox message")


def _message_page(
    org: Organisation, row: OutboxMessage, *, form: ResolveForm | None = None, problem: str | None = None
) -> str:
    with runtime().sessions() as db:
        customer = db.get_one(Customer, row.customer_id)
        history = _history(db, row)
        preview = render(runtime(), db, row, org, history)
        actors = _actor_names(db, org, (a.actor for a in history))
    return render_template(
        "outbox/message.html",
        org=org,
        row=row,
        customer=customer,
        history=history,
        actors=actors,
        preview=preview,
        state_label=_state_label(row.status),
        actions=[a for a, (allowed, _target) in RESOLUTIONS.items() if row.status in allowed],
        action_labels=ACTION_LABELS,
        may_decide=_may_decide(org),
        form=form or ResolveForm(),
        problem=problem,
    )


def _preview(org: Organisation, row: OutboxMessage) -> Preview:
    with runtime().sessions() as db:
        return render(runtime(), db, row, org, _history(db, row))


def _history(db: Session, row: OutboxMessage) -> list[Activity]:
    """The activity entries about this message (planned, claimed outcomes, decisions), oldest first.

    Entries carry the outbox id in their data; they are read through the customer index and
    picked here, which works the same on SQLite and PostgreSQL."""
    entries = db.scalars(
        select(Activity)
        .where(Activity.organisation_id == row.organisation_id, Activity.customer_id == row.customer_id)
        .order_by(Activity.occurred_at, Activity.id)
    ).all()
    return [a for a in entries if isinstance(a.data, dict) and a.data.get("outbox_id") == row.id]


def _cancelled_by(db: Session, org_id: int, rows: Sequence[OutboxMessage]) -> dict[int, str]:
    """Who cancelled each of ``rows`` by hand (``arcadence outbox resolve`` or this page)."""
    if not rows:
        return {}
    ids = {r.id for r in rows}
    entries = db.scalars(
        select(Activity).where(
            Activity.organisation_id == org_id,
            Activity.kind == "reminder_cancel",
            Activity.customer_id.in_({r.customer_id for r in rows}),
        )
    ).all()
    found = {int(a.data["outbox_id"]): a.actor for a in entries if a.data.get("outbox_id") in ids}
    org = db.get_one(Organisation, org_id)
    names = _actor_names(db, org, found.values())
    return {outbox_id: names.get(actor, actor) for outbox_id, actor in found.items()}


def _actor_names(db: Session, org: Organisation, actors: Iterable[str]) -> dict[str, str]:
    """User ids among ``actors`` → the e-mail of that member of the organisation's firm."""
    ids = {int(a) for a in actors if a.isdigit()}
    if not ids:
        return {}
    rows = db.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id.in_(ids), Membership.firm_id == org.firm_id)
    ).all()
    return {str(user_id): email for user_id, email in rows}


def _may_decide(org: Organisation) -> bool:
    with runtime().sessions() as db:
        role = db.scalar(
            select(Membership.role).where(Membership.firm_id == org.firm_id, Membership.user_id == current_user.id)
        )
    return RANK.get(role or "", -1) >= RANK[Role.COLLECTOR.value]


def _state_label(status: str) -> Any:
    group = next((g for g, states in GROUPS.items() if status in states), None)
    if status in ("claimed", "sending"):
        return _("being sent") if status == "sending" else _("being prepared")
    return GROUP_LABELS.get(group or "", status)
