"""One contract, every platform: connect, sync fully and incrementally, and end with the store
equal to the sandbox's truth."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from connector.db import Connection, Invoice, Organisation, QuarantinedRecord, User
from connector.tokens import TokenStore
from tests.contract.harness import Harness, queue_reminder, send_reminders, text_of
from tests.integration.smtp_server import SmtpServer


def test_connect_signs_in_and_stores_the_company_with_encrypted_tokens(harness: Harness) -> None:
    org_id = harness.connect()
    with harness.runtime.sessions() as session:
        org = session.get_one(Organisation, org_id)
        assert org.name and org.country and org.base_currency and org.timezone
        connection = session.get_one(Connection, org.connection_id)
        assert connection.status == "active" and connection.refresh_token_enc is not None
        tokens = TokenStore(harness.runtime.cipher).load(connection)
        assert tokens.refresh_token.encode() not in connection.refresh_token_enc
        assert tokens.access_expires_at > harness.runtime.clock.now()
        assert session.scalars(select(User)).one().email  # the consent signed the person in


def test_full_sync_makes_the_store_equal_to_the_sandbox(connected: Harness) -> None:
    reports = connected.sync()
    truth = connected.truth()
    assert len(truth) >= 300
    assert connected.stored() == truth
    assert {r.entity.value for r in reports if r.written} >= {"customer", "invoice", "payment"}


def test_incremental_sync_picks_up_every_kind_of_change(connected: Harness) -> None:
    connected.sync()
    invoices = iter(sorted(i for i, (status, _) in connected.truth().items() if status == "open"))
    paid, partial, credited, voided, deleted = (next(invoices) for _ in range(5))
    customer = connected.some_customer()
    new = connected.create_invoice(customer, "250.00")
    connected.pay(paid)
    connected.pay(partial, "10.00")
    connected.credit(credited, "5.00")
    connected.void(voided)
    connected.delete(deleted)
    connected.set_email(customer, "new-ap@example.test")
    connected.sync()
    stored, truth = connected.stored(), connected.truth()
    assert {k: v for k, v in stored.items() if v[0] != "deleted"} == truth
    assert stored[deleted][0] == "deleted" and deleted not in truth
    assert stored[new] == ("open", Decimal("250.00"))
    assert stored[paid] == ("paid", Decimal("0.00")) and stored[voided][0] == "voided"
    assert connected.stored_emails(customer)[0] == "new-ap@example.test"


def test_a_malformed_record_is_quarantined_and_the_rest_synced(connected: Harness) -> None:
    bad = connected.add_malformed_invoice()
    connected.sync()
    assert bad not in connected.stored()
    assert connected.stored() == connected.truth()
    with connected.runtime.sessions() as session:
        row = session.scalars(select(QuarantinedRecord)).one()
        assert row.external_id == bad and row.payload and row.error


def test_a_sent_reminder_carries_the_pay_link_and_the_next_one_costs_no_pay_link_call(connected: Harness) -> None:
    before = connected.pay_link_calls()
    connected.sync()
    assert connected.pay_link_calls() == before  # the sync asks for no link (Xero: 6,000 open would eat the day)
    invoice = connected.payable_invoice()
    with SmtpServer() as smtp:
        queue_reminder(connected.runtime, invoice, "first")
        [first] = send_reminders(connected.runtime, smtp)
        assert connected.pay_link_calls() - before == connected.pay_link_calls_per_invoice
        with connected.runtime.sessions() as session:
            row = session.scalars(select(Invoice).where(Invoice.external_id == invoice)).one()
            url, fetched_at = row.pay_url, row.pay_url_fetched_at
        assert url and re.match(r"https?://", url) and fetched_at is not None  # stored with the re-check
        assert url in text_of(first)

        queue_reminder(connected.runtime, invoice, "second")
        [second] = send_reminders(connected.runtime, smtp)
    assert connected.pay_link_calls() - before == connected.pay_link_calls_per_invoice  # none for a known link
    assert url in text_of(second)


def test_invoices_carry_their_payment_terms(connected: Harness) -> None:
    connected.sync()
    with connected.runtime.sessions() as session:
        terms = set(session.scalars(select(Invoice.terms)))
    assert terms - {""}, "no invoice has payment terms"
    assert all(t == t.strip() for t in terms)
