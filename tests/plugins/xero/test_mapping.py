"""Xero JSON → core.model: every entity-holding sample mapped and checked field by field.

The samples in ``samples/`` are byte-exact copies of ``../shared/api-samples/xero/`` (see
``samples/SOURCES.md``). The expected values below were read off the JSON by hand; dates are
checked against the ``DateString``/``UpdatedDateUTCString`` twins Xero sends with them.
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
from plugins.xero.mapping import (
    ENTITY_ENDPOINTS,
    ENTITY_KEYS,
    ENTITY_LIST_KEYS,
    MappingError,
    NotReceivable,
    map_contact,
    map_credit,
    map_invoice,
    map_payment,
    map_record,
    parse_xero_date,
    parse_xero_instant,
)

SAMPLES = Path(__file__).parent / "samples"
HOME = "USD"
OPEN, PAID, VOIDED, DRAFT, DELETED = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOIDED,
                                      InvoiceStatus.DRAFT, InvoiceStatus.DELETED)  # fmt: skip
DROP = object()
"""An override value meaning: remove the key."""


def load(name: str) -> Any:
    """A sample parsed the way the client parses responses: numbers as Decimal (notes §1.8)."""
    return json.loads((SAMPLES / name).read_bytes(), parse_float=Decimal)


def items(name: str, entity: Entity) -> list[Any]:
    found: list[Any] = load(name)[ENTITY_LIST_KEYS[entity]]
    return found


def nzd(amount: str) -> Any:
    return money(amount, "NZD")


def fetched(entity: Entity, raw: Any, home: str = HOME) -> Fetched:
    result = map_record(entity, raw, home_currency=home)
    assert isinstance(result, Fetched), result
    return result


def bad(entity: Entity, raw: Any, home: str = HOME) -> BadRecord:
    result = map_record(entity, raw, home_currency=home)
    assert isinstance(result, BadRecord), result
    return result


def gone(entity: Entity, raw: Any) -> Fetched:
    result = fetched(entity, raw)
    assert result.deleted and result.record is None, result
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


def string_instant(raw: Mapping[str, Any]) -> datetime:
    """``UpdatedDateUTCString`` (whole seconds, Z) as an aware datetime."""
    return datetime.fromisoformat(raw["UpdatedDateUTCString"].replace("Z", "+00:00"))


INVOICES = items("invoices_list_ACCREC.spec.json", Entity.INVOICE)
INV_3 = INVOICES[2]  # AUTHORISED, 115.00 due
INV_6 = items("invoice_single_ACCREC_paid_with_attachment.spec.json", Entity.INVOICE)[0]
PAYMENTS = items("payments_list.spec.json", Entity.PAYMENT)
CREDIT_NOTES = items("credit_notes_list.spec.json", Entity.CREDIT_NOTE)
CN_5 = CREDIT_NOTES[0]
CONTACT_ACME = items("contact_single_with_contact_persons.spec.json", Entity.CUSTOMER)[0]
BARNEY, LIAM = "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7", "430fa14a-f945-44d3-9f97-5df5e28441b8"


# --- invoices ---------------------------------------------------------------------------------

# (InvoiceID, InvoiceNumber, ContactID, Date, DueDate, Total, AmountDue, status, FullyPaidOnDate)
ACCREC = [
    ("d4956132-ed94-4dd7-9eaa-aa22dfdf06f2", "INV-0001", BARNEY, "2018-10-20", "2018-12-30", "40.00", "0.00", VOIDED,
     None),
    ("046d8a6d-1ae1-4b4d-9340-5601bdf41b87", "INV-0002", BARNEY, "2018-10-20", "2018-12-30", "46.00", "0.00", PAID,
     "2018-11-29"),
    ("7ef31b20-de17-4312-8382-412f869b1510", "INV-0003", BARNEY, "2018-11-02", "2018-11-07", "115.00", "115.00", OPEN,
     None),
    ("a03ffcd2-5d91-4c7e-b483-318584e9e439", "INV-0006", LIAM, "2019-03-07", "2019-03-13", "148062.76", "0.00", PAID,
     "2019-03-19"),
]  # fmt: skip


def test_maps_every_sales_invoice_field_by_field() -> None:
    raws = [*INVOICES, INV_6]
    for raw, (id_, number, contact, issued, due, total, balance, status, paid) in zip(raws, ACCREC, strict=True):
        result = fetched(Entity.INVOICE, raw)
        assert result.record == Invoice(
            id=id_,
            customer_id=contact,
            number=number,
            issue_date=date.fromisoformat(issued),
            due_date=date.fromisoformat(due),
            total=nzd(total),
            balance=nzd(balance),
            status=status,
            paid_date=date.fromisoformat(paid) if paid else None,
            pay_url=None,
            terms="",
        )
        assert (result.entity, result.external_id, result.deleted, result.raw) == (Entity.INVOICE, id_, False, raw)
        # The /Date()/ values agree with the DateString twins Xero sends beside them.
        assert result.record.issue_date == date.fromisoformat(raw["DateString"][:10])
        assert result.record.due_date == date.fromisoformat(raw["DueDateString"][:10])
        assert result.updated_at is not None and result.updated_at.tzinfo is UTC
        assert result.updated_at.replace(microsecond=0) == string_instant(raw)


def test_updated_at_keeps_the_milliseconds() -> None:
    assert fetched(Entity.INVOICE, INV_3).updated_at == datetime(2018, 11, 2, 16, 37, 28, 927000, tzinfo=UTC)


def test_paid_invoice_with_validation_errors_still_maps() -> None:
    # The spec's GET example carries ValidationErrors and StatusAttributeString ERROR: they describe
    # a refused write, not the invoice as stored (module docstring).
    assert INV_6["ValidationErrors"] == [{"Message": "Invoice # must be unique."}]
    assert fetched(Entity.INVOICE, INV_6).record == map_invoice(
        changed(INV_6, ValidationErrors=DROP), home_currency=HOME
    )


def test_the_paid_invoice_is_explained_by_its_payment() -> None:
    payment = map_payment(PAYMENTS[0], home_currency=HOME)
    invoice = map_invoice(INVOICES[1], home_currency=HOME)
    assert payment.allocations == (Allocation(invoice.id, invoice.total),)
    assert INVOICES[1]["Payments"][0]["PaymentID"] == payment.id
    assert invoice.paid_date == payment.payment_date


@pytest.mark.parametrize(
    "name", ["invoices_list_with_applied_credit_note_ACCPAY.xero-node.json", "invoice_single_ACCPAY.xero-node.json"]
)
def test_bills_are_not_receivables(name: str) -> None:
    for raw in items(name, Entity.INVOICE):
        assert raw["Type"] == "ACCPAY"
        result = gone(Entity.INVOICE, raw)
        assert result.external_id == raw["InvoiceID"]
        assert result.updated_at == parse_xero_instant(raw["UpdatedDateUTC"])
        with pytest.raises(NotReceivable) as caught:
            map_invoice(raw, home_currency=HOME)
        assert caught.value.field == "Type" and isinstance(caught.value, MappingError)
        assert str(caught.value) == "Type: ACCPAY is a bill (accounts payable), not a sales invoice"


def test_wire_escaped_dates_map_like_plain_ones() -> None:
    # The xero-node bills keep "\/Date(…)\/" on the wire; as a sales invoice the credited one is
    # paid: 1193.50 − 974.60 paid − 218.90 credited = 0.00 due.
    raw = items("invoices_list_with_applied_credit_note_ACCPAY.xero-node.json", Entity.INVOICE)[1]
    wire = (SAMPLES / "invoices_list_with_applied_credit_note_ACCPAY.xero-node.json").read_bytes()
    assert b"\\/Date(1509321600000+0000)\\/" in wire
    record = map_invoice(changed(raw, Type="ACCREC"), home_currency=HOME)
    assert record == Invoice("673dd7cc-beb7-4697-83d4-0c47cb400cc2", "d0cd2c4f-18a0-4f7c-a32a-2db00f29d298", "",
                             date(2017, 10, 30), date(2017, 11, 6), money("1193.50", "AUD"), money("0.00", "AUD"),
                             PAID, paid_date=date(2017, 11, 5))  # fmt: skip
    assert raw["CreditNotes"][0]["AppliedAmount"] == raw["AmountCredited"] == Decimal("218.90")


# --- invoice status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "status", "balance"),
    [
        pytest.param({}, OPEN, "115.00", id="authorised-nothing-paid"),
        pytest.param({"Status": "authorised"}, OPEN, "115.00", id="status-lower-case"),
        pytest.param({"AmountDue": "15.00", "AmountPaid": "100.00"}, OPEN, "15.00", id="partly-paid"),
        pytest.param({"AmountDue": 0, "AmountPaid": Decimal("115.00")}, PAID, "0", id="authorised-nothing-due"),
        pytest.param({"AmountDue": 0, "AmountCredited": 115}, PAID, "0", id="authorised-credited-in-full"),
        pytest.param({"Status": "PAID", "AmountDue": 0, "AmountPaid": 115}, PAID, "0", id="paid"),
        pytest.param({"Status": "DRAFT"}, DRAFT, "115.00", id="draft"),
        pytest.param({"Status": "SUBMITTED"}, DRAFT, "115.00", id="submitted-for-approval"),
        pytest.param({"Status": "VOIDED", "AmountDue": 0}, VOIDED, "0", id="voided"),
        pytest.param({"Status": "DELETED"}, DELETED, "115.00", id="deleted"),
        pytest.param({"Total": "115.00", "AmountDue": "115"}, OPEN, "115", id="string-numbers"),
        pytest.param({"Total": 115, "AmountDue": 115.0}, OPEN, "115.0", id="int-and-float"),
    ],
)
def test_invoice_status(overrides: dict[str, Any], status: InvoiceStatus, balance: str) -> None:
    record = map_invoice(changed(INV_3, **overrides), home_currency=HOME)
    assert (record.status, record.balance) == (status, nzd(balance))


def test_deleted_invoice_is_a_deleted_record_whatever_else_it_holds() -> None:
    stub = {"InvoiceID": INV_3["InvoiceID"], "Status": "DELETED", "Total": "garbage"}
    assert fetched(Entity.INVOICE, stub) == Fetched(Entity.INVOICE, INV_3["InvoiceID"], None, stub, deleted=True)
    result = gone(Entity.INVOICE, changed(INV_3, Status="DELETED"))
    assert result.updated_at == datetime(2018, 11, 2, 16, 37, 28, 927000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "issued", "due"),
    [
        pytest.param({"DueDate": DROP, "DueDateString": DROP}, "2018-11-02", "2018-11-02", id="draft-without-due"),
        pytest.param({"Date": DROP, "DateString": DROP}, "2018-11-07", "2018-11-07", id="draft-without-date"),
        pytest.param({"Date": DROP}, "2018-11-02", "2018-11-07", id="date-string-only"),
        pytest.param(
            {"DueDate": None, "DueDateString": "2018-12-01T00:00:00"},
            "2018-11-02",
            "2018-12-01",
            id="due-date-string-only",
        ),
    ],
)
def test_draft_dates(overrides: dict[str, Any], issued: str, due: str) -> None:
    record = map_invoice(changed(INV_3, Status="DRAFT", **overrides), home_currency=HOME)
    assert (record.issue_date, record.due_date) == (date.fromisoformat(issued), date.fromisoformat(due))


def test_currency_defaults_to_home_and_is_upper_cased() -> None:
    assert map_invoice(changed(INV_3, CurrencyCode=DROP), home_currency="eur").total == money("115.00", "EUR")
    assert map_invoice(changed(INV_3, CurrencyCode="aud"), home_currency=HOME).total == money("115.00", "AUD")


# --- bad invoices -------------------------------------------------------------------------------

BAD_INVOICES = [
    pytest.param({"Total": "x"}, "Total", "not a number: 'x'", id="total-text"),
    pytest.param({"Total": "1,150.00"}, "Total", "not a number: '1,150.00'", id="total-thousands"),
    pytest.param({"AmountDue": ""}, "AmountDue", "not a number: ''", id="due-empty"),
    pytest.param({"AmountDue": -1}, "AmountDue", "negative: -1", id="due-negative"),
    pytest.param({"AmountDue": True}, "AmountDue", "expected a number, got True", id="due-bool"),
    pytest.param({"AmountDue": Decimal("NaN")}, "AmountDue", "expected a number, got Decimal('NaN')", id="due-nan"),
    pytest.param({"AmountDue": [115]}, "AmountDue", "expected a number, got list", id="due-list"),
    pytest.param({"AmountDue": DROP}, "AmountDue", "missing", id="due-missing"),
    pytest.param({"AmountDue": 200}, "AmountDue", "200 is more than Total 115.00", id="due-over-total"),
    pytest.param({"AmountPaid": "lots"}, "AmountPaid", "not a number: 'lots'", id="paid-text"),
    pytest.param({"AmountCredited": {}}, "AmountCredited", "expected a number, got dict", id="credited-object"),
    pytest.param(
        {"AmountDue": "15.00"},
        "AmountDue",
        "15.00 is not Total 115.00 less paid 0.00 and credited 0.00",
        id="due-does-not-add-up",
    ),
    pytest.param(
        {"Status": "PAID", "AmountDue": 10, "AmountPaid": DROP},
        "AmountDue",
        "10 still due on a PAID invoice",
        id="paid-with-something-due",
    ),
    pytest.param({"Status": "ARCHIVED"}, "Status", "unknown invoice status 'ARCHIVED'", id="status-unknown"),
    pytest.param({"Status": DROP}, "Status", "missing", id="status-missing"),
    pytest.param({"Status": 1}, "Status", "expected text, got int", id="status-int"),
    pytest.param({"Type": DROP}, "Type", "missing", id="type-missing"),
    pytest.param({"Type": "ACCRECCREDIT"}, "Type", "not a sales invoice type: 'ACCRECCREDIT'", id="type-credit"),
    pytest.param({"Contact": DROP}, "Contact", "missing", id="contact-missing"),
    pytest.param({"Contact": "Barney"}, "Contact", "expected an object, got str", id="contact-text"),
    pytest.param({"Contact": {"Name": "Barney"}}, "Contact.ContactID", "missing", id="contact-without-id"),
    pytest.param({"Contact": {"ContactID": 7}}, "Contact.ContactID", "not an id: 7", id="contact-id-int"),
    pytest.param({"CurrencyCode": "XXY"}, "CurrencyCode", "unknown currency 'XXY'", id="currency-unknown"),
    pytest.param({"CurrencyCode": 554}, "CurrencyCode", "expected text, got int", id="currency-number"),
    pytest.param(
        {"Date": "/Date(abc)/"}, "Date", "not a /Date(…)/ or YYYY-MM-DD date: '/Date(abc)/'", id="date-garbage"
    ),
    pytest.param({"DueDate": 1541548800000}, "DueDate", "expected text, got int", id="due-date-number"),
    pytest.param(
        {"DueDate": "/Date(999999999999999+0000)/"},
        "DueDate",
        "instant out of range: '/Date(999999999999999+0000)/'",
        id="due-date-out-of-range",
    ),
    pytest.param({"DueDate": DROP, "DueDateString": DROP}, "DueDate", "missing", id="authorised-without-due-date"),
    pytest.param(
        {"DueDate": DROP, "DueDateString": "07/11/2018"},
        "DueDateString",
        "not a /Date(…)/ or YYYY-MM-DD date: '07/11/2018'",
        id="due-date-string-garbage",
    ),
    pytest.param({"InvoiceNumber": 3}, "InvoiceNumber", "expected text, got int", id="number-int"),
    pytest.param(
        {"UpdatedDateUTC": "yesterday"},
        "UpdatedDateUTC",
        "not a /Date(…)/ or ISO 8601 instant: 'yesterday'",
        id="updated-garbage",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "error"), BAD_INVOICES)
def test_bad_invoice_is_quarantined_naming_the_field(overrides: dict[str, Any], field: str, error: str) -> None:
    raw = changed(INV_3, **overrides)
    result = bad(Entity.INVOICE, raw)
    assert result == BadRecord(Entity.INVOICE, INV_3["InvoiceID"], field, error, raw)
    assert result.payload is raw
    if field != "UpdatedDateUTC":
        with pytest.raises(MappingError) as caught:
            map_invoice(raw, home_currency=HOME)
        assert (caught.value.field, caught.value.message, str(caught.value)) == (field, error, f"{field}: {error}")


def test_draft_without_any_date_is_quarantined() -> None:
    raw = changed(INV_3, Status="DRAFT", Date=DROP, DateString=DROP, DueDate=DROP, DueDateString=DROP)
    assert (bad(Entity.INVOICE, raw).field, bad(Entity.INVOICE, raw).error) == ("Date", "missing")


@pytest.mark.parametrize(
    ("value", "external_id", "error"),
    [
        pytest.param(DROP, "", "missing", id="missing"),
        pytest.param("", "", "not an id: ''", id="empty"),
        pytest.param(["x"], "", "not an id: ['x']", id="list"),
        pytest.param(
            "00000000-0000-0000-0000-000000000000", "", "the empty id of a record Xero did not save", id="zero-guid"
        ),
    ],
)
def test_invoice_id(value: Any, external_id: str, error: str) -> None:
    raw = changed(INV_3, InvoiceID=value)
    assert bad(Entity.INVOICE, raw) == BadRecord(Entity.INVOICE, external_id, "InvoiceID", error, raw)


# --- contacts ---------------------------------------------------------------------------------

# (sample, ContactID, Name, emails, UpdatedDateUTC as ISO)
CONTACTS = [
    ("contact_single.xero-node.json", "899985a6-f05c-40e7-a18b-28eb760df75b", "Martin Hudson", (),
     "2018-02-15T09:12:30.940+00:00"),
    ("contact_single_with_contact_persons.spec.json", "8138a266-fb42-49b2-a104-014b7045753d", "Acme Parts Co.",
     ("bk@krave.co", "sue.johnson@krave.com"), "2019-03-01T17:02:57.193+00:00"),
    ("contacts_list.spec.json", "5cc8cf28-567e-4d43-b287-687cfcaec47c", "Katherine Warren",
     ("kat.warren@clampett.com",), "2017-08-21T20:49:04.227+00:00"),
    ("contacts_list.spec.json", "3ec601ad-eddc-4ccb-a8ac-736e88293b1b", "Lisa Parker", ("lparker@parkerandco.com",),
     "2017-08-21T20:49:06.760+00:00"),
    ("contacts_list.xero-node.json", "899985a6-f05c-40e7-a18b-28eb760df75b", "Martin Hudson", (),
     "2018-02-15T09:12:30.940+00:00"),
    ("contacts_list.xero-node.json", "565acaa9-e7f3-4fbf-80c3-16b081ddae10", "Southside Office Supplies", (),
     "2018-02-15T18:03:41.980+00:00"),
]  # fmt: skip


def test_maps_every_contact_sample() -> None:
    raws = [raw for name in dict.fromkeys(c[0] for c in CONTACTS) for raw in items(name, Entity.CUSTOMER)]
    for raw, (_, id_, name, emails, updated) in zip(raws, CONTACTS, strict=True):
        result = fetched(Entity.CUSTOMER, raw)
        assert result.record == Customer(id_, name, emails, language="en", excluded=False, owner=None, active=True)
        assert (result.external_id, result.updated_at) == (id_, datetime.fromisoformat(updated))


def test_the_contact_on_an_invoice_maps_too_and_leaves_out_people_not_in_emails() -> None:
    contact = INV_6["Contact"]
    assert contact["ContactPersons"][0]["IncludeInEmails"] is False
    assert map_contact(contact, home_currency=HOME) == Customer(LIAM, "Liam Gallagher", ("liam@rockstar.com",))
    assert fetched(Entity.CUSTOMER, contact).updated_at == datetime(2019, 3, 5, 0, 54, 41, 53000, tzinfo=UTC)


def person(email: Any, include: Any) -> dict[str, Any]:
    return {"FirstName": "Sue", "LastName": "Johnson", "EmailAddress": email, "IncludeInEmails": include}


@pytest.mark.parametrize(
    ("overrides", "emails", "active"),
    [
        pytest.param({}, ("bk@krave.co", "sue.johnson@krave.com"), True, id="sample"),
        pytest.param({"ContactStatus": "ARCHIVED"}, ("bk@krave.co", "sue.johnson@krave.com"), False, id="archived"),
        pytest.param({"ContactStatus": "GDPRREQUEST"}, ("bk@krave.co", "sue.johnson@krave.com"), False, id="gdpr"),
        pytest.param({"ContactStatus": DROP}, ("bk@krave.co", "sue.johnson@krave.com"), True, id="status-absent"),
        pytest.param(
            {"ContactStatus": "SOMETHINGNEW"},
            ("bk@krave.co", "sue.johnson@krave.com"),
            True,
            id="status-unknown-read-as-active",
        ),
        pytest.param(
            {"ContactPersons": [person("a@x.com", "true")]}, ("bk@krave.co", "a@x.com"), True, id="include-string-true"
        ),
        pytest.param(
            {"ContactPersons": [person("a@x.com", "False")]}, ("bk@krave.co",), True, id="include-string-false"
        ),
        pytest.param({"ContactPersons": [person("a@x.com", None)]}, ("bk@krave.co",), True, id="include-absent"),
        pytest.param({"ContactPersons": [person("BK@krave.co", True)]}, ("bk@krave.co",), True, id="duplicate"),
        pytest.param({"ContactPersons": [person("", True)]}, ("bk@krave.co",), True, id="person-without-email"),
        pytest.param({"ContactPersons": DROP}, ("bk@krave.co",), True, id="no-persons"),
        pytest.param({"EmailAddress": ""}, ("sue.johnson@krave.com",), True, id="only-a-person"),
        pytest.param({"EmailAddress": "not an address"}, ("sue.johnson@krave.com",), True, id="unusable-address"),
        pytest.param(
            {"EmailAddress": "a@x.com; b@x.com"},
            ("a@x.com", "b@x.com", "sue.johnson@krave.com"),
            True,
            id="several-addresses",
        ),
        pytest.param(
            {"TaxNumberType": "TAXNUMBERTYPE/EIN", "IsCustomer": "false"},
            ("bk@krave.co", "sue.johnson@krave.com"),
            True,
            id="values-that-break-the-sdk",
        ),
    ],
)
def test_contact_shapes(overrides: dict[str, Any], emails: tuple[str, ...], active: bool) -> None:
    record = map_contact(changed(CONTACT_ACME, **overrides), home_currency=HOME)
    assert (record.id, record.name, record.emails, record.active) == (CONTACT_ACME["ContactID"], "Acme Parts Co.",
                                                                     emails, active)  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        pytest.param({"Name": DROP}, "Name", "missing", id="name-missing"),
        pytest.param({"Name": "  "}, "Name", "empty", id="name-blank"),
        pytest.param({"Name": 42}, "Name", "expected text, got int", id="name-int"),
        pytest.param({"ContactID": DROP}, "ContactID", "missing", id="id-missing"),
        pytest.param({"EmailAddress": ["bk@krave.co"]}, "EmailAddress", "expected text, got list", id="email-list"),
        pytest.param(
            {"ContactPersons": {"EmailAddress": "x@y.z"}},
            "ContactPersons",
            "expected a list, got dict",
            id="persons-object",
        ),
        pytest.param({"ContactPersons": ["sue"]}, "ContactPersons[0]", "expected an object, got str", id="person-text"),
        pytest.param(
            {"ContactPersons": [person("a@x.com", "yes")]},
            "ContactPersons[0].IncludeInEmails",
            "expected true or false, got 'yes'",
            id="include-yes",
        ),
        pytest.param(
            {"ContactPersons": [person(5, True)]},
            "ContactPersons[0].EmailAddress",
            "expected text, got int",
            id="person-email-int",
        ),
        pytest.param({"ContactStatus": False}, "ContactStatus", "expected text, got bool", id="status-bool"),
    ],
)
def test_bad_contact_is_quarantined_naming_the_field(overrides: dict[str, Any], field: str, error: str) -> None:
    raw = changed(CONTACT_ACME, **overrides)
    external_id = CONTACT_ACME["ContactID"] if "ContactID" not in overrides else ""
    assert bad(Entity.CUSTOMER, raw) == BadRecord(Entity.CUSTOMER, external_id, field, error, raw)


def test_validation_error_bodies_are_not_records() -> None:
    body = load("error_400_validation_contacts.spec.json")
    element = body["Elements"][0]
    assert bad(Entity.CUSTOMER, element) == BadRecord(
        Entity.CUSTOMER, "", "ContactID", "the empty id of a record Xero did not save", element
    )
    assert (bad(Entity.CUSTOMER, body).field, bad(Entity.CUSTOMER, body).error) == ("ContactID", "missing")
    history = load("error_400_validation_history_not_found.spec.json")["Elements"][0]
    for entity in Entity:
        assert bad(entity, history) == BadRecord(entity, "", ENTITY_KEYS[entity], "missing", history)


# --- payments ---------------------------------------------------------------------------------


def test_payment_received_is_one_allocation_to_its_invoice() -> None:
    # The spec's own example, whose string "false" and "50.00" in BatchPayment break the SDK (notes §0.8).
    raw = PAYMENTS[0]
    assert raw["BatchPayment"]["IsReconciled"] == "false" and raw["BatchPayment"]["TotalAmount"] == "50.00"
    result = fetched(Entity.PAYMENT, raw)
    assert result.record == Payment(
        "99ea7f6b-c513-4066-bc27-b7c65dcd76c2",
        BARNEY,
        date(2018, 11, 29),
        nzd("46.00"),
        (Allocation("046d8a6d-1ae1-4b4d-9340-5601bdf41b87", nzd("46.00")),),
        unapplied=None,
    )
    assert result.updated_at is not None and result.updated_at.replace(microsecond=0) == string_instant(raw)
    assert isinstance(result.record, Payment) and result.record.unapplied_amount() == nzd("0")


def test_credit_note_refund_is_not_a_payment_received() -> None:
    raw = PAYMENTS[1]
    assert (raw["PaymentType"], raw["Invoice"]["Type"]) == ("ARCREDITPAYMENT", "ACCRECCREDIT")
    result = gone(Entity.PAYMENT, raw)
    assert (result.external_id, result.updated_at) == (raw["PaymentID"], datetime(2019, 3, 5, 18, 59, 6, 173000,
                                                                                   tzinfo=UTC))  # fmt: skip
    with pytest.raises(NotReceivable, match=r"^PaymentType: ARCREDITPAYMENT is not money received"):
        map_payment(raw, home_currency=HOME)
    # The refund is already out of the credit note's remaining credit: 34.50 − 2.00 = 32.50.
    assert CN_5["Payments"][0]["PaymentID"] == raw["PaymentID"]
    assert CN_5["Total"] - raw["Amount"] == CN_5["RemainingCredit"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"PaymentType": DROP}, "ours", id="type-from-the-invoice"),
        pytest.param({"Status": "DELETED"}, "gone", id="deleted"),
        pytest.param({"PaymentType": "ACCPAYPAYMENT"}, "gone", id="supplier-payment"),
        pytest.param({"PaymentType": "AROVERPAYMENTPAYMENT"}, "gone", id="overpayment-refund"),
        pytest.param({"PaymentType": "ARPREPAYMENTPAYMENT"}, "gone", id="prepayment-refund"),
        pytest.param(
            {"PaymentType": "AROVERPAYMENTPAYMENT", "Invoice": DROP, "Overpayment": {"OverpaymentID": "x"}},
            "gone",
            id="refund-naming-its-overpayment",
        ),
        pytest.param({"PaymentType": "accrecpayment"}, "ours", id="type-lower-case"),
        pytest.param({"Amount": "46.00"}, "ours", id="string-amount"),
        pytest.param({"Amount": 0}, "zero", id="zero-moves-nothing"),
    ],
)
def test_payment_kinds(overrides: dict[str, Any], expected: str) -> None:
    raw = changed(PAYMENTS[0], **overrides)
    if expected == "gone":
        gone(Entity.PAYMENT, raw)
        return
    record = fetched(Entity.PAYMENT, raw).record
    assert isinstance(record, Payment)
    assert len(record.allocations) == (0 if expected == "zero" else 1)


def test_payment_currency_is_its_invoice_currency() -> None:
    invoice = changed(PAYMENTS[0]["Invoice"], CurrencyCode=DROP)
    assert map_payment(changed(PAYMENTS[0], Invoice=invoice), home_currency="eur").amount == money("46.00", "EUR")
    raw = changed(PAYMENTS[0], Invoice=invoice, CurrencyCode="AUD")
    assert map_payment(raw, home_currency=HOME).amount == money("46.00", "AUD")


BAD_PAYMENTS = [
    pytest.param({"Amount": "46,00"}, "Amount", "not a number: '46,00'", id="amount-comma"),
    pytest.param({"Amount": -46}, "Amount", "negative: -46", id="amount-negative"),
    pytest.param({"Date": DROP}, "Date", "missing", id="date-missing"),
    pytest.param({"Invoice": DROP}, "Invoice", "missing", id="invoice-missing"),
    pytest.param({"PaymentType": "BATCH"}, "PaymentType", "unknown payment type 'BATCH'", id="type-unknown"),
    pytest.param({"PaymentType": DROP, "Invoice": {"InvoiceID": "x"}}, "PaymentType", "missing", id="type-unknowable"),
    pytest.param(
        {"Invoice": {"Type": "ACCPAY", "InvoiceID": "x"}},
        "Invoice.Type",
        "'ACCPAY' for an ACCRECPAYMENT",
        id="type-contradiction",
    ),
    pytest.param({"Invoice": {"Type": "ACCREC"}}, "Invoice.InvoiceID", "missing", id="invoice-id-missing"),
    pytest.param(
        {"Invoice": {"Type": "ACCREC", "InvoiceID": "x"}}, "Invoice.Contact", "missing", id="invoice-contact-missing"
    ),
    pytest.param(
        {"Invoice": {"Type": "ACCREC", "InvoiceID": "x", "Contact": {}, "CurrencyCode": "NZD"}},
        "Invoice.Contact.ContactID",
        "missing",
        id="invoice-contact-id-missing",
    ),
    pytest.param(
        {"Invoice": {"Type": "ACCREC", "InvoiceID": "x", "CurrencyCode": "XXY"}},
        "CurrencyCode",
        "unknown currency 'XXY'",
        id="invoice-currency-unknown",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "error"), BAD_PAYMENTS)
def test_bad_payment_is_quarantined_naming_the_field(overrides: dict[str, Any], field: str, error: str) -> None:
    raw = changed(PAYMENTS[0], **overrides)
    assert bad(Entity.PAYMENT, raw) == BadRecord(Entity.PAYMENT, PAYMENTS[0]["PaymentID"], field, error, raw)


def test_map_payment_refuses_a_deleted_payment() -> None:
    with pytest.raises(MappingError, match=r"^Status: a deleted payment"):
        map_payment(changed(PAYMENTS[0], Status="DELETED"), home_currency=HOME)


# --- credit notes, overpayments, prepayments ---------------------------------------------------

# (entity, sample index, id, ContactID, remaining, number, Date, Total) for the ones that are ours
CREDITS = [
    (Entity.CREDIT_NOTE, "credit_notes_list.spec.json", 0, "249f15fa-f2a7-4acc-8769-0984103f2225", LIAM, "32.50",
     "CN-0005", "2019-03-05", "34.50"),
    (Entity.OVERPAYMENT, "overpayments_list.spec.json", 1, "2a8bda49-8908-473b-8bcf-1f90990460eb", LIAM, "20.00", "",
     "2019-03-13", "20.00"),
    (Entity.OVERPAYMENT, "overpayments_list.spec.json", 3, "0859adbc-ea00-40cd-a877-258cf8644975", LIAM, "20.00", "",
     "2019-03-13", "20.00"),
    (Entity.OVERPAYMENT, "overpayments_list.spec.json", 4, "687b877f-634a-415d-92b2-74e62977de30", LIAM, "20.00", "",
     "2019-03-13", "20.00"),
    (Entity.PREPAYMENT, "prepayments_list.spec.json", 0, "ce0cddef-cf5a-4e59-b638-f225679115a7",
     "be392c72-c121-4f83-9512-03ac71e54c20", "3450.00", "INV-0011", "2019-03-13", "3450.00"),
]  # fmt: skip
KINDS = {Entity.CREDIT_NOTE: CreditKind.CREDIT_NOTE, Entity.OVERPAYMENT: CreditKind.OVERPAYMENT,
         Entity.PREPAYMENT: CreditKind.PREPAYMENT}  # fmt: skip


@pytest.mark.parametrize(
    ("entity", "name", "index", "id_", "contact", "remaining", "number", "issued", "total"),
    CREDITS,
    ids=["credit-note", "overpayment-2", "overpayment-4", "overpayment-5", "prepayment"],
)
def test_maps_every_customer_credit(
    entity: Entity, name: str, index: int, id_: str, contact: str, remaining: str, number: str, issued: str, total: str
) -> None:
    raw = items(name, entity)[index]
    result = fetched(entity, raw)
    assert result.record == Credit(id_, contact, nzd(remaining), KINDS[entity], number, date.fromisoformat(issued),
                                   nzd(total))  # fmt: skip
    assert result.record == map_credit(raw, entity, home_currency=HOME)
    assert result.updated_at is not None and result.updated_at.replace(microsecond=0) == string_instant(raw)
    assert isinstance(result.record, Credit) and result.record.issue_date == date.fromisoformat(raw["DateString"][:10])


@pytest.mark.parametrize(
    ("entity", "name", "index", "type_"),
    [
        pytest.param(Entity.CREDIT_NOTE, "credit_notes_list.spec.json", 1, "ACCPAYCREDIT", id="supplier-credit-note"),
        pytest.param(Entity.OVERPAYMENT, "overpayments_list.spec.json", 0, "SPEND-OVERPAYMENT", id="spend-1"),
        pytest.param(Entity.OVERPAYMENT, "overpayments_list.spec.json", 2, "SPEND-OVERPAYMENT", id="spend-3"),
    ],
)
def test_supplier_credit_is_not_ours(entity: Entity, name: str, index: int, type_: str) -> None:
    raw = items(name, entity)[index]
    assert raw["Type"] == type_
    assert gone(entity, raw).external_id == raw[ENTITY_KEYS[entity]]
    with pytest.raises(NotReceivable, match=rf"^Type: {type_} is supplier credit"):
        map_credit(raw, entity, home_currency=HOME)
    prepayment = changed(raw, Type="SPEND-PREPAYMENT", PrepaymentID=raw[ENTITY_KEYS[entity]])
    assert gone(Entity.PREPAYMENT, prepayment).external_id == raw[ENTITY_KEYS[entity]]


@pytest.mark.parametrize(
    ("overrides", "remaining"),
    [
        pytest.param({}, "32.50", id="authorised"),
        pytest.param({"Status": "DRAFT"}, "0", id="draft-is-no-credit-yet"),
        pytest.param({"Status": "SUBMITTED"}, "0", id="submitted-is-no-credit-yet"),
        pytest.param({"Status": "PAID", "RemainingCredit": 0}, "0", id="used-up"),
        pytest.param({"Status": "PAID", "RemainingCredit": DROP}, "0", id="used-up-without-remaining"),
        pytest.param({"RemainingCredit": "12.5"}, "12.5", id="string-remaining"),
        pytest.param({"Status": "VOIDED"}, None, id="voided-is-gone"),
        pytest.param({"Status": "DELETED"}, None, id="deleted-is-gone"),
    ],
)
def test_credit_status(overrides: dict[str, Any], remaining: str | None) -> None:
    raw = changed(CN_5, **overrides)
    if remaining is None:
        gone(Entity.CREDIT_NOTE, raw)
        with pytest.raises(MappingError, match=r"^Status: a (voided|deleted) credit is no credit"):
            map_credit(raw, Entity.CREDIT_NOTE, home_currency=HOME)
        return
    record = fetched(Entity.CREDIT_NOTE, raw).record
    assert isinstance(record, Credit)
    assert (record.amount, record.total) == (nzd(remaining), nzd("34.50"))


@pytest.mark.parametrize(
    ("entity", "overrides", "field", "error"),
    [
        pytest.param(
            Entity.CREDIT_NOTE,
            {"RemainingCredit": "ten"},
            "RemainingCredit",
            "not a number: 'ten'",
            id="remaining-text",
        ),
        pytest.param(
            Entity.CREDIT_NOTE, {"RemainingCredit": DROP}, "RemainingCredit", "missing", id="remaining-missing"
        ),
        pytest.param(
            Entity.CREDIT_NOTE,
            {"RemainingCredit": 40},
            "RemainingCredit",
            "40 is more than Total 34.50",
            id="remaining-over-total",
        ),
        pytest.param(Entity.CREDIT_NOTE, {"Total": DROP}, "Total", "missing", id="total-missing"),
        pytest.param(
            Entity.CREDIT_NOTE, {"Status": "ARCHIVED"}, "Status", "unknown status 'ARCHIVED'", id="status-unknown"
        ),
        pytest.param(
            Entity.CREDIT_NOTE,
            {"Type": "RECEIVE-OVERPAYMENT"},
            "Type",
            "expected ACCRECCREDIT, got 'RECEIVE-OVERPAYMENT'",
            id="type-of-another-entity",
        ),
        pytest.param(Entity.CREDIT_NOTE, {"Contact": DROP}, "Contact", "missing", id="contact-missing"),
        pytest.param(
            Entity.CREDIT_NOTE,
            {"Date": "2019-02-30T00:00:00"},
            "Date",
            "not a /Date(…)/ or YYYY-MM-DD date: '2019-02-30T00:00:00'",
            id="date-impossible",
        ),
        pytest.param(
            Entity.CREDIT_NOTE, {"CreditNoteNumber": 5}, "CreditNoteNumber", "expected text, got int", id="number-int"
        ),
    ],
)
def test_bad_credit_is_quarantined_naming_the_field(
    entity: Entity, overrides: dict[str, Any], field: str, error: str
) -> None:
    raw = changed(CN_5, **overrides)
    assert bad(entity, raw) == BadRecord(entity, CN_5["CreditNoteID"], field, error, raw)


def test_credit_without_a_date_has_none() -> None:
    raw = changed(CN_5, Date=DROP, DateString=DROP)
    assert map_credit(raw, Entity.CREDIT_NOTE, home_currency=HOME).issue_date is None


def test_the_id_key_follows_the_entity() -> None:
    overpayment = items("overpayments_list.spec.json", Entity.OVERPAYMENT)[1]
    assert bad(Entity.PREPAYMENT, overpayment).field == "PrepaymentID"
    assert bad(Entity.INVOICE, CN_5).field == "InvoiceID"


# --- dates and instants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("/Date(1546128000000+0000)/", date(2018, 12, 30), id="with-offset"),
        pytest.param("\\/Date(1546128000000+0000)\\/", date(2018, 12, 30), id="escaped-as-text"),
        pytest.param("/Date(1546128000000)/", date(2018, 12, 30), id="no-offset"),
        pytest.param("/Date(1546128000000+1300)/", date(2018, 12, 30), id="offset-is-informational"),
        pytest.param("/Date(1546127999999+0000)/", date(2018, 12, 29), id="last-ms-before"),
        pytest.param("/Date(-86400000+0000)/", date(1969, 12, 31), id="before-1970"),
        pytest.param(" /Date(1546128000000+0000)/\n", date(2018, 12, 30), id="whitespace"),
        pytest.param("2018-12-30T00:00:00", date(2018, 12, 30), id="date-string"),
        pytest.param("2018-12-30T23:59:59.997", date(2018, 12, 30), id="date-string-fraction"),
        pytest.param("2018-12-30", date(2018, 12, 30), id="plain-date"),
    ],
)
def test_parses_xero_dates(text: str, expected: date) -> None:
    assert parse_xero_date(text) == expected


def test_json_unescapes_the_wire_form() -> None:
    assert json.loads('"\\/Date(1546128000000+0000)\\/"') == "/Date(1546128000000+0000)/"


@pytest.mark.parametrize(
    "text",
    ["", "Date(1546128000000)", "/Date()/", "/Date(1546128000000+00)/", "/Date(15461280.5)/", "2018-13-01",
     "30/12/2018", "2018-12-30T25:00:00", "2018-12-30 00:00:00", "/Date(999999999999999)/", 1546128000000, None],
)  # fmt: skip
def test_refuses_what_is_not_a_date(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_xero_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("/Date(1518685950940+0000)/", datetime(2018, 2, 15, 9, 12, 30, 940000, tzinfo=UTC), id="ms"),
        pytest.param(
            "\\/Date(1518685950940+0000)\\/", datetime(2018, 2, 15, 9, 12, 30, 940000, tzinfo=UTC), id="escaped"
        ),
        pytest.param("/Date(1541176290160)/", datetime(2018, 11, 2, 16, 31, 30, 160000, tzinfo=UTC), id="no-offset"),
        pytest.param("2018-11-02T16:31:30Z", datetime(2018, 11, 2, 16, 31, 30, tzinfo=UTC), id="utc-string"),
        pytest.param("2024-06-21T01:15:39.902", datetime(2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC), id="no-z"),
        pytest.param("2018-02-09T09:19:05.06Z", datetime(2018, 2, 9, 9, 19, 5, 60000, tzinfo=UTC), id="two-digits"),
        pytest.param(
            "2019-12-07T18:46:19.5165400", datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC), id="seven-digits"
        ),
        pytest.param("2026-03-29T03:30:00+02:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC), id="offset"),
        pytest.param("2026-03-29T03:30:00+0200", datetime(2026, 3, 29, 1, 30, tzinfo=UTC), id="offset-no-colon"),
    ],
)
def test_parses_xero_instants_to_utc(text: str, expected: datetime) -> None:
    parsed = parse_xero_instant(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["2018-12-30", "yesterday", "", "/Date(x)/", "/Date(999999999999999)/", "2018-11-02T16:31", 1518685950940]
)
def test_refuses_what_is_not_an_instant(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_xero_instant(text)


def test_the_date_reminder_of_the_samples_readme() -> None:
    # SOURCES.md: 1518685950940 ms = 2018-02-15T09:12:30.940Z; DueDate 1546128000000 = 2018-12-30.
    assert parse_xero_instant("/Date(1518685950940+0000)/").isoformat() == "2018-02-15T09:12:30.940000+00:00"
    assert parse_xero_date("/Date(1546128000000+0000)/").isoformat() == "2018-12-30"


# --- tables, payloads that are not records, caller bugs -----------------------------------------


def test_every_entity_has_an_endpoint_and_an_id_key() -> None:
    assert set(ENTITY_ENDPOINTS) == set(ENTITY_KEYS) == set(Entity)
    assert dict(ENTITY_LIST_KEYS) == dict(ENTITY_ENDPOINTS)
    assert ENTITY_ENDPOINTS[Entity.CUSTOMER] == "Contacts" and ENTITY_KEYS[Entity.INVOICE] == "InvoiceID"
    assert next(iter(ENTITY_ENDPOINTS)) is Entity.CUSTOMER


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param((SAMPLES / "webhook_intent_to_receive.xero-php.raw.json").read_text(), id="text"),
        pytest.param([INV_3], id="a-list"),
        pytest.param(None, id="null"),
        pytest.param(Decimal("115"), id="a-number"),
    ],
)
def test_payload_that_is_not_an_object_is_quarantined_whole(payload: Any) -> None:
    result = bad(Entity.INVOICE, payload)
    assert (result.external_id, result.field, result.payload) == ("", "", {"value": payload})
    assert result.error.startswith("expected a JSON object, got ")


def test_caller_bugs_raise() -> None:
    with pytest.raises(ValueError, match="home_currency"):
        map_record(Entity.INVOICE, INV_3, home_currency="XXY")
    with pytest.raises(ValueError, match="home_currency"):
        map_invoice(INV_3, home_currency="")
    with pytest.raises(ValueError, match="not a Xero credit entity"):
        map_credit(CN_5, Entity.INVOICE, home_currency=HOME)


# --- every sample is used -------------------------------------------------------------------------


def test_every_sample_is_read_by_a_test() -> None:
    # Any test module of this folder counts (the sandbox's tests may copy samples here too).
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    samples = {p.name for p in SAMPLES.iterdir() if p.name != "SOURCES.md"}
    assert {name for name in samples if name not in sources} == set()


# --- never raises on arbitrary JSON ----------------------------------------------------------------

KEYS = ["InvoiceID", "ContactID", "PaymentID", "CreditNoteID", "OverpaymentID", "PrepaymentID", "Type", "Status",
        "Total", "AmountDue", "AmountPaid", "AmountCredited", "RemainingCredit", "Date", "DueDate", "DateString",
        "DueDateString", "FullyPaidOnDate", "UpdatedDateUTC", "Contact", "CurrencyCode", "Invoice", "PaymentType",
        "Amount", "Name", "EmailAddress", "ContactPersons", "IncludeInEmails", "ContactStatus", "InvoiceNumber",
        "CreditNoteNumber"]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "ACCREC",
            "ACCPAY",
            "AUTHORISED",
            "PAID",
            "DELETED",
            "VOIDED",
            "DRAFT",
            "ACCRECCREDIT",
            "RECEIVE-OVERPAYMENT",
            "ACCRECPAYMENT",
            "NZD",
            "XXY",
            "/Date(1546128000000+0000)/",
            "\\/Date(1546128000000)\\/",
            "/Date(999999999999999)/",
            "2018-12-30T00:00:00",
            "true",
            "-1",
            "00000000-0000-0000-0000-000000000000",
        ]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=25,
)
SAMPLE_OBJECTS = [(Entity.INVOICE, INV_3), (Entity.INVOICE, INV_6), (Entity.PAYMENT, PAYMENTS[0]),
                  (Entity.CUSTOMER, CONTACT_ACME), (Entity.CREDIT_NOTE, CN_5),
                  (Entity.PREPAYMENT, items("prepayments_list.spec.json", Entity.PREPAYMENT)[0])]  # fmt: skip


def assert_mapped_or_quarantined(entity: Entity, raw: Any) -> None:
    result = map_record(entity, raw, home_currency=HOME)
    assert isinstance(result, Fetched | BadRecord)
    if isinstance(result, BadRecord):
        assert not result.error.startswith("unexpected"), result  # the safety net stays unused
        assert result.payload is raw or result.payload == {"value": raw}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entity=st.sampled_from(list(Entity)), raw=JSON)
def test_arbitrary_json_is_mapped_or_quarantined(entity: Entity, raw: Any) -> None:
    assert_mapped_or_quarantined(entity, raw)


@settings(max_examples=500, deadline=None)
@given(which=st.sampled_from(SAMPLE_OBJECTS), key=st.sampled_from(KEYS), value=JSON, nested=st.booleans())
def test_a_sample_with_one_field_replaced_is_mapped_or_quarantined(
    which: tuple[Entity, Mapping[str, Any]], key: str, value: Any, nested: bool
) -> None:
    entity, sample = which
    raw = dict(sample)
    inner = "Invoice" if entity is Entity.PAYMENT else "Contact"
    if nested and isinstance(raw.get(inner), Mapping):
        raw[inner] = dict(raw[inner], **{key: value})
    else:
        raw[key] = value
    assert_mapped_or_quarantined(entity, raw)
