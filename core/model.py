"""Domain records shared by the engine, the connector and the plugins.

Every record is a frozen dataclass, changed with :func:`dataclasses.replace`. Money is a
:class:`Money` (``Decimal`` + ISO 4217 code), made by :func:`money`, never a float. Dates are
``datetime.date`` and named ``*_date``; instants are UTC-aware ``datetime`` named ``*_at``.

This module is pure: standard library only, no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

# ISO 4217 active codes (list one, as published by the ISO 4217 maintenance agency, 2024).
ISO_CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD
    JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG
    QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS
    TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU
    XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL
    """.split()  # noqa: SIM905 (a block of codes reads better than 180 quoted strings)
)

CENT = Decimal("0.01")


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency.

    Attributes:
        amount: the amount, a ``Decimal`` (never a float).
        currency: the ISO 4217 code, upper case (``"EUR"``).
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money.amount must be a Decimal, not {type(self.amount).__name__}")
        if self.currency not in ISO_CURRENCIES:
            raise ValueError(f"unknown currency code: {self.currency!r}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def is_positive(self) -> bool:
        """True when the amount is above zero."""
        return self.amount > 0

    def cents(self) -> str:
        """The amount as a plain decimal string with two places (``"1190.00"``)."""
        return str(self.amount.quantize(CENT))

    def __str__(self) -> str:
        return f"{self.cents()} {self.currency}"


def money(amount: str | int | Decimal, currency: str) -> Money:
    """Make a :class:`Money` from a decimal string, an int or a ``Decimal``.

    Args:
        amount: ``"12.30"``, ``12`` or ``Decimal("12.30")``; a float is refused (it is not exact).
        currency: an ISO 4217 code; lower case is accepted and upper-cased.

    Returns:
        The Money value.

    Raises:
        TypeError: for a float or another type.
        ValueError: for a string that is not a finite decimal, or an unknown currency code.
    """
    if isinstance(amount, bool) or not isinstance(amount, (str, int, Decimal)):
        raise TypeError(f"money amount must be a decimal string, int or Decimal, not {type(amount).__name__}")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    return Money(value, currency.upper())


def zero(currency: str) -> Money:
    """Zero in ``currency``."""
    return Money(Decimal("0"), currency.upper())


class InvoiceStatus(StrEnum):
    """Where an invoice stands in the accounting system."""

    OPEN = "open"
    PAID = "paid"
    VOIDED = "voided"
    DRAFT = "draft"
    DELETED = "deleted"


class CreditKind(StrEnum):
    """Money the customer has with us that is not yet applied to an invoice."""

    CREDIT_NOTE = "credit_note"
    OVERPAYMENT = "overpayment"
    PREPAYMENT = "prepayment"
    UNAPPLIED_PAYMENT = "unapplied_payment"


class PauseKind(StrEnum):
    """Why chasing stops for a customer or an invoice."""

    DISPUTE = "dispute"
    PROMISE = "promise"
    PLAN = "plan"
    HOLD = "hold"


class TouchStatus(StrEnum):
    """The outcome of a past touch as the engine sees it (in doubt counts as sent)."""

    SENT = "sent"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True, slots=True)
class Customer:
    """A payer: one customer (QBO Customer, Xero Contact) of an organisation.

    Attributes:
        id: the platform's id of the customer, unique in the organisation.
        name: display name.
        emails: addresses to send reminders to, in order of preference; may be empty.
        language: ISO 639-1 code of the language messages are written in (``"de"``, ``"en"``).
        excluded: True when the customer is never chased (Mahnsperre).
        owner: the user (id or email) who owns the account, for tasks; None for the default collector.
        active: False when the platform marks the customer inactive (archived).
    """

    id: str
    name: str
    emails: tuple[str, ...] = ()
    language: str = "en"
    excluded: bool = False
    owner: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Invoice:
    """A sales invoice (accounts receivable).

    Attributes:
        id: the platform's id, unique in the organisation.
        customer_id: id of the :class:`Customer` who owes it.
        number: the document number printed on the invoice (``"1001"``).
        issue_date: the invoice date.
        due_date: the date payment is due.
        total: the invoice total, tax included.
        balance: what is still open; equals ``total`` when nothing was paid or credited.
        status: where it stands in the accounting system.
        paid_date: the day the balance reached zero (for payer ratings); None while open.
        pay_url: the invoice's own pay-now page at the platform (QBO InvoiceLink, Xero
            OnlineInvoice), when the platform gave one.
        terms: the payment terms as the platform names them (``Net 30``), shown in every message.
    """

    id: str
    customer_id: str
    number: str
    issue_date: date
    due_date: date
    total: Money
    balance: Money
    status: InvoiceStatus = InvoiceStatus.OPEN
    paid_date: date | None = None
    pay_url: str | None = None
    terms: str = ""

    def __post_init__(self) -> None:
        if self.total.currency != self.balance.currency:
            raise CurrencyMismatch(
                f"invoice {self.id}: total in {self.total.currency}, balance in {self.balance.currency}"
            )

    @property
    def currency(self) -> str:
        """The invoice's currency code."""
        return self.total.currency


@dataclass(frozen=True, slots=True)
class Credit:
    """Unapplied credit: a credit note, overpayment, prepayment or payment not yet allocated.

    Attributes:
        id: the platform's id.
        customer_id: the customer it belongs to.
        amount: the amount still unapplied (remaining credit).
        kind: what sort of credit it is.
        number: the document number, when it has one.
        issue_date: the document date, when known.
        total: the document's original amount, when known (``amount`` is what remains of it).
    """

    id: str
    customer_id: str
    amount: Money
    kind: CreditKind = CreditKind.CREDIT_NOTE
    number: str = ""
    issue_date: date | None = None
    total: Money | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """Part of a payment applied to one invoice.

    Attributes:
        invoice_id: the invoice paid.
        amount: the amount applied to it.
    """

    invoice_id: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment received from a customer.

    Attributes:
        id: the platform's id.
        customer_id: who paid.
        payment_date: the day the money was received.
        amount: the whole amount received.
        allocations: how it was applied to invoices; the rest is unapplied credit.
        unapplied: what the platform says is still unapplied, when it says (exact even when the
            same payment also consumed a credit note); None: ``amount`` minus the allocations.
    """

    id: str
    customer_id: str
    payment_date: date
    amount: Money
    allocations: tuple[Allocation, ...] = ()
    unapplied: Money | None = None

    def unapplied_amount(self) -> Money:
        """What is left of the payment for other invoices (never below zero)."""
        if self.unapplied is not None:
            return self.unapplied
        left = self.amount.amount - sum((a.amount.amount for a in self.allocations), Decimal(0))
        return Money(max(Decimal(0), left), self.amount.currency)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stop on chasing a customer (``invoice_id`` None) or one invoice.

    Attributes:
        kind: dispute, promise to pay, payment plan, or manual hold.
        customer_id: the customer concerned.
        invoice_id: the invoice concerned, or None for the whole customer.
        until_date: last day the pause covers (a promise: the promised payment date); None = until lifted.
        reason: why, in the words of whoever set it.
        since_date: the day it was set, when known (metrics: promises kept vs broken).
    """

    kind: PauseKind
    customer_id: str
    invoice_id: str | None = None
    until_date: date | None = None
    reason: str = ""
    since_date: date | None = None


@dataclass(frozen=True, slots=True)
class TouchedInvoice:
    """One invoice of a touch, with the step it was chased at.

    Attributes:
        invoice_id: the invoice.
        step_id: the policy step it reached with this touch.
        level: that step's level (0 courtesy … 5 legal, 6 write-off review).
    """

    invoice_id: str
    step_id: str
    level: int


@dataclass(frozen=True, slots=True)
class PastTouch:
    """A touch already made (the history the engine plans from).

    Attributes:
        touch_date: the day it went out, in the organisation's time zone.
        customer_id: who was contacted.
        status: sent, or in doubt (a crash between SMTP and commit); both count as sent.
        invoices: the invoices it covered, each with its step and level.
    """

    touch_date: date
    customer_id: str
    status: TouchStatus
    invoices: tuple[TouchedInvoice, ...]


@dataclass(frozen=True, slots=True)
class Ledger:
    """A snapshot of one organisation's receivables, as the engine sees them.

    Attributes:
        customers: every customer referenced by an invoice, credit or pause.
        invoices: the invoices to consider (any status).
        credits: unapplied credits.
        pauses: disputes, promises, plans and holds in force or past.
        payments: payments received (for metrics; the engine does not need them).
    """

    customers: tuple[Customer, ...] = ()
    invoices: tuple[Invoice, ...] = ()
    credits: tuple[Credit, ...] = ()
    pauses: tuple[Pause, ...] = ()
    payments: tuple[Payment, ...] = ()
