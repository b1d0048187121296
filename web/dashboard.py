"""The dashboard: one organisation, and the firm's organisations together (issue 10).

The figures come from :mod:`core.metrics` through :mod:`connector.dashboard_views`; this module
only turns them into charts (:mod:`web.charts`, server-side SVG, so the page works offline) and
pages. Every chart has its numbers in a table beside it. Amounts are shown per currency and never
added across currencies.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, render_template
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup

from connector.dashboard_views import FirmDashboard, OrgDashboard, load_firm_dashboard, load_org_dashboard
from connector.db import Role
from core.metrics import AgingBuckets, CashForecast, MessageWeek, overdue
from web import runtime
from web.auth import require_org
from web.charts import Series, bar_chart, line_chart

bp = Blueprint("dashboard", __name__)

#: The aging buckets as (attribute of AgingBuckets, label), oldest last.
BUCKETS = (
    ("current", _l("not yet due")),
    ("days_1_30", _l("1–30 days")),
    ("days_31_60", _l("31–60 days")),
    ("days_61_90", _l("61–90 days")),
    ("days_over_90", _l("over 90 days")),
)


def bucket_values(row: AgingBuckets) -> list[Decimal]:
    """The five bucket amounts of ``row``, in the order of :data:`BUCKETS`."""
    return [getattr(row, name).amount for name, _label in BUCKETS]


def week_label(start: date) -> str:
    """A short label for the week starting ``start`` (day and month, in the UI language)."""
    return str(format_date(start, "d MMM"))


def month_label(start: date) -> str:
    """A short label for the month starting ``start``."""
    return str(format_date(start, "MMM yy"))


def aging_chart(row: AgingBuckets) -> Markup:
    """The aging buckets of one currency as bars."""
    return bar_chart(
        _("Aging, %(currency)s", currency=row.currency),
        [str(label) for _name, label in BUCKETS],
        [Series(row.currency, bucket_values(row))],
    )


def dso_chart(board: OrgDashboard) -> Markup:
    """DSO per month, one line per currency."""
    series = [
        Series(currency, [m.dso if m is not None else None for m in board.dso_of(currency)])
        for currency in board.dso_currencies
    ]
    return line_chart(_("DSO per month (days)"), [month_label(m) for m in board.months], series)


def cash_chart(forecast: CashForecast) -> Markup:
    """Expected cash per week of one currency as bars."""
    return bar_chart(
        _("Expected cash, %(currency)s", currency=forecast.currency),
        [week_label(w.start_date) for w in forecast.weeks],
        [Series(forecast.currency, [w.amount.amount for w in forecast.weeks])],
    )


def messages_chart(weeks: tuple[MessageWeek, ...]) -> Markup:
    """Messages sent per week, stacked by level."""
    levels = [level for level, _count in weeks[0].by_level] if weeks else []
    series = [Series(_("level %(n)s", n=level), [dict(w.by_level)[level] for w in weeks]) for level in levels]
    return bar_chart(_("Messages sent per week"), [week_label(w.start_date) for w in weeks], series, stacked=True)


@bp.get("/orgs/<int:org_id>/dashboard")
@login_required
def org_dashboard(org_id: int) -> str:
    """One organisation: open AR and overdue, aging, DSO, expected cash, promises, messages, risk."""
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    with rt.sessions() as session:
        board = load_org_dashboard(session, org, rt.clock.now())
    return render_template(
        "dashboard/org.html",
        org=org,
        board=board,
        buckets=BUCKETS,
        bucket_values=bucket_values,
        overdue=overdue,
        aging_charts={row.currency: aging_chart(row) for row in board.aging},
        dso_chart=dso_chart(board) if board.dso else None,
        cash_charts={f.currency: cash_chart(f) for f in board.cash},
        messages_chart=messages_chart(board.messages) if any(w.total for w in board.messages) else None,
        week_label=week_label,
        month_label=month_label,
    )


@bp.get("/dashboard")
@login_required
def firm_dashboard() -> str:
    """The organisations of the user's firms together: per organisation and per currency."""
    rt = runtime()
    with rt.sessions() as session:
        firm: FirmDashboard = load_firm_dashboard(session, int(current_user.id), rt.clock)
    return render_template(
        "dashboard/firm.html",
        firm=firm,
        buckets=BUCKETS,
        bucket_values=bucket_values,
        overdue=overdue,
        aging_charts={row.currency: aging_chart(row) for row in firm.aging},
    )
