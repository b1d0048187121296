"""The dispatcher on a real store and the QuickBooks sandbox (the re-check is a real API call);
composing and sending are our own ports, faked here (the SMTP path is tested with aiosmtpd)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import select

from connector.db import Activity, OutboxMessage
from connector.dispatch import ComposeFailed, Dispatcher, Draft, SendFailed
from connector.outbox import collect
from tests.contract.quickbooks import QuickBooksHarness


@dataclass
class Composed:
    subject: str


@dataclass
class Postbox:
    """The sending port: records what went out; can fail or crash on demand."""

    sent: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    fail: SendFailed | None = None
    crash: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def compose(self, draft: Draft) -> Composed:
        return Composed(subject=f"level {draft.level}: {draft.total}")

    def send(self, draft: Draft, composed: Composed) -> None:
        if self.crash:
            raise KeyboardInterrupt("the process dies while talking to the SMTP server")
        if self.fail is not None:
            raise self.fail
        with self.lock:
            self.sent.append((draft.message_id, draft.recipients, tuple(i.id for i in draft.invoices)))


@pytest.fixture
def qbo(qbo_connected: QuickBooksHarness) -> QuickBooksHarness:
    qbo_connected.sync()
    return qbo_connected


def _queue(h: QuickBooksHarness) -> list[OutboxMessage]:
    collect(h.runtime.sessions, h.server.organisation_id("quickbooks"), h.runtime.clock)
    with h.runtime.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")))


def _statuses(h: QuickBooksHarness) -> dict[int, str]:
    with h.runtime.sessions() as session:
        return {r.id: r.status for r in session.scalars(select(OutboxMessage))}


def test_every_queued_touch_is_sent_once(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    postbox = Postbox()
    dispatcher = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send)
    report = dispatcher.run_once(limit=500)
    assert report.sent == len(queued) == len(postbox.sent) > 0
    assert dispatcher.run_once(limit=500).sent == 0 and len(postbox.sent) == len(queued)
    assert set(_statuses(qbo).values()) == {"sent"}
    assert len({m for m, _, _ in postbox.sent}) == len(postbox.sent)  # distinct, stable Message-IDs


def test_an_invoice_paid_after_planning_is_left_out_and_a_fully_paid_touch_cancelled(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    multi = next(r for r in queued if "," in r.invoice_ids)
    single = next(r for r in queued if "," not in r.invoice_ids)
    paid_one = multi.invoice_ids.split(",")[0]
    qbo.pay(paid_one)
    qbo.pay(single.invoice_ids)
    postbox = Postbox()
    Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    sent_invoices = {i for _, _, invoices in postbox.sent for i in invoices}
    assert paid_one not in sent_invoices and single.invoice_ids not in sent_invoices
    assert _statuses(qbo)[single.id] == "cancelled" and _statuses(qbo)[multi.id] == "sent"
    with qbo.runtime.sessions() as session:
        kinds = {a.kind for a in session.scalars(select(Activity))}
    assert {"reminder_invoices_dropped", "reminder_cancelled", "reminder_sent"} <= kinds


def test_a_platform_outage_during_the_recheck_postpones_and_sends_nothing(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    qbo.sandbox.inject_fault("/v3/company/", status=503, times=1000)
    postbox = Postbox()
    report = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    assert postbox.sent == [] and report.postponed == len(queued)
    with qbo.runtime.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert all(r.status == "pending" and r.not_before is not None for r in rows)


def test_a_failing_template_holds_the_touch(qbo: QuickBooksHarness) -> None:
    _queue(qbo)

    def broken(draft: Draft) -> Composed:
        raise ComposeFailed("friendly_reminder (en): 'customer_nme' is undefined")

    postbox = Postbox()
    report = Dispatcher(qbo.runtime, compose=broken, send=postbox.send).run_once(limit=500)
    assert postbox.sent == [] and report.held > 0 and set(_statuses(qbo).values()) == {"held"}


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        pytest.param(SendFailed("550 mailbox unavailable", permanent=True), "failed", id="5xx"),
        pytest.param(SendFailed("451 try later", permanent=False), "pending", id="4xx"),
        pytest.param(
            SendFailed("no reply after the data", permanent=False, in_doubt=True), "in_doubt", id="reply-lost"
        ),
    ],
)
def test_send_failures_fail_retry_or_are_in_doubt(qbo: QuickBooksHarness, failure: SendFailed, status: str) -> None:
    _queue(qbo)
    postbox = Postbox(fail=failure)
    Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    assert set(_statuses(qbo).values()) == {status}


def test_a_crash_while_sending_leaves_the_touch_in_doubt_and_it_is_never_resent(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    crashing = Postbox(crash=True)
    with pytest.raises(KeyboardInterrupt):
        Dispatcher(qbo.runtime, compose=crashing.compose, send=crashing.send).run_once(limit=500)
    assert _statuses(qbo)[queued[0].id] == "sending"
    qbo.runtime.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]  # the lease runs out
    postbox = Postbox()
    report = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    assert report.in_doubt == 1 and _statuses(qbo)[queued[0].id] == "in_doubt"
    assert queued[0].id not in {int(m.split(".")[1].split("@")[0]) for m, _, _ in postbox.sent}


def test_two_dispatchers_at_once_send_each_touch_once(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    postbox = Postbox()
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send, worker=name).run_once(limit=500)

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ids = [m for m, _, _ in postbox.sent]
    assert len(ids) == len(set(ids)) == len(queued)


def test_a_touch_left_pending_past_its_day_goes_stale_not_out(qbo: QuickBooksHarness) -> None:
    _queue(qbo)
    qbo.runtime.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    postbox = Postbox()
    report = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    assert postbox.sent == [] and report.stale > 0 and set(_statuses(qbo).values()) == {"stale"}


def test_after_sending_a_note_is_written_back_once(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    postbox = Postbox()
    dispatcher = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send)
    dispatcher.run_once(limit=500)
    first = queued[0].invoice_ids.split(",")[0]
    assert len(qbo.notes_on(first)) == 1
    dispatcher.retry_notes()
    assert len(qbo.notes_on(first)) == 1


def test_a_failed_write_back_never_repeats_the_email_and_is_retried(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    qbo.sandbox.inject_fault("*/attachable", status=500, times=10_000)
    postbox = Postbox()
    dispatcher = Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send)
    dispatcher.run_once(limit=500)
    with qbo.runtime.sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert all(r.status == "sent" and r.note_written_at is None for r in rows)
    qbo.sandbox.faults.clear()  # the platform accepts notes again
    assert dispatcher.retry_notes() == len(queued)
    assert len(postbox.sent) == len(queued)  # no email went out again


def test_the_recheck_is_batched_one_query_per_100_invoices(qbo: QuickBooksHarness) -> None:
    queued = _queue(qbo)
    invoices = {i for row in queued for i in row.invoice_ids.split(",")}
    qbo.sandbox.reset_call_counts()
    postbox = Postbox()
    Dispatcher(qbo.runtime, compose=postbox.compose, send=postbox.send).run_once(limit=500)
    queries = qbo.sandbox.call_details().get("query:Invoice", 0)
    assert len(queued) > 10 and queries == -(-len(invoices) // 100)  # ceil: not one call per touch
