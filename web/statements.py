"""Statements of account for the firm: one customer's open items, credits and balance per
currency, as PDF or HTML, from the ledger's customer page (viewers may download them).

The same document goes to the payer (``/pay/<token>/statement.*``, :mod:`web.portal`) and with a
message when a reminder asks for it (``MessageContext.statement``). It is written in the
customer's language: it is a document for the customer, whoever downloads it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort
from flask_login import login_required
from werkzeug.wrappers import Response

from connector.clock import local_today
from connector.db import Customer, Organisation, Role
from connector.render import Statement, TemplateError, render_statement_pdf, statement_html
from connector.render.statement import statement_filename
from connector.statements import load_statement
from web import runtime
from web.auth import owned_or_404, require_org

log = logging.getLogger(__name__)
bp = Blueprint("statements", __name__)

#: The HTML statement is a document of its own: its one stylesheet is inline, it loads nothing,
#: runs nothing and posts nowhere (stricter than the app's policy, which allows only same-origin).
DOCUMENT_CSP = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def statement_response(statement: Statement, kind: str) -> Response:
    """The statement as a download: ``pdf`` as an attachment, ``html`` shown inline."""
    try:
        if kind == "pdf":
            body = render_statement_pdf(statement)
            response = Response(body, mimetype="application/pdf")
            response.headers["Content-Disposition"] = f'attachment; filename="{statement_filename(statement)}"'
            return response
        response = Response(statement_html(statement), mimetype="text/html")
    except TemplateError:  # a shipped template that fails is a bug: say so as a server error
        abort(500)
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    return response


def _statement(org_id: int, customer_id: int) -> Statement:
    org: Organisation = require_org(org_id, Role.VIEWER)
    rt = runtime()
    with rt.sessions() as session:
        customer = owned_or_404(session, Customer, customer_id, org, "customer")
        return load_statement(session, org, customer, local_today(rt.clock, org.timezone))


@bp.get("/orgs/<int:org_id>/ledger/customers/<int:customer_id>/statement.pdf")
@login_required
def customer_pdf(org_id: int, customer_id: int) -> Response:
    """The customer's statement of account as a PDF."""
    return statement_response(_statement(org_id, customer_id), "pdf")


@bp.get("/orgs/<int:org_id>/ledger/customers/<int:customer_id>/statement.html")
@login_required
def customer_html(org_id: int, customer_id: int) -> Response:
    """The customer's statement of account as an HTML document."""
    return statement_response(_statement(org_id, customer_id), "html")
