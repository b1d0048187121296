"""The ledger: customers and invoices, filters, "Why?", timelines and the actions on them.

The lists and pages read one :class:`connector.ledger_views.Board` (the snapshot the collection run
plans from and the engine's decision on it), so what a page says and what the run does agree. The
actions (pause, lift, exclude, owner, note, call) live in :mod:`web.ledger_actions` and re-render
the pages built here when a form has a wrong value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from connector.clock import local_today
from connector.db import Customer, Invoice, Organisation, Pause, Role, Task, TaskStatus
from connector.ledger_views import (
    BUCKETS,
    INVOICE_STATUSES,
    LEVELS,
    NOBODY,
    UNTOUCHED,
    Board,
    Filters,
    InvoiceLine,
    Member,
    active_pauses,
    customer_timeline,
    filter_customers,
    filter_invoices,
    invoice_timeline,
    load_board,
    member_role,
    members,
)
from core import explain
from core.interest import RateUnavailable
from core.reasons import SkipReason, describe
from web import runtime
from web.auth import RANK, owned_or_404, require_org
from web.forms import ButtonForm
from web.forms_ledger import PAUSE_KINDS, CallForm, ExcludeForm, NoteForm, OwnerForm, PauseForm

log = logging.getLogger(__name__)
bp = Blueprint("ledger", __name__)

PAGE_SIZE = 100
"""Rows per page of the lists."""

BUCKET_LABELS = {
    "current": _l("not yet due"),
    "1-30": _l("1–30 days overdue"),
    "31-60": _l("31–60 days overdue"),
    "61-90": _l("61–90 days overdue"),
    "90+": _l("more than 90 days overdue"),
}
GRADE_LABELS = {
    "A": _l("A: pays on time"),
    "B": _l("B: a little late"),
    "C": _l("C: late"),
    "D": _l("D: very late"),
    "E": _l("E: pays months late"),
    "unrated": _l("unrated (too little history)"),
}
STATUSES = {
    "open": _l("open"),
    "paid": _l("paid"),
    "voided": _l("voided"),
    "draft": _l("draft"),
    "deleted": _l("deleted"),
}
#: How the entries of the activity log are named on the timeline; other kinds show their code.
ACTIVITY_KINDS = {
    "pause_added": _l("Pause"),
    "pause_lifted": _l("Pause lifted"),
    "customer_excluded": _l("Excluded"),
    "customer_included": _l("Included again"),
    "owner_set": _l("Owner"),
    "note": _l("Note"),
    "call": _l("Call"),
    "reminder_planned": _l("Reminder planned"),
    "reminder_sent": _l("Reminder sent"),
    "reminder_failed": _l("Reminder failed"),
    "reminder_in_doubt": _l("Reminder in doubt"),
    "reminder_cancelled": _l("Reminder cancelled"),
    "task_planned": _l("Task planned"),
    "task_done": _l("Task done"),
    "task_reopened": _l("Task reopened"),
    "task_assigned": _l("Task assigned"),
    "task_due_set": _l("Task due date"),
    "letter_generated": _l("Letter written"),
    "payer_paid": _l("Customer reports payment"),
    "payer_dispute": _l("Customer disputes"),
    "payer_promise": _l("Customer promises payment"),
}
ACTORS = {"system": _l("arcadence"), "scheduler": _l("the daily run"), "payer": _l("the customer")}


def language() -> str:
    """The UI language, for the engine's words (``en`` or ``de``)."""
    locale = get_locale()
    return "de" if locale is not None and locale.language == "de" else "en"


def can_act(session: Session, org: Organisation) -> bool:
    """True when the signed-in user may change the ledger (collectors and admins)."""
    role = member_role(session, org.firm_id, current_user.id)
    return RANK.get(role or "", -1) >= RANK[Role.COLLECTOR.value]


def load_customer(session: Session, org: Organisation, customer_id: int) -> Customer:
    """The customer of this organisation, or 404 (a forged id is logged)."""
    return owned_or_404(session, Customer, customer_id, org, "customer")


def load_invoice(session: Session, org: Organisation, invoice_id: int) -> Invoice:
    """The invoice of this organisation, or 404 (a forged id is logged)."""
    return owned_or_404(session, Invoice, invoice_id, org, "invoice")


def load_pause(session: Session, org: Organisation, pause_id: int) -> Pause:
    """The pause of this organisation, or 404 (a forged id is logged)."""
    return owned_or_404(session, Pause, pause_id, org, "pause")


@bp.context_processor
def _labels() -> dict[str, Any]:
    """Words and formats the ledger templates share."""
    return {
        "bucket_labels": BUCKET_LABELS,
        "grade_labels": GRADE_LABELS,
        "statuses": STATUSES,
        "pause_kinds": PAUSE_KINDS,
        "activity_kinds": ACTIVITY_KINDS,
        "actors": ACTORS,
        "reason_words": lambda reason: describe(reason, language()),
        "local_time": local_time,
    }


def local_time(at: datetime, timezone: str) -> str:
    """An instant as the organisation's clock showed it (short format, UI language)."""
    return str(format_datetime(at.astimezone(ZoneInfo(timezone)), "short", rebase=False))


# --- the lists ---------------------------------------------------------------------------------


def parse_filters(args: Mapping[str, str], people: list[Member]) -> tuple[Filters, int, list[str]]:
    """The filters and page asked for in the query string, and a message for each wrong value
    (that filter is then left out)."""
    errors: list[str] = []
    bucket = args.get("bucket") or None
    if bucket is not None and bucket not in BUCKETS:
        errors.append(
            _("Unknown aging bucket “%(value)s”: choose one of %(choices)s.", value=bucket, choices=", ".join(BUCKETS))
        )
        bucket = None
    level: int | None = None
    raw_level = args.get("level") or ""
    if raw_level == "none":
        level = UNTOUCHED
    elif raw_level.isdigit() and int(raw_level) in LEVELS:
        level = int(raw_level)
    elif raw_level:
        errors.append(_("Unknown level “%(value)s”: choose 0 to 6, or none.", value=raw_level))
    owner: int | None = None
    raw_owner = args.get("owner") or ""
    if raw_owner == "me":
        owner = int(current_user.id)
    elif raw_owner == "none":
        owner = NOBODY
    elif raw_owner.isdigit() and int(raw_owner) in {m.id for m in people}:
        owner = int(raw_owner)
    elif raw_owner:
        errors.append(_("Unknown owner “%(value)s”: choose a member of the firm.", value=raw_owner))
    status = args.get("status") or "open"
    if status not in INVOICE_STATUSES:
        errors.append(_("Unknown status “%(value)s”: choose open, closed or all.", value=status))
        status = "open"
    raw_page = args.get("page") or "1"
    page = int(raw_page) if raw_page.isdigit() and int(raw_page) >= 1 else 0
    if page == 0:
        errors.append(_("Unknown page “%(value)s”: pages are numbered from 1.", value=raw_page))
        page = 1
    return Filters(bucket, level, owner, status), page, errors


def _list_page(org_id: int, template: str, invoices: bool) -> tuple[str, int]:
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    today = local_today(rt.clock, org.timezone)
    with rt.sessions() as session:
        board = load_board(session, org, today)
        people = members(session, org.firm_id)
    filters, page, errors = parse_filters(request.args, people)
    rows: list[Any] = filter_invoices(board, filters) if invoices else filter_customers(board, filters)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if page > pages:
        errors.append(_("There is no page %(page)s; the list has %(pages)s.", page=page, pages=pages))
        page = 1
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    html = render_template(
        template,
        org=org,
        board=board,
        rows=shown,
        count=len(rows),
        page=page,
        pages=pages,
        args={k: v for k, v in request.args.items() if k != "page"},
        filters=filters,
        errors=errors,
        people={m.id: m for m in people},
        buckets=BUCKETS,
        levels=LEVELS,
    )
    return html, 400 if errors else 200


@bp.get("/orgs/<int:org_id>/customers")
@login_required
def customers(org_id: int) -> tuple[str, int]:
    """Customers with an open balance: overdue, payer rating, last and next touch, owner; filtered."""
    return _list_page(org_id, "ledger/customers.html", invoices=False)


@bp.get("/orgs/<int:org_id>/invoices")
@login_required
def invoices(org_id: int) -> tuple[str, int]:
    """Invoices with status, due date, balance and level reached; filtered."""
    return _list_page(org_id, "ledger/invoices.html", invoices=True)


# --- "Why?" ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Why:
    """The engine's answer for one invoice, in the UI language.

    Attributes:
        invoice: the invoice.
        headline: what goes out today, or why nothing does.
        today: True when today's plan chases it.
        checks: (passed, words) for each rule the engine applied, up to the deciding one.
    """

    invoice: InvoiceLine
    headline: str
    today: bool
    checks: tuple[tuple[bool, str], ...]


def why(board: Board, line: InvoiceLine) -> Why:
    """Explain the engine's decision on ``line`` today (``core.explain``), in words."""
    lang = language()
    snap = board.snapshot
    if board.problem is not None:
        return Why(line, _("The cadence cannot be applied: %(problem)s", problem=board.problem), False, ())
    try:
        group = snap.group_of(line.customer_external_id)
        found = explain.explain(
            snap.ledger, group.policy, snap.history, board.today, line.external_id, group.organisation
        )
    except (ValueError, RateUnavailable) as exc:
        return Why(line, _("The cadence cannot be applied: %(problem)s", problem=str(exc)), False, ())
    checks = tuple((c.ok, c.texts[lang]) for c in found.checks)
    if found.touch is not None:
        return Why(line, explain.headline(found, lang), True, checks)
    reason = found.reason or SkipReason.NO_STEP_REACHED
    headline = _("Nothing today: %(why)s", why=describe(reason, lang))
    if line.bucket == "current" and reason in (SkipReason.NO_STEP_REACHED, SkipReason.NEXT_STEP_NOT_REACHED):
        headline += " " + _("The invoice is not overdue yet.")
    return Why(line, headline, False, checks)


# --- the pages ---------------------------------------------------------------------------------


def owner_choices(people: Iterable[Member]) -> list[SelectChoice]:
    """Who may own a customer: nobody, or a member of the firm."""
    return [SelectChoice(0, _("nobody (the default collector)"))] + [SelectChoice(m.id, m.name) for m in people]


def _forms(session: Session, org: Organisation, customer: Customer, board: Board) -> dict[str, FlaskForm]:
    """Every action form of the customer page, unbound, with the organisation's choices."""
    people = members(session, org.firm_id)
    choices = [SelectChoice(0, _("the whole customer"))] + [
        SelectChoice(i.id, i.number or i.external_id) for i in board.invoices if i.customer_id == customer.id
    ]
    owner = OwnerForm(formdata=None, prefix="owner", owner=customer.owner_user_id or 0)
    owner.owner.choices = owner_choices(people)
    note = NoteForm(formdata=None, prefix="note")
    call = CallForm(formdata=None, prefix="call", today=board.today)
    note.invoice.choices = call.invoice.choices = choices
    return {
        "pause_form": PauseForm(formdata=None, prefix="pause", today=board.today),
        "exclude_form": ExcludeForm(formdata=None, prefix="exclude"),
        "owner_form": owner,
        "note_form": note,
        "call_form": call,
        "button": ButtonForm(formdata=None),
    }


def customer_page(org: Organisation, customer_id: int, status: int = 200, **bound: FlaskForm) -> tuple[str, int]:
    """The customer page; ``bound`` replaces forms by the submitted ones (with their errors)."""
    rt = runtime()
    today = local_today(rt.clock, org.timezone)
    with rt.sessions() as session:
        customer = load_customer(session, org, customer_id)
        board = load_board(session, org, today)
        line = next((c for c in board.customers if c.id == customer.id), None)
        mine = [i for i in board.invoices if i.customer_id == customer.id]
        context = {
            "org": org,
            "customer": customer,
            "line": line,
            "invoices": mine,
            "whys": [why(board, i) for i in mine if i.bucket is not None],
            "pauses": active_pauses(session, org.id, customer.id),
            "tasks": _open_tasks(session, org.id, customer.id),
            "timeline_entries": customer_timeline(session, org.id, customer.id),
            "people": {m.id: m for m in members(session, org.firm_id)},
            "invoice_numbers": {i.id: i.number for i in mine},
            "can_act": can_act(session, org),
            "test_mode": not board.snapshot.group_of(customer.external_id).sending,
            "today": today,
            "problem": board.problem,
            **_forms(session, org, customer, board),
            **bound,
        }
        return render_template("ledger/customer.html", **context), status


def invoice_page(org: Organisation, invoice_id: int, status: int = 200, **bound: FlaskForm) -> tuple[str, int]:
    """The invoice page; ``bound`` replaces forms by the submitted ones (with their errors)."""
    rt = runtime()
    today = local_today(rt.clock, org.timezone)
    with rt.sessions() as session:
        invoice = load_invoice(session, org, invoice_id)
        board = load_board(session, org, today)
        line = next(i for i in board.invoices if i.id == invoice.id)
        context = {
            "org": org,
            "invoice": line,
            "customer": session.get_one(Customer, invoice.customer_id),
            "why": why(board, line),
            "pauses": [
                p for p in active_pauses(session, org.id, invoice.customer_id) if p.invoice_id in (None, invoice.id)
            ],
            "timeline_entries": invoice_timeline(session, org.id, invoice),
            "people": {m.id: m for m in members(session, org.firm_id)},
            "invoice_numbers": {invoice.id: invoice.number},
            "can_act": can_act(session, org),
            "test_mode": not board.snapshot.group_of(line.customer_external_id).sending,
            "today": today,
            "pause_form": PauseForm(formdata=None, prefix="pause", today=today),
            "button": ButtonForm(formdata=None),
            "lift_back": "invoice",
            **bound,
        }
        return render_template("ledger/invoice.html", **context), status


def _open_tasks(session: Session, org_id: int, customer_id: int) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .where(
                Task.organisation_id == org_id, Task.customer_id == customer_id, Task.status == TaskStatus.OPEN.value
            )
            .order_by(Task.due_date, Task.id)
        )
    )


@bp.get("/orgs/<int:org_id>/customers/<int:customer_id>")
@login_required
def customer(org_id: int, customer_id: int) -> tuple[str, int]:
    """One customer: balances, "Why?" per open invoice, pauses, tasks, actions and the timeline."""
    org = require_org(org_id, Role.VIEWER)
    return customer_page(org, customer_id)


@bp.get("/orgs/<int:org_id>/invoices/<int:invoice_id>")
@login_required
def invoice(org_id: int, invoice_id: int) -> tuple[str, int]:
    """One invoice: status, balance, level reached, "Why?", its pauses and its timeline."""
    org = require_org(org_id, Role.VIEWER)
    return invoice_page(org, invoice_id)


from web import ledger_actions  # noqa: E402, F401  (registers the actions on bp; they render the pages above)
