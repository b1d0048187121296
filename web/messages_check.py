"""Checking and previewing an edited message template, with the renderer the dispatcher uses.

A template is checked three ways before it is saved, part by part so each message lands next to
its field: (1) a static look at its syntax tree refuses any reach into an underscore attribute
(``{{ ''.__class__ }}``, ``self.__init__``, ``cycler.__init__.__globals__``, ``|attr('__…')``),
even in a branch the preview would not take; (2) it is rendered in the sandbox
(:func:`connector.render.environment.render_part`) on the chosen real customer; (3) and on a full
sample (claim, credit, pay links, deadline), so a misspelt variable in a branch the customer
does not reach is caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jinja2
from flask_babel import gettext as _
from flask_babel import ngettext
from jinja2 import nodes
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.db import Customer, Invoice, Organisation, PolicyStep
from connector.db import Policy as PolicyRow
from connector.render import InvoiceLine, MessageContext, Party, TemplateError, TemplateSource
from connector.render.environment import Part, environment, render_part
from connector.render.formatting import template_data
from core.interest import Claim, RateUnavailable, statutory_claim
from core.model import Money, money
from core.policy import DEFAULT_POLICIES

#: The form's fields, by the part of the template they hold.
FIELDS: dict[Part, str] = {"subject": "subject", "text": "body_text", "html": "body_html"}


@dataclass(frozen=True, slots=True)
class Sample:
    """What the preview renders on.

    Attributes:
        context: the message context.
        customer_id: the store id of the customer, None for the made-up sample.
        note: a sentence for the page when the preview is not on a real open balance.
    """

    context: MessageContext
    customer_id: int | None
    note: str = ""


def level_of(db: Session, org_id: int, key: str) -> int:
    """The level a template key is used at: in the organisation's policies, else the shipped ones, else 0."""
    level = db.scalar(
        select(PolicyStep.level)
        .join(PolicyRow, PolicyRow.id == PolicyStep.policy_id)
        .where(PolicyRow.organisation_id == org_id, PolicyStep.template_key == key)
        .order_by(PolicyStep.level)
    )
    if level is not None:
        return level
    shipped = [s.level for p in DEFAULT_POLICIES.values() for s in p.steps if s.template == key]
    return min(shipped, default=0)


def unsafe_names(source: str, html: bool) -> list[str]:
    """The underscore attributes a template reaches for (empty when none); raises
    :class:`jinja2.TemplateSyntaxError` when it does not parse."""
    tree = environment(html).parse(source)
    found = [n.attr for n in tree.find_all(nodes.Getattr) if n.attr.startswith("_")]
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and str(item.arg.value).startswith("_"):
            found.append(str(item.arg.value))
    for flt in tree.find_all(nodes.Filter):
        arg = flt.args[0] if flt.name == "attr" and flt.args else None
        if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
            found.append(str(arg.value))
    return found


def check(source: TemplateSource, samples: list[MessageContext], key: str, language: str) -> dict[str, list[str]]:
    """Every problem of the template, by form field; empty when it can be saved."""
    errors: dict[str, list[str]] = {}
    for part, field in FIELDS.items():
        text = getattr(source, part)
        try:
            unsafe = unsafe_names(text, html=part == "html")
        except jinja2.TemplateSyntaxError as exc:
            errors[field] = [_("Syntax error at line %(line)d: %(message)s", line=exc.lineno or 0, message=exc.message)]
            continue
        if unsafe:
            errors[field] = [
                _(
                    "Not allowed: %(names)s. Templates may use the variables listed, never the insides of "
                    "objects (the sandbox refuses it).",
                    names=", ".join(sorted(set(unsafe))),
                )
            ]
            continue
        for ctx in samples:
            try:
                rendered = render_part(text, template_data(ctx, language), part=part, key=key, language=language)
            except TemplateError as exc:
                errors[field] = [exc.message]
                break
            if part == "subject" and not rendered.strip():
                errors[field] = [_("The subject must not be empty.")]
                break
    return errors


def real_sample(
    db: Session, org: Organisation, customer_id: int | None, key: str, level: int, language: str, today: date
) -> Sample:
    """The context for a real customer of the organisation (its open invoices in its main currency);
    the first customer with open invoices when none is chosen; a made-up one when there is none."""
    query = select(Customer).where(Customer.organisation_id == org.id)
    customer = db.scalar(query.where(Customer.id == customer_id)) if customer_id else None
    if customer is None:
        with_open = query.join(Invoice, Invoice.customer_id == Customer.id).where(
            Invoice.status == "open", Invoice.balance > 0
        )
        customer = db.scalar(with_open.order_by(Customer.name, Customer.id)) or db.scalar(query.order_by(Customer.name))
    if customer is None:
        return Sample(full_sample(org, key, level, language, today), None, _("This organisation has no customer yet."))
    invoices = db.scalars(
        select(Invoice)
        .where(Invoice.customer_id == customer.id, Invoice.status == "open", Invoice.balance > 0)
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    note = ""
    if not invoices:
        note = _("%(name)s has no open invoice: the preview shows a made-up one.", name=customer.name)
        lines = (_sample_line(org.base_currency, today),)
    else:
        currency = max(
            {i.currency for i in invoices}, key=lambda c: sum(i.balance for i in invoices if i.currency == c)
        )
        lines = tuple(
            InvoiceLine(
                i.number or i.external_id, i.issue_date, i.due_date, money(i.balance, currency), i.pay_url, i.terms
            )
            for i in invoices
            if i.currency == currency
        )
    email = next((c.email for c in sorted(customer.contacts, key=lambda c: c.position) if c.include_in_reminders), "")
    ctx = _context(org, Party(customer.name, email=email), key, level, language, today, lines)
    return Sample(ctx, customer.id, note)


def full_sample(org: Organisation, key: str, level: int, language: str, today: date) -> MessageContext:
    """A made-up context with every optional part present (credit, claim, pay links, payer link)."""
    line = _sample_line(org.base_currency, today)
    base = _context(org, Party("Beispiel AG", ("Hauptstraße 1", "10115 Berlin"), "ap@example.com"), key, level,
                    language, today, (line,))  # fmt: skip
    claim = Claim(money("12.34", line.open_amount.currency), money("40.00", line.open_amount.currency),
                  Decimal("10.27"), "DE-BGB-288")  # fmt: skip
    credit = money("50.00", line.open_amount.currency)
    return replace(base, unapplied_credit=credit, claim=claim, payer_link="https://pay.example.com/c/1")


def _sample_line(currency: str, today: date) -> InvoiceLine:
    return InvoiceLine("1001", today - timedelta(days=44), today - timedelta(days=14), money("1190.00", currency),
                       "https://pay.example.com/i/1001", "Net 30")  # fmt: skip


def _context(
    org: Organisation, customer: Party, key: str, level: int, language: str, today: date, lines: tuple[InvoiceLine, ...]
) -> MessageContext:
    currency = lines[0].open_amount.currency
    total = sum((line.open_amount for line in lines), Money(Decimal(0), currency))
    return MessageContext(
        organisation=Party(name=org.name, email=org.sender_email or ""),
        locale=org.locale,
        customer=customer,
        language=language,
        today=today,
        level=level,
        template=key,
        invoices=lines,
        total=total,
        claim=_claim(org.country, lines, today) if level >= 3 else None,
        reference=f"{org.id}-preview",
    )


def _claim(country: str, lines: tuple[InvoiceLine, ...], today: date) -> Claim | None:
    try:
        return statutory_claim(country, [(line.open_amount, line.due_date) for line in lines], today)
    except RateUnavailable:
        return None


def variables(ctx: MessageContext, language: str) -> list[tuple[str, Any]]:
    """The variables a template can use, with their value in this preview (``invoices[]`` items once)."""
    rows: list[tuple[str, Any]] = []
    for name, value in template_data(ctx, language).items():
        if isinstance(value, dict):
            rows += ((f"{name}.{sub}", v) for sub, v in value.items())
        elif name == "invoices" and isinstance(value, list):
            rows.append(("invoices", ngettext("%(num)d item", "%(num)d items", len(value))))
            if value:
                rows += ((f"invoices[].{sub}", v) for sub, v in value[0].items())
        else:
            rows.append((name, value))
    return rows
