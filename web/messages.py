"""Message templates per key (level), language and channel, edited in the browser with a live
preview on a real customer of the organisation.

Everyone in the firm may read the templates and their preview; only an admin previews an edit,
saves it or resets it to the shipped default. The preview and the save check run the template
through the dispatcher's own sandboxed renderer (:mod:`connector.render`); a template that
reaches for an object's insides, does not parse or does not render is refused with the message
next to its field and nothing is saved. A saved template is what the dispatcher sends for that
key and language (``connector.delivery.Composer``); "reset to default" deletes it.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector.clock import local_today
from connector.db import Customer, Membership, MessageTemplate, Organisation, Role, User
from connector.db.activity import ActivityLog
from connector.render import (
    LANGUAGES,
    MessageContext,
    RenderedMessage,
    TemplateError,
    TemplateSource,
    default_keys,
    default_template,
    render_message,
)
from web import runtime
from web.auth import RANK, require_org
from web.forms import ButtonForm
from web.forms_messages import TemplateForm
from web.messages_check import Sample, check, full_sample, level_of, real_sample, variables

bp = Blueprint("messages", __name__, url_prefix="/orgs/<int:org_id>/templates")

CHANNELS = ("email", "letter")
"""Email templates are what the dispatcher sends; letter templates are kept for printed letters."""


@bp.get("")
@login_required
def index(org_id: int) -> str:
    """Every template key in each language and channel: the shipped default or the organisation's own."""
    org = require_org(org_id, Role.VIEWER)
    with runtime().sessions() as db:
        rows = db.scalars(select(MessageTemplate).where(MessageTemplate.organisation_id == org.id)).all()
        stored = {(r.template_key, r.language, r.channel): r for r in rows}
        editors = _names(db, [r.updated_by_id for r in rows])
        levels = {key: level_of(db, org.id, key) for key in default_keys()}
    keys = sorted(default_keys(), key=lambda k: (levels[k], k))
    return render_template(
        "messages/index.html",
        org=org,
        keys=keys,
        levels=levels,
        languages=LANGUAGES,
        channels=CHANNELS,
        stored=stored,
        editors=editors,
    )


@bp.get("/<template_key>/<language>/<channel>")
@login_required
def edit(org_id: int, template_key: str, language: str, channel: str) -> str:
    """The template's source beside its variables and its preview on a real customer (``?customer=``)."""
    org = require_org(org_id, Role.VIEWER)
    _check_address(template_key, language, channel)
    with runtime().sessions() as db:
        row = _stored(db, org.id, template_key, language, channel)
        source = _source_of(row, template_key, language)
        form = TemplateForm(data={"subject": source.subject, "body_text": source.text, "body_html": source.html})
        sample = _sample(db, org, request.args.get("customer", type=int), template_key, language)
        _customer_choices(db, org.id, form, sample)
        editor = _names(db, [row.updated_by_id]) if row else {}
    rendered, problem = _render(sample, source)
    return _page(org, template_key, language, channel, form, row, sample, rendered, problem, editor)


@bp.post("/<template_key>/<language>/<channel>")
@login_required
def save(org_id: int, template_key: str, language: str, channel: str) -> Response | tuple[str, int] | str:
    """Preview the edited template (nothing saved), or check and save it; refused parts keep their message."""
    org = require_org(org_id, Role.ADMIN)
    _check_address(template_key, language, channel)
    form = TemplateForm()
    rt = runtime()
    with rt.sessions() as db:
        row = _stored(db, org.id, template_key, language, channel)
        sample = _sample(db, org, form.customer.data if form.customer.data else None, template_key, language)
        _customer_choices(db, org.id, form, sample)
        editor = _names(db, [row.updated_by_id]) if row else {}
    source = TemplateSource(
        subject=form.subject.data or "", text=form.body_text.data or "", html=form.body_html.data or ""
    )
    valid = form.validate()
    problems = check(source, [sample.context, _full(org, template_key, language)], template_key, language)
    for field, messages in problems.items():
        getattr(form, field).errors = [*getattr(form, field).errors, *messages]
    if not valid or problems:
        page = _page(org, template_key, language, channel, form, row, sample, None, None, editor)
        return page, 400
    if not form.save.data:  # the preview button: render, save nothing
        rendered, problem = _render(sample, source)
        return _page(org, template_key, language, channel, form, row, sample, rendered, problem, editor)
    _store(org.id, template_key, language, channel, source)
    flash(_("Saved: the dispatcher now uses this template for %(key)s (%(language)s).", key=template_key,
            language=language), "info")  # fmt: skip
    return redirect(url_for("messages.edit", org_id=org.id, template_key=template_key, language=language,
                            channel=channel, customer=sample.customer_id))  # fmt: skip


@bp.post("/<int:template_id>/reset")
@login_required
def reset(org_id: int, template_id: int) -> Response:
    """Delete the organisation's template: the shipped default is used again. Logged."""
    org = require_org(org_id, Role.ADMIN)
    if not ButtonForm().validate_on_submit():
        abort(400)
    rt = runtime()
    with rt.sessions.begin() as db:
        row = db.scalar(
            select(MessageTemplate).where(MessageTemplate.organisation_id == org.id, MessageTemplate.id == template_id)
        )
        if row is None:
            abort(404)
        key, language, channel = row.template_key, row.language, row.channel
        db.delete(row)
        ActivityLog(db, org.id).append(
            kind="template_reset",
            actor=str(current_user.id),
            occurred_at=rt.clock.now(),
            summary=f"template {key} ({language}, {channel}) reset to the default",
            data={"template_key": key, "language": language, "channel": channel},
        )
    flash(_("Reset: %(key)s (%(language)s) is the default again.", key=key, language=language), "info")
    return redirect(url_for("messages.edit", org_id=org.id, template_key=key, language=language, channel=channel))


# -- helpers -------------------------------------------------------------------------------------


def _check_address(key: str, language: str, channel: str) -> None:
    if key not in default_keys() or language not in LANGUAGES or channel not in CHANNELS:
        abort(404)


def _stored(db: Session, org_id: int, key: str, language: str, channel: str) -> MessageTemplate | None:
    return db.scalar(
        select(MessageTemplate).where(
            MessageTemplate.organisation_id == org_id,
            MessageTemplate.template_key == key,
            MessageTemplate.language == language,
            MessageTemplate.channel == channel,
        )
    )


def _source_of(row: MessageTemplate | None, key: str, language: str) -> TemplateSource:
    if row is not None:
        return TemplateSource(subject=row.subject, text=row.body_text, html=row.body_html)
    return default_template(key, language)


def _today(org: Organisation) -> date:
    return local_today(runtime().clock, org.timezone)


def _sample(db: Session, org: Organisation, customer_id: int | None, key: str, language: str) -> Sample:
    return real_sample(db, org, customer_id, key, level_of(db, org.id, key), language, _today(org))


def _full(org: Organisation, key: str, language: str) -> MessageContext:
    with runtime().sessions() as db:
        level = level_of(db, org.id, key)
    return full_sample(org, key, max(level, 3), language, _today(org))


def _customer_choices(db: Session, org_id: int, form: TemplateForm, sample: Sample) -> None:
    customers = db.execute(
        select(Customer.id, Customer.name).where(Customer.organisation_id == org_id).order_by(Customer.name)
    ).all()
    form.customer.choices = [SelectChoice(str(c.id), c.name) for c in customers]
    form.customer.data = sample.customer_id


def _render(sample: Sample, source: TemplateSource) -> tuple[RenderedMessage | None, str | None]:
    try:
        return render_message(sample.context, source, attach_letter=False), None
    except TemplateError as exc:
        return None, exc.message


def _names(db: Session, user_ids: list[int | None]) -> dict[int, str]:
    ids = sorted({i for i in user_ids if i is not None})
    return {u.id: u.name or u.email for u in db.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def _page(
    org: Organisation,
    key: str,
    language: str,
    channel: str,
    form: TemplateForm,
    row: MessageTemplate | None,
    sample: Sample,
    rendered: RenderedMessage | None,
    problem: str | None,
    editors: dict[int, str],
) -> str:
    with runtime().sessions() as db:
        admin = _admin(db, org)
    return render_template(
        "messages/edit.html",
        org=org,
        key=key,
        language=language,
        channel=channel,
        form=form,
        row=row,
        sample=sample,
        rendered=rendered,
        problem=problem,
        variables=variables(sample.context, language),
        editors=editors,
        admin=admin,
        reset_form=ButtonForm(),
    )


def _admin(db: Session, org: Organisation) -> bool:
    role = db.scalar(
        select(Membership.role).where(Membership.firm_id == org.firm_id, Membership.user_id == current_user.id)
    )
    return RANK.get(role or "", -1) >= RANK[Role.ADMIN.value]


def _store(org_id: int, key: str, language: str, channel: str, source: TemplateSource) -> None:
    """Insert or update the organisation's template, with who changed it; logged."""
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        row = _stored(db, org_id, key, language, channel)
        if row is None:
            row = MessageTemplate(organisation_id=org_id, template_key=key, language=language, channel=channel)
            db.add(row)
        row.level = level_of(db, org_id, key)
        row.subject, row.body_text, row.body_html = source.subject, source.text, source.html
        row.updated_by_id, row.updated_at = current_user.id, now
        ActivityLog(db, org_id).append(
            kind="template_changed",
            actor=str(current_user.id),
            occurred_at=now,
            summary=f"template {key} ({language}, {channel}) saved",
            data={"template_key": key, "language": language, "channel": channel},
        )
