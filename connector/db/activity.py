"""The append-only activity log: the paper trail a lawyer or an agency will ask for.

:class:`ActivityLog` is the only way the code writes activities, and it can only append. A
session guard refuses any UPDATE or DELETE of an :class:`Activity` flushed through the ORM, and
database triggers (created by the migrations) refuse them in SQL too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, UOWTransaction

from connector.db.collections import Activity


class AppendOnlyViolation(Exception):
    """Something tried to change or delete an activity."""


class ActivityLog:
    """Appends to and reads the activity log of one organisation."""

    def __init__(self, session: Session, organisation_id: int) -> None:
        self._session = session
        self._organisation_id = organisation_id

    def append(
        self,
        *,
        kind: str,
        actor: str,
        summary: str,
        occurred_at: datetime,
        customer_id: int | None = None,
        invoice_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Activity:
        """Add one entry (flushed with the session's transaction) and return it."""
        entry = Activity(
            organisation_id=self._organisation_id,
            customer_id=customer_id,
            invoice_id=invoice_id,
            occurred_at=occurred_at,
            kind=kind,
            actor=actor,
            summary=summary,
            data=dict(data or {}),
        )
        self._session.add(entry)
        return entry

    def for_customer(self, customer_id: int) -> Sequence[Activity]:
        """The customer's entries, oldest first."""
        query = (
            select(Activity)
            .where(Activity.organisation_id == self._organisation_id, Activity.customer_id == customer_id)
            .order_by(Activity.occurred_at, Activity.id)
        )
        return self._session.scalars(query).all()

    def for_invoice(self, invoice_id: int) -> Sequence[Activity]:
        """The invoice's entries, oldest first."""
        query = (
            select(Activity)
            .where(Activity.organisation_id == self._organisation_id, Activity.invoice_id == invoice_id)
            .order_by(Activity.occurred_at, Activity.id)
        )
        return self._session.scalars(query).all()


@event.listens_for(Session, "before_flush")
def _refuse_activity_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    for obj in session.dirty:
        if isinstance(obj, Activity) and session.is_modified(obj):
            raise AppendOnlyViolation("activities are append-only: an update was refused")
    for obj in session.deleted:
        if isinstance(obj, Activity):
            raise AppendOnlyViolation("activities are append-only: a delete was refused")
