"""The records rendering takes and returns, and its one error.

The dispatcher builds a :class:`MessageContext` from a re-checked touch (amounts are the
re-checked balances) and gets a :class:`RenderedMessage` back. Nothing here touches the database
or the platform: rendering is a pure function of the context and the template source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from connector.mail import Attachment as Attachment  # one attachment type, from renderer to mailer
from core.interest import Claim
from core.model import Money

if TYPE_CHECKING:
    from connector.render.statement import Statement


@dataclass(frozen=True)
class Party:
    """A sender or a recipient.

    Attributes:
        name: the organisation's or customer's name, as printed.
        address_lines: postal address, one line each (street, postcode and town, country).
        email: the contact address; empty when unknown.
    """

    name: str
    address_lines: tuple[str, ...] = ()
    email: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice of the touch, with its re-checked open amount.

    Attributes:
        number: the document number printed on the invoice.
        issue_date: the invoice date.
        due_date: the date payment was due.
        open_amount: the balance still open, re-checked right before rendering.
        pay_url: the invoice's pay-now page at the platform; None when there is none.
        terms: the payment terms as the platform names them (``Net 30``).
    """

    number: str
    issue_date: date
    due_date: date
    open_amount: Money
    pay_url: str | None
    terms: str = ""


@dataclass(frozen=True)
class MessageContext:
    """Everything one message (or letter) says.

    Attributes:
        organisation: the sender.
        locale: the organisation's locale (``de_DE``, ``en_GB``): number and currency conventions.
        customer: the recipient.
        language: the customer's language (``de``, ``en``): the words, month names and date style.
        today: the day of rendering (in the organisation's time zone).
        level: the level of the touch's step (0 courtesy … 4 agency).
        template: the template key of the touch's step (``mahnung_1``).
        invoices: the invoices of the touch, in the order to list them.
        total: the sum of the open amounts.
        unapplied_credit: the customer's unapplied credit in this currency, when there is some.
        claim: the statutory late-payment claim (only stated at level 3 and above).
        payment_deadline: the deadline of a final notice; at level 3 and above a missing one
            becomes ``today`` + :data:`connector.render.DEFAULT_DEADLINE_DAYS`.
        payer_link: the customer's self-service page, when there is one.
        reference: printed on letters and in attachment names (e.g. the outbox id).
        statement: the customer's statement of account, attached to the message as a PDF when
            given (``connector.statements.load_statement`` makes it).
    """

    organisation: Party
    locale: str
    customer: Party
    language: str
    today: date
    level: int
    template: str
    invoices: tuple[InvoiceLine, ...]
    total: Money
    unapplied_credit: Money | None = None
    claim: Claim | None = None
    payment_deadline: date | None = None
    payer_link: str | None = None
    reference: str = ""
    statement: Statement | None = None


@dataclass(frozen=True)
class TemplateSource:
    """The three parts of a message template, as Jinja2 source (user-edited or a default).

    Attributes:
        subject: one line; whitespace is collapsed after rendering.
        text: the plain-text part (no escaping).
        html: the HTML part (autoescaped).
    """

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send.

    Attributes:
        subject: one line.
        text: the plain-text part.
        html: the HTML part.
        attachments: the PDF letter on final notices and the statement when asked for, else nothing.
    """

    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


class TemplateError(Exception):
    """A template could not be rendered; the touch is held and the message shown to the admin.

    Attributes:
        template: the template key (``final_notice``).
        message: one line naming the key, the language, the part and what failed.
    """

    def __init__(self, template: str, message: str) -> None:
        super().__init__(message)
        self.template = template
        self.message = message

    def __str__(self) -> str:
        return self.message
