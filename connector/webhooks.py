"""The inbox of verified webhook events, and its processing.

:func:`receive` stores the events of one verified delivery (a redelivery stores nothing new: each
event has a unique key) and returns at once. :func:`process_pending` claims pending events
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE on SQLite, so two workers never
take the same row), fetches what changed by id (invoices: one batched re-read; anything else: one
incremental sync of the organisation) under the organisation's lock (``connector.locks``), and
marks them done. Claims are leases: a worker that dies gives its events back after :data:`LEASE`.
Events carry no body on either platform, so processing is idempotent: fetching the current state
twice stores the same thing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock
from connector.db import Organisation, WebhookEvent
from connector.errors import PlatformError
from connector.locks import organisation_lock
from connector.observe import log_outcome, outcome_of
from connector.platform import Entity, OrgAccess, Platform, WebhookNotice
from connector.sync import sync_organisation
from connector.sync.upsert import PageWriter

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=10)
"""An event still ``processing`` this long after its claim belongs to a worker that died."""


def event_key(notice: WebhookNotice) -> str:
    """The deduplication key of one event: entity, id, operation and time."""
    return f"{notice.entity.value}:{notice.external_id}:{notice.operation}:{notice.occurred_at.isoformat()}"[:200]


def receive(sessions: sessionmaker[Session], platform: Platform, body: bytes, *, now: datetime) -> int:
    """Store the events of a verified delivery; returns how many were new.

    A signed body that is not a payload of this platform is kept whole as one ``unreadable`` row
    with the error (for support), and counts as stored: answering with an error would only make
    the platform retry it, and QBO holds back later events until the first is acknowledged.
    """
    text = body.decode("utf-8", errors="replace")
    try:
        notices = platform.parse_webhook(body)
    except ValueError as exc:
        return _store_unreadable(sessions, platform.name, text, str(exc), now)
    stored = 0
    with sessions.begin() as session:
        orgs = _organisation_ids(session, platform.name, {n.external_org_id for n in notices})
        for notice in notices:
            stored += _insert(session, platform.name, notice, orgs.get(notice.external_org_id), text, now)
    return stored


def _store_unreadable(sessions: sessionmaker[Session], platform: str, body: str, error: str, now: datetime) -> int:
    key = "unreadable:" + hashlib.sha256(body.encode()).hexdigest()
    log.warning("%s webhook: signed but unreadable (%s); kept as %s", platform, error, key)
    with sessions.begin() as session:
        if session.scalar(
            select(WebhookEvent.id).where(WebhookEvent.platform == platform, WebhookEvent.event_key == key)
        ):
            return 0
        session.add(
            WebhookEvent(
                platform=platform,
                external_org_id="",
                event_key=key,
                entity="unknown",
                entity_external_id="",
                operation="",
                body=body,
                status="unreadable",
                last_error=error[:1000],
                received_at=now,
            )
        )
    return 1


def _organisation_ids(session: Session, platform: str, external_ids: set[str]) -> dict[str, int]:
    if not external_ids:
        return {}
    rows = session.execute(
        select(Organisation.external_id, Organisation.id).where(
            Organisation.platform == platform, Organisation.external_id.in_(sorted(external_ids))
        )
    )
    return {external_id: org_id for external_id, org_id in rows}


def _insert(
    session: Session, platform: str, notice: WebhookNotice, org_id: int | None, body: str, now: datetime
) -> int:
    key = event_key(notice)
    exists = session.scalar(
        select(WebhookEvent.id).where(WebhookEvent.platform == platform, WebhookEvent.event_key == key)
    )
    if exists is not None:
        return 0
    row = WebhookEvent(
        platform=platform,
        organisation_id=org_id,
        external_org_id=notice.external_org_id,
        event_key=key,
        entity=notice.entity.value,
        entity_external_id=notice.external_id,
        operation=notice.operation,
        body=body,
        status="pending" if org_id else "unknown_org",
        received_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent redelivery may have stored it meanwhile
            session.add(row)
    except IntegrityError:
        return 0
    return 1


def claim(sessions: sessionmaker[Session], *, worker: str, now: datetime, limit: int = 200) -> list[int]:
    """Take up to ``limit`` pending events for this worker (each claimed by exactly one worker).

    A claim is a lease: while an event is ``processing``, ``processed_at`` is when it was claimed,
    and an event still ``processing`` :data:`LEASE` later belongs to a worker that died; it goes
    back to ``pending`` here (processing is idempotent: events carry no body, we fetch by id).
    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` (workers take disjoint events without waiting);
    SQLite: a conditional UPDATE whose rowcount must be 1.
    """
    with sessions.begin() as session:
        session.execute(
            update(WebhookEvent)
            .where(
                WebhookEvent.status == "processing",
                or_(WebhookEvent.processed_at.is_(None), WebhookEvent.processed_at < now - LEASE),
            )
            .values(status="pending", processed_at=None)
        )
    taken = {"status": "processing", "last_error": worker, "processed_at": now, "attempts": WebhookEvent.attempts + 1}
    pending = select(WebhookEvent.id).where(WebhookEvent.status == "pending").order_by(WebhookEvent.id).limit(limit)
    with sessions.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            ids = list(session.scalars(pending.with_for_update(skip_locked=True)))
            if ids:
                session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(ids)).values(**taken))
            return ids
    with sessions() as session:
        candidates = session.scalars(pending).all()
    claimed = []
    for event_id in candidates:
        with sessions.begin() as session:
            result = session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id, WebhookEvent.status == "pending")
                .values(**taken)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(event_id)
    return claimed


def process_pending(
    sessions: sessionmaker[Session],
    platform_of: Callable[[str], Platform],
    access_of: Callable[[Organisation], OrgAccess],
    *,
    clock: Clock,
    worker: str = "worker",
) -> int:
    """Process the claimed events organisation by organisation, each under the organisation's lock
    (an organisation another worker is busy with gets its events back, untouched, for a later
    pass); returns how many were done."""
    ids = claim(sessions, worker=worker, now=clock.now())
    if not ids:
        return 0
    with sessions() as session:
        events = session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(ids))).all()
        by_org: dict[int, list[WebhookEvent]] = defaultdict(list)
        for event in events:
            by_org[event.organisation_id or 0].append(event)
        orgs = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(list(by_org))))}
        engine = session.get_bind()
    done = 0
    for org_id, org_events in by_org.items():
        org = orgs[org_id]
        with organisation_lock(engine, org_id) as held:  # type: ignore[arg-type]
            if not held:
                _release(sessions, org_events)
                log_outcome("webhooks", org_id, "busy", worker=worker, events=len(org_events))
                continue
            try:
                _apply(sessions, platform_of(org.platform), access_of(org), org, org_events, clock)
            except PlatformError as exc:
                _finish(sessions, org_events, status=None, error=str(exc), now=clock.now())
                log_outcome("webhooks", org_id, outcome_of(exc), worker=worker, events=len(org_events), error=exc)
                continue
            _finish(sessions, org_events, status="done", error=None, now=clock.now())
        log_outcome("webhooks", org_id, "processed", worker=worker, events=len(org_events))
        done += len(org_events)
    return done


def _release(sessions: sessionmaker[Session], events: Sequence[WebhookEvent]) -> None:
    """Give claimed events back as they were (the attempt does not count)."""
    with sessions.begin() as session:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_([e.id for e in events]), WebhookEvent.status == "processing")
            .values(status="pending", processed_at=None, attempts=WebhookEvent.attempts - 1)
        )


def _apply(
    sessions: sessionmaker[Session],
    platform: Platform,
    access: OrgAccess,
    org: Organisation,
    events: Sequence[WebhookEvent],
    clock: Clock,
) -> None:
    invoice_ids = sorted({e.entity_external_id for e in events if e.entity == Entity.INVOICE.value})
    if invoice_ids:
        fetched = platform.fetch_invoices(access, invoice_ids)
        with sessions.begin() as session:
            PageWriter(session, org.id, clock.now()).write(Entity.INVOICE, fetched)
    others = sorted({Entity(e.entity) for e in events if e.entity != Entity.INVOICE.value}, key=list(Entity).index)
    if others:
        # Customers, payments and credits: one incremental sync (for QBO one CDC call) covers them,
        # and the invoices that a payment or credit changed.
        sync_organisation(sessions, org.id, platform, access, clock, entities=[*others, Entity.INVOICE])


def _finish(
    sessions: sessionmaker[Session],
    events: Sequence[WebhookEvent],
    *,
    status: str | None,
    error: str | None,
    now: datetime,
) -> None:
    with sessions.begin() as session:
        for event in events:
            row = session.get_one(WebhookEvent, event.id)
            if status == "done":
                row.status, row.processed_at, row.last_error = "done", now, None
            else:
                row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
                row.last_error, row.processed_at = error, None
