"""Read models for the task pages: tasks with their customer, invoice and organisation, and who is
on what (open and overdue tasks per person).

Tasks come from the collection run (heavy steps handed over, "find an email address") and from
people; the queries here only read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from connector.clock import Clock, local_today
from connector.db import Customer, Invoice, Membership, Organisation, Role, Task, TaskStatus

#: Which tasks a list shows: open ones, closed ones (done or cancelled), or all.
SHOWS = ("open", "closed", "all")
#: Roles whose members can work tasks (viewers read only).
WORKERS = (Role.COLLECTOR.value, Role.ADMIN.value)


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One task as the lists show it.

    Attributes:
        id: the task's row id.
        organisation_id: its organisation.
        organisation_name: that organisation's name.
        kind: call, letter, agency, legal, writeoff_review, notify_owner, find_email …
        title: what to do.
        status: open, done or cancelled.
        customer_id: the customer it is about, if any.
        customer_name: that customer's name.
        invoice_number: the invoice it is about, if any.
        assignee_id: who is on it.
        due_date: when it should be done.
        overdue: open and due before today.
        outcome: what came of it (done tasks).
    """

    id: int
    organisation_id: int
    organisation_name: str
    kind: str
    title: str
    status: str
    customer_id: int | None
    customer_name: str | None
    invoice_number: str | None
    assignee_id: int | None
    due_date: date | None
    overdue: bool
    outcome: str | None


def _fetch(session: Session, clock: Clock, show: str, *where: ColumnElement[bool]) -> list[TaskLine]:
    """The tasks matching ``where`` and ``show``, open first, then by due date (undated last);
    overdue is judged on each organisation's own day."""
    query = (
        select(Task, Organisation.name, Organisation.timezone, Customer.name, Invoice.number)
        .join(Organisation, Organisation.id == Task.organisation_id)
        .outerjoin(Customer, Customer.id == Task.customer_id)
        .outerjoin(Invoice, Invoice.id == Task.invoice_id)
        .where(*where)
    )
    if show == "open":
        query = query.where(Task.status == TaskStatus.OPEN.value)
    elif show == "closed":
        query = query.where(Task.status != TaskStatus.OPEN.value)
    lines = [
        TaskLine(
            id=task.id,
            organisation_id=task.organisation_id,
            organisation_name=org_name,
            kind=task.kind,
            title=task.title,
            status=task.status,
            customer_id=task.customer_id,
            customer_name=customer_name,
            invoice_number=invoice_number,
            assignee_id=task.assignee_id,
            due_date=task.due_date,
            overdue=task.status == TaskStatus.OPEN.value
            and task.due_date is not None
            and task.due_date < local_today(clock, timezone),
            outcome=task.outcome,
        )
        for task, org_name, timezone, customer_name, invoice_number in session.execute(query)
    ]
    return sorted(lines, key=lambda t: (t.status != TaskStatus.OPEN.value, t.due_date or date.max, t.id))


def organisation_tasks(
    session: Session, org_id: int, clock: Clock, *, show: str = "open", assignee: int | None = None
) -> list[TaskLine]:
    """The organisation's tasks (``assignee``'s only when given), open and most urgent first."""
    where = [Task.organisation_id == org_id]
    if assignee is not None:
        where.append(Task.assignee_id == assignee)
    return _fetch(session, clock, show, *where)


def my_tasks(session: Session, user_id: int, clock: Clock, *, show: str = "open") -> list[TaskLine]:
    """The user's tasks in every organisation of the firms they belong to."""
    firms = select(Membership.firm_id).where(Membership.user_id == user_id)
    return _fetch(session, clock, show, Task.assignee_id == user_id, Organisation.firm_id.in_(firms))


@dataclass(frozen=True, slots=True)
class Load:
    """What one person (or nobody) is on.

    Attributes:
        assignee_id: the person; None for unassigned tasks.
        open: open tasks.
        overdue: open tasks past their due date.
    """

    assignee_id: int | None
    open: int
    overdue: int


def workload(tasks: Sequence[TaskLine], people: Sequence[int]) -> list[Load]:
    """Open and overdue tasks per person (everyone in ``people``, idle ones too), then unassigned."""
    opened = Counter(t.assignee_id for t in tasks if t.status == TaskStatus.OPEN.value)
    late = Counter(t.assignee_id for t in tasks if t.overdue)
    rows = [Load(person, opened[person], late[person]) for person in people]
    rows += [Load(p, opened[p], late[p]) for p in sorted(k for k in opened if k is not None and k not in people)]
    return [*rows, Load(None, opened[None], late[None])]
