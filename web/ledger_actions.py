"""The actions on the ledger: pause (dispute, promise, plan, hold) and lift, exclude and include,
set the owner, add a note, log a call.

Each is a POST of a Flask-WTF form by a collector or an admin, loads its object *within* the
organisation (a forged id is a 404), and writes one entry to the activity log with the user as
actor, in the same transaction as the change. A wrong value re-renders the page with the message
next to its field (400) and changes nothing. Registered on :data:`web.ledger.bp`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector.clock import local_today
from connector.db import Customer, Invoice, Organisation, Pause, Role
from connector.db.activity import ActivityLog
from connector.ledger_views import members
from web import runtime
from web.auth import require_org
from web.forms import ButtonForm
from web.forms_ledger import CALL_OUTCOMES, PAUSE_KINDS, CallForm, ExcludeForm, NoteForm, OwnerForm, PauseForm
from web.ledger import bp, customer_page, invoice_page, load_customer, load_invoice, load_pause, owner_choices

#: How a pause kind and a call outcome read in the (English) activity log.
PAUSE_WORDS = {"dispute": "dispute", "promise": "promise to pay", "plan": "payment plan", "hold": "hold"}
OUTCOME_WORDS = {
    "reached": "reached, no commitment",
    "promised": "promised to pay",
    "no_answer": "no answer",
    "left_message": "left a message",
    "wrong_number": "wrong number",
}
assert set(PAUSE_WORDS) == set(PAUSE_KINDS) and set(OUTCOME_WORDS) == set(CALL_OUTCOMES)


def _now_and_today(org: Organisation) -> tuple[datetime, date]:
    rt = runtime()
    return rt.clock.now(), local_today(rt.clock, org.timezone)


def _log(
    session: Session,
    org: Organisation,
    kind: str,
    summary: str,
    *,
    customer_id: int | None = None,
    invoice_id: int | None = None,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Append to the activity log with ``actor`` (default: the signed-in user) as actor."""
    ActivityLog(session, org.id).append(
        kind=kind,
        actor=actor or str(current_user.id),
        occurred_at=runtime().clock.now(),
        summary=summary,
        customer_id=customer_id,
        invoice_id=invoice_id,
        data=data,
    )


def add_pause(
    session: Session,
    org: Organisation,
    customer: Customer,
    invoice: Invoice | None,
    kind: str,
    until: date | None,
    reason: str,
    *,
    actor: str | None = None,
) -> Pause:
    """Store a pause set by ``actor`` (default: the signed-in user; ``payer`` from the payer's
    page) and log it (one transaction)."""
    now, today = _now_and_today(org)
    actor = actor or str(current_user.id)
    pause = Pause(
        organisation_id=org.id,
        customer_id=customer.id,
        invoice_id=invoice.id if invoice else None,
        kind=kind,
        reason=reason,
        since_date=today,
        until_date=until,
        created_by=actor,
        created_at=now,
    )
    session.add(pause)
    session.flush()
    target = f" on invoice {invoice.number or invoice.external_id}" if invoice else " on the whole customer"
    summary = f"Pause ({PAUSE_WORDS[kind]}){target}, " + (f"until {until.isoformat()}" if until else "until lifted")
    _log(
        session,
        org,
        "pause_added",
        summary + (f": {reason}" if reason else ""),
        customer_id=customer.id,
        invoice_id=invoice.id if invoice else None,
        data={"pause_id": pause.id, "kind": kind, "until": until.isoformat() if until else None, "reason": reason},
        actor=actor,
    )
    return pause


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/pauses")
@login_required
def pause_customer(org_id: int, customer_id: int) -> Response | tuple[str, int]:
    """Pause chasing the whole customer."""
    org = require_org(org_id, Role.COLLECTOR)
    _now, today = _now_and_today(org)
    form = PauseForm(prefix="pause", today=today)
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        if form.validate_on_submit():
            add_pause(session, org, customer, None, form.kind.data, form.until_date.data, form.reason.data or "")
            flash(_("Pause added: this customer is not chased while it lasts."), "info")
            return redirect(url_for("ledger.customer", org_id=org.id, customer_id=customer_id, _anchor="timeline"))
    return customer_page(org, customer_id, 400, pause_form=form)


@bp.post("/orgs/<int:org_id>/invoices/<int:invoice_id>/pauses")
@login_required
def pause_invoice(org_id: int, invoice_id: int) -> Response | tuple[str, int]:
    """Pause chasing one open invoice."""
    org = require_org(org_id, Role.COLLECTOR)
    _now, today = _now_and_today(org)
    form = PauseForm(prefix="pause", today=today)
    with runtime().sessions.begin() as session:
        invoice = load_invoice(session, org, invoice_id)
        valid = form.validate_on_submit()
        if valid and not (invoice.status == "open" and invoice.balance > 0):
            form.form_errors.append(_("This invoice is not open: there is nothing to pause."))
            valid = False
        if valid:
            customer = session.get_one(Customer, invoice.customer_id)
            add_pause(session, org, customer, invoice, form.kind.data, form.until_date.data, form.reason.data or "")
            flash(_("Pause added: this invoice is not chased while it lasts."), "info")
            return redirect(url_for("ledger.invoice", org_id=org.id, invoice_id=invoice_id, _anchor="timeline"))
    return invoice_page(org, invoice_id, 400, pause_form=form)


@bp.post("/orgs/<int:org_id>/pauses/<int:pause_id>/lift")
@login_required
def lift_pause(org_id: int, pause_id: int) -> Response:
    """End a pause now: chasing resumes with the next run."""
    org = require_org(org_id, Role.COLLECTOR)
    now, _today = _now_and_today(org)
    with runtime().sessions.begin() as session:
        pause = load_pause(session, org, pause_id)
        back = (
            url_for("ledger.invoice", org_id=org.id, invoice_id=pause.invoice_id, _anchor="timeline")
            if request.form.get("back") == "invoice" and pause.invoice_id
            else url_for("ledger.customer", org_id=org.id, customer_id=pause.customer_id, _anchor="timeline")
        )
        if not ButtonForm().validate_on_submit():
            flash(_("The form was not accepted; nothing was changed."), "warning")
            return redirect(back)
        if pause.lifted_at is not None:
            flash(_("This pause was already lifted."), "warning")
            return redirect(back)
        pause.lifted_at = now
        _log(
            session,
            org,
            "pause_lifted",
            f"Pause ({PAUSE_WORDS.get(pause.kind, pause.kind)}) lifted",
            customer_id=pause.customer_id,
            invoice_id=pause.invoice_id,
            data={"pause_id": pause.id},
        )
    flash(_("Pause lifted: chasing resumes with the next run."), "info")
    return redirect(back)


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/exclude")
@login_required
def exclude_customer(org_id: int, customer_id: int) -> Response | tuple[str, int]:
    """Never chase this customer (Mahnsperre) until included again."""
    org = require_org(org_id, Role.COLLECTOR)
    form = ExcludeForm(prefix="exclude")
    back = url_for("ledger.customer", org_id=org.id, customer_id=customer_id, _anchor="timeline")
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        if customer.excluded:
            flash(_("This customer is already excluded from reminders."), "warning")
            return redirect(back)
        if form.validate_on_submit():
            customer.excluded = True
            reason = form.reason.data.strip()
            _log(
                session,
                org,
                "customer_excluded",
                f"Excluded from reminders: {reason}",
                customer_id=customer.id,
                data={"reason": reason},
            )
            flash(_("The customer is excluded from reminders."), "info")
            return redirect(back)
    return customer_page(org, customer_id, 400, exclude_form=form)


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/include")
@login_required
def include_customer(org_id: int, customer_id: int) -> Response:
    """Chase this customer again."""
    org = require_org(org_id, Role.COLLECTOR)
    back = url_for("ledger.customer", org_id=org.id, customer_id=customer_id, _anchor="timeline")
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        if not ButtonForm().validate_on_submit():
            flash(_("The form was not accepted; nothing was changed."), "warning")
        elif not customer.excluded:
            flash(_("This customer is not excluded; nothing was changed."), "warning")
        else:
            customer.excluded = False
            _log(session, org, "customer_included", "Included in reminders again", customer_id=customer.id)
            flash(_("The customer is chased again from the next run."), "info")
    return redirect(back)


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/owner")
@login_required
def set_owner(org_id: int, customer_id: int) -> Response | tuple[str, int]:
    """Give the customer to a member of the firm (their tasks go to them), or to nobody."""
    org = require_org(org_id, Role.COLLECTOR)
    form = OwnerForm(prefix="owner")
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        people = {m.id: m for m in members(session, org.firm_id)}
        form.owner.choices = owner_choices(people.values())
        if form.validate_on_submit():
            new = form.owner.data or None
            if new != customer.owner_user_id:
                customer.owner_user_id = new
                who = f"{people[new].name} <{people[new].email}>" if new else "nobody"
                _log(session, org, "owner_set", f"Owner set to {who}", customer_id=customer.id, data={"owner": new})
            flash(_("Owner saved."), "info")
            return redirect(url_for("ledger.customer", org_id=org.id, customer_id=customer_id))
    return customer_page(org, customer_id, 400, owner_form=form)


def _invoice_choices(session: Session, org: Organisation, customer: Customer) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Invoice.id, Invoice.number, Invoice.external_id).where(
            Invoice.organisation_id == org.id, Invoice.customer_id == customer.id
        )
    ).all()
    return [SelectChoice(0, _("the whole customer"))] + [SelectChoice(i, number or ext) for i, number, ext in rows]


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/notes")
@login_required
def add_note(org_id: int, customer_id: int) -> Response | tuple[str, int]:
    """A note on the customer, or on one of its invoices, for the paper trail."""
    org = require_org(org_id, Role.COLLECTOR)
    form = NoteForm(prefix="note")
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        form.invoice.choices = _invoice_choices(session, org, customer)
        if form.validate_on_submit():
            text = form.text.data.strip()
            _log(session, org, "note", text, customer_id=customer.id, invoice_id=form.invoice.data or None)
            flash(_("Note added."), "info")
            return redirect(url_for("ledger.customer", org_id=org.id, customer_id=customer_id, _anchor="timeline"))
    return customer_page(org, customer_id, 400, note_form=form)


@bp.post("/orgs/<int:org_id>/customers/<int:customer_id>/calls")
@login_required
def log_call(org_id: int, customer_id: int) -> Response | tuple[str, int]:
    """A phone call and its outcome; a promise to pay on a date also pauses chasing until then."""
    org = require_org(org_id, Role.COLLECTOR)
    _now, today = _now_and_today(org)
    form = CallForm(prefix="call", today=today)
    with runtime().sessions.begin() as session:
        customer = load_customer(session, org, customer_id)
        form.invoice.choices = _invoice_choices(session, org, customer)
        if form.validate_on_submit():
            invoice = session.get(Invoice, form.invoice.data) if form.invoice.data else None
            note = (form.text.data or "").strip()
            promised: date | None = form.promise_date.data
            summary = f"Call: {OUTCOME_WORDS[form.outcome.data]}"
            summary += f", payment promised for {promised.isoformat()}" if promised else ""
            _log(
                session,
                org,
                "call",
                summary + (f". {note}" if note else ""),
                customer_id=customer.id,
                invoice_id=invoice.id if invoice else None,
                data={"outcome": form.outcome.data, "promise_date": promised.isoformat() if promised else None},
            )
            if promised is not None:
                add_pause(session, org, customer, invoice, "promise", promised, "promised on a call")
            flash(_("Call logged."), "info")
            return redirect(url_for("ledger.customer", org_id=org.id, customer_id=customer_id, _anchor="timeline"))
    return customer_page(org, customer_id, 400, call_form=form)
