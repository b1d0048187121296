"""The sync engine with a scripted platform (our own port; the real plugins are covered by the
contract suite against their sandboxes): upserts, cursors per page, quarantine, crash safety."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.db import (
    Contact,
    Credit,
    Customer,
    Firm,
    Invoice,
    Organisation,
    Payment,
    PaymentAllocation,
    QuarantinedRecord,
    SyncCursor,
)
from connector.platform import BadRecord, ChangePage, Entity, Fetched, OrgAccess
from connector.sync import EntityReport, reconcile_open_invoices, sync_organisation
from core import model
from core.model import money

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
T1, T2 = NOW - timedelta(hours=2), NOW - timedelta(hours=1)


def customer(cid: str, *emails: str, name: str = "Acme GmbH") -> Fetched:
    record = model.Customer(id=cid, name=name, emails=emails, language="en")
    return Fetched(Entity.CUSTOMER, cid, record, {"Id": cid})


def invoice(
    iid: str, cid: str, balance: str = "100.00", status: model.InvoiceStatus = model.InvoiceStatus.OPEN
) -> Fetched:
    record = model.Invoice(
        id=iid,
        customer_id=cid,
        number=f"10{iid}",
        issue_date=date(2026, 1, 15),
        due_date=date(2026, 2, 14),
        total=money("100.00", "EUR"),
        balance=money(balance, "EUR"),
        status=status,
    )
    return Fetched(Entity.INVOICE, iid, record, {"Id": iid})


def deleted(entity: Entity, ext: str) -> Fetched:
    return Fetched(entity, ext, None, {"Id": ext, "status": "Deleted"}, deleted=True)


def bad(ext: str, field: str = "TotalAmt") -> BadRecord:
    return BadRecord(Entity.INVOICE, ext, field, "not a number: 'abc'", {"Id": ext, "TotalAmt": "abc"})


class ScriptedPlatform:
    """Yields the scripted pages per entity; raises where a page is an exception."""

    name = "scripted"
    entities = (Entity.CUSTOMER, Entity.INVOICE, Entity.PAYMENT, Entity.CREDIT_NOTE)

    def __init__(self, pages: dict[Entity, Sequence[ChangePage | Exception]]) -> None:
        self.pages = pages
        self.since: dict[Entity, datetime | None] = {}
        self.fetched_ids: list[str] = []
        self.current: dict[str, Fetched] = {}

    def fetch_changes(self, org: OrgAccess, since: Mapping[Entity, datetime | None]) -> Iterator[ChangePage]:
        self.since.update(since)
        for entity in since:
            for page in self.pages.get(entity, ()):
                if isinstance(page, Exception):
                    raise page
                yield page

    def fetch_invoices(self, org: OrgAccess, ids: Sequence[str]) -> Sequence[Fetched]:
        self.fetched_ids += ids
        return [self.current[i] for i in ids if i in self.current]


ACCESS = OrgAccess("realm-1", tokens=None)  # type: ignore[arg-type]


def _org(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        org = Organisation(
            firm=Firm(name="F", created_at=NOW), platform="scripted", external_id="realm-1", name="O", created_at=NOW
        )
        session.add(org)
        session.flush()
        return org.id


def _sync(sessions: sessionmaker[Session], org_id: int, platform: ScriptedPlatform, entity: Entity) -> EntityReport:
    reports = sync_organisation(sessions, org_id, platform, ACCESS, FixedClock(NOW), entities=[entity])  # type: ignore[arg-type]
    return reports[0]


def test_first_sync_stores_records_and_the_cursor(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    platform = ScriptedPlatform(
        {
            Entity.CUSTOMER: [
                ChangePage(Entity.CUSTOMER, (customer("C1", "ap@acme.example", "billing@acme.example"),), (), T1)
            ],
            Entity.INVOICE: [
                ChangePage(Entity.INVOICE, (invoice("1", "C1"), invoice("2", "C1", "40.00")), (), None),
                ChangePage(Entity.INVOICE, (invoice("3", "C1"),), (), T2),
            ],
        }
    )
    reports = sync_organisation(sessions, org_id, platform, ACCESS, FixedClock(NOW))  # type: ignore[arg-type]
    assert [(r.entity, r.pages, r.written) for r in reports[:2]] == [(Entity.CUSTOMER, 1, 1), (Entity.INVOICE, 2, 3)]
    with sessions() as session:
        assert session.scalars(select(Invoice.balance).order_by(Invoice.external_id)).all() == [
            Decimal("100.00"),
            Decimal("40.00"),
            Decimal("100.00"),
        ]
        emails = session.scalars(select(Contact.email).order_by(Contact.position)).all()
        assert emails == ["ap@acme.example", "billing@acme.example"]
        cursors = {c.entity: c.cursor_at for c in session.scalars(select(SyncCursor))}
        assert cursors == {"customer": T1, "invoice": T2}
        assert session.get_one(Organisation, org_id).last_sync_at == NOW


def test_the_next_sync_starts_from_the_stored_cursor(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C1"),), (), T1)]}),
        Entity.INVOICE,
    )
    later = ScriptedPlatform(
        {Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C1", "0.00", model.InvoiceStatus.PAID),), (), T2)]}
    )
    _sync(sessions, org_id, later, Entity.INVOICE)
    assert later.since[Entity.INVOICE] == T1
    with sessions() as session:
        row = session.scalars(select(Invoice)).one()
        assert (row.status, row.balance) == ("paid", Decimal("0.00"))


def test_a_failure_mid_sync_keeps_earlier_pages_and_never_moves_the_cursor_past_unstored_data(
    sessions: sessionmaker[Session],
) -> None:
    org_id = _org(sessions)
    platform = ScriptedPlatform(
        {
            Entity.INVOICE: [
                ChangePage(Entity.INVOICE, (invoice("1", "C1"),), (), T1),
                RuntimeError("connection reset on page 2"),
                ChangePage(Entity.INVOICE, (invoice("3", "C1"),), (), T2),
            ]
        }
    )
    with pytest.raises(RuntimeError):
        _sync(sessions, org_id, platform, Entity.INVOICE)
    with sessions() as session:
        assert session.scalars(select(Invoice.external_id)).all() == ["1"]
        assert session.scalars(select(SyncCursor.cursor_at)).one() == T1


def test_a_page_without_a_cursor_is_stored_but_leaves_the_cursor_alone(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    platform = ScriptedPlatform(
        {Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C1"),), (), None), RuntimeError("page 2")]}
    )
    with pytest.raises(RuntimeError):
        _sync(sessions, org_id, platform, Entity.INVOICE)
    with sessions() as session:
        assert session.scalars(select(Invoice.external_id)).all() == ["1"]
        assert session.scalars(select(SyncCursor)).all() == []  # the next sync reads everything again


def test_a_bad_record_is_quarantined_with_its_payload_and_the_rest_goes_on(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    platform = ScriptedPlatform(
        {Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C1"), invoice("3", "C1")), (bad("2"),), T1)]}
    )
    report = _sync(sessions, org_id, platform, Entity.INVOICE)
    assert report.quarantined == 1  # type: ignore[attr-defined]
    with sessions() as session:
        assert session.scalars(select(Invoice.external_id).order_by(Invoice.external_id)).all() == ["1", "3"]
        row = session.scalars(select(QuarantinedRecord)).one()
        assert (row.entity, row.external_id, row.field, row.occurrences) == ("invoice", "2", "TotalAmt", 1)
        assert '"TotalAmt": "abc"' in row.payload and row.resolved_at is None
        assert session.scalars(select(SyncCursor.cursor_at)).one() == T1


def test_a_repeat_offender_is_counted_and_resolved_once_it_maps(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    for _ in range(2):
        _sync(
            sessions,
            org_id,
            ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (), (bad("2"),), T1)]}),
            Entity.INVOICE,
        )
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("2", "C1"),), (), T2)]}),
        Entity.INVOICE,
    )
    with sessions() as session:
        row = session.scalars(select(QuarantinedRecord)).one()
        assert row.occurrences == 2 and row.resolved_at == NOW


def test_a_record_without_a_readable_id_is_still_quarantined(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    page = ChangePage(
        Entity.INVOICE, (), (bad("", "Id"), BadRecord(Entity.INVOICE, "", "Id", "missing", {"odd": 1})), T1
    )
    _sync(sessions, org_id, ScriptedPlatform({Entity.INVOICE: [page]}), Entity.INVOICE)
    with sessions() as session:
        assert len(session.scalars(select(QuarantinedRecord)).all()) == 2


def test_deletions_mark_rows_instead_of_losing_them(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C1"),), (), T1)]}),
        Entity.INVOICE,
    )
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (deleted(Entity.INVOICE, "1"),), (), T2)]}),
        Entity.INVOICE,
    )
    with sessions() as session:
        assert session.scalars(select(Invoice.status)).one() == "deleted"


def test_an_invoice_before_its_customer_gets_a_placeholder_that_the_customer_sync_fills(
    sessions: sessionmaker[Session],
) -> None:
    org_id = _org(sessions)
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.INVOICE: [ChangePage(Entity.INVOICE, (invoice("1", "C9"),), (), T1)]}),
        Entity.INVOICE,
    )
    _sync(
        sessions,
        org_id,
        ScriptedPlatform({Entity.CUSTOMER: [ChangePage(Entity.CUSTOMER, (customer("C9", name="Late GmbH"),), (), T1)]}),
        Entity.CUSTOMER,
    )
    with sessions() as session:
        assert session.scalars(select(Customer.name)).all() == ["Late GmbH"]


def test_local_settings_of_a_customer_survive_a_sync(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    first = ScriptedPlatform(
        {
            Entity.CUSTOMER: [
                ChangePage(Entity.CUSTOMER, (customer("C1", "ap@acme.example", "old@acme.example"),), (), T1)
            ]
        }
    )
    _sync(sessions, org_id, first, Entity.CUSTOMER)
    with sessions.begin() as session:
        row = session.scalars(select(Customer)).one()
        row.language, row.excluded = "de", True
        row.contacts[0].include_in_reminders = False
    second = ScriptedPlatform(
        {
            Entity.CUSTOMER: [
                ChangePage(Entity.CUSTOMER, (customer("C1", "new@acme.example", "AP@acme.example"),), (), T2)
            ]
        }
    )
    _sync(sessions, org_id, second, Entity.CUSTOMER)
    with sessions() as session:
        row = session.scalars(select(Customer)).one()
        assert (row.language, row.excluded) == ("de", True)
        contacts = sorted(row.contacts, key=lambda c: c.position)
        assert [(c.email, c.include_in_reminders) for c in contacts] == [
            ("new@acme.example", True),
            ("ap@acme.example", False),
        ]


def test_payments_store_their_allocations_and_unapplied_amount(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    payment = model.Payment(
        "P1", "C1", date(2026, 3, 1), money("150.00", "EUR"), (model.Allocation("1", money("100.00", "EUR")),)
    )
    _sync(
        sessions,
        org_id,
        ScriptedPlatform(
            {Entity.PAYMENT: [ChangePage(Entity.PAYMENT, (Fetched(Entity.PAYMENT, "P1", payment, {}),), (), T1)]}
        ),
        Entity.PAYMENT,
    )
    changed = model.Payment(
        "P1",
        "C1",
        date(2026, 3, 1),
        money("150.00", "EUR"),
        (model.Allocation("1", money("100.00", "EUR")), model.Allocation("2", money("50.00", "EUR"))),
    )
    _sync(
        sessions,
        org_id,
        ScriptedPlatform(
            {Entity.PAYMENT: [ChangePage(Entity.PAYMENT, (Fetched(Entity.PAYMENT, "P1", changed, {}),), (), T2)]}
        ),
        Entity.PAYMENT,
    )
    with sessions() as session:
        row = session.scalars(select(Payment)).one()
        assert row.unapplied_amount == Decimal("0.00")
        allocations = session.scalars(
            select(PaymentAllocation.invoice_external_id).order_by(PaymentAllocation.id)
        ).all()
        assert allocations == ["1", "2"]


def test_credit_notes_store_what_remains(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    credit = model.Credit("CM1", "C1", money("30.00", "EUR"), number="CN-7", total=money("50.00", "EUR"))
    page = ChangePage(Entity.CREDIT_NOTE, (Fetched(Entity.CREDIT_NOTE, "CM1", credit, {}),), (), T1)
    _sync(sessions, org_id, ScriptedPlatform({Entity.CREDIT_NOTE: [page]}), Entity.CREDIT_NOTE)
    with sessions() as session:
        row = session.scalars(select(Credit)).one()
        assert (row.kind, row.remaining, row.total, row.number, row.status) == (
            "credit_note",
            Decimal("30.00"),
            Decimal("50.00"),
            "CN-7",
            "open",
        )


def test_reconcile_re_reads_every_open_invoice(sessions: sessionmaker[Session]) -> None:
    org_id = _org(sessions)
    first = ScriptedPlatform(
        {
            Entity.INVOICE: [
                ChangePage(
                    Entity.INVOICE,
                    (invoice("1", "C1"), invoice("2", "C1"), invoice("3", "C1", "0.00", model.InvoiceStatus.PAID)),
                    (),
                    T1,
                )
            ]
        }
    )
    _sync(sessions, org_id, first, Entity.INVOICE)
    truth = ScriptedPlatform({})
    truth.current = {"1": invoice("1", "C1", "0.00", model.InvoiceStatus.PAID), "2": invoice("2", "C1", "60.00")}
    assert reconcile_open_invoices(sessions, org_id, truth, ACCESS, FixedClock(NOW)) == 2  # type: ignore[arg-type]
    assert truth.fetched_ids == ["1", "2"]
    with sessions() as session:
        rows = {r.external_id: (r.status, r.balance) for r in session.scalars(select(Invoice))}
    assert rows == {"1": ("paid", Decimal("0.00")), "2": ("open", Decimal("60.00")), "3": ("paid", Decimal("0.00"))}
