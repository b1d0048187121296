"""One outbox message as the payer sees (or will see) it, rendered from what is stored.

The outbox keeps the touch, not the rendered mail, so the message is rendered again here with the
dispatcher's own :class:`connector.delivery.Composer` (the organisation's template for the key and
language, else the default; the PDF letter from level 3). No platform is called:

- a **sent** message is rendered with what the dispatcher recorded when it sent it (the
  invoices it kept, their balances, the recipients, the day) and the subject recorded then is
  shown beside it, so a template changed since is visible;
- any other message is rendered with the invoices as stored now (the dispatcher re-checks them
  with the platform before sending).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.clock import local_today
from connector.db import Activity, Contact, Customer, Invoice, Organisation, OutboxMessage, OutboxStatus
from connector.delivery import Composer
from connector.dispatch import ComposeFailed, Draft, message_id
from connector.runtime import Runtime
from core import model


@dataclass(frozen=True)
class AttachmentInfo:
    """An attachment as listed on the page."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Preview:
    """The rendered message, or why there is none.

    Attributes:
        subject: the subject line; None when nothing could be rendered.
        text: the plain-text part.
        html: the HTML part (shown only inside a sandboxed frame).
        attachments: name, type and size of each attachment.
        recipients: the addresses it went (or goes) to.
        day: the day the message is dated.
        from_sending: True when rendered from what was recorded at sending.
        recorded_subject: the subject recorded when it was sent (None before).
        problem: why it cannot be rendered (a template error, or nothing left to chase).
        template_failed: True when ``problem`` is a template error.
    """

    subject: str | None
    text: str | None
    html: str | None
    attachments: tuple[AttachmentInfo, ...]
    recipients: tuple[str, ...]
    day: date
    from_sending: bool
    recorded_subject: str | None
    problem: str | None
    template_failed: bool = False


def sent_record(history: Sequence[Activity]) -> dict[str, Any] | None:
    """The data the dispatcher recorded with the last ``reminder_sent`` entry of a row, if any."""
    sent = [a for a in history if a.kind == "reminder_sent"]
    return dict(sent[-1].data) if sent else None


def render(
    runtime: Runtime, session: Session, row: OutboxMessage, org: Organisation, history: Sequence[Activity]
) -> Preview:
    """The message of ``row`` rendered with the dispatcher's composer (see the module docstring)."""
    customer = session.get_one(Customer, row.customer_id)
    record = sent_record(history) if row.status == OutboxStatus.SENT.value else None
    if record is not None and row.sent_at is not None:
        day = row.sent_at.astimezone(ZoneInfo(org.timezone)).date()
        balances = {str(i["id"]): Decimal(str(i["balance"])) for i in record.get("invoices", [])}
        recipients = tuple(str(r) for r in record.get("recipients", []))
    else:
        day = local_today(runtime.clock, org.timezone)
        balances = None
        recipients = _recipients(session, customer.id)
    invoices = _invoices(session, row, customer.external_id, balances)
    empty = Preview(None, None, None, (), recipients, day, record is not None, _subject(record), None)
    if not invoices:
        return _with_problem(empty, _("none of its invoices is open in the stored ledger: nothing to chase"))
    draft = Draft(
        outbox_id=row.id,
        message_id=row.message_id or message_id(row),
        organisation=org,
        customer_name=customer.name,
        language=str(row.payload.get("language", customer.language)),
        recipients=recipients,
        level=row.level,
        step=row.step_key,
        template=row.template_key,
        today=day,
        invoices=invoices,
        total=sum((i.balance for i in invoices[1:]), invoices[0].balance),
        payload=dict(row.payload),
    )
    try:
        rendered = Composer(runtime)(draft)
    except ComposeFailed as exc:
        return _with_problem(empty, str(exc), template_failed=True)
    return Preview(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        attachments=tuple(AttachmentInfo(a.filename, a.content_type, len(a.data)) for a in rendered.attachments),
        recipients=recipients,
        day=day,
        from_sending=record is not None,
        recorded_subject=_subject(record),
        problem=None,
    )


def _with_problem(preview: Preview, problem: str, *, template_failed: bool = False) -> Preview:
    return Preview(
        None, None, None, (), preview.recipients, preview.day, preview.from_sending,
        preview.recorded_subject, problem, template_failed,
    )  # fmt: skip


def _subject(record: dict[str, Any] | None) -> str | None:
    return str(record["subject"]) if record and record.get("subject") else None


def _invoices(
    session: Session, row: OutboxMessage, customer_external_id: str, balances: dict[str, Decimal] | None
) -> tuple[model.Invoice, ...]:
    """The touch's invoices in its order: those recorded at sending with their balances then, else
    the stored ones still open."""
    ids = row.invoice_ids.split(",")
    stored = {
        i.external_id: i
        for i in session.scalars(
            select(Invoice).where(Invoice.organisation_id == row.organisation_id, Invoice.external_id.in_(ids))
        )
    }
    result = []
    for external_id in ids:
        found = stored.get(external_id)
        if found is None:
            continue
        if balances is not None:
            if external_id not in balances:
                continue
            balance = balances[external_id]
        elif found.status != model.InvoiceStatus.OPEN.value or found.balance <= 0:
            continue
        else:
            balance = found.balance
        result.append(_record(found, customer_external_id, balance))
    return tuple(result)


def _record(row: Invoice, customer: str, balance: Decimal) -> model.Invoice:
    return model.Invoice(
        id=row.external_id,
        customer_id=customer,
        number=row.number,
        issue_date=row.issue_date,
        due_date=row.due_date,
        total=model.money(row.total, row.currency),
        balance=model.money(balance, row.currency),
        status=model.InvoiceStatus.OPEN,
        paid_date=None,
        pay_url=row.pay_url,
        terms=row.terms,
    )


def _recipients(session: Session, customer_id: int) -> tuple[str, ...]:
    contacts = session.scalars(
        select(Contact)
        .where(Contact.customer_id == customer_id, Contact.include_in_reminders.is_(True))
        .order_by(Contact.position)
    ).all()
    return tuple(dict.fromkeys(c.email for c in contacts))
