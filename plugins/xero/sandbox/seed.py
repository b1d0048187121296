"""The sample organisations: a UK joinery (GBP, with EUR customers) and its Irish sister (EUR).

Deterministic (``random.Random(7)``) and dated from the sandbox clock's today (UTC), so the demo
always has DRAFT and SUBMITTED invoices, AUTHORISED ones not yet due and overdue by 1-15 … 121-180
days, PAID, partly paid, VOIDED and DELETED ones, a credit note fully applied, one with
``RemainingCredit``, an overpayment and a prepayment with credit left, a few ACCPAY bills from a
supplier, a customer without any email, contact persons with and without ``IncludeInEmails``,
and one payment whose ``BatchPayment`` has the string booleans of payments_list.spec.json.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from plugins.xero.sandbox import books, wire
from plugins.xero.sandbox.store import Organisation

SEED = 7  # issue 7
TENANTS = (
    ("b1f3d5c6-2a4e-4f8a-9c1d-3e5f7a9b0c11", "Kestrel Joinery Ltd", "GB", "GBP", "ESD9JQ"),
    ("c2a4e6d8-3b5f-4a9b-8d2e-4f6a8b0c1d22", "Kestrel Joinery (Ireland) Ltd", "IE", "EUR", "ESKQ2F"),
)
NAMES = (
    "Ashdown Interiors", "Bramley & Sons Builders", "Castlegate Developments", "Dunmore Property Services",
    "Elmwood Kitchens", "Fenwick Shopfitting", "Greystone Homes", "Hartley Architects LLP", "Ivybridge Lettings",
    "Juniper Hotels Group", "Kingsmead School", "Lowther Estates", "Marlow Boatworks", "Northgate Surgery",
    "Oakham Renovations", "Penrose Cafe", "Quayside Apartments", "Redhill Garden Centre", "Stonebridge Pub Co",
    "Thornbury Dental", "Upland Holiday Lets", "Viking Marine Ltd", "Westfield Offices", "Yardley Bakery",
    "Abbotsford Care Home", "Beacon Theatre Trust", "Clearwater Leisure", "Dovecote Deli", "Eastleigh Motors",
    "Foxglove Florists", "Glenmore Golf Club", "Holloway Print", "Inkwell Studios", "Jasmine Spa",
    "Kestrel View Farm", "Larkspur Nurseries", "Millbrook Church", "Nettlebed Brewery", "Orchard Vets",
    "Primrose Nursery School", "Riverbend Rowing Club", "Saffron Restaurant", "Tidewater Yachts", "Umber Galleries",
    "Vale Wedding Barn", "Willow Tree Pharmacy", "Yew Court Solicitors", "Zephyr Cycles",
)  # fmt: skip
GIVEN = ("Olivia", "Harry", "Amelia", "George", "Isla", "Oliver", "Ava", "Jack", "Mia", "Noah", "Siobhan", "Ciaran")
FAMILY = ("Smith", "Jones", "Taylor", "Brown", "Walsh", "Evans", "Murphy", "Wilson", "Byrne", "Hughes")
ITEMS = (
    ("Bespoke joinery (per hour)", 45, 85),
    ("Oak staircase", 1800, 6500),
    ("Fitted wardrobes", 900, 3200),
    ("Sash window refurbishment", 250, 900),
    ("Site survey", 120, 350),
)
NO_EMAIL = 5  # the contact without any address: no EmailAddress, no persons
OVERDUE_AGES = ((1, 15), (16, 30), (31, 60), (61, 90), (91, 120), (121, 180))
STATES = ("DRAFT", "SUBMITTED", "open", "overdue", "PAID", "partial", "VOIDED", "DELETED")
WEIGHTS = (4, 3, 18, 35, 28, 8, 2, 2)


def organisation_info(index: int, created: datetime) -> dict[str, Any]:
    """The ``Organisations[0]`` body of tenant ``index`` (name, CountryCode, BaseCurrency, Timezone)."""
    tenant_id, name, country, currency, code = TENANTS[index]
    return {
        "APIKey": "",
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "UK" if country == "GB" else "GLOBAL",
        "OrganisationType": "COMPANY",
        "BaseCurrency": currency,
        "CountryCode": country,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3 if country == "GB" else 12,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": wire.ms_date(created),
        "OrganisationEntityType": "COMPANY",
        "Timezone": "GMTSTANDARDTIME",  # Xero's Windows-style zone names; Dublin and London share it
        "ShortCode": f"!{code[:5]}",
        "OrganisationID": tenant_id,
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {"Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"}},
    }


def _at(day: date, rng: random.Random, now: datetime) -> datetime:
    when = datetime.combine(day, time(9, 0), now.tzinfo) + timedelta(
        minutes=rng.randrange(480), milliseconds=rng.randrange(1000)
    )
    return min(when, now - timedelta(minutes=1))


def _contact(org: Organisation, rng: random.Random, k: int, at: datetime, foreign: str | None) -> str:
    cycle, position = divmod(k, len(NAMES))
    name = NAMES[position] + (f" {cycle + 1}" if cycle else "")
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    domain = "".join(ch for ch in name.lower() if ch.isalnum())[:24] + ".co.uk"
    body: dict[str, Any] = {
        "Name": name, "FirstName": given, "LastName": family, "EmailAddress": f"accounts@{domain}",
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": f"{rng.randrange(1, 200)} High Street",
                       "City": rng.choice(("Bristol", "Leeds", "York", "Bath", "Cork")), "PostalCode": "BS1 4DJ",
                       "Country": "", "AttentionTo": ""}],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": f"{rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                    "PhoneAreaCode": "0117", "PhoneCountryCode": "44"}],
        "PaymentTerms": {"Sales": {"Day": (14, 30)[k % 2], "Type": "DAYSAFTERBILLDATE"}},
    }  # fmt: skip
    if foreign and k % 6 == 4:
        body["DefaultCurrency"] = foreign
    if k % 4 == 1:
        body["ContactPersons"] = [
            {"FirstName": rng.choice(GIVEN), "LastName": family, "EmailAddress": f"finance@{domain}",
             "IncludeInEmails": True},
            {"FirstName": rng.choice(GIVEN), "LastName": rng.choice(FAMILY), "EmailAddress": f"ceo@{domain}",
             "IncludeInEmails": False},
        ]  # fmt: skip
    if k == NO_EMAIL:
        body.update(EmailAddress="", ContactPersons=[])
    return str(books.new_contact(org, at, body, notify=False)["ContactID"])


def seed_organisation(org: Organisation, now: datetime, *, contacts: int, invoices: int, rng_seed: int = SEED) -> None:
    """Fill ``org`` as of ``now`` (no webhooks are sent for it)."""
    rng = random.Random(rng_seed)  # noqa: S311 (sample data, not secrets)
    today = now.date()
    founded = _at(today - timedelta(days=400), rng, now)
    foreign = "EUR" if org.info["BaseCurrency"] == "GBP" else "GBP"
    ids = [_contact(org, rng, k, founded, foreign) for k in range(contacts)]
    supplier = books.new_contact(org, founded, {"Name": "Timber Merchants Ltd", "IsSupplier": True}, notify=False)
    for n in range(invoices):
        state = STATES[n] if n < len(STATES) else rng.choices(STATES, weights=WEIGHTS)[0]
        _invoice(org, rng, ids[n % len(ids)], n, state, today, now)
    for n in range(3):  # bills: ACCPAY must be filtered out by Type
        issued = today - timedelta(days=10 * (n + 1))
        line = books.line_item(org, "Oak boards", 10, 42 + n, "300")
        books.new_invoice(
            org, _at(issued, rng, now), contact_id=supplier["ContactID"], lines=[line], issued=issued,
            due=issued + timedelta(days=30), number=f"TM-{880 + n}", kind="ACCPAY", notify=False,
        )  # fmt: skip
    if len(ids) > 12:
        _credits(org, rng, ids, today, now)


def _invoice(org: Organisation, rng: random.Random, cid: str, n: int, state: str, today: date, now: datetime) -> None:
    contact = org.get("Contacts", cid)
    terms = int(contact.get("PaymentTerms", {}).get("Sales", {}).get("Day", 30))
    if state in {"open", "DRAFT", "SUBMITTED"}:
        issued = today - timedelta(days=rng.randrange(0, terms))
    elif state in {"PAID", "VOIDED", "DELETED"}:
        issued = today - timedelta(days=rng.randrange(terms + 5, 240))
    else:
        low, high = OVERDUE_AGES[n % len(OVERDUE_AGES)]
        issued = today - timedelta(days=rng.randrange(low, high + 1) + terms)
    lines = []
    for _ in range(rng.randrange(1, 4)):
        text, low_price, high_price = rng.choice(ITEMS)
        lines.append(books.line_item(org, text, rng.randrange(1, 5), Decimal(rng.randrange(low_price, high_price))))
    created = _at(issued, rng, now)
    status = state if state in {"DRAFT", "SUBMITTED"} else "AUTHORISED"
    invoice = books.new_invoice(
        org, created, contact_id=cid, lines=lines, issued=issued, due=issued + timedelta(days=terms),
        number=f"INV-{n + 1:04d}", status=status, currency=contact["DefaultCurrency"],
        reference=f"PO {rng.randrange(1000, 9999)}" if n % 3 else "", sent=status == "AUTHORISED", notify=False,
    )  # fmt: skip
    later = min(_at(issued + timedelta(days=rng.randrange(1, terms + 30)), rng, now), now - timedelta(minutes=1))
    later = max(later, created + timedelta(minutes=5))
    if state == "PAID":
        books.apply_payment(org, later, invoice["InvoiceID"], notify=False)
    elif state == "partial":
        part = wire.money(invoice["Total"] * Decimal(rng.randrange(25, 75)) / 100)
        books.apply_payment(org, later, invoice["InvoiceID"], part, reference="Part payment", notify=False)
    elif state == "VOIDED":
        books.void(org, later, invoice["InvoiceID"], notify=False)
    elif state == "DELETED":
        invoice["Status"] = "DRAFT"
        books.delete(org, later, invoice["InvoiceID"], notify=False)


def _fresh(org: Organisation, rng: random.Random, cid: str, age: int, amount: int, now: datetime, n: str) -> str:
    issued = now.date() - timedelta(days=age)
    invoice = books.new_invoice(
        org, _at(issued, rng, now), contact_id=cid, lines=[books.line_item(org, "Skirting and architrave", 1, amount)],
        issued=issued, due=issued + timedelta(days=14), number=n, sent=True, notify=False,
    )  # fmt: skip
    return str(invoice["InvoiceID"])


def _credits(org: Organisation, rng: random.Random, ids: list[str], today: date, now: datetime) -> None:
    """A fully applied credit note, one with credit left, an overpayment, a prepayment, a batch payment."""
    applied_at = now - timedelta(days=3)
    target = _fresh(org, rng, ids[8], 40, 500, now, "INV-9001")  # 600.00 with VAT
    note = books.new_credit(org, now - timedelta(days=4), "CreditNotes", contact_id=ids[8], amount="120.00",
                            issued=today - timedelta(days=4), number="CN-0001", notify=False)  # fmt: skip
    books.allocate(org, applied_at, "CreditNotes", note["CreditNoteID"], target, notify=False)
    note = books.new_credit(org, now - timedelta(days=6), "CreditNotes", contact_id=ids[9], amount="240.00",
                            issued=today - timedelta(days=6), number="CN-0002", notify=False)  # fmt: skip
    partly = _fresh(org, rng, ids[9], 30, 75, now, "INV-9002")  # 90.00 with VAT; 150.00 credit stays
    books.allocate(org, applied_at, "CreditNotes", note["CreditNoteID"], partly, notify=False)
    books.new_credit(org, now - timedelta(days=9), "Overpayments", contact_id=ids[10], amount="85.00",
                     issued=today - timedelta(days=9), notify=False)  # fmt: skip
    books.new_credit(org, now - timedelta(days=12), "Prepayments", contact_id=ids[11], amount="1200.00",
                     issued=today - timedelta(days=12), number="DEP-0001", notify=False)  # fmt: skip
    batch = _fresh(org, rng, ids[12], 20, 50, now, "INV-9003")
    payment = books.apply_payment(org, now - timedelta(days=2), batch, notify=False)
    payment["BatchPaymentID"] = org.new_id("BatchPayment")
    payment["BatchPayment"] = {  # payments_list.spec.json: string amount and string boolean
        "Account": {"AccountID": payment["Account"]["AccountID"]}, "BatchPaymentID": payment["BatchPaymentID"],
        "Date": payment["Date"], "Type": "RECBATCH", "Status": "AUTHORISED", "TotalAmount": str(payment["Amount"]),
        "UpdatedDateUTC": payment["UpdatedDateUTC"], "IsReconciled": "false",
    }  # fmt: skip
