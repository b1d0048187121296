"""Incremental sync of one organisation: cursors, upserts and the quarantine, page by page.

Each page of changes is written in **one transaction together with the cursor it allows**, so a
crash or an error never moves the cursor past data that was not stored. A record that cannot be
mapped arrives as a :class:`connector.platform.BadRecord`: it is kept in the quarantine with its
payload and error, logged, and skipped; the rest of the page goes on. A record that maps again
later resolves its quarantine entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock
from connector.db import Invoice, Organisation, QuarantinedRecord, SyncCursor
from connector.platform import BadRecord, ChangePage, Entity, Fetched, OrgAccess, Platform
from connector.sync.upsert import PageWriter

log = logging.getLogger(__name__)

#: Customers first, so that invoices and payments find their customer.
ENTITY_ORDER = (
    Entity.CUSTOMER,
    Entity.INVOICE,
    Entity.PAYMENT,
    Entity.CREDIT_NOTE,
    Entity.OVERPAYMENT,
    Entity.PREPAYMENT,
)


@dataclass(frozen=True, slots=True)
class EntityReport:
    """What one entity's sync did.

    Attributes:
        entity: the entity.
        pages: pages fetched.
        written: records inserted or updated.
        deleted: deletions applied.
        quarantined: records that failed to map.
        cursor: the cursor after the sync.
    """

    entity: Entity
    pages: int
    written: int
    deleted: int
    quarantined: int
    cursor: datetime | None


Progress = Callable[[EntityReport], None]


def sync_organisation(
    sessions: sessionmaker[Session],
    organisation_id: int,
    platform: Platform,
    access: OrgAccess,
    clock: Clock,
    *,
    entities: Sequence[Entity] | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> list[EntityReport]:
    """Bring the store up to date with the platform.

    Args:
        entities: which entities (default: every entity the platform syncs, in its order).
        full: ignore the cursors and read everything (first sync, repair).
        progress: called after every page with the running totals of that page's entity.

    Returns:
        One report per entity, in sync order.
    """
    wanted = [e for e in platform.entities if entities is None or e in entities]
    since = {entity: None if full else _stored_cursor(sessions, organisation_id, entity) for entity in wanted}
    reports = {entity: EntityReport(entity, 0, 0, 0, 0, since[entity]) for entity in wanted}
    for page in platform.fetch_changes(access, since):
        reports[page.entity] = _store_page(
            sessions, organisation_id, page, reports[page.entity], clock, full_read=since[page.entity] is None
        )
        if progress is not None:
            progress(reports[page.entity])
    with sessions.begin() as session:
        session.execute(update(Organisation).where(Organisation.id == organisation_id).values(last_sync_at=clock.now()))
    for report in reports.values():
        log.info("synced %s of organisation %s: %s", report.entity, organisation_id, report)
    return list(reports.values())


def _store_page(
    sessions: sessionmaker[Session],
    organisation_id: int,
    page: ChangePage,
    report: EntityReport,
    clock: Clock,
    *,
    full_read: bool,
) -> EntityReport:
    """Write one page and, in the same transaction, the cursor it allows."""
    with sessions.begin() as session:
        now = clock.now()
        written, deleted = PageWriter(session, organisation_id, now).write(page.entity, page.records)
        _resolve_quarantine(session, organisation_id, page.entity, page.records, now)
        for bad in page.bad:
            quarantine(session, organisation_id, bad, now)
        if page.cursor is not None:
            _store_cursor(session, organisation_id, page.entity, page.cursor, now, full_read=full_read)
    return EntityReport(
        page.entity,
        report.pages + 1,
        report.written + written,
        report.deleted + deleted,
        report.quarantined + len(page.bad),
        page.cursor if page.cursor is not None else report.cursor,
    )


def _stored_cursor(sessions: sessionmaker[Session], organisation_id: int, entity: Entity) -> datetime | None:
    with sessions() as session:
        row = session.scalar(_cursor_query(organisation_id, entity))
        return row.cursor_at if row is not None else None


def reconcile_open_invoices(
    sessions: sessionmaker[Session], organisation_id: int, platform: Platform, access: OrgAccess, clock: Clock
) -> int:
    """Re-read every invoice the store holds as open (the nightly safety net for changes that
    incremental sync can miss); returns how many were re-read."""
    with sessions() as session:
        query = select(Invoice.external_id).where(Invoice.organisation_id == organisation_id, Invoice.status == "open")
        ids = list(session.scalars(query.order_by(Invoice.external_id)))
    for start in range(0, len(ids), 1000):
        fetched = platform.fetch_invoices(access, ids[start : start + 1000])
        with sessions.begin() as session:
            PageWriter(session, organisation_id, clock.now()).write(Entity.INVOICE, fetched)
    return len(ids)


def quarantine(session: Session, organisation_id: int, bad: BadRecord, now: datetime) -> None:
    """Keep ``bad`` with its payload and error (counting repeats), and log it without the payload."""
    payload = json.dumps(bad.payload, default=str, sort_keys=True, ensure_ascii=False)
    external_id = bad.external_id or "sha256:" + hashlib.sha256(payload.encode()).hexdigest()[:32]
    row = session.scalar(
        select(QuarantinedRecord).where(
            QuarantinedRecord.organisation_id == organisation_id,
            QuarantinedRecord.entity == bad.entity.value,
            QuarantinedRecord.external_id == external_id,
        )
    )
    if row is None:
        row = QuarantinedRecord(
            organisation_id=organisation_id,
            entity=bad.entity.value,
            external_id=external_id,
            first_seen_at=now,
            occurrences=0,
        )
        session.add(row)
    row.field, row.error, row.payload = bad.field, bad.error, payload
    row.occurrences, row.last_seen_at, row.resolved_at = row.occurrences + 1, now, None
    log.warning(
        "quarantined %s %s of organisation %s: %s: %s", bad.entity, external_id, organisation_id, bad.field, bad.error
    )


def _resolve_quarantine(
    session: Session, organisation_id: int, entity: Entity, records: Sequence[Fetched], now: datetime
) -> None:
    if not records:
        return
    session.execute(
        update(QuarantinedRecord)
        .where(
            QuarantinedRecord.organisation_id == organisation_id,
            QuarantinedRecord.entity == entity.value,
            QuarantinedRecord.external_id.in_([f.external_id for f in records]),
            QuarantinedRecord.resolved_at.is_(None),
        )
        .values(resolved_at=now)
    )


def _cursor_query(organisation_id: int, entity: Entity) -> Select[SyncCursor]:
    return select(SyncCursor).where(SyncCursor.organisation_id == organisation_id, SyncCursor.entity == entity.value)


def _store_cursor(
    session: Session, organisation_id: int, entity: Entity, cursor: datetime, now: datetime, *, full_read: bool
) -> None:
    row = session.scalar(_cursor_query(organisation_id, entity))
    if row is None:
        row = SyncCursor(organisation_id=organisation_id, entity=entity.value)
        session.add(row)
    row.cursor_at, row.updated_at = cursor, now
    if full_read:
        row.last_full_at = now
