"""The dispatcher's two ports filled in: compose with :mod:`connector.render`, send with a
:mod:`connector.mail` mailer. Errors become the dispatcher's: a template error holds the touch,
a permanent SMTP refusal fails it, a temporary one retries it, a lost answer puts it in doubt.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from connector.db import Customer, MessageTemplate, OutboxMessage, User
from connector.dispatch import ComposeFailed, Dispatcher, Draft, SendFailed
from connector.mail import DeliveryError, Mailer, OutgoingMessage
from connector.portal import portal_links
from connector.render import (
    InvoiceLine,
    MessageContext,
    Party,
    RenderedMessage,
    Statement,
    TemplateError,
    TemplateSource,
    render_message,
)
from connector.runtime import Runtime
from connector.statements import load_statement
from core.interest import Claim
from core.model import money

DEFAULT_SENDER = "reminders@arcadence.invalid"


def context_of(draft: Draft, *, payer_link: str | None = None, statement: Statement | None = None) -> MessageContext:
    """What the templates see, from a re-checked draft; ``payer_link`` is the customer's page and
    ``statement`` the statement of account to attach."""
    org = draft.organisation
    currency = draft.total.currency
    credit = draft.payload.get("unapplied_credit")
    return MessageContext(
        organisation=Party(name=org.name, email=org.sender_email or ""),
        locale=org.locale,
        customer=Party(name=draft.customer_name),
        language=draft.language,
        today=draft.today,
        level=draft.level,
        template=draft.template,
        invoices=tuple(
            InvoiceLine(
                number=i.number or i.id,
                issue_date=i.issue_date,
                due_date=i.due_date,
                open_amount=i.balance,
                pay_url=i.pay_url,
                terms=i.terms,
            )
            for i in draft.invoices
        ),
        total=draft.total,
        unapplied_credit=money(credit, currency) if credit else None,
        claim=_claim(draft.payload.get("claim"), currency),
        reference=f"{org.id}-{draft.outbox_id}",
        payer_link=payer_link,
        statement=statement,
    )


def _claim(raw: dict[str, Any] | None, currency: str) -> Claim | None:
    if not raw:
        return None
    return Claim(
        interest=money(raw["interest"], currency),
        fixed_fees=money(raw["fixed_fees"], currency),
        rate_percent=Decimal(raw["rate_percent"]),
        basis=raw["basis"],
    )


ATTACH_STATEMENT = "attach_statement"
"""A touch's payload flag: attach the customer's statement of account to its message."""


class Composer:
    """Renders a draft with the organisation's own template for its key and language when one is
    stored (the template editor writes them), else with the shipped default. Every message carries
    the customer's payer link; the statement of account goes with it when the composer is made with
    ``attach_statement=True`` or the touch's payload sets :data:`ATTACH_STATEMENT`."""

    def __init__(self, runtime: Runtime, *, attach_statement: bool = False) -> None:
        self.runtime = runtime
        self.attach_statement = attach_statement

    def __call__(self, draft: Draft) -> RenderedMessage:
        try:
            ctx = context_of(draft, payer_link=payer_link(self.runtime, draft), statement=self._statement(draft))
            return render_message(ctx, self._stored(draft))
        except TemplateError as exc:
            raise ComposeFailed(str(exc)) from None

    def _statement(self, draft: Draft) -> Statement | None:
        if not (self.attach_statement or draft.payload.get(ATTACH_STATEMENT)):
            return None
        with self.runtime.sessions() as session:
            row = session.get_one(OutboxMessage, draft.outbox_id)
            customer = session.get_one(Customer, row.customer_id)
            return load_statement(session, draft.organisation, customer, draft.today)

    def _stored(self, draft: Draft) -> TemplateSource | None:
        with self.runtime.sessions() as session:
            row = session.scalar(
                select(MessageTemplate).where(
                    MessageTemplate.organisation_id == draft.organisation.id,
                    MessageTemplate.template_key == draft.template,
                    MessageTemplate.language == draft.language,
                    MessageTemplate.channel == "email",
                )
            )
        return TemplateSource(subject=row.subject, text=row.body_text, html=row.body_html) if row else None


def payer_link(runtime: Runtime, draft: Draft) -> str | None:
    """The personal link of the draft's customer to the payer page, valid for
    :data:`connector.portal.LINK_DAYS` from the draft's day; None when the app has no public URL."""
    settings = runtime.settings
    if not settings.public_url:
        return None
    with runtime.sessions() as session:
        customer_id = session.scalar(select(OutboxMessage.customer_id).where(OutboxMessage.id == draft.outbox_id))
    if customer_id is None:
        return None
    links = portal_links(settings.session_secret, settings.public_url)
    return links.url(draft.organisation.id, customer_id, today=draft.today)


class MailSender:
    """Sends a rendered draft with a mailer, from the organisation's sender, replies to its collector."""

    def __init__(self, runtime: Runtime, mailer: Mailer) -> None:
        self.runtime = runtime
        self.mailer = mailer

    def __call__(self, draft: Draft, rendered: RenderedMessage) -> None:
        org = draft.organisation
        sender_address = org.sender_email or DEFAULT_SENDER
        message = OutgoingMessage(
            message_id=draft.message_id,
            sender=f"{org.name} <{sender_address}>",
            reply_to=self._collector(org.default_collector_id) or sender_address,
            recipients=draft.recipients,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            attachments=rendered.attachments,
            headers={"X-Arcadence-Outbox": str(draft.outbox_id)},
        )
        try:
            self.mailer.send(message)
        except DeliveryError as exc:
            raise SendFailed(exc.message, permanent=exc.permanent, in_doubt=exc.in_doubt) from None

    def _collector(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        with self.runtime.sessions() as session:
            return session.scalar(select(User.email).where(User.id == user_id))


def letter(runtime: Runtime, outbox_id: int) -> bytes | None:
    """The demand letter (PDF) of a touch handed to a person, with the invoices as they stand now;
    None when nothing is left to chase. The generation is logged."""
    from connector.db.activity import ActivityLog
    from connector.render import render_letter_pdf

    draft = Dispatcher(runtime, compose=Composer(runtime), send=_no_send, worker="letter").current_draft(outbox_id)
    if draft is None:
        return None
    pdf = render_letter_pdf(context_of(draft, payer_link=payer_link(runtime, draft)))
    with runtime.sessions.begin() as session:
        row = session.get_one(OutboxMessage, outbox_id)
        ActivityLog(session, row.organisation_id).append(
            kind="letter_generated",
            actor="letter",
            occurred_at=runtime.clock.now(),
            customer_id=row.customer_id,
            summary=f"demand letter generated for {draft.total}",
            data={"outbox_id": outbox_id, "invoices": [i.id for i in draft.invoices], "total": draft.total.cents()},
        )
    return pdf


def _no_send(draft: Draft, message: object) -> None:
    raise SendFailed("letters are printed by a person, not sent", permanent=True)


def dispatcher(
    runtime: Runtime, mailer: Mailer, *, worker: str = "dispatcher", attach_statement: bool = False
) -> Dispatcher:
    """A dispatcher that renders with the default templates and sends with ``mailer``; with
    ``attach_statement`` every message carries the customer's statement of account too."""
    compose = Composer(runtime, attach_statement=attach_statement)
    return Dispatcher(runtime, compose=compose, send=MailSender(runtime, mailer), worker=worker)
