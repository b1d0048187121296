"""Tasks for people: my tasks, team tasks, done with an outcome; the admin sees who is on what.

Tasks come from the collection run (the heavy steps it hands over: call, letter, agency, legal,
write-off review, notify the owner; and "find an email address") and are worked here. Every action
is a POST of a Flask-WTF form by a collector or an admin, loads the task *within* the organisation
(a forged id is a 404) and writes one entry to the activity log with the user as actor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector.clock import local_today
from connector.db import Customer, Invoice, Organisation, Role, Task, TaskStatus
from connector.db.activity import ActivityLog
from connector.ledger_views import Member, member_role, members
from connector.task_views import SHOWS, WORKERS, my_tasks, organisation_tasks, workload
from web import runtime
from web.auth import RANK, owned_or_404, require_org
from web.forms import ButtonForm
from web.forms_tasks import AssignForm, DoneForm, DueForm

log = logging.getLogger(__name__)
bp = Blueprint("tasks", __name__)

TABS = ("mine", "team")
KINDS = {
    "call": _l("Call"),
    "letter": _l("Letter"),
    "notify_owner": _l("Tell the account owner"),
    "agency": _l("Hand to a collection agency"),
    "legal": _l("Legal action"),
    "writeoff_review": _l("Write-off review"),
    "find_email": _l("Find a contact"),
    "check_payment": _l("Check a reported payment"),
    "dispute": _l("Look into a dispute"),
}
STATUSES = {"open": _l("open"), "done": _l("done"), "cancelled": _l("cancelled")}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"kinds": KINDS, "task_statuses": STATUSES}


def _role(session: Session, org: Organisation) -> int:
    return RANK.get(member_role(session, org.firm_id, current_user.id) or "", -1)


def _load_task(session: Session, org: Organisation, task_id: int) -> Task:
    """The task of this organisation, or 404 (a forged id is logged)."""
    return owned_or_404(session, Task, task_id, org, "task")


def _workers(people: Iterable[Member]) -> list[Member]:
    return [m for m in people if m.role in WORKERS]


def assignee_choices(people: Iterable[Member]) -> list[SelectChoice]:
    """Who may be put on a task: nobody, or a collector or admin of the firm (a viewer cannot act)."""
    return [SelectChoice(0, _("nobody"))] + [SelectChoice(m.id, m.name) for m in _workers(people)]


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...], errors: list[str]) -> str:
    value = args.get(name) or allowed[0]
    if value not in allowed:
        message = _(
            "Unknown %(name)s “%(value)s”: choose one of %(choices)s.",
            name=name,
            value=value,
            choices=", ".join(allowed),
        )
        errors.append(message)
        return allowed[0]
    return value


@bp.get("/orgs/<int:org_id>/tasks")
@login_required
def index(org_id: int) -> tuple[str, int]:
    """My tasks or the team's (``?tab=``), open, closed or all (``?show=``); admins see who is on what."""
    org = require_org(org_id, Role.VIEWER)
    errors: list[str] = []
    tab = _choice(request.args, "tab", TABS, errors)
    show = _choice(request.args, "show", SHOWS, errors)
    rt = runtime()
    with rt.sessions() as session:
        mine = current_user.id if tab == "mine" else None
        tasks = organisation_tasks(session, org.id, rt.clock, show=show, assignee=mine)
        people = members(session, org.firm_id)
        is_admin = _role(session, org) >= RANK[Role.ADMIN.value]
        loads = workload(organisation_tasks(session, org.id, rt.clock), [m.id for m in _workers(people)])
    html = render_template(
        "tasks/index.html",
        org=org,
        tab=tab,
        show=show,
        tasks=tasks,
        errors=errors,
        people={m.id: m for m in people},
        loads=loads if is_admin else None,
    )
    return html, 400 if errors else 200


def task_page(org: Organisation, task_id: int, status: int = 200, **bound: FlaskForm) -> tuple[str, int]:
    """The task page; ``bound`` replaces forms by the submitted ones (with their errors)."""
    rt = runtime()
    today = local_today(rt.clock, org.timezone)
    with rt.sessions() as session:
        task = _load_task(session, org, task_id)
        people = members(session, org.firm_id)
        assign = AssignForm(formdata=None, prefix="assign", assignee=task.assignee_id or 0)
        assign.assignee.choices = assignee_choices(people)
        context = {
            "org": org,
            "task": task,
            "today": today,
            "customer": session.get(Customer, task.customer_id) if task.customer_id else None,
            "invoice": session.get(Invoice, task.invoice_id) if task.invoice_id else None,
            "people": {m.id: m for m in people},
            "can_act": _role(session, org) >= RANK[Role.COLLECTOR.value],
            "assign_form": assign,
            "due_form": DueForm(formdata=None, prefix="due", today=today, due_date=task.due_date),
            "done_form": DoneForm(formdata=None, prefix="done"),
            "button": ButtonForm(formdata=None),
            **bound,
        }
        return render_template("tasks/task.html", **context), status


@bp.get("/orgs/<int:org_id>/tasks/<int:task_id>")
@login_required
def task(org_id: int, task_id: int) -> tuple[str, int]:
    """One task: what to do, for whom, who is on it, by when; and its actions."""
    org = require_org(org_id, Role.VIEWER)
    return task_page(org, task_id)


def _log(session: Session, org: Organisation, task: Task, kind: str, summary: str) -> None:
    ActivityLog(session, org.id).append(
        kind=kind,
        actor=str(current_user.id),
        occurred_at=runtime().clock.now(),
        summary=summary,
        customer_id=task.customer_id,
        invoice_id=task.invoice_id,
        data={"task_id": task.id},
    )


def _back(org: Organisation, task_id: int) -> Response:
    return redirect(url_for("tasks.task", org_id=org.id, task_id=task_id))


@bp.post("/orgs/<int:org_id>/tasks/<int:task_id>/assignee")
@login_required
def assign(org_id: int, task_id: int) -> Response | tuple[str, int]:
    """Put a collector or an admin of the firm on the task (or nobody)."""
    org = require_org(org_id, Role.COLLECTOR)
    form = AssignForm(prefix="assign")
    with runtime().sessions.begin() as session:
        task = _load_task(session, org, task_id)
        people = {m.id: m for m in members(session, org.firm_id)}
        form.assignee.choices = assignee_choices(people.values())
        if form.validate_on_submit():
            new = form.assignee.data or None
            if new != task.assignee_id:
                task.assignee_id = new
                who = f"{people[new].name} <{people[new].email}>" if new else "nobody"
                _log(session, org, task, "task_assigned", f"Task “{task.title}” assigned to {who}")
            flash(_("Assignee saved."), "info")
            return _back(org, task_id)
    return task_page(org, task_id, 400, assign_form=form)


@bp.post("/orgs/<int:org_id>/tasks/<int:task_id>/due")
@login_required
def set_due(org_id: int, task_id: int) -> Response | tuple[str, int]:
    """Set the day the task should be done by."""
    org = require_org(org_id, Role.COLLECTOR)
    form = DueForm(prefix="due", today=local_today(runtime().clock, org.timezone))
    with runtime().sessions.begin() as session:
        task = _load_task(session, org, task_id)
        if form.validate_on_submit():
            if form.due_date.data != task.due_date:
                task.due_date = form.due_date.data
                _log(session, org, task, "task_due_set", f"Task “{task.title}” due on {task.due_date.isoformat()}")
            flash(_("Due date saved."), "info")
            return _back(org, task_id)
    return task_page(org, task_id, 400, due_form=form)


@bp.post("/orgs/<int:org_id>/tasks/<int:task_id>/done")
@login_required
def done(org_id: int, task_id: int) -> Response | tuple[str, int]:
    """Close the task with what came of it."""
    org = require_org(org_id, Role.COLLECTOR)
    form = DoneForm(prefix="done")
    with runtime().sessions.begin() as session:
        task = _load_task(session, org, task_id)
        valid = form.validate_on_submit()
        if valid and task.status != TaskStatus.OPEN.value:
            form.form_errors.append(_("This task is not open: reopen it first."))
            valid = False
        if valid:
            task.status, task.outcome = TaskStatus.DONE.value, form.outcome.data.strip()
            task.completed_at = runtime().clock.now()
            _log(session, org, task, "task_done", f"Task done: {task.title}. Outcome: {task.outcome}")
            flash(_("Task done."), "info")
            return _back(org, task_id)
    return task_page(org, task_id, 400, done_form=form)


@bp.post("/orgs/<int:org_id>/tasks/<int:task_id>/reopen")
@login_required
def reopen(org_id: int, task_id: int) -> Response:
    """Open a done or cancelled task again (its outcome stays in the activity log)."""
    org = require_org(org_id, Role.COLLECTOR)
    with runtime().sessions.begin() as session:
        task = _load_task(session, org, task_id)
        if not ButtonForm().validate_on_submit():
            flash(_("The form was not accepted; nothing was changed."), "warning")
        elif task.status == TaskStatus.OPEN.value:
            flash(_("This task is already open."), "warning")
        else:
            before = task.status
            task.status, task.outcome, task.completed_at = TaskStatus.OPEN.value, None, None
            _log(session, org, task, "task_reopened", f"Task reopened ({before} before): {task.title}")
            flash(_("Task reopened."), "info")
    return _back(org, task_id)


@bp.get("/tasks")
@login_required
def mine() -> str:
    """My open tasks in every organisation of my firms."""
    rt = runtime()
    with rt.sessions() as session:
        tasks = my_tasks(session, current_user.id, rt.clock)
    return render_template("tasks/mine.html", tasks=tasks)
