"""Writing fetched records into the store, one page at a time, in the caller's transaction.

Rows are matched by (organisation, external id), loaded in one query per page. What arcadence
owns locally is never overwritten by a sync: a customer's language, exclusion and owner, and the
reminder flag of a known contact address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from connector.db import Contact, Credit, Customer, Invoice, Payment, PaymentAllocation
from connector.platform import Entity, Fetched
from core import model

Row = TypeVar("Row", Customer, Invoice, Payment, Credit)

CREDIT_ENTITIES = {
    Entity.CREDIT_NOTE: model.CreditKind.CREDIT_NOTE,
    Entity.OVERPAYMENT: model.CreditKind.OVERPAYMENT,
    Entity.PREPAYMENT: model.CreditKind.PREPAYMENT,
}


class PageWriter:
    """Upserts the records of one page for one organisation."""

    def __init__(self, session: Session, organisation_id: int, now: datetime) -> None:
        self._session = session
        self._org = organisation_id
        self._now = now
        self._customer_ids: dict[str, int] = {}

    def write(self, entity: Entity, records: Sequence[Fetched]) -> tuple[int, int]:
        """Upsert ``records`` of ``entity``; returns (rows written, deletions applied)."""
        if not records:
            return 0, 0
        if entity is Entity.CUSTOMER:
            self._customers(records)
        elif entity is Entity.INVOICE:
            self._invoices(records)
        elif entity is Entity.PAYMENT:
            self._payments(records)
        else:
            self._credits(entity, records)
        deleted = sum(1 for fetched in records if fetched.deleted)
        return len(records) - deleted, deleted

    def _existing(self, cls: type[Row], external_ids: Iterable[str], *extra: ColumnElement[bool]) -> dict[str, Row]:
        ids = sorted(set(external_ids))
        rows: dict[str, Row] = {}
        for start in range(0, len(ids), 500):
            query = select(cls).where(
                cls.organisation_id == self._org, cls.external_id.in_(ids[start : start + 500]), *extra
            )
            if cls is Customer:
                query = query.options(selectinload(Customer.contacts))
            elif cls is Payment:
                query = query.options(selectinload(Payment.allocations))
            rows.update((row.external_id, row) for row in self._session.scalars(query))
        return rows

    def customer_ids(self, external_ids: Iterable[str]) -> dict[str, int]:
        """Local ids of the given customers, creating a placeholder for any not synced yet."""
        external_ids = list(external_ids)
        wanted = set(external_ids) - self._customer_ids.keys()
        if wanted:
            self._customer_ids.update((ext, row.id) for ext, row in self._existing(Customer, wanted).items())
        for ext in sorted(wanted - self._customer_ids.keys()):
            # The invoice arrived before its customer: a placeholder, filled by the next customer sync.
            placeholder = Customer(
                organisation_id=self._org, external_id=ext, name=f"(customer {ext})", synced_at=self._now
            )
            self._session.add(placeholder)
            self._session.flush()
            self._customer_ids[ext] = placeholder.id
        return {ext: self._customer_ids[ext] for ext in external_ids}

    def _customers(self, records: Sequence[Fetched]) -> None:
        existing = self._existing(Customer, (f.external_id for f in records))
        for fetched in records:
            row = existing.get(fetched.external_id)
            if fetched.deleted or fetched.record is None:
                if row is not None:
                    row.active, row.synced_at = False, self._now
                continue
            record = fetched.record
            assert isinstance(record, model.Customer)
            if row is None:
                row = Customer(organisation_id=self._org, external_id=record.id, language=record.language)
                self._session.add(row)
            row.name, row.active = record.name, record.active
            row.platform_updated_at, row.synced_at = fetched.updated_at, self._now
            _sync_contacts(row, record.emails, self._org)

    def _invoices(self, records: Sequence[Fetched]) -> None:
        existing = self._existing(Invoice, (f.external_id for f in records))
        live = [f.record for f in records if isinstance(f.record, model.Invoice)]
        customers = self.customer_ids(record.customer_id for record in live)
        for fetched in records:
            row = existing.get(fetched.external_id)
            record = fetched.record
            if fetched.deleted or not isinstance(record, model.Invoice):
                if row is not None:
                    row.status, row.synced_at = model.InvoiceStatus.DELETED.value, self._now
                continue
            if row is None:
                row = Invoice(organisation_id=self._org, external_id=record.id)
                self._session.add(row)
            row.customer_id = customers[record.customer_id]
            row.number, row.issue_date, row.due_date = record.number, record.issue_date, record.due_date
            row.currency, row.total, row.balance = record.currency, record.total.amount, record.balance.amount
            row.status, row.terms = record.status.value, record.terms
            if record.pay_url and record.pay_url != row.pay_url:  # cached: a response without one keeps it
                row.pay_url, row.pay_url_fetched_at = record.pay_url, self._now
            row.paid_date = record.paid_date or (row.paid_date if record.status is model.InvoiceStatus.PAID else None)
            row.platform_updated_at, row.synced_at = fetched.updated_at, self._now

    def _payments(self, records: Sequence[Fetched]) -> None:
        existing = self._existing(Payment, (f.external_id for f in records))
        live = [f.record for f in records if isinstance(f.record, model.Payment)]
        customers = self.customer_ids(record.customer_id for record in live)
        for fetched in records:
            row = existing.get(fetched.external_id)
            record = fetched.record
            if fetched.deleted or not isinstance(record, model.Payment):
                if row is not None:
                    row.status, row.unapplied_amount, row.synced_at = "deleted", Decimal(0), self._now
                    row.allocations = []
                continue
            if row is None:
                row = Payment(organisation_id=self._org, external_id=record.id)
                self._session.add(row)
            row.customer_id = customers[record.customer_id]
            row.payment_date, row.currency, row.amount = (
                record.payment_date,
                record.amount.currency,
                record.amount.amount,
            )
            row.unapplied_amount, row.status = record.unapplied_amount().amount, "active"
            row.platform_updated_at, row.synced_at = fetched.updated_at, self._now
            # Replacing the collection deletes the old allocations (delete-orphan) in the page's one flush.
            row.allocations = [
                PaymentAllocation(organisation_id=self._org, invoice_external_id=a.invoice_id, amount=a.amount.amount)
                for a in record.allocations
            ]

    def _credits(self, entity: Entity, records: Sequence[Fetched]) -> None:
        kind = CREDIT_ENTITIES[entity].value
        existing = self._existing(Credit, (f.external_id for f in records), Credit.kind == kind)
        live = [f.record for f in records if isinstance(f.record, model.Credit)]
        customers = self.customer_ids(record.customer_id for record in live)
        for fetched in records:
            row = existing.get(fetched.external_id)
            record = fetched.record
            if fetched.deleted or not isinstance(record, model.Credit):
                if row is not None:
                    row.status, row.remaining, row.synced_at = "deleted", Decimal(0), self._now
                continue
            if row is None:
                row = Credit(organisation_id=self._org, external_id=record.id, kind=kind)
                self._session.add(row)
            row.customer_id, row.number, row.issue_date = (
                customers[record.customer_id],
                record.number,
                record.issue_date,
            )
            row.currency, row.remaining = record.amount.currency, record.amount.amount
            row.total = (record.total or record.amount).amount
            row.status = "open" if record.amount.is_positive() else "applied"
            row.platform_updated_at, row.synced_at = fetched.updated_at, self._now


def _sync_contacts(customer: Customer, emails: Sequence[str], organisation_id: int) -> None:
    """Make the customer's contacts the platform's addresses, keeping local flags of known ones."""
    known = {contact.email.lower(): contact for contact in customer.contacts}
    wanted = [email for email in dict.fromkeys(e.strip() for e in emails) if email]
    for position, email in enumerate(wanted):
        contact = known.pop(email.lower(), None)
        if contact is None:
            contact = Contact(organisation_id=organisation_id, email=email)
            customer.contacts.append(contact)
        contact.position, contact.is_primary = position, position == 0
    for gone in known.values():
        customer.contacts.remove(gone)
