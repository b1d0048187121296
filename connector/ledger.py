"""The engine's view of one organisation, read from the store: ledger, policy, history, calendar.

Everything the engine sees is keyed by the platform's ids (``external_id``); :class:`Snapshot`
keeps the maps back to the store's rows. History is the outbox: every touch queued, sent, in doubt
or handed to a person counts (an in-doubt touch counts as sent, scenario contract rule 5); only a
cancelled one does not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from connector.db import Credit, Customer, Invoice, OutboxMessage, Pause, Payment, Policy
from connector.db import Organisation as OrganisationRow
from connector.db.collections import OutboxStatus
from core import model
from core.engine import Organisation
from core.policy import MAHNWESEN_STANDARD_DE, STANDARD_B2B_EN, Action, Step
from core.policy import Policy as CorePolicy

#: Countries whose organisations start from the German cadence (German-speaking, §§ 286, 288 BGB-like law).
GERMAN_CADENCE = {"DE", "AT", "CH", "LI", "LU"}
#: Outbox states that count as a touch: everything queued except what was cancelled. A pending
#: touch counts too, or a dispatcher that is down for a day would see the same step queued again
#: under the next day's key (and sent twice); a cancelled one (paid meanwhile) does not.
TOUCHED = {s.value for s in OutboxStatus if s not in (OutboxStatus.CANCELLED, OutboxStatus.STALE)}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one collection run plans from.

    Attributes:
        ledger: customers, invoices, credits and pauses as core records (platform ids).
        policy: the active cadence.
        history: past touches.
        organisation: country, calendar and time zone for the engine.
        customer_rows: platform customer id → store row id.
        invoice_rows: platform invoice id → store row id.
    """

    ledger: model.Ledger
    policy: CorePolicy
    history: tuple[model.PastTouch, ...]
    organisation: Organisation
    customer_rows: dict[str, int]
    invoice_rows: dict[str, int]


def load_policy(session: Session, org: OrganisationRow) -> tuple[CorePolicy, bool]:
    """The organisation's active policy and whether it sends on business days only; the default
    cadence for its country when none is stored yet."""
    row = session.scalar(
        select(Policy)
        .where(Policy.organisation_id == org.id, Policy.active.is_(True))
        .options(selectinload(Policy.steps))
    )
    if row is None:
        return (MAHNWESEN_STANDARD_DE if org.country in GERMAN_CADENCE else STANDARD_B2B_EN), True
    steps = tuple(
        Step(id=s.step_key, offset_days=s.offset_days, level=s.level, action=Action(s.action), template=s.template_key)
        for s in row.steps
    )
    policy = CorePolicy(
        name=row.name,
        min_days_between_touches=row.min_days_between_touches,
        min_balance=row.min_balance,
        first_touch_max_level=row.first_touch_max_level,
        promise_grace_days=row.promise_grace_days,
        statutory_claims=row.statutory_claims,
        steps=steps,
    )
    return policy, row.business_days_only


def load_snapshot(session: Session, org: OrganisationRow) -> Snapshot:
    """Read the organisation's ledger, policy and history (one query per table)."""
    policy, business_days_only = load_policy(session, org)
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
    organisation = Organisation(
        country=org.country, subdivision=org.subdivision, timezone=org.timezone, business_days_only=business_days_only
    )
    return Snapshot(
        ledger=ledger,
        policy=policy,
        history=_history(session, org.id, by_row),
        organisation=organisation,
        customer_rows={ext: row for row, ext in by_row.items()},
        invoice_rows={ext: row for row, ext in invoice_ext.items()},
    )


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
