"""Read models for the dashboard: one organisation's figures, and the firm's organisations together.

Loading lives here, computing in :mod:`core.metrics`. The ledger is the one the collection run
plans from (:func:`connector.ledger.load_snapshot`: customers, invoices, credits and the pauses in
force), with the payments and their allocations added, since DSO reconstructs past balances from
them. Counts of sends in doubt and of quarantined records come from :mod:`connector.status`, so the
dashboard and the status page never disagree. Amounts stay per currency everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from connector.clock import Clock, local_today
from connector.db import Customer, Membership, OutboxMessage, OutboxStatus, Payment
from connector.db import Organisation as OrganisationRow
from connector.ledger import Snapshot, load_snapshot
from connector.status import OrgStatus, organisation_statuses
from core import model
from core.metrics import (
    AgingBuckets,
    CashForecast,
    CustomerRisk,
    MessageWeek,
    PeriodMetrics,
    PromiseSummary,
    SentMessage,
    aging,
    combine_aging,
    dso_trend,
    expected_cash,
    messages_per_week,
    payer_ratings,
    promises_kept,
    riskiest_customers,
)

DSO_MONTHS = 12
"""The DSO trend covers the last twelve complete months."""
CASH_WEEKS = 8
"""The cash forecast covers the next eight weeks."""
MESSAGE_WEEKS = 8
"""Messages sent are counted over the last eight weeks."""
RISKIEST = 10
"""How many customers the risk list shows per currency."""


@dataclass(frozen=True, slots=True)
class RiskLine:
    """A customer of the risk list, with what the page needs to link to it.

    Attributes:
        customer_row: the customer's store row id.
        name: the customer's name.
        risk: its risk figures in one currency.
    """

    customer_row: int
    name: str
    risk: CustomerRisk


@dataclass(frozen=True, slots=True)
class OrgDashboard:
    """One organisation's dashboard on one day.

    Attributes:
        org_id: the organisation.
        name: its name.
        today: the day, in the organisation's time zone.
        aging: open receivables by bucket, one row per currency (its totals are the open AR).
        months: the first day of each month of the DSO trend, oldest first.
        dso: the monthly metrics of :data:`DSO_MONTHS` complete months, by currency then month.
        cash: the expected cash of the next :data:`CASH_WEEKS` weeks, per currency.
        promises: promises to pay kept, broken and pending.
        messages: messages sent per week and level, the last :data:`MESSAGE_WEEKS` weeks.
        riskiest: the riskiest customers, per currency.
        in_doubt: sends in doubt (a person decides in the outbox).
        quarantined: platform records that could not be mapped and are not resolved.
    """

    org_id: int
    name: str
    today: date
    aging: tuple[AgingBuckets, ...]
    months: tuple[date, ...]
    dso: tuple[PeriodMetrics, ...]
    cash: tuple[CashForecast, ...]
    promises: PromiseSummary
    messages: tuple[MessageWeek, ...]
    riskiest: tuple[RiskLine, ...]
    in_doubt: int
    quarantined: int

    def dso_of(self, currency: str) -> tuple[PeriodMetrics | None, ...]:
        """The DSO metrics of ``currency`` for each of :attr:`months` (None: no receivable yet)."""
        found = {row.start_date: row for row in self.dso if row.currency == currency}
        return tuple(found.get(month) for month in self.months)

    @property
    def dso_currencies(self) -> tuple[str, ...]:
        """The currencies the DSO trend has figures for, sorted."""
        return tuple(sorted({row.currency for row in self.dso}))


@dataclass(frozen=True, slots=True)
class FirmOrg:
    """One organisation as the firm's dashboard lists it.

    Attributes:
        org_id: the organisation.
        name: its name.
        today: the day, in its time zone.
        aging: its open receivables by bucket, per currency.
        last_month: DSO and the other period metrics of the last complete month, per currency.
        promises: its promises to pay.
        in_doubt: its sends in doubt.
        quarantined: its unresolved quarantined records.
    """

    org_id: int
    name: str
    today: date
    aging: tuple[AgingBuckets, ...]
    last_month: tuple[PeriodMetrics, ...]
    promises: PromiseSummary
    in_doubt: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class FirmDashboard:
    """The firm's organisations together.

    Attributes:
        organisations: each organisation of the user's firms, by name.
        aging: the organisations' aging added up per currency (never across currencies).
    """

    organisations: tuple[FirmOrg, ...]
    aging: tuple[AgingBuckets, ...]

    @property
    def kept(self) -> int:
        """Promises kept, in every organisation."""
        return sum(o.promises.kept for o in self.organisations)

    @property
    def broken(self) -> int:
        """Promises broken, in every organisation."""
        return sum(o.promises.broken for o in self.organisations)

    @property
    def pending(self) -> int:
        """Promises not decided yet, in every organisation."""
        return sum(o.promises.pending for o in self.organisations)

    @property
    def in_doubt(self) -> int:
        """Sends in doubt, in every organisation."""
        return sum(o.in_doubt for o in self.organisations)

    @property
    def quarantined(self) -> int:
        """Unresolved quarantined records, in every organisation."""
        return sum(o.quarantined for o in self.organisations)


def load_metrics_ledger(session: Session, org: OrganisationRow) -> tuple[Snapshot, model.Ledger]:
    """The snapshot the collection run plans from, and its ledger with the payments added."""
    snapshot = load_snapshot(session, org)
    rows = session.scalars(
        select(Payment)
        .where(Payment.organisation_id == org.id, Payment.status == "active")
        .options(selectinload(Payment.allocations))
        .order_by(Payment.payment_date, Payment.id)
    ).all()
    customers = {row_id: ext for ext, row_id in snapshot.customer_rows.items()}
    payments = tuple(
        model.Payment(
            id=p.external_id,
            customer_id=customers.get(p.customer_id, "") if p.customer_id is not None else "",
            payment_date=p.payment_date,
            amount=model.money(p.amount, p.currency),
            allocations=tuple(
                model.Allocation(a.invoice_external_id, model.money(a.amount, p.currency)) for a in p.allocations
            ),
        )
        for p in rows
    )
    return snapshot, replace(snapshot.ledger, payments=payments)


def month_starts(today: date, months: int) -> tuple[date, ...]:
    """The first days of the ``months`` complete months before ``today``'s month, oldest first."""
    starts = []
    for back in range(months, 0, -1):
        index = today.year * 12 + today.month - 1 - back
        starts.append(date(index // 12, index % 12 + 1, 1))
    return tuple(starts)


def load_org_dashboard(session: Session, org: OrganisationRow, now: datetime) -> OrgDashboard:
    """Everything the organisation's dashboard shows, on its local day at ``now``."""
    today = now.astimezone(ZoneInfo(org.timezone)).date()
    snapshot, ledger = load_metrics_ledger(session, org)
    ratings = payer_ratings(ledger)
    (status,) = organisation_statuses(session, now, [org.id])
    return OrgDashboard(
        org_id=org.id,
        name=org.name,
        today=today,
        aging=aging(ledger, today),
        months=month_starts(today, DSO_MONTHS),
        dso=dso_trend(ledger, today, DSO_MONTHS),
        cash=expected_cash(ledger, today, CASH_WEEKS),
        promises=promises_kept(ledger, today, snapshot.policy.promise_grace_days),
        messages=messages_per_week(sent_messages(session, org, today), today, MESSAGE_WEEKS),
        riskiest=_risk_lines(session, org.id, riskiest_customers(ledger, today, RISKIEST, ratings)),
        in_doubt=status.in_doubt,
        quarantined=status.quarantined,
    )


def sent_messages(session: Session, org: OrganisationRow, today: date) -> list[SentMessage]:
    """The messages sent in the last :data:`MESSAGE_WEEKS` weeks up to ``today`` (local days)."""
    zone = ZoneInfo(org.timezone)
    since = datetime.combine(today - timedelta(days=7 * MESSAGE_WEEKS + 1), datetime.min.time(), zone)
    rows = session.execute(
        select(OutboxMessage.sent_at, OutboxMessage.level).where(
            OutboxMessage.organisation_id == org.id,
            OutboxMessage.status == OutboxStatus.SENT.value,
            OutboxMessage.sent_at >= since,
        )
    ).all()
    return [SentMessage(at.astimezone(zone).date(), level) for at, level in rows if at is not None]


def _risk_lines(session: Session, org_id: int, risks: tuple[CustomerRisk, ...]) -> tuple[RiskLine, ...]:
    rows = session.execute(
        select(Customer.external_id, Customer.id, Customer.name).where(
            Customer.organisation_id == org_id, Customer.external_id.in_({r.customer_id for r in risks})
        )
    ).all()
    found = {ext: (row_id, name) for ext, row_id, name in rows}
    return tuple(RiskLine(*found[r.customer_id], r) for r in risks if r.customer_id in found)


def firm_organisations(session: Session, user_id: int) -> list[OrganisationRow]:
    """The organisations of every firm the user belongs to, by name (never anyone else's)."""
    return list(
        session.scalars(
            select(OrganisationRow)
            .join(Membership, Membership.firm_id == OrganisationRow.firm_id)
            .where(Membership.user_id == user_id)
            .order_by(OrganisationRow.name, OrganisationRow.id)
        )
    )


def load_firm_dashboard(session: Session, user_id: int, clock: Clock) -> FirmDashboard:
    """The dashboard over the organisations of the user's firms, each on its own local day."""
    orgs = firm_organisations(session, user_id)
    statuses: dict[int, OrgStatus] = {
        s.organisation_id: s for s in organisation_statuses(session, clock.now(), [o.id for o in orgs])
    }
    lines = []
    for org in orgs:
        today = local_today(clock, org.timezone)
        snapshot, ledger = load_metrics_ledger(session, org)
        lines.append(
            FirmOrg(
                org_id=org.id,
                name=org.name,
                today=today,
                aging=aging(ledger, today),
                last_month=dso_trend(ledger, today, 1),
                promises=promises_kept(ledger, today, snapshot.policy.promise_grace_days),
                in_doubt=statuses[org.id].in_doubt,
                quarantined=statuses[org.id].quarantined,
            )
        )
    return FirmDashboard(tuple(lines), combine_aging(row for line in lines for row in line.aging))
