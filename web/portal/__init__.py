"""The payer's self-service page at ``/pay/<token>`` (issue 10): no account, a signed link.

The link (:mod:`connector.portal`) is the key: it opens one customer of one organisation until it
expires. A refused link (tampered, foreign, expired, or naming a customer that is not the
organisation's) gets a polite page that names nobody, 404 or 410. A valid one shows the
customer's open invoices with their pay-now links, credits and balances, what was sent, and three
actions, each a POST of a Flask-WTF form that pauses chasing, may create a task for the firm and
is logged in the activity log with the actor ``payer`` (the firm's timeline shows it). The page
speaks the customer's language, whatever the browser says, and is never indexed nor referred.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector.clock import local_today
from connector.db import Customer, Invoice, Organisation, Pause, Task
from connector.db.activity import ActivityLog
from connector.portal import LinkRefused, portal_links
from connector.portal.page import PayerPage, load_payer_page, payer_language
from connector.statements import load_statement
from web import runtime
from web.ledger_actions import add_pause
from web.portal.forms import PROMISE_HORIZON_DAYS, DisputeForm, PaidForm, PromiseForm
from web.statements import statement_response

log = logging.getLogger(__name__)
bp = Blueprint("portal", __name__)

PAID_CHECK_DAYS = 5
"""Days reminders stop after the customer says it has paid: time for the payment to arrive and
for the firm to check it (the task's due date is today)."""
PAYER = "payer"
"""The actor of everything done on this page (activity log, pauses, tasks)."""
#: What a reminder of each level is called on the page (4 and above: the hand-over notice).
LEVEL_NAMES = {
    0: _l("Friendly reminder"),
    1: _l("Payment reminder"),
    2: _l("Second reminder"),
    3: _l("Final notice"),
    4: _l("Notice of hand-over to a collection agency"),
}


@bp.after_request
def _private(response: Response) -> Response:
    """The link is the key: never hand it to another site, never let a search engine keep it."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@dataclass(frozen=True, slots=True)
class Visit:
    """A valid link being used: its token, organisation, customer and the organisation's day."""

    token: str
    org: Organisation
    customer: Customer
    today: date


def refused_page(*, expired: bool) -> tuple[str, int]:
    """The polite page for a link that opens nothing: it names no organisation and no customer."""
    return render_template("portal/refused.html", expired=expired), 410 if expired else 404


def payer_view(view: Callable[[Visit], Any]) -> Callable[[str], Any]:
    """Open the link of the URL, then run ``view`` in the customer's language, or refuse politely."""

    @functools.wraps(view)
    def wrapper(token: str) -> Any:
        rt = runtime()
        links = portal_links(rt.settings.session_secret, rt.settings.public_url)
        try:
            scope = links.read(token, today=rt.clock.now().date())
        except LinkRefused as refused:
            log.info("payer link refused: %s", "expired" if refused.expired else "invalid signature")
            return refused_page(expired=refused.expired)
        with rt.sessions() as session:
            org = session.get(Organisation, scope.organisation_id)
            customer = session.scalar(
                select(Customer).where(
                    Customer.id == scope.customer_id, Customer.organisation_id == scope.organisation_id
                )
            )
        if org is None or customer is None:
            log.warning("payer link for a customer that is not there (organisation %s)", scope.organisation_id)
            return refused_page(expired=False)
        with force_locale(payer_language(customer.language)):
            return view(Visit(token, org, customer, local_today(rt.clock, org.timezone)))

    return wrapper


def _forms(visit: Visit, payer: PayerPage, bound: dict[str, FlaskForm]) -> dict[str, FlaskForm]:
    dispute = bound.get("dispute_form") or DisputeForm(formdata=None, prefix="dispute", today=visit.today)
    dispute.invoice.choices = [SelectChoice(i.id, i.number) for i in payer.open_invoices]
    return {
        "paid_form": bound.get("paid_form") or PaidForm(formdata=None, prefix="paid", today=visit.today),
        "dispute_form": dispute,
        "promise_form": bound.get("promise_form") or PromiseForm(formdata=None, prefix="promise", today=visit.today),
    }


def _page(visit: Visit, status: int = 200, **bound: FlaskForm) -> tuple[str, int]:
    with runtime().sessions() as session:
        payer = load_payer_page(session, visit.org, visit.customer, visit.today)
    html = render_template(
        "portal/page.html",
        token=visit.token,
        payer=payer,
        posted=bool(bound),
        level_names=LEVEL_NAMES,
        promise_days=PROMISE_HORIZON_DAYS,
        **_forms(visit, payer, bound),
    )
    return html, status


@bp.get("/pay/<token>")
@payer_view
def page(visit: Visit) -> tuple[str, int]:
    """The customer's open invoices, credits, balances, what was sent, and the three actions."""
    return _page(visit)


def _assignee(org: Organisation, customer: Customer) -> int | None:
    return customer.owner_user_id or org.default_collector_id


def _record(
    session: Session,
    visit: Visit,
    kind: str,
    summary: str,
    *,
    invoice: Invoice | None = None,
    task: tuple[str, str] | None = None,
) -> None:
    """Log what the customer said (kind ``payer_<kind>``, actor ``payer``) and, when ``task`` is
    given as (kind, title), give the firm a task to follow it up, due today, for the customer's
    owner or else the organisation's default collector."""
    now = runtime().clock.now()
    if task is not None:
        session.add(
            Task(
                organisation_id=visit.org.id,
                customer_id=visit.customer.id,
                invoice_id=invoice.id if invoice else None,
                kind=task[0],
                title=task[1][:300],
                assignee_id=_assignee(visit.org, visit.customer),
                due_date=visit.today,
                created_by=PAYER,
                created_at=now,
            )
        )
    ActivityLog(session, visit.org.id).append(
        kind=f"payer_{kind}",
        actor=PAYER,
        occurred_at=now,
        summary=summary,
        customer_id=visit.customer.id,
        invoice_id=invoice.id if invoice else None,
    )


def _said_before(
    session: Session, visit: Visit, kind: str, invoice: Invoice | None, until: date | None, reason: str
) -> bool:
    """Whether the customer has said exactly this already and the pause still holds (a double click,
    a reload that posts again, a second visit the same day): then nothing is recorded twice."""
    found = session.scalar(
        select(Pause.id).where(
            Pause.organisation_id == visit.org.id,
            Pause.customer_id == visit.customer.id,
            Pause.invoice_id.is_(None) if invoice is None else Pause.invoice_id == invoice.id,
            Pause.kind == kind,
            Pause.until_date.is_(None) if until is None else Pause.until_date == until,
            Pause.reason == reason,
            Pause.created_by == PAYER,
            Pause.lifted_at.is_(None),
        )
    )
    return found is not None


def _open_balance(session: Session, visit: Visit) -> bool:
    found = session.scalar(
        select(Invoice.id).where(
            Invoice.organisation_id == visit.org.id,
            Invoice.customer_id == visit.customer.id,
            Invoice.status == "open",
            Invoice.balance > 0,
        )
    )
    return found is not None


def _done(visit: Visit, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("portal.page", token=visit.token, _anchor="top"))


@bp.post("/pay/<token>/paid")
@payer_view
def paid(visit: Visit) -> Response | tuple[str, int]:
    """“I have paid”: reminders stop for :data:`PAID_CHECK_DAYS` days and the firm checks."""
    form = PaidForm(prefix="paid", today=visit.today)
    with runtime().sessions.begin() as session:
        valid = form.validate_on_submit()
        if valid and not _open_balance(session, visit):
            form.form_errors.append(_("Nothing is open any more: your payment has arrived. Thank you!"))
            valid = False
        if valid:
            said = f"on {form.paid_date.data.isoformat()}, reference “{form.reference.data.strip()}”"
            until = visit.today + timedelta(days=PAID_CHECK_DAYS)
            reason = f"the customer says it paid {said}"
            thanks = _("Thank you. We will check your payment and send no reminders meanwhile.")
            if _said_before(session, visit, "hold", None, until, reason):
                return _done(visit, thanks)
            add_pause(session, visit.org, visit.customer, None, "hold", until, reason, actor=PAYER)
            _record(
                session,
                visit,
                "paid",
                f"The customer says it has paid {said}",
                task=("check_payment", f"Check the payment the customer reports: paid {said}"),
            )
            return _done(visit, thanks)
    return _page(visit, 400, paid_form=form)


def _disputable(session: Session, visit: Visit, form: DisputeForm) -> Invoice | None:
    """The customer's open invoice the form names; None with a message next to the field else."""
    invoice = session.scalar(
        select(Invoice).where(
            Invoice.id == form.invoice.data,
            Invoice.organisation_id == visit.org.id,
            Invoice.customer_id == visit.customer.id,
        )
    )
    problem = None
    if invoice is None:
        problem = _("Choose one of your invoices.")
    elif invoice.status == "paid" or (invoice.status == "open" and invoice.balance <= 0):
        problem = _("This invoice is already paid: there is nothing to dispute.")
    elif invoice.status != "open":
        problem = _("This invoice is no longer open.")
    if problem is not None:
        form.invoice.errors = [*form.invoice.errors, problem]
        return None
    return invoice


@bp.post("/pay/<token>/dispute")
@payer_view
def dispute(visit: Visit) -> Response | tuple[str, int]:
    """“I dispute this invoice”: that invoice is paused until the firm has looked into it."""
    form = DisputeForm(prefix="dispute", today=visit.today)
    with runtime().sessions.begin() as session:
        valid = form.validate_on_submit()
        invoice = _disputable(session, visit, form)
        if valid and invoice is not None:
            reason = form.reason.data.strip()
            number = invoice.number or invoice.external_id
            thanks = _("Thank you. We will look into invoice %(number)s and get back to you.", number=number)
            if _said_before(session, visit, "dispute", invoice, None, reason):
                return _done(visit, thanks)
            add_pause(session, visit.org, visit.customer, invoice, "dispute", None, reason, actor=PAYER)
            _record(
                session,
                visit,
                "dispute",
                f"The customer disputes invoice {number}: {reason}",
                invoice=invoice,
                task=("dispute", f"Look into the customer's dispute of invoice {number}: {reason}"),
            )
            return _done(visit, thanks)
    return _page(visit, 400, dispute_form=form)


@bp.post("/pay/<token>/promise")
@payer_view
def promise(visit: Visit) -> Response | tuple[str, int]:
    """“I will pay on <date>”: a promise to pay; reminders wait until then (and the grace of the
    cadence), and a broken promise is chased at once (the engine's rule)."""
    form = PromiseForm(prefix="promise", today=visit.today)
    with runtime().sessions.begin() as session:
        valid = form.validate_on_submit()
        if valid and not _open_balance(session, visit):
            form.form_errors.append(_("Nothing is open any more: your payment has arrived. Thank you!"))
            valid = False
        if valid:
            day: date = form.promise_date.data
            reason = "promised on the payer page"
            thanks = _("Thank you. We have noted your payment for %(day)s.", day=_format_day(day))
            if not _said_before(session, visit, "promise", None, day, reason):
                add_pause(session, visit.org, visit.customer, None, "promise", day, reason, actor=PAYER)
                _record(session, visit, "promise", f"The customer promises to pay on {day.isoformat()}")
            return _done(visit, thanks)
    return _page(visit, 400, promise_form=form)


def _format_day(day: date) -> str:
    from flask_babel import format_date

    return str(format_date(day, "long"))


@bp.get("/pay/<token>/statement.pdf")
@payer_view
def statement_pdf(visit: Visit) -> Response:
    """The customer's statement of account as a PDF."""
    with runtime().sessions() as session:
        statement = load_statement(session, visit.org, visit.customer, visit.today)
    return statement_response(statement, "pdf")


@bp.get("/pay/<token>/statement.html")
@payer_view
def statement_html(visit: Visit) -> Response:
    """The customer's statement of account as an HTML document."""
    with runtime().sessions() as session:
        statement = load_statement(session, visit.org, visit.customer, visit.today)
    return statement_response(statement, "html")
