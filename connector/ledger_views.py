"""Read models for the ledger pages: customers and invoices with what the engine and the metrics
say about them today (open and overdue balances, payer rating, level reached, last and next touch).

A page reads the organisation once (:func:`connector.ledger.load_snapshot`, what the collection run
plans from) and runs the engine once, so the lists never disagree with "Why?". Filters are values
(:class:`Filters`) applied in Python: the engine's facts (level reached, next step) are not columns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from connector.db import Activity, Customer, Invoice, Membership, OutboxMessage, OutboxStatus, Pause, User
from connector.db import Organisation as OrganisationRow
from connector.ledger import Snapshot, load_snapshot, merge
from core.engine import Decision, decide
from core.engine.facts import Decisions, History
from core.interest import RateUnavailable
from core.metrics import payer_ratings
from core.model import Money, money
from core.reasons import SkipReason

#: Aging buckets by days overdue, as the aging metric cuts them (core.metrics.aging).
BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
#: Levels a touch can have: 0 courtesy … 5 legal, 6 write-off review.
LEVELS = tuple(range(7))
UNTOUCHED = -1
"""Level filter value: invoices no touch has reached yet."""
NOBODY = 0
"""Owner filter value: customers without an owner (user ids start at 1)."""
INVOICE_STATUSES = ("open", "closed", "all")
#: Outbox states of a touch that is still to go out.
QUEUED = (OutboxStatus.PENDING.value, OutboxStatus.CLAIMED.value, OutboxStatus.SENDING.value, OutboxStatus.HELD.value)


def bucket_of(days_overdue: int) -> str:
    """The aging bucket of an invoice ``days_overdue`` days past its due date (≤ 0: current)."""
    for bound, name in zip((0, 30, 60, 90), BUCKETS, strict=False):
        if days_overdue <= bound:
            return name
    return BUCKETS[-1]


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice as the ledger pages show it.

    Attributes:
        id: the store row id.
        external_id: the platform's id (what the engine and explain use).
        customer_id: the customer's row id.
        customer_external_id: the customer's platform id.
        customer_name: the customer's name.
        owner_id: the customer's owner (a user id), if any.
        number: the invoice number.
        status: open, paid, voided, draft or deleted.
        issue_date: when it was issued.
        due_date: when it falls due.
        currency: ISO 4217 code.
        total: the invoice total.
        balance: what is still open.
        days_overdue: today − due date (negative before it).
        bucket: the aging bucket; None unless open with a balance.
        level: the level of its last touch; None before the first.
        reason: why the engine does not chase it today; None when today's plan does.
    """

    id: int
    external_id: str
    customer_id: int
    customer_external_id: str
    customer_name: str
    owner_id: int | None
    number: str
    status: str
    issue_date: date
    due_date: date
    currency: str
    total: Decimal
    balance: Decimal
    days_overdue: int
    bucket: str | None
    level: int | None
    reason: SkipReason | None


@dataclass(frozen=True, slots=True)
class NextTouch:
    """The next contact with a customer.

    Attributes:
        when: its day.
        source: ``queued`` (an outbox row waits), ``today`` (today's plan has it) or ``expected``
            (the next step's day, no earlier than the spacing allows; pauses may still move it).
        level: the level of that step, when known.
        action: email, call, letter …, when known.
    """

    when: date
    source: str
    level: int | None
    action: str | None


@dataclass(frozen=True, slots=True)
class CustomerLine:
    """One customer with an open balance.

    Attributes:
        id: the store row id.
        name: the customer's name.
        excluded: never chased (Mahnsperre).
        owner_id: the owner's user id, if any.
        open_balance: the open balance per currency, sorted by currency.
        overdue: the overdue part per currency (only currencies with something overdue).
        grade: the payer rating (A–E, or ``unrated``).
        last_touch_date: the day of the latest touch (the engine's history).
        next_touch: the next contact, if one is planned or expected.
        invoices: the open invoices, oldest due first.
    """

    id: int
    name: str
    excluded: bool
    owner_id: int | None
    open_balance: tuple[Money, ...]
    overdue: tuple[Money, ...]
    grade: str
    last_touch_date: date | None
    next_touch: NextTouch | None
    invoices: tuple[InvoiceLine, ...]

    @property
    def oldest_days_overdue(self) -> int:
        """Days overdue of its oldest open invoice."""
        return max((i.days_overdue for i in self.invoices), default=0)


@dataclass(frozen=True, slots=True)
class Board:
    """The ledger of one organisation on one day, as the pages read it.

    Attributes:
        today: the day, in the organisation's time zone.
        snapshot: what the engine planned from.
        decision: the engine's decision for today; None when the policy cannot be applied.
        problem: why there is no decision (an invalid policy, a missing reference rate).
        customers: every customer with an open balance, most overdue first.
        invoices: every invoice, oldest due first.
    """

    today: date
    snapshot: Snapshot
    decision: Decision | None
    problem: str | None
    customers: tuple[CustomerLine, ...]
    invoices: tuple[InvoiceLine, ...]


@dataclass(frozen=True, slots=True)
class Filters:
    """What the lists are narrowed to; None everywhere is everything.

    Attributes:
        bucket: one of :data:`BUCKETS`.
        level: one of :data:`LEVELS`, or :data:`UNTOUCHED`.
        owner: a user id, or :data:`NOBODY`.
        status: invoices only: one of :data:`INVOICE_STATUSES`.
    """

    bucket: str | None = None
    level: int | None = None
    owner: int | None = None
    status: str = "open"


def decide_today(snapshot: Snapshot, today: date) -> tuple[Decision | None, str | None]:
    """The engine's decision for ``today``, each customer under its own policy (the decisions of
    the policy groups merged), or why there is none (the page still shows the ledger)."""
    decisions: list[Decision] = []
    try:
        for group in snapshot.groups:
            ledger, history = snapshot.part(group)
            decisions.append(decide(ledger, group.policy, history, today, group.organisation))
    except (ValueError, RateUnavailable) as exc:
        return None, str(exc)
    facts = Decisions(
        invoices={k: v for d in decisions for k, v in d.facts.invoices.items()},
        groups={k: v for d in decisions for k, v in d.facts.groups.items()},
    )
    return Decision(merge(d.plan for d in decisions), facts), None


def load_board(session: Session, org: OrganisationRow, today: date) -> Board:
    """Read the organisation's ledger and what the engine decides about it on ``today``."""
    snapshot = load_snapshot(session, org)
    decision, problem = decide_today(snapshot, today)
    history = History.of(snapshot.history, snapshot.policy)
    reasons = _reasons(decision)
    rows = session.scalars(select(Customer).where(Customer.organisation_id == org.id)).all()
    customers = {c.id: c for c in rows}
    invoice_rows = session.scalars(select(Invoice).where(Invoice.organisation_id == org.id)).all()
    invoices = tuple(
        sorted(
            (_invoice_line(i, customers[i.customer_id], today, history, reasons) for i in invoice_rows),
            key=lambda line: (line.due_date, line.number, line.id),
        )
    )
    queued = _queued(session, org.id)
    grades = {r.customer_id: r.grade for r in payer_ratings(snapshot.ledger)}
    open_by_customer: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in invoices:
        if line.bucket is not None:
            open_by_customer[line.customer_id].append(line)
    lines = [
        _customer_line(
            customers[cid],
            tuple(mine),
            grades.get(customers[cid].external_id, "unrated"),
            history.customers.get(customers[cid].external_id),
            _next_touch(customers[cid], mine, queued.get(cid), snapshot, decision, history, today),
        )
        for cid, mine in open_by_customer.items()
    ]
    lines.sort(key=lambda c: (-c.oldest_days_overdue, c.name.casefold(), c.id))
    return Board(today, snapshot, decision, problem, tuple(lines), invoices)


def _reasons(decision: Decision | None) -> dict[str, SkipReason | None]:
    if decision is None:
        return {}
    found: dict[str, SkipReason | None] = {s.invoice_id: s.reason for s in decision.plan.skipped}
    found.update({i.invoice_id: None for t in decision.plan.touches for i in t.invoices})
    return found


def _invoice_line(
    row: Invoice, customer: Customer, today: date, history: History, reasons: dict[str, SkipReason | None]
) -> InvoiceLine:
    days = (today - row.due_date).days
    is_open = row.status == "open" and row.balance > 0
    past = history.invoices.get(row.external_id)
    return InvoiceLine(
        id=row.id,
        external_id=row.external_id,
        customer_id=customer.id,
        customer_external_id=customer.external_id,
        customer_name=customer.name,
        owner_id=customer.owner_user_id,
        number=row.number,
        status=row.status,
        issue_date=row.issue_date,
        due_date=row.due_date,
        currency=row.currency,
        total=row.total,
        balance=row.balance,
        days_overdue=days,
        bucket=bucket_of(days) if is_open else None,
        level=past.last_level if past else None,
        reason=reasons.get(row.external_id),
    )


def _sums(lines: list[InvoiceLine] | tuple[InvoiceLine, ...]) -> tuple[Money, ...]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.currency] += line.balance
    return tuple(money(amount, currency) for currency, amount in sorted(totals.items()))


def _customer_line(
    row: Customer,
    invoices: tuple[InvoiceLine, ...],
    grade: str,
    last_touch: date | None,
    next_touch: NextTouch | None,
) -> CustomerLine:
    return CustomerLine(
        id=row.id,
        name=row.name,
        excluded=row.excluded,
        owner_id=row.owner_user_id,
        open_balance=_sums(invoices),
        overdue=_sums([i for i in invoices if i.days_overdue > 0]),
        grade=grade,
        last_touch_date=last_touch,
        next_touch=next_touch,
        invoices=invoices,
    )


def _queued(session: Session, org_id: int) -> dict[int, OutboxMessage]:
    """The earliest outbox row still to go out, per customer row id."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.organisation_id == org_id, OutboxMessage.status.in_(QUEUED))
        .order_by(OutboxMessage.planned_date.desc(), OutboxMessage.id.desc())
    )
    return {row.customer_id: row for row in rows}  # the earliest one is written last


def _next_touch(
    customer: Customer,
    invoices: list[InvoiceLine],
    queued: OutboxMessage | None,
    snapshot: Snapshot,
    decision: Decision | None,
    history: History,
    today: date,
) -> NextTouch | None:
    if queued is not None:
        return NextTouch(queued.planned_date, "queued", queued.level, queued.action)
    if decision is None:
        return None
    touch = next((t for t in decision.plan.touches if t.customer_id == customer.external_id), None)
    if touch is not None:
        return NextTouch(today, "today", touch.level, touch.action.value)
    waiting = (SkipReason.NO_STEP_REACHED, SkipReason.NEXT_STEP_NOT_REACHED, SkipReason.TOO_SOON)
    expected: list[tuple[date, int, str]] = []
    for line in invoices:
        facts = decision.facts.invoices.get(line.external_id)
        if facts is None or line.reason not in waiting:
            continue
        step = facts.candidate or facts.next_step
        if step is not None:
            expected.append((max(today, line.due_date + timedelta(days=step.offset_days)), step.level, step.action))
    if not expected:
        return None
    when, level, action = min(expected)
    last = history.customers.get(customer.external_id)
    if last is not None:
        when = max(when, last + timedelta(days=snapshot.group_of(customer.external_id).policy.min_days_between_touches))
    return NextTouch(when, "expected", level, str(action))


def invoice_matches(line: InvoiceLine, filters: Filters) -> bool:
    """True when the invoice passes every filter that is set."""
    if filters.status == "open" and line.bucket is None:
        return False
    if filters.status == "closed" and line.bucket is not None:
        return False
    if filters.bucket is not None and line.bucket != filters.bucket:
        return False
    if filters.level is not None and (line.level if line.level is not None else UNTOUCHED) != filters.level:
        return False
    return filters.owner is None or (line.owner_id or NOBODY) == filters.owner


def filter_invoices(board: Board, filters: Filters) -> list[InvoiceLine]:
    """The board's invoices that pass ``filters``."""
    return [line for line in board.invoices if invoice_matches(line, filters)]


def filter_customers(board: Board, filters: Filters) -> list[CustomerLine]:
    """The customers of the given owner with at least one open invoice in the bucket and at the level."""
    open_only = Filters(filters.bucket, filters.level, filters.owner, "open")
    return [c for c in board.customers if any(invoice_matches(i, open_only) for i in c.invoices)]


@dataclass(frozen=True, slots=True)
class Member:
    """A person of the firm.

    Attributes:
        id: the user id.
        name: the name, else the email address.
        email: the email address.
        role: admin, collector or viewer.
    """

    id: int
    name: str
    email: str
    role: str


def members(session: Session, firm_id: int) -> list[Member]:
    """The firm's people, by name."""
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.firm_id == firm_id, User.is_active.is_(True))
    ).all()
    people = [Member(u.id, u.name or u.email, u.email, role) for u, role in rows]
    return sorted(people, key=lambda m: (m.name.casefold(), m.id))


def active_pauses(session: Session, org_id: int, customer_id: int) -> list[Pause]:
    """The customer's pauses that are not lifted (on the customer and on its invoices), newest first."""
    return list(
        session.scalars(
            select(Pause)
            .where(Pause.organisation_id == org_id, Pause.customer_id == customer_id, Pause.lifted_at.is_(None))
            .order_by(Pause.created_at.desc(), Pause.id.desc())
        )
    )


def customer_timeline(session: Session, org_id: int, customer_id: int) -> list[Activity]:
    """The customer's activity log, newest first."""
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.organisation_id == org_id, Activity.customer_id == customer_id)
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        )
    )


def invoice_timeline(session: Session, org_id: int, invoice: Invoice) -> list[Activity]:
    """The invoice's activity log, newest first: entries about it, and the customer's entries about
    an outbox row (reminder planned, sent, …) whose touch covered it."""
    covering = {
        row_id
        for row_id, ids in session.execute(
            select(OutboxMessage.id, OutboxMessage.invoice_ids).where(
                OutboxMessage.organisation_id == org_id, OutboxMessage.customer_id == invoice.customer_id
            )
        )
        if invoice.external_id in ids.split(",")
    }
    entries = session.scalars(
        select(Activity)
        .where(
            Activity.organisation_id == org_id,
            or_(
                Activity.invoice_id == invoice.id,
                and_(Activity.customer_id == invoice.customer_id, Activity.invoice_id.is_(None)),
            ),
        )
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
    )
    return [e for e in entries if e.invoice_id == invoice.id or (e.data or {}).get("outbox_id") in covering]


def member_role(session: Session, firm_id: int, user_id: int) -> str | None:
    """The user's role in the firm (admin, collector, viewer); None for outsiders."""
    return session.scalar(select(Membership.role).where(Membership.firm_id == firm_id, Membership.user_id == user_id))
