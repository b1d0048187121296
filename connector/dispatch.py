"""The dispatcher: claim → re-check → compose → send → record, exactly once.

States of an outbox row: ``pending`` → ``claimed`` (one dispatcher took it; nothing sent) →
``sending`` (**committed before the message leaves**) → ``sent`` | ``cancelled`` (nothing left to
chase) | ``held`` (template failed) | ``failed`` (permanent, or retries used up) | ``stale`` (its day
passed unsent) | ``in_doubt`` (found in ``sending`` after a crash: it may or may not have left; it is
never re-sent automatically, a person confirms). A temporary failure (platform outage during the
re-check, SMTP 4xx) puts the row back to ``pending`` with a backoff in ``not_before``.

Several dispatchers may run at once, in several processes (``arcadence worker`` ×N on PostgreSQL):
rows are claimed with ``FOR UPDATE SKIP LOCKED``; a claim is a lease (:data:`LEASE`); every later
step of a row is conditional on it still being this dispatcher's claim, so a dispatcher that
stalled past its lease (a lost database connection) never sends or overwrites a row another one
has taken over; and the re-check, which writes the organisation's invoices, holds the
organisation's lock (``connector.locks``) so it never runs beside a sync of the same organisation.

Right before composing, every invoice of the touch is re-read from the platform (one batched
call): anything paid, credited, voided, deleted or newly paused is dropped, amounts are the fresh
balances, and a touch left with nothing (or below the policy's threshold) is cancelled with its
reason in the activity log. Where a pay link costs a call of its own (Xero), the links of the
invoices still owed are asked for here, once per invoice ever (stored with the re-check), and a
reminder whose link cannot be had goes without it. Composing and sending are ports (``Compose``, ``Send``): the renderer
and the mailer plug in there.
"""

from __future__ import annotations

import logging
import os
import signal
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from connector.clock import local_today
from connector.db import Contact, Customer, Invoice, Organisation, OutboxMessage, OutboxStatus, Pause
from connector.db.activity import ActivityLog
from connector.errors import PlatformError, PluginError, TemporaryFailure
from connector.ledger import load_policy
from connector.locks import organisation_lock
from connector.platform import Entity, Fetched, FetchesPayLinks, OrgAccess, Platform
from connector.runtime import Runtime
from connector.sync.upsert import PageWriter
from core import model
from core.policy import Policy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
"""A claim older than this belongs to a dispatcher that died."""
STALE_AFTER = timedelta(days=2)
"""A touch still pending this long after its day is not sent: the next run plans afresh."""
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
LOCK_WAIT = 30.0
"""Seconds the re-check waits for an organisation another worker is syncing."""
_MINE = {OutboxStatus.CLAIMED.value, OutboxStatus.SENDING.value, OutboxStatus.IN_DOUBT.value}
"""States in which an outcome may still be recorded by the row's claimant (in doubt: recovered
meanwhile, but the send did finish and its outcome is the truth)."""
NOTE_LIMIT = 250  # Xero History; QBO notes take more, one short line suits both


def _crash_point(point: str) -> None:
    """Test-only fault injection: with ``ARCADENCE_ENV=test`` and ``ARCADENCE_TEST_CRASH_AT=<point>``
    the process kills itself with SIGKILL right here (a real ``kill -9``, no cleanup), so the tests
    can prove what each state of the machine leaves behind. Points: claimed, sending, accepted, sent."""
    if os.environ.get("ARCADENCE_ENV") == "test" and os.environ.get("ARCADENCE_TEST_CRASH_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class ComposeFailed(Exception):
    """The message cannot be composed (template error): the touch is held for an admin."""


class SendFailed(Exception):
    """Sending failed: ``permanent`` fails the touch, otherwise it is retried, unless ``in_doubt``
    (the message was handed over but the server's answer was lost): then it is never retried."""

    def __init__(self, message: str, *, permanent: bool, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.in_doubt = in_doubt


@dataclass(frozen=True, slots=True)
class Draft:
    """Everything needed to compose and send one touch, after the re-check.

    Attributes:
        outbox_id: the row.
        message_id: the stable Message-ID derived from the outbox key.
        organisation: the organisation's row (name, locale, sender address).
        customer_name: who is written to.
        language: the customer's language.
        recipients: the addresses flagged for reminders.
        level: the touch's level.
        step: the policy step id.
        template: the template key.
        today: the organisation's today.
        invoices: the invoices still owed, with their re-checked balances.
        total: what they add up to.
        payload: the planned touch (flags, unapplied credit, claim) as queued.
    """

    outbox_id: int
    message_id: str
    organisation: Organisation
    customer_name: str
    language: str
    recipients: tuple[str, ...]
    level: int
    step: str
    template: str
    today: date
    invoices: tuple[model.Invoice, ...]
    total: model.Money
    payload: dict[str, Any]


Compose = Callable[[Draft], Any]
"""Turns a draft into a message (subject, parts, attachments); raises :class:`ComposeFailed`."""
Send = Callable[[Draft, Any], None]
"""Sends a composed message to the draft's recipients; raises :class:`SendFailed`."""


@dataclass
class Report:
    """What one dispatcher pass did (counts per outcome)."""

    sent: int = 0
    cancelled: int = 0
    postponed: int = 0
    held: int = 0
    failed: int = 0
    stale: int = 0
    in_doubt: int = 0
    lost: int = 0
    """Rows whose claim expired while this dispatcher was on them: another one has them now."""


class Dispatcher:
    """Sends queued touches for every organisation; several may run at once (claims decide)."""

    def __init__(self, runtime: Runtime, *, compose: Compose, send: Send, worker: str = "dispatcher") -> None:
        self.runtime = runtime
        self.compose = compose
        self.send = send
        self.worker = worker
        self._policies: dict[int, Policy] = {}

    def run_once(self, limit: int = 50) -> Report:
        """Recover abandoned rows, then claim up to ``limit`` pending rows and dispatch them. The
        re-check is batched: one ``fetch_invoices`` per organisation for all its claimed touches."""
        report = Report()
        self._policies = {}  # loaded once per organisation and pass
        report.in_doubt = self.recover()
        claimed = self.claim(limit)
        if claimed:
            _crash_point("claimed")
        with self.runtime.sessions() as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))).all() if claimed else []
        by_org: dict[int, list[OutboxMessage]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: r.id):
            by_org[row.organisation_id].append(row)
        for org_id, org_rows in by_org.items():
            try:
                fresh = self._fetch(org_id, org_rows)
            except (PlatformError, PluginError) as exc:
                for row in org_rows:
                    self._count(report, self._postpone(row, f"re-check impossible: {exc}"))
                continue
            for row in org_rows:
                self._count(report, self._dispatch(row.id, fresh))
        return report

    @staticmethod
    def _count(report: Report, outcome: str) -> None:
        setattr(report, outcome, getattr(report, outcome) + 1)

    def _fetch(self, org_id: int, rows: Sequence[OutboxMessage]) -> dict[str, Fetched]:
        """The current state of every invoice of ``rows`` in one batched call, stored as it comes."""
        rt = self.runtime
        with rt.sessions() as session:
            org = session.get_one(Organisation, org_id)
        ids = sorted({i for row in rows for i in row.invoice_ids.split(",")})
        # The re-check writes the organisation's invoices, as a sync does: not both at once.
        with organisation_lock(rt.engine, org_id, wait=LOCK_WAIT, sleep=rt.sleep) as held:
            if not held:
                raise TemporaryFailure(f"organisation {org_id} is busy (another worker is syncing it)")
            platform, access = rt.platform(org.platform), rt.access(org)
            fetched = self._with_pay_links(platform, access, rows, platform.fetch_invoices(access, ids))
            with rt.sessions.begin() as session:
                PageWriter(session, org.id, rt.clock.now()).write(Entity.INVOICE, fetched)
        return {item.external_id: item for item in fetched}

    def _with_pay_links(
        self, platform: Platform, access: OrgAccess, rows: Sequence[OutboxMessage], fetched: Sequence[Fetched]
    ) -> Sequence[Fetched]:
        """For a platform whose pay links cost a call each (:class:`FetchesPayLinks`), the links of
        the invoices these reminders will carry: asked for now, not by the sync, and stored with the
        re-check, so the next reminder costs no call. A link that cannot be had goes unmentioned."""
        if not isinstance(platform, FetchesPayLinks):
            return fetched  # the links came with the invoices
        chased = self._chased(rows)
        wanted = [f for f in fetched if f.external_id in chased and _owed(f) and not _pay_url(f)]
        if not wanted:
            return fetched
        linked = {f.external_id: f for f in platform.with_pay_links(access, wanted)}
        return [linked.get(f.external_id, f) for f in fetched]

    def _chased(self, rows: Sequence[OutboxMessage]) -> set[str]:
        """The invoices of ``rows`` not under a pause today (those the re-check would keep if owed)."""
        today = self.runtime.clock.now().date()
        chased: set[str] = set()
        with self.runtime.sessions() as session:
            for row in rows:
                paused = _paused_invoices(session, row.organisation_id, row.customer_id, today)
                if "*" not in paused:
                    chased.update(set(row.invoice_ids.split(",")) - paused)
        return chased

    # -- claims ----------------------------------------------------------------------------------

    def recover(self) -> int:
        """Rows left ``sending`` by a dead dispatcher become ``in_doubt`` (never re-sent); rows left
        ``claimed`` go back to ``pending`` (nothing was sent). Returns how many this call moved to
        ``in_doubt``."""
        now = self.runtime.clock.now()
        moved_count = 0
        expired = (OutboxMessage.status == OutboxStatus.SENDING.value, OutboxMessage.claimed_at < now - LEASE)
        with self.runtime.sessions.begin() as session:
            doubtful = session.scalars(select(OutboxMessage).where(*expired)).all()
            for row in doubtful:
                # Conditional, so of several dispatchers recovering at once exactly one records it.
                moved = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id, *expired)
                    .values(status=OutboxStatus.IN_DOUBT.value)
                )
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                moved_count += 1
                ActivityLog(session, row.organisation_id).append(
                    kind="reminder_in_doubt",
                    actor=self.worker,
                    occurred_at=now,
                    customer_id=row.customer_id,
                    summary="The dispatcher stopped while sending: this reminder may or may not have gone out. "
                    "Confirm it was sent, or send it again.",
                    data={"outbox_id": row.id, "message_id": row.message_id},
                )
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.CLAIMED.value, OutboxMessage.claimed_at < now - LEASE)
                .values(status=OutboxStatus.PENDING.value, claimed_by=None)
            )
        return moved_count

    def claim(self, limit: int) -> list[int]:
        """Take up to ``limit`` due pending rows: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
        conditional UPDATE whose rowcount must be 1 on SQLite."""
        now = self.runtime.clock.now()
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        claimed: list[int] = []
        with self.runtime.sessions.begin() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            ids = session.scalars(due.with_for_update(skip_locked=True) if postgres else due).all()
            for outbox_id in ids:
                result = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == outbox_id, OutboxMessage.status == OutboxStatus.PENDING.value)
                    .values(
                        status=OutboxStatus.CLAIMED.value,
                        claimed_by=self.worker,
                        claimed_at=now,
                        attempts=OutboxMessage.attempts + 1,
                    )
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(outbox_id)
        return claimed

    # -- one row -----------------------------------------------------------------------------------

    def _dispatch(self, outbox_id: int, fresh: dict[str, Fetched]) -> str:
        rt = self.runtime
        with rt.sessions() as session:
            row = session.get_one(OutboxMessage, outbox_id)
            org = session.get_one(Organisation, row.organisation_id)
            customer = session.get_one(Customer, row.customer_id)
        today = local_today(rt.clock, org.timezone)
        if row.planned_date < today - timedelta(days=STALE_AFTER.days):
            return self._finish(
                row,
                OutboxStatus.STALE,
                "stale",
                f"not sent: planned for {row.planned_date}, "
                "the dispatcher did not run in time; the next run plans afresh",
            )
        kept, dropped = self._recheck(row, fresh)
        self._log_dropped(row, dropped)
        if not kept:
            return self._finish(row, OutboxStatus.CANCELLED, "cancelled", "nothing left to chase: " + _reasons(dropped))
        policy = self._policy(org)
        total = sum((i.balance for i in kept[1:]), kept[0].balance)
        if total.amount < policy.min_balance:
            return self._finish(
                row, OutboxStatus.CANCELLED, "cancelled", f"below the minimum balance after the re-check ({total})"
            )
        recipients = _recipients(rt, customer.id)
        if not recipients:
            return self._finish(row, OutboxStatus.CANCELLED, "cancelled", "the customer has no address for reminders")
        draft = _build_draft(row, org, customer, kept, today, recipients)
        try:
            composed = self.compose(draft)
        except ComposeFailed as exc:
            return self._finish(row, OutboxStatus.HELD, "held", f"template failed: {exc}")
        return self._send(row, draft, composed)

    def current_draft(self, outbox_id: int) -> Draft | None:
        """The touch as it stands now: its invoices re-read from the platform, with the fresh
        balances (for a letter a person prints); None when nothing is left to chase."""
        rt = self.runtime
        with rt.sessions() as session:
            row = session.get_one(OutboxMessage, outbox_id)
            org = session.get_one(Organisation, row.organisation_id)
            customer = session.get_one(Customer, row.customer_id)
        kept, _ = self._recheck(row, self._fetch(org.id, [row]))
        if not kept:
            return None
        return _build_draft(row, org, customer, kept, local_today(rt.clock, org.timezone), _recipients(rt, customer.id))

    def _policy(self, org: Organisation) -> Policy:
        """The organisation's active policy (for the threshold after the re-check), once per pass."""
        if org.id not in self._policies:
            with self.runtime.sessions() as session:
                self._policies[org.id] = load_policy(session, org)[0]
        return self._policies[org.id]

    def _recheck(
        self, row: OutboxMessage, fresh: dict[str, Fetched]
    ) -> tuple[list[model.Invoice], list[tuple[str, str]]]:
        """Split the touch's invoices, as just re-read from the platform, into what is still owed
        and what is dropped (with the reason)."""
        rt = self.runtime
        with rt.sessions() as session:
            paused = _paused_invoices(session, row.organisation_id, row.customer_id, rt.clock.now().date())
        missing = Fetched(Entity.INVOICE, "", None, {}, deleted=True)
        fetched = [fresh.get(i, replace(missing, external_id=i)) for i in row.invoice_ids.split(",")]
        kept, dropped = [], []
        for item in fetched:
            record = item.record
            if item.deleted or not isinstance(record, model.Invoice):
                dropped.append((item.external_id, "deleted"))
            elif record.status is not model.InvoiceStatus.OPEN:
                dropped.append((item.external_id, record.status.value))
            elif record.balance.amount <= 0:
                dropped.append((item.external_id, "paid"))
            elif item.external_id in paused or "*" in paused:
                dropped.append((item.external_id, "paused"))
            else:
                kept.append(record)
        return kept, dropped

    def _send(self, row: OutboxMessage, draft: Draft, composed: Any) -> str:
        rt = self.runtime
        with rt.sessions.begin() as session:  # committed before anything leaves: a crash now is "in doubt"
            taken = session.execute(
                update(OutboxMessage)
                .where(*self._ours(OutboxStatus.CLAIMED))
                .where(OutboxMessage.id == row.id)
                .values(status=OutboxStatus.SENDING.value, message_id=draft.message_id, claimed_at=rt.clock.now())
            )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return self._lost(row)
        _crash_point("sending")
        try:
            self.send(draft, composed)
            _crash_point("accepted")
        except SendFailed as exc:
            if exc.in_doubt:
                return self._finish(row, OutboxStatus.IN_DOUBT, "in_doubt", f"may or may not have been sent: {exc}")
            if exc.permanent or row.attempts >= MAX_ATTEMPTS:
                return self._finish(row, OutboxStatus.FAILED, "failed", f"sending failed: {exc}")
            return self._postpone(row, f"sending failed, will retry: {exc}")
        subject = getattr(composed, "subject", "")
        self._finish(
            row,
            OutboxStatus.SENT,
            "sent",
            f"sent to {', '.join(draft.recipients)}: {subject}",
            data={
                "recipients": list(draft.recipients),
                "subject": subject,
                "total": draft.total.cents(),
                "invoices": [{"id": i.id, "number": i.number, "balance": i.balance.cents()} for i in draft.invoices],
            },
        )
        _crash_point("sent")
        self.write_notes(row.id)
        return "sent"

    def write_notes(self, outbox_id: int) -> bool:
        """Write the reminder note on each invoice at the platform; a failure is logged and left for
        a later pass (:meth:`retry_notes`), and never repeats the email."""
        rt = self.runtime
        with rt.sessions() as session:
            row = session.get_one(OutboxMessage, outbox_id)
            org = session.get_one(Organisation, row.organisation_id)
        if row.note_written_at is not None or row.status != OutboxStatus.SENT.value:
            return True
        text = (
            f"arcadence: reminder level {row.level} ({row.step_key}) sent "
            f"{row.sent_at:%Y-%m-%d} for {row.payload.get('amount_due', '')} {row.currency}"
        )[:NOTE_LIMIT]
        try:
            platform, access = rt.platform(org.platform), rt.access(org)
            for invoice_id in row.invoice_ids.split(","):
                platform.write_note(access, invoice_id, text, idempotency_key=f"{row.dedupe_key[:40]}-{invoice_id}")
        except (PlatformError, PluginError) as exc:
            log.warning("note for outbox %s not written yet: %s", outbox_id, exc)
            return False
        with rt.sessions.begin() as session:
            session.get_one(OutboxMessage, outbox_id).note_written_at = rt.clock.now()
        return True

    def retry_notes(self) -> int:
        """Write the notes still missing after a send; returns how many rows are complete now."""
        with self.runtime.sessions() as session:
            ids = session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.note_written_at.is_(None)
                )
            ).all()
        return sum(self.write_notes(i) for i in ids)

    # -- outcomes ------------------------------------------------------------------------------------

    def _finish(
        self, row: OutboxMessage, status: OutboxStatus, outcome: str, why: str, data: dict[str, Any] | None = None
    ) -> str:
        now = self.runtime.clock.now()
        with self.runtime.sessions.begin() as session:
            fresh = session.get_one(OutboxMessage, row.id, with_for_update=True, populate_existing=True)
            if fresh.claimed_by != self.worker or fresh.status not in _MINE:
                return self._lost(row)
            fresh.status, fresh.last_error = status.value, None if status is OutboxStatus.SENT else why
            if status is OutboxStatus.SENT:
                fresh.sent_at = now
            ActivityLog(session, row.organisation_id).append(
                kind=f"reminder_{outcome}",
                actor=self.worker,
                occurred_at=now,
                customer_id=row.customer_id,
                summary=why,
                data={"outbox_id": row.id, "level": row.level, "step": row.step_key, **(data or {})},
            )
        log.info("outbox %s: %s (%s)", row.id, outcome, why if status is not OutboxStatus.SENT else "")
        return outcome

    def _ours(self, *states: OutboxStatus) -> tuple[ColumnElement[bool], ...]:
        """The row is still this dispatcher's: its claim did not expire and go to another one."""
        return OutboxMessage.claimed_by == self.worker, OutboxMessage.status.in_([s.value for s in states])

    def _lost(self, row: OutboxMessage) -> str:
        log.warning("outbox %s: the claim of %s expired meanwhile; left to its new owner", row.id, self.worker)
        return "lost"

    def _postpone(self, row: OutboxMessage, why: str) -> str:
        delay = BACKOFF[min(row.attempts, len(BACKOFF)) - 1] if row.attempts else BACKOFF[0]
        with self.runtime.sessions.begin() as session:
            moved = session.execute(
                update(OutboxMessage)
                .where(*self._ours(OutboxStatus.CLAIMED, OutboxStatus.SENDING))
                .where(OutboxMessage.id == row.id)
                .values(
                    status=OutboxStatus.PENDING.value,
                    not_before=self.runtime.clock.now() + delay,
                    last_error=why,
                    claimed_by=None,
                )
            )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return self._lost(row)
        log.info("outbox %s postponed by %s: %s", row.id, delay, why)
        return "postponed"

    def _log_dropped(self, row: OutboxMessage, dropped: Sequence[tuple[str, str]]) -> None:
        if not dropped:
            return
        with self.runtime.sessions.begin() as session:
            ActivityLog(session, row.organisation_id).append(
                kind="reminder_invoices_dropped",
                actor=self.worker,
                occurred_at=self.runtime.clock.now(),
                customer_id=row.customer_id,
                summary="left out after the re-check: " + _reasons(dropped),
                data={"outbox_id": row.id, "dropped": [{"id": i, "reason": r} for i, r in dropped]},
            )


def _build_draft(
    row: OutboxMessage,
    org: Organisation,
    customer: Customer,
    kept: Sequence[model.Invoice],
    today: date,
    recipients: tuple[str, ...],
) -> Draft:
    return Draft(
        outbox_id=row.id,
        message_id=message_id(row),
        organisation=org,
        customer_name=customer.name,
        language=row.payload.get("language", customer.language),
        recipients=recipients,
        level=row.level,
        step=row.step_key,
        template=row.template_key,
        today=today,
        invoices=tuple(kept),
        total=sum((i.balance for i in kept[1:]), kept[0].balance),
        payload=dict(row.payload),
    )


def message_id(row: OutboxMessage) -> str:
    """A Message-ID that is the same for the same outbox row, whoever sends it."""
    return f"<{row.dedupe_key[:40]}.{row.id}@arcadence.invalid>"


def _recipients(runtime: Runtime, customer_id: int) -> tuple[str, ...]:
    with runtime.sessions() as session:
        contacts = session.scalars(
            select(Contact)
            .where(Contact.customer_id == customer_id, Contact.include_in_reminders.is_(True))
            .order_by(Contact.position)
        ).all()
        return tuple(dict.fromkeys(c.email for c in contacts))


def _paused_invoices(session: Session, org_id: int, customer_id: int, today: date) -> set[str]:
    """External ids of the customer's invoices under a pause today; ``"*"`` for a customer-wide one."""
    pauses = session.scalars(
        select(Pause).where(
            Pause.organisation_id == org_id, Pause.customer_id == customer_id, Pause.lifted_at.is_(None)
        )
    ).all()
    result: set[str] = set()
    for pause in pauses:
        if pause.until_date is not None and pause.until_date < today:
            continue
        if pause.invoice_id is None:
            result.add("*")
        else:
            external = session.scalar(select(Invoice.external_id).where(Invoice.id == pause.invoice_id))
            if external:
                result.add(external)
    return result


def _owed(item: Fetched) -> bool:
    record = item.record
    return (
        not item.deleted
        and isinstance(record, model.Invoice)
        and record.status is model.InvoiceStatus.OPEN
        and record.balance.amount > 0
    )


def _pay_url(item: Fetched) -> str | None:
    return item.record.pay_url if isinstance(item.record, model.Invoice) else None


def _reasons(dropped: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{invoice} ({reason})" for invoice, reason in dropped) or "no invoices"
