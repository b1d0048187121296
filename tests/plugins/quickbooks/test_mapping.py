"""QBO JSON → core.model: every entity-holding sample mapped and checked field by field.

The samples in ``samples/`` are byte-exact copies of ``../shared/api-samples/quickbooks/`` (see
``samples/SOURCES.md``). The expected values in the tables below were read off the JSON by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.platform import BadRecord, Entity, Fetched
from core.model import Allocation, Credit, CreditKind, Customer, Invoice, InvoiceStatus, Payment, money
from plugins.quickbooks.mapping import (
    ENTITY_NAMES,
    MappingError,
    Term,
    derive_paid_date,
    invoice_emails,
    map_credit_memo,
    map_customer,
    map_invoice,
    map_payment,
    map_record,
    map_term,
    map_unapplied_payment,
    parse_qbo_datetime,
    unapplied_credit,
)

SAMPLES = Path(__file__).parent / "samples"
HOME = "USD"
OPEN, PAID, VOIDED = InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOIDED
DROP = object()
"""An override value meaning: remove the key."""


def load(name: str) -> Any:
    """A sample parsed the way the client parses responses: numbers as Decimal (notes §1.4)."""
    return json.loads((SAMPLES / name).read_bytes(), parse_float=Decimal)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def usd(amount: str) -> Any:
    return money(amount, "USD")


def fetched(entity: Entity, raw: Any, home: str = HOME) -> Fetched:
    result = map_record(entity, raw, home_currency=home)
    assert isinstance(result, Fetched), result
    return result


def bad(entity: Entity, raw: Any, home: str = HOME) -> BadRecord:
    result = map_record(entity, raw, home_currency=home)
    assert isinstance(result, BadRecord), result
    return result


def changed(raw: Mapping[str, Any], **overrides: Any) -> dict[str, Any]:
    """A copy of ``raw`` with keys replaced (or removed with ``DROP``)."""
    out = dict(raw)
    for key, value in overrides.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


INVOICE_130 = load("invoice_get_with_invoicelink.nango-sandbox.json")["Invoice"]
PAYMENT_125 = load("payment_applied_to_invoice.intuit-docs.json")["Payment"]
CUSTOMER_1 = load("customer_get.nango-sandbox.json")["Customer"]
MEMO_184 = load("credit_memo_get.nango-sandbox.json")["CreditMemo"]


# --- invoices ---------------------------------------------------------------------------------

# (Id, DocNumber, CustomerRef, TxnDate, DueDate, TotalAmt, Balance, status, LastUpdatedTime)
INVOICE_PAGE = [
    ("130", "1037", "24", "2026-04-08", "2026-05-08", "362.07", "362.07", OPEN, "2026-05-05T03:13:29-07:00"),
    ("161", "1043", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:11:27-07:00"),
    ("155", "1042", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:08:55-07:00"),
    ("152", "1041", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:07:57-07:00"),
    ("149", "1040", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:06:41-07:00"),
    ("103", "1033", "10", "2026-04-07", "2026-05-07", "629.1", "629.1", OPEN, "2026-05-05T02:06:31-07:00"),
    ("146", "1039", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:06:07-07:00"),
    ("145", "1038", "1", "2024-01-15", "2024-02-14", "100", "100", OPEN, "2026-05-05T02:04:22-07:00"),
    ("106", "1034", "21", "2026-04-07", "2026-05-07", "78.6", "78.6", OPEN, "2026-05-05T02:03:52-07:00"),
    ("129", "1036", "8", "2026-04-08", "2026-05-08", "477.5", "477.5", OPEN, "2026-04-08T13:15:36-07:00"),
    ("96", "1031", "8", "2026-01-22", "2026-02-21", "387", "0", PAID, "2026-04-08T13:13:33-07:00"),
    ("12", "1004", "3", "2026-03-27", "2026-04-26", "2369.52", "0", PAID, "2026-04-08T12:59:21-07:00"),
    ("119", "1035", "17", "2026-04-08", "2026-05-08", "314.28", "314.28", OPEN, "2026-04-08T12:57:24-07:00"),
    ("63", "1017", "25", "2026-03-23", "2026-04-22", "80", "0", PAID, "2026-04-08T12:52:44-07:00"),
    ("67", "1021", "1", "2026-03-17", "2026-04-16", "459", "239", OPEN, "2026-04-07T13:39:32-07:00"),
    ("99", "1032", "26", "2026-04-05", "2026-05-05", "414.72", "414.72", OPEN, "2026-04-07T13:36:31-07:00"),
    ("42", "1013", "26", "2026-03-27", "2026-04-26", "81", "0", PAID, "2026-04-07T13:35:42-07:00"),
    ("95", "1030", "8", "2025-12-22", "2026-01-21", "226.75", "0", PAID, "2026-04-07T13:31:45-07:00"),
    ("93", "1029", "5", "2026-02-19", "2026-03-21", "460.4", "0", PAID, "2026-04-07T13:28:29-07:00"),
    ("68", "1022", "12", "2026-03-17", "2026-04-16", "81", "81", OPEN, "2026-04-07T13:25:43-07:00"),
    ("9", "1001", "1", "2026-04-05", "2026-05-05", "108", "0", PAID, "2026-04-07T13:25:20-07:00"),
    ("13", "1005", "9", "2026-03-30", "2026-04-29", "54", "4", OPEN, "2026-04-07T13:23:52-07:00"),
    ("14", "1006", "9", "2026-02-28", "2026-03-30", "86.4", "0", PAID, "2026-04-07T13:23:11-07:00"),
    ("92", "1028", "9", "2026-02-19", "2026-03-21", "81", "81", OPEN, "2026-04-07T13:22:27-07:00"),
    ("10", "1002", "2", "2025-12-22", "2026-01-21", "175", "0", PAID, "2026-04-07T12:56:01-07:00"),
    ("75", "1027", "2", "2026-02-19", "2026-03-21", "85", "85", OPEN, "2026-04-07T12:54:08-07:00"),
    ("71", "1025", "1", "2026-02-19", "2026-03-21", "205", "0", PAID, "2026-04-07T12:51:28-07:00"),
    ("70", "1024", "20", "2026-01-29", "2026-02-28", "156", "156", OPEN, "2026-04-07T12:44:45-07:00"),
    ("69", "1023", "20", "2026-04-06", "2026-05-06", "70", "70", OPEN, "2026-04-07T12:42:59-07:00"),
    ("65", "1019", "25", "2026-04-06", "2026-05-06", "80", "80", OPEN, "2026-04-07T12:18:01-07:00"),
    ("64", "1018", "25", "2026-03-30", "2026-04-29", "80", "80", OPEN, "2026-04-06T15:29:00-07:00"),
    ("60", "1016", "16", "2026-02-18", "2026-03-20", "75", "75", OPEN, "2026-04-06T15:18:18-07:00"),
    ("49", "1015", "18", "2026-04-06", "2026-05-06", "954.75", "954.75", OPEN, "2026-04-06T11:43:20-07:00"),
    ("27", "1009", "26", "2026-04-05", "2026-05-05", "103.55", "0", PAID, "2026-04-06T11:17:33-07:00"),
    ("39", "1012", "23", "2026-03-25", "2026-04-24", "274.5", "274.5", OPEN, "2026-04-06T11:16:52-07:00"),
    ("34", "1010", "29", "2026-04-06", "2026-05-06", "375", "375", OPEN, "2026-04-06T11:09:08-07:00"),
    ("16", "1007", "13", "2026-03-14", "2026-04-13", "750", "450", OPEN, "2026-04-06T11:06:49-07:00"),
]


def invoice_page() -> list[Any]:
    return load("invoices_query_page.nango-sandbox.json")["QueryResponse"]["Invoice"]


def test_maps_every_invoice_of_the_query_page_field_by_field() -> None:
    raws = invoice_page()
    assert len(raws) == len(INVOICE_PAGE) == 37
    for raw, (id_, number, customer, issued, due, total, balance, status, updated) in zip(
        raws, INVOICE_PAGE, strict=True
    ):
        result = fetched(Entity.INVOICE, raw)
        assert result.record == Invoice(
            id=id_,
            customer_id=customer,
            number=number,
            issue_date=date.fromisoformat(issued),
            due_date=date.fromisoformat(due),
            total=usd(total),
            balance=usd(balance),
            status=status,
            paid_date=None,
            # 31 of the 37 carry SalesTermRef {"value": "3", "name": "Net 30"}; the others none.
            terms="Net 30" if "SalesTermRef" in raw else "",
        )
        assert (result.entity, result.external_id, result.deleted) == (Entity.INVOICE, id_, False)
        assert result.updated_at == utc(updated)
        assert result.updated_at.tzinfo is UTC
        assert result.raw is raw


def test_open_invoices_of_the_page_add_up_to_what_python_quickbooks_found() -> None:
    # notes §5: parsed through python-quickbooks with use_decimal=True, 26 open summing to 5881.52.
    invoices = [fetched(Entity.INVOICE, raw).record for raw in invoice_page()]
    open_ = [inv for inv in invoices if isinstance(inv, Invoice) and inv.status is OPEN]
    assert len(open_) == 26
    assert sum(inv.balance.amount for inv in open_) == Decimal("5881.52")


def test_partially_paid_invoices_stay_open_with_their_balance() -> None:
    by_id = {raw["Id"]: map_invoice(raw, home_currency=HOME) for raw in invoice_page()}
    assert (by_id["67"].total, by_id["67"].balance, by_id["67"].status) == (usd("459"), usd("239"), OPEN)
    assert (by_id["16"].total, by_id["16"].balance, by_id["16"].status) == (usd("750"), usd("450"), OPEN)
    assert (by_id["13"].total, by_id["13"].balance, by_id["13"].status) == (usd("54"), usd("4"), OPEN)


def test_invoice_get_with_invoicelink() -> None:
    result = fetched(Entity.INVOICE, INVOICE_130)
    assert result.record == Invoice(
        "130",
        "24",
        "1037",
        date(2026, 4, 8),
        date(2026, 5, 8),
        usd("362.07"),
        usd("362.07"),
        OPEN,
        pay_url=INVOICE_130["InvoiceLink"],
        terms="Net 30",
    )
    assert result.record.pay_url.startswith("https://developer.intuit.com/comingSoonview/")  # type: ignore[union-attr]
    assert result.updated_at == datetime(2026, 5, 5, 10, 13, 29, tzinfo=UTC)
    assert invoice_emails(INVOICE_130) == ("Familiystore@intuit.com",)


def test_sparse_update_response_maps_like_the_invoice_it_updated() -> None:
    raw = load("invoice_sparse_update_privatenote_response.nango-sandbox.json")["Invoice"]
    assert raw["SyncToken"] == "3"
    assert map_invoice(raw, home_currency=HOME) == map_invoice(INVOICE_130, home_currency=HOME)


def test_send_response_maps_the_sent_invoice() -> None:
    raw = load("invoice_send_response.nango-sandbox.json")["Invoice"]
    result = fetched(Entity.INVOICE, raw)
    assert result.record == Invoice(
        "103", "10", "1033", date(2026, 4, 7), date(2026, 5, 7), usd("629.1"), usd("629.1"), OPEN, terms="Net 30"
    )
    assert result.updated_at == datetime(2026, 5, 5, 9, 6, 31, tzinfo=UTC)
    assert invoice_emails(raw) == ("Geeta@Kalapatapu.com",)


def test_voided_invoice_sample_is_voided_in_the_home_currency() -> None:
    # The doc sample has no CurrencyRef and no MetaData.
    raw = load("invoice_void_response.intuit-docs.json")["Invoice"]
    result = fetched(Entity.INVOICE, raw, home="EUR")
    assert result.record == Invoice(
        "129", "8", "1036", date(2014, 11, 9), date(2014, 12, 9), money("0", "EUR"), money("0", "EUR"), VOIDED
    )
    assert result.updated_at is None


def test_delete_response_is_a_deleted_record() -> None:
    raw = load("invoice_delete_response.intuit-docs.json")["Invoice"]
    assert fetched(Entity.INVOICE, raw) == Fetched(Entity.INVOICE, "33", None, raw, deleted=True, updated_at=None)


def test_cdc_deleted_stub_is_deleted_with_its_time_and_never_looks_paid() -> None:
    page = load("cdc_response_with_deleted.intuit-docs.json")["CDCResponse"][0]["QueryResponse"]
    stub = page[1]["Estimate"][2]
    assert stub["status"] == "Deleted"
    for entity in (Entity.INVOICE, Entity.PAYMENT, Entity.CREDIT_NOTE, Entity.CUSTOMER):
        result = fetched(entity, stub)
        assert (result.external_id, result.record, result.deleted) == ("979", None, True)
        assert result.updated_at == datetime(2015, 12, 23, 20, 55, 50, tzinfo=UTC)
    with pytest.raises(MappingError, match=r"^status: "):
        map_invoice(stub, home_currency=HOME)


def test_cdc_doc_sample_customers_are_abridged_to_ids_and_quarantined() -> None:
    # The doc sample stubs live objects to {"Id": …} (SOURCES.md): not mappable, never a crash.
    page = load("cdc_response_with_deleted.intuit-docs.json")["CDCResponse"][0]["QueryResponse"]
    results = [bad(Entity.CUSTOMER, raw) for raw in page[0]["Customer"]]
    assert [(r.external_id, r.field, r.error) for r in results] == [("63", "DisplayName", "missing"),
                                                                     ("99", "DisplayName", "missing")]  # fmt: skip


# --- invoice status ---------------------------------------------------------------------------

PAYMENT_LINK = [{"TxnId": "101", "TxnType": "Payment"}]


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        pytest.param({}, OPEN, id="open-nothing-paid"),
        pytest.param({"Balance": Decimal("100")}, OPEN, id="partially-paid"),
        pytest.param({"Balance": Decimal("0.01")}, OPEN, id="one-cent-left"),
        pytest.param({"Balance": 0, "LinkedTxn": PAYMENT_LINK}, PAID, id="paid-by-payment"),
        pytest.param({"Balance": 0, "LinkedTxn": []}, PAID, id="zero-balance-without-payment-link"),
        pytest.param({"TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided"}, VOIDED, id="voided"),
        pytest.param(
            {"TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided Test update"}, VOIDED, id="voided-note-prepended"
        ),
        pytest.param({"TotalAmt": 0, "Balance": 0, "PrivateNote": DROP}, PAID, id="zero-total-not-voided"),
        pytest.param({"TotalAmt": 0, "Balance": 0, "PrivateNote": "voided?"}, PAID, id="zero-total-lowercase-note"),
        pytest.param({"PrivateNote": "Voided by mistake, still due"}, OPEN, id="voided-note-but-amounts-open"),
        pytest.param({"Balance": 0, "PrivateNote": "Voided"}, PAID, id="voided-note-but-total-kept"),
    ],
)
def test_derives_invoice_status(overrides: dict[str, Any], status: InvoiceStatus) -> None:
    record = fetched(Entity.INVOICE, changed(INVOICE_130, **overrides)).record
    assert isinstance(record, Invoice)
    assert record.status is status


@pytest.mark.parametrize(
    "stub",
    [
        pytest.param({"domain": "QBO", "status": "Deleted", "Id": "33"}, id="delete-response"),
        pytest.param(
            {
                "domain": "QBO",
                "status": "Deleted",
                "Id": "39",
                "MetaData": {"LastUpdatedTime": "2015-12-23T12:55:50-08:00"},
            },
            id="cdc-stub",
        ),
        pytest.param(changed(INVOICE_130, status="Deleted", Balance=0), id="full-body-marked-deleted"),
    ],
)
def test_deleted_status_wins_over_everything(stub: dict[str, Any]) -> None:
    result = fetched(Entity.INVOICE, stub)
    assert result.deleted and result.record is None


# --- customers --------------------------------------------------------------------------------

CUSTOMER_PAGE = [
    ("2", "Bill's Windsurf Shop", ("Surf@Intuit.com",)),
    ("3", "Cool Cars", ("Cool_Cars@intuit.com",)),
    ("4", "Diego Rodriguez", ("Diego@Rodriguez.com",)),
    ("5", "Dukes Basketball Camp", ("Dukes_bball@intuit.com",)),
    ("6", "Dylan Sollfrank", ()),
    ("62", "Final Validation Customer", ("final@example.com",)),
    ("7", "Freeman Sporting Goods", ("Sporting_goods@intuit.com",)),
    ("8", "0969 Ocean View Road", ("Sporting_goods@intuit.com",)),
    ("9", "55 Twin Lane", ("Sporting_goods@intuit.com",)),
    ("10", "Geeta Kalapatapu", ("Geeta@Kalapatapu.com",)),
    ("11", "Gevelber Photography", ("Photography@intuit.com",)),
    ("12", "Jeff's Jalopies", ("Jalopies@intuit.com",)),
    ("13", "John Melton", ("John@Melton.com",)),
    ("14", "Kate Whelan", ("Kate@Whelan.com",)),
    ("16", "Kookies by Kathy", ("qbwebsamplecompany@yahoo.com",)),
    ("17", "Mark Cho", ("Mark@Cho.com",)),
    ("18", "Paulsen Medical Supplies", ("Medical@intuit.com",)),
    ("15", "Pye's Cakes", ("pyescakes@intuit.com",)),
    ("19", "Rago Travel Agency", ("Rago_Travel@intuit.com",)),
    ("20", "Red Rock Diner", ("qbwebsamplecompany@yahoo.com",)),
    ("21", "Rondonuwu Fruit and Vegi", ("Tony@Rondonuwu.com",)),
    ("22", "Shara Barnett", ("Shara@Barnett.com",)),
    ("23", "Barnett Design", ("Design@intuit.com",)),
    ("24", "Sonnenschein Family Store", ("Familiystore@intuit.com",)),
    ("25", "Sushi by Katsuyuki", ("Sushi@intuit.com",)),
    ("58", "Test Customer - May 2026", ("testcustomer@example.com",)),
    ("1", "Test Customer Final", ("Birds@Intuit.com",)),
    ("60", "Test Customer May 2026 Regen", ("testcustomer@example.com",)),
    ("59", "Test Customer May 2026 Save Run", ("testcustomer@example.com",)),
    ("26", "Travis Waldron", ("Travis@Waldron.com",)),
    ("27", "Video Games by Dan", ("Videogames@intuit.com",)),
    ("28", "Wedding Planning by Whitney", ("Dream_Wedding@intuit.com",)),
    ("29", "Weiskopf Consulting", ("Consulting@intuit.com",)),
]


def test_maps_every_customer_of_the_query_page() -> None:
    raws = load("customers_query_page.nango-sandbox.json")["QueryResponse"]["Customer"]
    assert len(raws) == len(CUSTOMER_PAGE) == 33
    for raw, (id_, name, emails) in zip(raws, CUSTOMER_PAGE, strict=True):
        result = fetched(Entity.CUSTOMER, raw)
        assert result.record == Customer(id_, name, emails, language="en", excluded=False, owner=None, active=True)
        assert result.updated_at == utc(raw["MetaData"]["LastUpdatedTime"])


def test_customer_get_in_credit() -> None:
    result = fetched(Entity.CUSTOMER, CUSTOMER_1)
    assert result.record == Customer("1", "Test Customer Updated Final", ("Birds@Intuit.com",))
    assert result.updated_at == datetime(2026, 5, 5, 10, 13, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"Active": False},
            Customer("1", "Test Customer Updated Final", ("Birds@Intuit.com",), active=False),
            id="inactive-kept-as-a-customer",
        ),
        pytest.param(
            {"Active": DROP},
            Customer("1", "Test Customer Updated Final", ("Birds@Intuit.com",)),
            id="active-absent-means-active",
        ),
        pytest.param(
            {"DisplayName": "Amy (deleted)", "Active": False},
            Customer("1", "Amy (deleted)", ("Birds@Intuit.com",), active=False),
            id="qbo-deleted-customer",
        ),
        pytest.param({"PrimaryEmailAddr": DROP}, Customer("1", "Test Customer Updated Final"), id="no-email"),
        pytest.param(
            {"PrimaryEmailAddr": {"Address": "a@x.com, b@x.com;A@X.COM"}},
            Customer("1", "Test Customer Updated Final", ("a@x.com", "b@x.com")),
            id="several-addresses",
        ),
        pytest.param(
            {"PrimaryEmailAddr": {"Address": "not an address"}},
            Customer("1", "Test Customer Updated Final"),
            id="unusable-address-dropped",
        ),
        pytest.param({"Id": 1}, Customer("1", "Test Customer Updated Final", ("Birds@Intuit.com",)), id="int-id"),
    ],
)
def test_customer_shapes(overrides: dict[str, Any], expected: Customer) -> None:
    assert map_customer(changed(CUSTOMER_1, **overrides), home_currency=HOME) == expected


# --- payments ---------------------------------------------------------------------------------

# (Id, CustomerRef, TxnDate, TotalAmt, Invoice allocations)
PAYMENT_PAGE = [
    ("128", "8", "2026-04-08", "387", (("96", "387"),)),
    ("120", "3", "2026-04-08", "1675.52", (("12", "1675.52"),)),
    ("116", "25", "2026-04-04", "80", (("63", "80"),)),
    ("101", "1", "2026-04-07", "220", (("67", "220"),)),
    ("98", "26", "2026-04-07", "81", (("42", "81"),)),
    ("97", "8", "2026-01-12", "226.75", (("95", "226.75"),)),
    ("94", "5", "2026-03-12", "460.4", (("93", "460.4"),)),
    ("31", "1", "2026-04-06", "108", (("9", "108"),)),
    ("33", "9", "2026-04-06", "50", (("13", "50"),)),
    ("15", "9", "2026-03-14", "86.4", (("14", "86.4"),)),
    ("76", "2", "2026-01-12", "175", (("10", "175"),)),
    ("74", "1", "2026-03-22", "0", (("71", "100"),)),  # a credit memo applied: TotalAmt 0 (notes §3.3)
    ("72", "1", "2026-03-16", "105", (("71", "105"),)),
    ("61", "3", "2026-04-01", "694", (("12", "694"),)),
    ("40", "26", "2026-04-06", "103.55", (("27", "103.55"),)),
    ("32", "13", "2026-04-06", "300", (("16", "300"),)),
]


def payment_page() -> list[Any]:
    return load("payments_query_page.nango-sandbox.json")["QueryResponse"]["Payment"]


def test_maps_every_payment_of_the_query_page() -> None:
    raws = payment_page()
    assert len(raws) == len(PAYMENT_PAGE) == 16
    for raw, (id_, customer, paid, total, allocations) in zip(raws, PAYMENT_PAGE, strict=True):
        result = fetched(Entity.PAYMENT, raw)
        assert result.record == Payment(
            id_,
            customer,
            date.fromisoformat(paid),
            usd(total),
            tuple(Allocation(i, usd(a)) for i, a in allocations),
            unapplied=usd(str(raw["UnappliedAmt"])),
        )
        assert result.updated_at == utc(raw["MetaData"]["LastUpdatedTime"])
        assert isinstance(result.record, Payment)
        assert unapplied_credit(result.record) is None
        assert map_unapplied_payment(raw, home_currency=HOME) is None


def test_payments_explain_every_reduction_of_the_invoices() -> None:
    # Same sandbox company: what was paid on each invoice (TotalAmt - Balance) is its allocations.
    payments = [map_payment(raw, home_currency=HOME) for raw in payment_page()]
    allocated: dict[str, Decimal] = {}
    for payment in payments:
        for allocation in payment.allocations:
            allocated[allocation.invoice_id] = (
                allocated.get(allocation.invoice_id, Decimal(0)) + allocation.amount.amount
            )
    invoices = [map_invoice(raw, home_currency=HOME) for raw in invoice_page()]
    reduced = {inv.id: inv.total.amount - inv.balance.amount for inv in invoices if inv.balance != inv.total}
    assert allocated == reduced


def test_credit_link_payment_keeps_the_invoice_line_only() -> None:
    raw = next(p for p in payment_page() if p["Id"] == "74")
    assert [t["TxnType"] for line in raw["Line"] for t in line["LinkedTxn"]] == ["Invoice", "CreditMemo"]
    assert map_payment(raw, home_currency=HOME).allocations == (Allocation("71", usd("100")),)


def test_unapplied_payment_sample_is_all_credit() -> None:
    raw = load("payment_get_unapplied.nango-sandbox.json")["Payment"]
    result = fetched(Entity.PAYMENT, raw)
    assert result.record == Payment("170", "2", date(2026, 5, 5), usd("100"), (), unapplied=usd("100"))
    assert result.updated_at == datetime(2026, 5, 5, 10, 8, 49, tzinfo=UTC)
    expected = Credit("170", "2", usd("100"), CreditKind.UNAPPLIED_PAYMENT, "", date(2026, 5, 5), usd("100"))
    assert unapplied_credit(result.record) == expected  # type: ignore[arg-type]
    assert map_unapplied_payment(raw, home_currency=HOME) == expected


def test_payment_applied_to_invoice_doc_sample() -> None:
    result = fetched(Entity.PAYMENT, PAYMENT_125)
    assert result.record == Payment(
        "125", "20", date(2014, 9, 14), usd("25"), (Allocation("67", usd("25")),), unapplied=usd("0")
    )
    assert result.updated_at == datetime(2014, 9, 16, 21, 59, 48, tzinfo=UTC)


def line(amount: Any, *links: tuple[str, str]) -> dict[str, Any]:
    return {"Amount": amount, "LinkedTxn": [{"TxnId": i, "TxnType": t} for i, t in links]}


def test_partly_applied_payment_leaves_the_rest_as_credit() -> None:
    raw = changed(PAYMENT_125, TotalAmt=Decimal("150"), UnappliedAmt=Decimal("50"), PaymentRefNum="CHK-9",
                  Line=[line(100, ("67", "Invoice"))])  # fmt: skip
    payment = map_payment(raw, home_currency=HOME)
    expected = Credit("125", "20", usd("50"), CreditKind.UNAPPLIED_PAYMENT, "", date(2014, 9, 14), usd("150"))
    assert unapplied_credit(payment) == expected
    assert map_unapplied_payment(raw, home_currency=HOME) == Credit(
        "125", "20", usd("50"), CreditKind.UNAPPLIED_PAYMENT, "CHK-9", date(2014, 9, 14), usd("150")
    )


def test_unapplied_amount_is_exact_when_a_payment_also_consumed_a_credit_memo() -> None:
    # 80 received + 100 of credit memo = 150 on the invoice and 30 left: only UnappliedAmt says so.
    raw = changed(PAYMENT_125, TotalAmt=80, UnappliedAmt=30,
                  Line=[line(150, ("67", "Invoice")), line(100, ("73", "CreditMemo"))])  # fmt: skip
    payment = map_payment(raw, home_currency=HOME)
    assert payment.allocations == (Allocation("67", usd("150")),)
    assert payment.unapplied == usd("30")  # amount minus allocations would say 0
    credit = map_unapplied_payment(raw, home_currency=HOME)
    assert credit is not None and credit.amount == usd("30")
    assert unapplied_credit(payment) == credit
    assert map_unapplied_payment(changed(raw, UnappliedAmt=DROP), home_currency=HOME) is None


@pytest.mark.parametrize(
    ("lines", "allocations"),
    [
        pytest.param([], (), id="no-lines"),
        pytest.param([line(0, ("67", "Invoice"))], (), id="zeroed-line-of-a-voided-payment"),
        pytest.param([line(25, ("5", "JournalEntry"))], (), id="journal-entry-only"),
        pytest.param(
            [line("12.50", ("1", "Invoice")), line(12.5, ("2", "Invoice"))],
            (Allocation("1", usd("12.50")), Allocation("2", usd("12.5"))),
            id="two-invoices-two-lines",
        ),
        pytest.param(
            [{"Amount": 25, "LinkedTxn": [{"TxnId": "67", "TxnType": "Invoice"}], "LineEx": {"any": []}}],
            (Allocation("67", usd("25")),),
            id="jaxb-noise-ignored",
        ),
    ],
)
def test_payment_allocations(lines: list[Any], allocations: tuple[Allocation, ...]) -> None:
    assert map_payment(changed(PAYMENT_125, Line=lines), home_currency=HOME).allocations == allocations


# --- credit memos -----------------------------------------------------------------------------

# (Id, DocNumber, TxnDate, TotalAmt, RemainingCredit)
MEMO_PAGE = [
    ("184", "1051", "2026-05-05", "100", "100"),
    ("181", "1050", "2026-05-05", "100", "100"),
    ("179", "1049", "2026-05-05", "100", "100"),
    ("177", "1048", "2026-05-05", "100", "100"),
    ("175", "1047", "2026-05-05", "100", "100"),
    ("169", "1046", "2026-05-05", "100", "100"),
    ("166", "1045", "2026-05-05", "100", "100"),
    ("164", "1044", "2026-05-05", "100", "100"),
    ("73", "1026", "2026-05-05", "100", "0"),  # fully applied through Payment 74
]


def test_maps_every_credit_memo_of_the_query_page() -> None:
    raws = load("credit_memos_query_page.nango-sandbox.json")["QueryResponse"]["CreditMemo"]
    assert len(raws) == len(MEMO_PAGE) == 9
    for raw, (id_, number, issued, total, remaining) in zip(raws, MEMO_PAGE, strict=True):
        result = fetched(Entity.CREDIT_NOTE, raw)
        assert result.record == Credit(
            id_, "1", usd(remaining), CreditKind.CREDIT_NOTE, number, date.fromisoformat(issued), usd(total)
        )
        assert result.updated_at == utc(raw["MetaData"]["LastUpdatedTime"])


def test_credit_memo_get() -> None:
    result = fetched(Entity.CREDIT_NOTE, MEMO_184)
    assert result.record == Credit("184", "1", usd("100"), CreditKind.CREDIT_NOTE, "1051", date(2026, 5, 5), usd("100"))
    assert result.updated_at == datetime(2026, 5, 5, 10, 13, 7, tzinfo=UTC)


def test_credit_memo_without_remaining_credit_uses_its_balance() -> None:
    credit = map_credit_memo(changed(MEMO_184, RemainingCredit=DROP, Balance=Decimal("40")), home_currency=HOME)
    assert credit.amount == usd("40")


# --- terms, paid dates, names -----------------------------------------------------------------


def test_term_net60() -> None:
    assert map_term(load("term_net60.intuit-docs.json")["Term"]) == Term("4", "Net 60", 60, True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"Id": "7", "Name": "15th next month", "Type": "DATE_DRIVEN", "DayOfMonthDue": 15},
            Term("7", "15th next month", None),
            id="date-driven",
        ),
        pytest.param(
            {"Id": "3", "Name": "Net 30", "DueDays": "30", "Active": False},
            Term("3", "Net 30", 30, False),
            id="string-days-inactive",
        ),
    ],
)
def test_term_shapes(raw: dict[str, Any], expected: Term) -> None:
    assert map_term(raw) == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param({"Id": "3", "Name": "Net 30", "DueDays": "30.5"}, "DueDays", id="fractional-days"),
        pytest.param({"Id": "3", "Name": "Net 30", "DueDays": -1}, "DueDays", id="negative-days"),
        pytest.param({"Id": "3", "DueDays": 30}, "Name", id="no-name"),
        pytest.param({"Id": "3", "Name": "Net 30", "Active": "true"}, "Active", id="active-as-text"),
    ],
)
def test_term_refusals(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        map_term(raw)
    assert caught.value.field == field


def test_paid_date_is_the_latest_payment_allocated_to_a_paid_invoice() -> None:
    invoices = {raw["Id"]: map_invoice(raw, home_currency=HOME) for raw in invoice_page()}
    payments = [map_payment(raw, home_currency=HOME) for raw in payment_page()]
    assert derive_paid_date(invoices["12"], payments) == date(2026, 4, 8)  # payments 61 (04-01) and 120 (04-08)
    assert derive_paid_date(invoices["71"], payments) == date(2026, 3, 22)  # cash 03-16, credit memo 03-22
    assert derive_paid_date(invoices["67"], payments) is None  # partly paid: still open
    assert derive_paid_date(invoices["96"], []) is None


def test_entity_names() -> None:
    assert dict(ENTITY_NAMES) == {
        Entity.INVOICE: "Invoice",
        Entity.CUSTOMER: "Customer",
        Entity.PAYMENT: "Payment",
        Entity.CREDIT_NOTE: "CreditMemo",
    }


# --- odd real-world shapes that are accepted ----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "total", "balance"),
    [
        pytest.param({"TotalAmt": "362.07", "Balance": "100"}, "362.07", "100", id="numeric-strings"),
        pytest.param({"TotalAmt": " 362.07 ", "Balance": "+100.50"}, "362.07", "100.50", id="padded-and-signed"),
        pytest.param({"TotalAmt": 362.07, "Balance": 0.1}, "362.07", "0.1", id="floats-via-their-repr"),
        pytest.param({"TotalAmt": 362, "Balance": 100}, "362", "100", id="ints"),
        pytest.param({"TotalAmt": Decimal("362.070"), "Balance": Decimal("1E+2")}, "362.070", "1E+2", id="decimals"),
    ],
)
def test_amounts_may_be_numbers_numeric_strings_or_floats(overrides: dict[str, Any], total: str, balance: str) -> None:
    invoice = map_invoice(changed(INVOICE_130, **overrides), home_currency=HOME)
    assert (invoice.total, invoice.balance) == (usd(total), usd(balance))
    assert isinstance(invoice.total.amount, Decimal) and str(invoice.total.amount) == total


@pytest.mark.parametrize(
    ("overrides", "home", "currency"),
    [
        pytest.param({}, "EUR", "USD", id="currencyref-wins-over-home"),
        pytest.param({"CurrencyRef": DROP}, "EUR", "EUR", id="absent-means-home"),
        pytest.param({"CurrencyRef": None}, "gbp", "GBP", id="null-means-home"),
        pytest.param({"CurrencyRef": {"value": "eur"}}, "USD", "EUR", id="lower-case-code"),
        pytest.param(
            {"CurrencyRef": {"value": "CAD", "name": "Canadian Dollar"}, "ExchangeRate": Decimal("0.73")},
            "USD",
            "CAD",
            id="foreign-currency-amounts-untouched",
        ),
    ],
)
def test_invoice_currency(overrides: dict[str, Any], home: str, currency: str) -> None:
    invoice = map_invoice(changed(INVOICE_130, **overrides), home_currency=home)
    assert invoice.total == money("362.07", currency) and invoice.balance == money("362.07", currency)


def test_absent_doc_number_is_empty() -> None:
    assert map_invoice(changed(INVOICE_130, DocNumber=DROP), home_currency=HOME).number == ""


# --- bad input: quarantined with the field named and the payload kept ---------------------------

BAD_INVOICES = [
    pytest.param({"TotalAmt": "abc"}, "TotalAmt", "not a number: 'abc'", id="amount-not-numeric"),
    pytest.param({"Balance": "12,50"}, "Balance", "not a number: '12,50'", id="amount-decimal-comma"),
    pytest.param({"Balance": "1_000"}, "Balance", "not a number: '1_000'", id="amount-underscore"),
    pytest.param({"TotalAmt": "NaN"}, "TotalAmt", "not a number: 'NaN'", id="amount-nan-string"),
    pytest.param({"TotalAmt": float("inf")}, "TotalAmt", "not a number: 'inf'", id="amount-float-inf"),
    pytest.param({"TotalAmt": Decimal("NaN")}, "TotalAmt", "expected a number, got Decimal('NaN')", id="amount-nan"),
    pytest.param({"TotalAmt": True}, "TotalAmt", "expected a number, got True", id="amount-bool"),
    pytest.param({"TotalAmt": {"value": 1}}, "TotalAmt", "expected a number, got dict", id="amount-object"),
    pytest.param({"TotalAmt": None}, "TotalAmt", "missing", id="amount-null"),
    pytest.param({"Balance": DROP}, "Balance", "missing", id="balance-missing"),
    pytest.param({"Balance": -5}, "Balance", "negative: -5", id="balance-negative"),
    pytest.param({"Balance": 400}, "Balance", "400 is more than TotalAmt 362.07", id="balance-above-total"),
    pytest.param({"CustomerRef": DROP}, "CustomerRef", "missing", id="customerref-missing"),
    pytest.param({"CustomerRef": "24"}, "CustomerRef", "expected an object, got str", id="customerref-not-object"),
    pytest.param({"CustomerRef": {"name": "x"}}, "CustomerRef.value", "missing", id="customerref-without-value"),
    pytest.param({"CustomerRef": {"value": ""}}, "CustomerRef.value", "not an id: ''", id="customerref-empty"),
    pytest.param(
        {"CurrencyRef": {"value": "XXY"}}, "CurrencyRef.value", "unknown currency 'XXY'", id="currency-unknown"
    ),
    pytest.param({"CurrencyRef": {"value": 840}}, "CurrencyRef.value", "expected text, got int", id="currency-numeric"),
    pytest.param({"CurrencyRef": "USD"}, "CurrencyRef", "expected an object, got str", id="currencyref-not-object"),
    pytest.param({"DueDate": DROP}, "DueDate", "missing", id="duedate-missing"),
    pytest.param({"DueDate": "05/08/2026"}, "DueDate", "not a date (YYYY-MM-DD): '05/08/2026'", id="duedate-us-style"),
    pytest.param(
        {"DueDate": "2026-02-30"}, "DueDate", "not a date (YYYY-MM-DD): '2026-02-30'", id="duedate-impossible"
    ),
    pytest.param({"TxnDate": 20260408}, "TxnDate", "expected text, got int", id="txndate-int"),
    pytest.param(
        {"TxnDate": "2026-04-08T00:00:00-07:00"},
        "TxnDate",
        "not a date (YYYY-MM-DD): '2026-04-08T00:00:00-07:00'",
        id="txndate-with-time",
    ),
    pytest.param({"DocNumber": 1037}, "DocNumber", "expected text, got int", id="docnumber-int"),
    pytest.param({"PrivateNote": ["Voided"]}, "PrivateNote", "expected text, got list", id="note-list"),
]


@pytest.mark.parametrize(("overrides", "field", "error"), BAD_INVOICES)
def test_bad_invoice_is_quarantined_naming_the_field(overrides: dict[str, Any], field: str, error: str) -> None:
    raw = changed(INVOICE_130, **overrides)
    assert bad(Entity.INVOICE, raw) == BadRecord(Entity.INVOICE, "130", field, error, raw)
    assert bad(Entity.INVOICE, raw).payload is raw
    with pytest.raises(MappingError) as caught:
        map_invoice(raw, home_currency=HOME)
    assert (caught.value.field, caught.value.message, str(caught.value)) == (field, error, f"{field}: {error}")


def test_the_two_messages_the_issue_names() -> None:
    with pytest.raises(MappingError, match=r"^CurrencyRef\.value: unknown currency 'XXY'$"):
        map_invoice(changed(INVOICE_130, CurrencyRef={"value": "XXY"}), home_currency=HOME)
    with pytest.raises(MappingError, match=r"^CustomerRef: missing$"):
        map_invoice(changed(INVOICE_130, CustomerRef=DROP), home_currency=HOME)


@pytest.mark.parametrize(
    ("entity", "raw", "external_id", "field", "error"),
    [
        pytest.param(
            Entity.INVOICE,
            changed(INVOICE_130, MetaData={"LastUpdatedTime": "yesterday"}),
            "130",
            "MetaData.LastUpdatedTime",
            "not an ISO 8601 instant: 'yesterday'",
            id="updated-time-garbage",
        ),
        pytest.param(
            Entity.INVOICE,
            changed(INVOICE_130, MetaData={"LastUpdatedTime": "2026-05-05T03:13:29"}),
            "130",
            "MetaData.LastUpdatedTime",
            "no time or no UTC offset: '2026-05-05T03:13:29'",
            id="updated-time-naive",
        ),
        pytest.param(
            Entity.INVOICE,
            changed(INVOICE_130, MetaData="2026"),
            "130",
            "MetaData",
            "expected an object, got str",
            id="metadata-not-object",
        ),
        pytest.param(Entity.INVOICE, changed(INVOICE_130, Id=DROP), "", "Id", "missing", id="invoice-without-id"),
        pytest.param(Entity.INVOICE, changed(INVOICE_130, Id=["130"]), "", "Id", "not an id: ['130']", id="id-list"),
        pytest.param(Entity.INVOICE, changed(INVOICE_130, Id=True), "", "Id", "not an id: True", id="id-bool"),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=[line("x", ("67", "Invoice"))]),
            "125",
            "Line[0].Amount",
            "not a number: 'x'",
            id="payment-line-amount",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=[line(1, ("67", "Invoice")), line(-3, ("68", "Invoice"))]),
            "125",
            "Line[1].Amount",
            "negative: -3",
            id="payment-line-negative",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=[{"Amount": 25, "LinkedTxn": [{"TxnType": "Invoice"}]}]),
            "125",
            "Line[0].LinkedTxn[0].TxnId",
            "missing",
            id="payment-link-without-id",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=[{"Amount": 25, "LinkedTxn": [{"TxnId": "67"}]}]),
            "125",
            "Line[0].LinkedTxn[0].TxnType",
            "missing",
            id="payment-link-without-type",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=[line(9, ("1", "Invoice"), ("2", "Invoice"))]),
            "125",
            "Line[0].LinkedTxn",
            "one line linked to several invoices",
            id="payment-line-two-invoices",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line={"Amount": 25}),
            "125",
            "Line",
            "expected a list, got dict",
            id="payment-lines-not-list",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, Line=["x"]),
            "125",
            "Line[0]",
            "expected an object, got str",
            id="payment-line-not-object",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, TotalAmt="25 USD"),
            "125",
            "TotalAmt",
            "not a number: '25 USD'",
            id="payment-total",
        ),
        pytest.param(
            Entity.PAYMENT,
            changed(PAYMENT_125, CustomerRef=DROP),
            "125",
            "CustomerRef",
            "missing",
            id="payment-without-customer",
        ),
        pytest.param(
            Entity.PAYMENT, changed(PAYMENT_125, TxnDate=DROP), "125", "TxnDate", "missing", id="payment-without-date"
        ),
        pytest.param(
            Entity.CREDIT_NOTE,
            changed(MEMO_184, RemainingCredit="ten"),
            "184",
            "RemainingCredit",
            "not a number: 'ten'",
            id="memo-remaining",
        ),
        pytest.param(
            Entity.CREDIT_NOTE,
            changed(MEMO_184, CurrencyRef={"value": "XXY"}),
            "184",
            "CurrencyRef.value",
            "unknown currency 'XXY'",
            id="memo-currency",
        ),
        pytest.param(
            Entity.CUSTOMER,
            changed(CUSTOMER_1, DisplayName=DROP),
            "1",
            "DisplayName",
            "missing",
            id="customer-without-name",
        ),
        pytest.param(
            Entity.CUSTOMER,
            changed(CUSTOMER_1, DisplayName="  "),
            "1",
            "DisplayName",
            "empty",
            id="customer-blank-name",
        ),
        pytest.param(
            Entity.CUSTOMER,
            changed(CUSTOMER_1, Active="yes"),
            "1",
            "Active",
            "expected true or false, got 'yes'",
            id="customer-active-text",
        ),
        pytest.param(
            Entity.CUSTOMER,
            changed(CUSTOMER_1, PrimaryEmailAddr="Birds@Intuit.com"),
            "1",
            "PrimaryEmailAddr",
            "expected an object, got str",
            id="customer-email-not-object",
        ),
        pytest.param(
            Entity.CUSTOMER,
            changed(CUSTOMER_1, PrimaryEmailAddr={"Address": 5}),
            "1",
            "PrimaryEmailAddr.Address",
            "expected text, got int",
            id="customer-email-not-text",
        ),
    ],
)
def test_bad_records_of_every_entity(entity: Entity, raw: Any, external_id: str, field: str, error: str) -> None:
    assert bad(entity, raw) == BadRecord(entity, external_id, field, error, raw)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        pytest.param("fault_5010_stale_object.intuit-docs.json", "Id", id="fault-5010"),
        pytest.param("fault_610_object_not_found.intuit-docs.json", "Id", id="fault-610"),
        pytest.param("error_401_authentication.python-quickbooks-issue118.raw.json", "Id", id="error-401-body"),
        pytest.param(
            "invoice_sparse_update_privatenote_request.nango-sandbox.json", "CustomerRef", id="sparse-request"
        ),
    ],
)
def test_error_bodies_and_partial_objects_are_not_invoices(name: str, field: str) -> None:
    raw = load(name)
    result = bad(Entity.INVOICE, raw)
    assert (result.field, result.error, result.payload) == (field, "missing", raw)


def test_batch_response_faults_are_quarantined_and_other_entities_are_not_ours() -> None:
    items = load("batch_response_mixed_faults.intuit-docs.json")["BatchItemResponse"]
    faults = [item["Fault"] for item in items if "Fault" in item]
    assert [f["Error"][0]["code"] for f in faults] == ["6240", "610", "5010"]
    assert all(bad(Entity.INVOICE, fault).field == "Id" for fault in faults)
    receipt = items[3]["QueryResponse"]["SalesReceipt"][0]  # a query item of the batch: not a synced entity
    assert "SalesReceipt" not in ENTITY_NAMES.values()
    assert bad(Entity.INVOICE, receipt).field == "DueDate"


def test_batch_request_invoice_is_a_delete_order_not_an_invoice() -> None:
    order = load("batch_request_mixed.intuit-docs.json")["BatchItemRequest"][1]
    assert (order["operation"], bad(Entity.INVOICE, order["Invoice"]).field) == ("delete", "CustomerRef")


def test_attachable_is_not_an_invoice() -> None:
    raw = load("attachable_note_on_invoice_response.intuit-docs.json")["Attachable"]
    assert bad(Entity.INVOICE, raw) == BadRecord(Entity.INVOICE, "200900000000000008541", "CustomerRef", "missing", raw)
    request = load("attachable_note_on_invoice_request.intuit-docs.json")
    assert bad(Entity.INVOICE, request).field == "Id"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param((SAMPLES / "error_429_throttle.quickbooks-ruby.xml").read_text(), id="xml-where-json-belongs"),
        pytest.param([INVOICE_130], id="a-list"),
        pytest.param(None, id="null"),
        pytest.param(Decimal("130"), id="a-number"),
    ],
)
def test_payload_that_is_not_an_object_is_quarantined_whole(payload: Any) -> None:
    result = bad(Entity.INVOICE, payload)
    assert (result.external_id, result.field, result.payload) == ("", "", {"value": payload})
    assert result.error.startswith("expected a JSON object, got ")


def test_caller_bugs_raise() -> None:
    with pytest.raises(ValueError, match="no overpayment records"):
        map_record(Entity.OVERPAYMENT, INVOICE_130, home_currency=HOME)
    with pytest.raises(ValueError, match="home_currency"):
        map_record(Entity.INVOICE, INVOICE_130, home_currency="XXY")
    with pytest.raises(ValueError, match="home_currency"):
        map_invoice(INVOICE_130, home_currency="")


# --- instants -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2015-07-24T10:33:39-07:00", datetime(2015, 7, 24, 17, 33, 39, tzinfo=UTC), id="metadata"),
        pytest.param("2015-10-05T14:42:19-0700", datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC), id="offset-no-colon"),
        pytest.param(
            "2025-09-10T21:31:25.179851517Z", datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC), id="nanoseconds-z"
        ),
        pytest.param("2016-10-05T03:09:04.000Z", datetime(2016, 10, 5, 3, 9, 4, tzinfo=UTC), id="millis-z"),
        pytest.param(
            "2015-07-28T08:52:57.63-07:00", datetime(2015, 7, 28, 15, 52, 57, 630000, tzinfo=UTC), id="response-time"
        ),
        pytest.param("2026-03-29T03:30:00+02:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC), id="dst-edge-berlin"),
    ],
)
def test_parses_qbo_instants_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_qbo_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["2015-07-24T10:33:39", "2015-07-24", "yesterday", "", "1533811101733", 1533811101733])
def test_refuses_instants_without_offset_or_time(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_qbo_datetime(text)


# --- every sample is used -------------------------------------------------------------------------

NOT_FOR_MAPPING = {
    # OAuth and transport samples: client.py's tests read these, not the mapping's.
    "openid_discovery.dotnet-sdk.json",
    "token_refresh_response.dotnet-sdk.json",
    "token_response_body.oauth-jsclient-readme.raw.json",
    "token_error_invalid_grant.python-quickbooks-issue397.raw.json",
}


def test_every_sample_is_read_by_a_test() -> None:
    sources = Path(__file__).read_text() + (Path(__file__).parent / "test_webhooks.py").read_text()
    samples = {p.name for p in SAMPLES.iterdir() if p.name != "SOURCES.md"}
    unread = {name for name in samples - NOT_FOR_MAPPING if name not in sources}
    assert unread == set()


# --- never raises on arbitrary JSON ----------------------------------------------------------------

KEYS = ["Id", "TotalAmt", "Balance", "DueDate", "TxnDate", "CustomerRef", "CurrencyRef", "value", "Line", "LinkedTxn",
        "TxnId", "TxnType", "Amount", "MetaData", "LastUpdatedTime", "status", "DisplayName", "PrimaryEmailAddr",
        "Address", "RemainingCredit", "DocNumber", "PrivateNote", "Active", "UnappliedAmt"]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text(max_size=12)
    | st.sampled_from(["Deleted", "Invoice", "USD", "XXY", "2026-04-08", "2026-04-08T13:13:33-07:00", "Voided", "-1"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=25,
)
SAMPLE_OBJECTS = [(Entity.INVOICE, INVOICE_130), (Entity.PAYMENT, PAYMENT_125), (Entity.CUSTOMER, CUSTOMER_1),
                  (Entity.CREDIT_NOTE, MEMO_184)]  # fmt: skip


def assert_mapped_or_quarantined(entity: Entity, raw: Any) -> None:
    result = map_record(entity, raw, home_currency=HOME)
    assert isinstance(result, Fetched | BadRecord)
    if isinstance(result, BadRecord):
        assert not result.error.startswith("unexpected"), result  # the safety net stays unused
        assert result.payload is raw or result.payload == {"value": raw}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entity=st.sampled_from(list(ENTITY_NAMES)), raw=JSON)
def test_arbitrary_json_is_mapped_or_quarantined(entity: Entity, raw: Any) -> None:
    assert_mapped_or_quarantined(entity, raw)


@settings(max_examples=500, deadline=None)
@given(which=st.sampled_from(SAMPLE_OBJECTS), key=st.sampled_from(KEYS), value=JSON, nested=st.booleans())
def test_a_sample_with_one_field_replaced_is_mapped_or_quarantined(
    which: tuple[Entity, Mapping[str, Any]], key: str, value: Any, nested: bool
) -> None:
    entity, sample = which
    raw = dict(sample)
    if nested and isinstance(raw.get("Line"), list) and raw["Line"]:
        raw["Line"] = [dict(raw["Line"][0], **{key: value}), *raw["Line"][1:]]
    else:
        raw[key] = value
    assert_mapped_or_quarantined(entity, raw)


@pytest.mark.parametrize(
    ("ref", "terms"),
    [
        pytest.param({"value": "3", "name": "Net 30"}, "Net 30", id="named"),
        pytest.param({"value": "3"}, "", id="id-only: the platform fills it"),
        pytest.param(None, "", id="no-terms"),
        pytest.param("Net 30", "", id="odd-shape"),
    ],
)
def test_payment_terms_come_from_the_sales_term_reference(ref: Any, terms: str) -> None:
    raw = (
        changed(INVOICE_130, SalesTermRef=ref)
        if ref is not None
        else {k: v for k, v in INVOICE_130.items() if k != "SalesTermRef"}
    )
    record = map_invoice(raw, home_currency=HOME)
    assert record.terms == terms
