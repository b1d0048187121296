"""Scenario JSON → core records (``shared/contracts/scenario.md``), strictly.

Required and optional fields: everything the contract's example shows is required, except
``credits``, ``pauses`` and ``history`` (default empty), ``organisation.subdivision``,
``organisation.timezone`` (default ``"UTC"``), ``organisation.reference_rate_percent`` (a decimal
string or number; default: the built-in table), ``organisation.business_days_only`` (false),
``pauses[].invoice`` / ``until`` (null) and ``reason`` (empty), ``history[].status`` (``sent``),
``history[].invoices[].level`` (the step's level), ``credits[].kind`` (``credit_note``),
``customers[].name`` (its id), ``emails`` (none), ``language`` (``en``), ``excluded`` (false),
``invoices[].number`` (its id), ``issue_date`` (the due date), ``total`` (the balance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.calendar import CalendarError, check_region
from core.engine import Organisation
from core.model import (
    Credit,
    CreditKind,
    Customer,
    Invoice,
    InvoiceStatus,
    Ledger,
    PastTouch,
    Pause,
    PauseKind,
    TouchedInvoice,
    TouchStatus,
)
from core.policy import MAX_LEVEL, Action, Policy, Step, validate
from core.scenario.fields import Fields, ScenarioError, decode, items

VERSION = 1
"""The only scenario version there is."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One parsed scenario: everything :func:`core.engine.plan` is called with.

    Attributes:
        today: the day to plan.
        organisation: country, calendar and rate settings.
        policy: the (valid) cadence.
        ledger: customers, invoices, credits and pauses.
        history: the touches already made.
    """

    today: date
    organisation: Organisation
    policy: Policy
    ledger: Ledger
    history: tuple[PastTouch, ...]


def parse(text: str) -> Scenario:
    """Parse and check a scenario.

    Args:
        text: the JSON text.

    Returns:
        The scenario.

    Raises:
        ScenarioError: the first problem found, in document order, naming its field.
    """
    document = decode(text)
    if isinstance(document, dict) and "version" in document:
        # The version decides how the rest is read, so it is checked before anything else.
        version = document["version"]
        if isinstance(version, bool) or version != VERSION:
            raise ScenarioError("version", f"unsupported version {version!r} (expected {VERSION})")
    root = Fields(
        document,
        "",
        ("version", "today", "organisation", "policy", "customers", "invoices"),
        ("credits", "pauses", "history"),
    )
    version = root.raw("version")
    if isinstance(version, bool) or version != VERSION:
        root.fail("version", f"unsupported version {version!r} (expected {VERSION})")
    today = root.day("today")
    organisation = _organisation(root.raw("organisation"))
    policy = _policy(root.raw("policy"))
    customers = _customers(root.raw("customers"))
    invoices = _invoices(root.raw("invoices"), {c.id for c in customers})
    credits = _credits(root.raw("credits") or [], {c.id for c in customers})
    pauses = _pauses(root.raw("pauses") or [], {i.id: i.customer_id for i in invoices}, {c.id for c in customers})
    owners = {i.id: i.customer_id for i in invoices}
    history = _history(root.raw("history") or [], policy, owners, {c.id for c in customers})
    ledger = Ledger(customers=customers, invoices=invoices, credits=credits, pauses=pauses)
    return Scenario(today, organisation, policy, ledger, history)


def _organisation(value: object) -> Organisation:
    fields = Fields(
        value,
        "organisation",
        ("country",),
        ("subdivision", "timezone", "business_days_only", "reference_rate_percent"),
    )
    country = fields.string("country")
    if len(country) != 2 or not country.isascii() or not country.isupper():
        fields.fail("country", f"expected an ISO 3166 country code like 'DE', got {country!r}")
    subdivision = fields.optional_string("subdivision")
    only = fields.boolean("business_days_only", False)
    for key, region in (("country", None), ("subdivision", subdivision)):
        try:
            if only or region:
                check_region(country, region)
        except CalendarError as error:
            fields.fail(key, f"no holiday calendar: {error}")
    rate = fields.decimal("reference_rate_percent", numbers=True) if fields.has("reference_rate_percent") else None
    return Organisation(
        country=country,
        subdivision=subdivision,
        timezone=fields.string("timezone", "UTC"),
        business_days_only=only,
        reference_rate_percent=rate,
    )


def _policy(value: object) -> Policy:
    fields = Fields(
        value,
        "policy",
        ("min_days_between_touches", "min_balance", "first_touch_max_level", "promise_grace_days", "steps"),
        ("statutory_claims",),
    )
    steps = []
    for path, item in items(fields.raw("steps"), "policy.steps"):
        step = Fields(item, path, ("id", "offset_days", "level", "action", "template"))
        steps.append(
            Step(
                id=step.string("id"),
                offset_days=step.integer("offset_days"),
                level=step.integer("level"),
                action=step.choice("action", Action),
                template=step.string("template"),
            )
        )
    policy = Policy(
        min_days_between_touches=fields.integer("min_days_between_touches"),
        min_balance=fields.decimal("min_balance"),
        first_touch_max_level=fields.integer("first_touch_max_level"),
        promise_grace_days=fields.integer("promise_grace_days"),
        statutory_claims=fields.boolean("statutory_claims", False),
        steps=tuple(steps),
    )
    errors = validate(policy)
    if errors:
        raise ScenarioError(f"policy.{errors[0].field}", errors[0].message)
    return policy


def _unique(path: str, key: str, seen: set[str], kind: str) -> str:
    if key in seen:
        raise ScenarioError(f"{path}.id", f"duplicate {kind} id {key!r}")
    seen.add(key)
    return key


def _known(fields: Fields, key: str, known: set[str] | dict[str, str], kind: str) -> str:
    value = fields.string(key)
    if value not in known:
        fields.fail(key, f"unknown {kind} {value!r}")
    return value


def _customers(value: object) -> tuple[Customer, ...]:
    seen: set[str] = set()
    result = []
    for path, item in items(value, "customers"):
        fields = Fields(item, path, ("id",), ("name", "emails", "language", "excluded"))
        customer_id = _unique(path, fields.string("id"), seen, "customer")
        result.append(
            Customer(
                id=customer_id,
                name=fields.string("name", customer_id),
                emails=fields.strings("emails"),
                language=fields.string("language", "en"),
                excluded=fields.boolean("excluded", False),
            )
        )
    return tuple(result)


def _invoices(value: object, customers: set[str]) -> tuple[Invoice, ...]:
    seen: set[str] = set()
    result = []
    for path, item in items(value, "invoices"):
        fields = Fields(
            item,
            path,
            ("id", "customer", "due_date", "balance", "currency", "status"),
            ("number", "issue_date", "total"),
        )
        invoice_id = _unique(path, fields.string("id"), seen, "invoice")
        customer = _known(fields, "customer", customers, "customer")
        due_date = fields.day("due_date")
        currency = fields.currency("currency")
        balance = fields.money("balance", currency)
        result.append(
            Invoice(
                id=invoice_id,
                customer_id=customer,
                number=fields.string("number", invoice_id),
                issue_date=fields.optional_day("issue_date") or due_date,
                due_date=due_date,
                total=fields.money("total", currency) if fields.has("total") else balance,
                balance=balance,
                status=fields.choice("status", InvoiceStatus),
            )
        )
    return tuple(result)


def _credits(value: object, customers: set[str]) -> tuple[Credit, ...]:
    seen: set[str] = set()
    result = []
    for path, item in items(value, "credits"):
        fields = Fields(item, path, ("id", "customer", "amount", "currency"), ("kind",))
        credit_id = _unique(path, fields.string("id"), seen, "credit")
        customer = _known(fields, "customer", customers, "customer")
        amount = fields.money("amount", fields.currency("currency"))
        if amount.amount < 0:
            fields.fail("amount", f"a credit must not be negative: {amount.amount}")
        result.append(Credit(credit_id, customer, amount, fields.choice("kind", CreditKind, "credit_note")))
    return tuple(result)


def _pauses(value: object, invoices: dict[str, str], customers: set[str]) -> tuple[Pause, ...]:
    result = []
    for path, item in items(value, "pauses"):
        fields = Fields(item, path, ("kind", "customer"), ("invoice", "until", "reason"))
        kind = fields.choice("kind", PauseKind)
        customer = _known(fields, "customer", customers, "customer")
        invoice = _known(fields, "invoice", invoices, "invoice") if fields.has("invoice") else None
        if invoice is not None and invoices[invoice] != customer:
            fields.fail("invoice", f"invoice {invoice!r} belongs to customer {invoices[invoice]!r}, not {customer!r}")
        until = fields.optional_day("until")
        reason = fields.string("reason", "", empty=True) if fields.has("reason") else ""
        result.append(Pause(kind=kind, customer_id=customer, invoice_id=invoice, until_date=until, reason=reason))
    return tuple(result)


def _history(value: object, policy: Policy, invoices: dict[str, str], customers: set[str]) -> tuple[PastTouch, ...]:
    steps = {step.id: step for step in policy.steps}
    result = []
    for path, item in items(value, "history"):
        fields = Fields(item, path, ("date", "customer", "invoices"), ("status",))
        touch_date = fields.day("date")
        customer = _known(fields, "customer", customers, "customer")
        status = fields.choice("status", TouchStatus, "sent")
        touched: list[TouchedInvoice] = []
        for item_path, entry in items(fields.raw("invoices"), fields.at("invoices")):
            touched.append(_touched(Fields(entry, item_path, ("id", "step"), ("level",)), customer, steps, invoices))
        if not touched:
            fields.fail("invoices", "a touch covers at least one invoice")
        if len({t.invoice_id for t in touched}) != len(touched):
            fields.fail("invoices", "names an invoice twice")
        result.append(PastTouch(touch_date, customer, status, tuple(touched)))
    return tuple(result)


def _touched(fields: Fields, customer: str, steps: dict[str, Step], invoices: dict[str, str]) -> TouchedInvoice:
    invoice = _known(fields, "id", invoices, "invoice")
    if invoices[invoice] != customer:
        fields.fail("id", f"invoice {invoice!r} belongs to customer {invoices[invoice]!r}, not {customer!r}")
    step_id = fields.string("step")
    step = steps.get(step_id)
    if step is None:
        fields.fail("step", f"unknown step {step_id!r}")
    level = fields.integer("level", step.level)
    if not 0 <= level <= MAX_LEVEL:
        fields.fail("level", f"must be between 0 and {MAX_LEVEL}, not {level}")
    return TouchedInvoice(invoice, step_id, level)
