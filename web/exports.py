"""CSV exports: the ledger lists (with the ledger's filters), the activity log and the aging report.

The format is for spreadsheets and scripts alike: UTF-8 with a byte order mark (so Excel reads the
umlauts), comma-separated, one header row of stable English column names (scripts rely on them,
whatever the UI language), amounts as plain decimals with a ``currency`` column beside them, dates
in ISO 8601 and instants in ISO 8601 UTC. Text that a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with ``'`` (OWASP, "CSV
Injection"): customer names and notes come from outside.

Responses are streamed row by row; the activity log is read from the store in batches while it is
sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import Blueprint, Response, request
from flask_login import login_required
from sqlalchemy import select

from connector.clock import local_today
from connector.db import Activity, Customer, Invoice, Organisation, Role
from connector.ledger import load_snapshot
from connector.ledger_views import Board, CustomerLine, Filters, filter_customers, filter_invoices, load_board, members
from core.metrics import aging_by_customer
from web import runtime
from web.auth import require_org
from web.ledger import parse_filters

bp = Blueprint("exports", __name__, url_prefix="/orgs/<int:org_id>/exports")

CENT = Decimal("0.01")
#: First characters that make a spreadsheet cell a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Activity rows read from the store per batch while streaming.
BATCH = 500

Cell = str | int | Decimal | date | datetime | bool | None


def text(value: str | None) -> str:
    """A text cell, defused when a spreadsheet would take it for a formula."""
    value = value or ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def amount(value: Decimal) -> str:
    """A plain decimal: to the cent when exact at the cent (``600.0000`` → ``600.00``), else in full."""
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else format(value.normalize(), "f")


def cell(value: Cell) -> str:
    """One value as CSV text: ISO dates and UTC instants, plain decimals, ``true``/``false``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return amount(value)
    return str(value)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    """The byte order mark and header, then one CSV line per row (RFC 4180 quoting, CRLF)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([cell(v) for v in row])
        yield buffer.getvalue()


def csv_response(name: str, org: Organisation, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Response:
    """A streamed CSV download named after the export, the organisation and the day."""
    today = local_today(runtime().clock, org.timezone).isoformat()
    response = Response(csv_lines(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-{org.id}-{today}.csv"'
    return response


def _listing(org: Organisation) -> Response | tuple[Board, Filters, dict[int, str]]:
    """The ledger board, its filters as the query string says and the owners' names; or a 400
    naming each wrong filter (the ledger page's own messages)."""
    rt = runtime()
    with rt.sessions() as session:
        board = load_board(session, org, local_today(rt.clock, org.timezone))
        people = members(session, org.firm_id)
    filters, _page, errors = parse_filters(request.args, people)
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    return board, filters, {m.id: m.name for m in people}


CUSTOMER_HEADER = (
    "customer_id", "customer", "currency", "open_balance", "overdue", "payer_rating", "last_touch_date",
    "next_touch_date", "next_touch_level", "owner", "excluded",
)  # fmt: skip
INVOICE_HEADER = (
    "invoice_id", "number", "customer", "status", "issue_date", "due_date", "currency", "total", "balance",
    "days_overdue", "aging_bucket", "level", "owner",
)  # fmt: skip
ACTIVITY_HEADER = ("occurred_at", "kind", "actor", "customer", "invoice", "summary")
AGING_HEADER = ("customer", "currency", "current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "total")


@bp.get("/customers.csv")
@login_required
def customers(org_id: int) -> Response:
    """The customers list as on the ledger page (same filters): one row per customer and currency."""
    org = require_org(org_id, Role.VIEWER)
    found = _listing(org)
    if isinstance(found, Response):
        return found
    board, filters, owners = found
    return csv_response("customers", org, CUSTOMER_HEADER, _customer_rows(filter_customers(board, filters), owners))


def _customer_rows(lines: Iterable[CustomerLine], owners: dict[int, str]) -> Iterator[tuple[Cell, ...]]:
    for c in lines:
        late = {m.currency: m.amount for m in c.overdue}
        touch = c.next_touch
        for owed in c.open_balance:
            yield (
                c.id,
                text(c.name),
                owed.currency,
                owed.amount,
                late.get(owed.currency, Decimal(0)),
                c.grade,
                c.last_touch_date,
                touch.when if touch else None,
                touch.level if touch else None,
                text(owners.get(c.owner_id or 0)),
                c.excluded,
            )


@bp.get("/invoices.csv")
@login_required
def invoices(org_id: int) -> Response:
    """The invoices list as on the ledger page (same filters, ``status`` included)."""
    org = require_org(org_id, Role.VIEWER)
    found = _listing(org)
    if isinstance(found, Response):
        return found
    board, filters, owners = found
    rows = (
        (
            i.id,
            text(i.number),
            text(i.customer_name),
            i.status,
            i.issue_date,
            i.due_date,
            i.currency,
            i.total,
            i.balance,
            i.days_overdue,
            i.bucket,
            i.level,
            text(owners.get(i.owner_id or 0)),
        )
        for i in filter_invoices(board, filters)
    )
    return csv_response("invoices", org, INVOICE_HEADER, rows)


@bp.get("/activity.csv")
@login_required
def activity(org_id: int) -> Response:
    """The whole activity log of the organisation, oldest first, read in batches while streaming."""
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    with rt.sessions() as session:
        owners = {str(m.id): m.name for m in members(session, org.firm_id)}
    query = (
        select(Activity, Customer.name, Invoice.number)
        .outerjoin(Customer, Customer.id == Activity.customer_id)
        .outerjoin(Invoice, Invoice.id == Activity.invoice_id)
        .where(Activity.organisation_id == org.id)
        .order_by(Activity.occurred_at, Activity.id)
        .execution_options(yield_per=BATCH)
    )

    def rows() -> Iterator[tuple[Cell, ...]]:
        with rt.sessions() as session:
            for entry, customer, number in session.execute(query):
                actor = owners.get(entry.actor, entry.actor)
                yield (entry.occurred_at, entry.kind, text(actor), text(customer), text(number), text(entry.summary))

    return csv_response("activity", org, ACTIVITY_HEADER, rows())


@bp.get("/aging.csv")
@login_required
def aging(org_id: int) -> Response:
    """The aging report: open balances by bucket, one row per customer and currency."""
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    today = local_today(rt.clock, org.timezone)
    with rt.sessions() as session:
        ledger = load_snapshot(session, org).ledger
    names = {c.id: c.name for c in ledger.customers}
    rows = (
        (
            text(names.get(line.customer_id, line.customer_id)),
            line.buckets.currency,
            line.buckets.current.amount,
            line.buckets.days_1_30.amount,
            line.buckets.days_31_60.amount,
            line.buckets.days_61_90.amount,
            line.buckets.days_over_90.amount,
            line.buckets.total.amount,
        )
        for line in sorted(
            aging_by_customer(ledger, today),
            key=lambda line: (names.get(line.customer_id, "").casefold(), line.customer_id, line.buckets.currency),
        )
    )
    return csv_response("aging", org, AGING_HEADER, rows)
