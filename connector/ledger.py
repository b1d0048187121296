"""The engine's view of one organisation, read from the store: ledger, policies, history, calendar.

Everything the engine sees is keyed by the platform's ids (``external_id``); :class:`Snapshot`
keeps the maps back to the store's rows. History is the outbox: every touch queued, sent, in doubt
or handed to a person counts (an in-doubt touch counts as sent, scenario contract rule 5); only a
cancelled one does not.

Customers may have their own policy (``customers.policy_id``); the others follow the
organisation's active policy, or the shipped default for its country when none is stored. Each
policy plans its own customers (:class:`PolicyGroup`): every rule of the engine works per
customer, so planning the groups apart and merging the plans is the same as one plan with a
policy per customer. A stored policy is in **test mode** until an admin switches it on
(``policies.switched_on_at``): its touches are planned and shown, never queued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from connector.db import Credit, Customer, Invoice, OutboxMessage, Pause, Payment, Policy
from connector.db import Organisation as OrganisationRow
from connector.db.collections import OutboxStatus
from core import model
from core.engine import Organisation, Plan, plan
from core.policy import MAHNWESEN_STANDARD_DE, STANDARD_B2B_EN, Action, Step
from core.policy import Policy as CorePolicy
from core.simulate import DayPlan, simulate

#: Countries whose organisations start from the German cadence (German-speaking, §§ 286, 288 BGB-like law).
GERMAN_CADENCE = {"DE", "AT", "CH", "LI", "LU"}
#: Outbox states that count as a touch: everything queued except what was cancelled. A pending
#: touch counts too, or a dispatcher that is down for a day would see the same step queued again
#: under the next day's key (and sent twice); a cancelled one (paid meanwhile) does not.
TOUCHED = {s.value for s in OutboxStatus if s not in (OutboxStatus.CANCELLED, OutboxStatus.STALE)}


@dataclass(frozen=True, slots=True)
class PolicyGroup:
    """One policy and the customers it plans.

    Attributes:
        policy_id: the stored policy's row; None for the shipped default (no policy stored).
        policy: the cadence.
        organisation: the engine's settings with this policy's calendar rule (business days only).
        sending: False while the policy is in test mode: its touches are planned, never queued.
            The shipped default, used while no policy is stored, sends (as before test mode
            existed); saving any policy puts it in test mode.
        customers: platform ids of the customers it plans.
    """

    policy_id: int | None
    policy: CorePolicy
    organisation: Organisation
    sending: bool
    customers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one collection run plans from.

    Attributes:
        ledger: customers, invoices, credits and pauses as core records (platform ids).
        policy: the organisation's active cadence (customers without their own policy follow it).
        history: past touches.
        organisation: country, calendar and time zone for the engine, with the active policy's
            calendar rule.
        customer_rows: platform customer id → store row id.
        invoice_rows: platform invoice id → store row id.
        groups: each policy in use with its customers; the organisation's policy first. Every
            customer of the ledger is in exactly one group.
    """

    ledger: model.Ledger
    policy: CorePolicy
    history: tuple[model.PastTouch, ...]
    organisation: Organisation
    customer_rows: dict[str, int]
    invoice_rows: dict[str, int]
    groups: tuple[PolicyGroup, ...] = ()

    def group_of(self, customer_id: str) -> PolicyGroup:
        """The group that plans a customer (platform id)."""
        return next(g for g in self.groups if customer_id in g.customers)

    def part(self, group: PolicyGroup) -> tuple[model.Ledger, tuple[model.PastTouch, ...]]:
        """The ledger and history of the group's customers only (what its policy plans)."""
        return restrict(self.ledger, self.history, group.customers)


def default_policy(country: str) -> CorePolicy:
    """The shipped cadence an organisation in ``country`` uses while it has stored none."""
    return MAHNWESEN_STANDARD_DE if country in GERMAN_CADENCE else STANDARD_B2B_EN


def _plain(amount: Decimal) -> Decimal:
    """An amount as the database gives it back (``10.0000``) reads as typed (``10.00``); finer
    amounts stay as they are."""
    rounded = amount.quantize(Decimal("0.01"))
    return rounded if rounded == amount else amount


def core_policy(row: Policy) -> CorePolicy:
    """A stored policy (with its steps loaded) as the engine's record."""
    steps = tuple(
        Step(id=s.step_key, offset_days=s.offset_days, level=s.level, action=Action(s.action), template=s.template_key)
        for s in row.steps
    )
    return CorePolicy(
        name=row.name,
        min_days_between_touches=row.min_days_between_touches,
        min_balance=_plain(row.min_balance),
        first_touch_max_level=row.first_touch_max_level,
        promise_grace_days=row.promise_grace_days,
        statutory_claims=row.statutory_claims,
        steps=steps,
    )


def active_policy_row(session: Session, org_id: int) -> Policy | None:
    """The organisation's active stored policy with its steps; None when it uses the shipped default."""
    return session.scalar(
        select(Policy)
        .where(Policy.organisation_id == org_id, Policy.active.is_(True))
        .options(selectinload(Policy.steps))
    )


def load_policy(session: Session, org: OrganisationRow) -> tuple[CorePolicy, bool]:
    """The organisation's active policy and whether it sends on business days only; the default
    cadence for its country when none is stored yet."""
    row = active_policy_row(session, org.id)
    if row is None:
        return default_policy(org.country), True
    return core_policy(row), row.business_days_only


def engine_organisation(org: OrganisationRow, business_days_only: bool) -> Organisation:
    """The engine's settings of ``org`` under a policy's calendar rule."""
    return Organisation(
        country=org.country, subdivision=org.subdivision, timezone=org.timezone, business_days_only=business_days_only
    )


def policy_group(org: OrganisationRow, row: Policy | None, customers: Iterable[str]) -> PolicyGroup:
    """The group of a stored policy (None: the shipped default) planning ``customers``."""
    if row is None:
        return PolicyGroup(
            None, default_policy(org.country), engine_organisation(org, True), True, frozenset(customers)
        )
    return PolicyGroup(
        row.id,
        core_policy(row),
        engine_organisation(org, row.business_days_only),
        row.switched_on_at is not None,
        frozenset(customers),
    )


def restrict(
    ledger: model.Ledger, history: Iterable[model.PastTouch], customers: frozenset[str]
) -> tuple[model.Ledger, tuple[model.PastTouch, ...]]:
    """The part of a ledger and history that concerns ``customers`` (platform ids)."""
    part = model.Ledger(
        customers=tuple(c for c in ledger.customers if c.id in customers),
        invoices=tuple(i for i in ledger.invoices if i.customer_id in customers),
        credits=tuple(c for c in ledger.credits if c.customer_id in customers),
        pauses=tuple(p for p in ledger.pauses if p.customer_id in customers),
        payments=tuple(p for p in ledger.payments if p.customer_id in customers),
    )
    return part, tuple(t for t in history if t.customer_id in customers)


def merge(plans: Iterable[Plan]) -> Plan:
    """One plan from the plans of disjoint groups of customers, sorted as the engine sorts (rule 12)."""
    plans = list(plans)
    touches = [t for p in plans for t in p.touches]
    skipped = [s for p in plans for s in p.skipped]
    return Plan(
        touches=tuple(sorted(touches, key=lambda t: (t.customer_id, t.currency))),
        skipped=tuple(sorted(skipped, key=lambda s: s.invoice_id)),
    )


def plan_groups(snapshot: Snapshot, today: date) -> list[tuple[PolicyGroup, Plan]]:
    """Each group's plan for ``today``, every customer planned with its own policy."""
    result = []
    for group in snapshot.groups:
        ledger, history = snapshot.part(group)
        result.append((group, plan(ledger, group.policy, history, today, group.organisation)))
    return result


def simulate_group(snapshot: Snapshot, group: PolicyGroup, start: date, days: int) -> list[DayPlan]:
    """The preview of one group: :func:`core.simulate.simulate` on its customers' part of the ledger."""
    ledger, history = snapshot.part(group)
    return simulate(ledger, group.policy, history, start, days, group.organisation)


def load_snapshot(session: Session, org: OrganisationRow) -> Snapshot:
    """Read the organisation's ledger, policies and history (one query per table)."""
    active = active_policy_row(session, org.id)
    customers = session.scalars(
        select(Customer).where(Customer.organisation_id == org.id).options(selectinload(Customer.contacts))
    ).all()
    by_row = {c.id: c.external_id for c in customers}
    invoices = session.scalars(select(Invoice).where(Invoice.organisation_id == org.id)).all()
    invoice_ext = {i.id: i.external_id for i in invoices}
    ledger = model.Ledger(
        customers=tuple(_customer(c) for c in customers),
        invoices=tuple(_invoice(i, by_row[i.customer_id]) for i in invoices),
        credits=_credits(session, org.id, by_row),
        pauses=_pauses(session, org.id, by_row, invoice_ext),
    )
    groups = _groups(session, org, active, customers)
    return Snapshot(
        ledger=ledger,
        policy=groups[0].policy,
        history=_history(session, org.id, by_row),
        organisation=groups[0].organisation,
        customer_rows={ext: row for row, ext in by_row.items()},
        invoice_rows={ext: row for row, ext in invoice_ext.items()},
        groups=groups,
    )


def _groups(
    session: Session, org: OrganisationRow, active: Policy | None, customers: Iterable[Customer]
) -> tuple[PolicyGroup, ...]:
    """The organisation's policy with the customers that have none of their own, then each
    customer policy with its customers (a policy of another organisation is never used)."""
    own_ids = {c.policy_id for c in customers if c.policy_id is not None}
    if active is not None:
        own_ids.discard(active.id)
    rows = session.scalars(
        select(Policy)
        .where(Policy.organisation_id == org.id, Policy.id.in_(sorted(own_ids)))
        .options(selectinload(Policy.steps))
        .order_by(Policy.id)
    ).all()
    members: dict[int | None, list[str]] = defaultdict(list)
    known = {row.id for row in rows}
    for c in customers:
        members[c.policy_id if c.policy_id in known else None].append(c.external_id)
    first = policy_group(org, active, members[None])
    return (first, *(policy_group(org, row, members[row.id]) for row in rows))


def _customer(row: Customer) -> model.Customer:
    contacts = sorted((c for c in row.contacts if c.include_in_reminders), key=lambda c: c.position)
    return model.Customer(
        id=row.external_id,
        name=row.name,
        emails=tuple(c.email for c in contacts),
        language=row.language,
        excluded=row.excluded,
        owner=str(row.owner_user_id) if row.owner_user_id else None,
        active=row.active,
    )


def _invoice(row: Invoice, customer: str) -> model.Invoice:
    return model.Invoice(
        id=row.external_id,
        customer_id=customer,
        number=row.number,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total=model.money(row.total, row.currency),
        balance=model.money(row.balance, row.currency),
        status=model.InvoiceStatus(row.status),
        paid_date=row.paid_date,
        pay_url=row.pay_url,
        terms=row.terms,
    )


def _credits(session: Session, org_id: int, customers: dict[int, str]) -> tuple[model.Credit, ...]:
    """Open credit notes, overpayments and prepayments, and the unapplied part of payments."""
    notes = session.scalars(
        select(Credit).where(Credit.organisation_id == org_id, Credit.status == "open", Credit.remaining > 0)
    )
    payments = session.scalars(
        select(Payment).where(
            Payment.organisation_id == org_id, Payment.status == "active", Payment.unapplied_amount > 0
        )
    )
    credits = [
        model.Credit(
            f"{c.kind}:{c.external_id}",
            customers[c.customer_id],
            model.money(c.remaining, c.currency),
            model.CreditKind(c.kind),
            c.number,
            c.issue_date,
        )
        for c in notes
        if c.customer_id is not None
    ]
    credits += [
        model.Credit(
            f"payment:{p.external_id}",
            customers[p.customer_id],
            model.money(p.unapplied_amount, p.currency),
            model.CreditKind.UNAPPLIED_PAYMENT,
            issue_date=p.payment_date,
        )
        for p in payments
        if p.customer_id is not None
    ]
    return tuple(credits)


def _pauses(
    session: Session, org_id: int, customers: dict[int, str], invoices: dict[int, str]
) -> tuple[model.Pause, ...]:
    rows = session.scalars(select(Pause).where(Pause.organisation_id == org_id, Pause.lifted_at.is_(None)))
    return tuple(
        model.Pause(
            kind=model.PauseKind(p.kind),
            customer_id=customers[p.customer_id],
            invoice_id=invoices.get(p.invoice_id) if p.invoice_id else None,
            until_date=p.until_date,
            reason=p.reason,
            since_date=p.since_date,
        )
        for p in rows
    )


def _history(session: Session, org_id: int, customers: dict[int, str]) -> tuple[model.PastTouch, ...]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.organisation_id == org_id, OutboxMessage.status.in_(sorted(TOUCHED)))
    )
    touches: dict[tuple[int, date, str], list[model.TouchedInvoice]] = defaultdict(list)
    statuses: dict[tuple[int, date, str], model.TouchStatus] = {}
    for row in rows:
        key = (row.customer_id, row.planned_date, row.currency)
        touches[key] += [model.TouchedInvoice(i["id"], i["step"], int(i["level"])) for i in row.payload["invoices"]]
        in_doubt = row.status == OutboxStatus.IN_DOUBT.value
        statuses[key] = model.TouchStatus.IN_DOUBT if in_doubt else model.TouchStatus.SENT
    return tuple(
        model.PastTouch(
            touch_date=day,
            customer_id=customers[customer],
            status=statuses[(customer, day, currency)],
            invoices=tuple(invoices),
        )
        for (customer, day, currency), invoices in sorted(touches.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    )
