"""The sample company: a German business (EUR, multi-currency with USD customers), deterministic.

Everything is drawn from ``random.Random(SEED)`` and dated relative to the sandbox clock's today
in Europe/Berlin, so the demo always has invoices that are not yet due, overdue by 1 to 180 days,
paid, partly paid, plus one voided and one deleted invoice, an unapplied payment, credit memos
(one fully applied, one open, one partly used), a customer without email, a customer whose invoices
go to another address than their primary one, and an inactive customer. Shapes follow
``api-samples/quickbooks/`` (NANGO customers, invoices, payments, credit memos; DOCS Term, CompanyInfo).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from plugins.quickbooks.sandbox import books
from plugins.quickbooks.sandbox.store import CompanyStore

SEED = 5  # issue 5
COMPANY_ZONE = ZoneInfo("Europe/Berlin")
GERMAN = (
    "Müller Metallbau GmbH", "Schmidt & Partner Steuerberatung", "Bäckerei Schneider", "Fischer Logistik GmbH",
    "Weber Elektrotechnik KG", "Meyer Holzbau", "Wagner Dachdeckerei", "Becker Gartenbau", "Schulz IT-Service",
    "Hoffmann Druckerei GmbH", "Schäfer Sanitär", "Koch Feinkost", "Bauer Landmaschinen", "Richter Immobilien",
    "Klein Optik", "Wolf Kfz-Werkstatt", "Schröder Malerbetrieb", "Neumann Zahntechnik", "Schwarz Brauerei",
    "Zimmermann Tischlerei", "Braun Apotheke am Markt", "Krüger Umzüge", "Hofmann Messebau", "Hartmann Textil GmbH",
    "Lange Fahrradladen", "Schmitt Weinhandel", "Werner Kältetechnik", "Krause Verpackungen", "Meier Fliesen",
    "Lehmann Café & Rösterei",
)  # fmt: skip
ENGLISH = (
    "Oakridge Consulting Ltd", "Brightwater Supplies", "Kingsley & Hart LLP", "Harbour View Hotel",
    "Redwood Analytics Inc", "Maple Leaf Imports", "Greenfield Farms", "Summit Outdoor Gear", "Blue Harbor Seafood",
    "Cedar Lane Bakery", "Northwind Traders", "Ashford Design Studio", "Riverside Dental", "Pinecrest Builders",
    "Lakeside Books",
)  # fmt: skip
GIVEN_DE = ("Anna", "Jonas", "Lena", "Lukas", "Marie", "Felix", "Sophie", "Paul", "Hannah", "Jürgen")
GIVEN_EN = ("Emily", "James", "Olivia", "George", "Amelia", "Harry", "Grace", "Jack")
CITIES_DE = (("Berlin", "10117"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667"), ("Leipzig", "04109"))
CITIES_EN = (("Boston", "MA", "02108"), ("Austin", "TX", "73301"), ("Portland", "OR", "97201"))
ITEMS = (
    (("1", "Beratung"), "Beratung / consulting (h)", 95, 140),
    (("2", "Wartung"), "Wartungsvertrag / maintenance", 180, 900),
    (("3", "Material"), "Material", 20, 450),
    (("4", "Montage"), "Montage / installation", 250, 1800),
    (("5", "Lizenz"), "Softwarelizenz / licence", 300, 2400),
)
TERMS = (("Due on receipt", 0), ("Net 14", 14), ("Net 30", 30), ("Net 60", 60))  # Net 60: term_net60 sample
NO_EMAIL, TWO_EMAILS = "16", "3"  # the customer without email; the one whose invoices go elsewhere
OVERDUE_AGES = ((1, 15), (16, 30), (31, 60), (61, 90), (91, 120), (121, 180))


def _slug(name: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "&": "", " ": "-", ".": ""})
    return "-".join(part for part in name.lower().translate(table).split("-") if part)[:40]


def _at(day: date, rng: random.Random, now: datetime) -> datetime:
    local = datetime.combine(day, time(8, 0), COMPANY_ZONE) + timedelta(minutes=rng.randrange(600))
    return min(local, now - timedelta(minutes=1))


def seed_company(store: CompanyStore, now: datetime, *, customers: int = 46, invoices: int = 320) -> None:
    """Fill ``store`` with the sample company as of ``now`` (no webhooks are sent for it)."""
    rng = random.Random(SEED)  # noqa: S311 (sample data, not secrets)
    today = now.astimezone(COMPANY_ZONE).date()
    founded = _at(today - timedelta(days=400), rng, now)
    _company(store, founded)
    for name, days in TERMS:
        term = {"Name": name, "DiscountPercent": 0, "DiscountDays": 0, "Type": "STANDARD", "Active": True}
        store.add("Term", {**term, "DueDays": days}, founded, notify=False)
    ids = [_customer(store, rng, k, founded) for k in range(customers)]
    active = [cid for cid in ids if store.get("Customer", cid)["Active"]]
    for n in range(invoices):
        _invoice(store, rng, active[n % len(active)], n, today, now)
    _specials(store, rng, active, today, now)


def seed_empty(store: CompanyStore, now: datetime) -> None:
    """A company with its CompanyInfo and Preferences and no records at all."""
    _company(store, now - timedelta(days=1))


def _company(store: CompanyStore, at: datetime) -> None:
    address = {"Id": "1", "Line1": "Friedrichstraße 123", "City": "Berlin", "Country": "DE", "PostalCode": "10117"}
    info: dict[str, Any] = {
        "CompanyName": "Kranich Werkzeugbau GmbH",
        "LegalName": "Kranich Werkzeugbau GmbH",
        "CompanyAddr": address,
        "CustomerCommunicationAddr": dict(address),
        "LegalAddr": dict(address),
        "SupportedLanguages": "de",
        "Country": "DE",
        "Email": {"Address": "buchhaltung@kranich-werkzeugbau.de"},
        "WebAddr": {},
        "FiscalYearStartMonth": "January",
        "PrimaryPhone": {"FreeFormNumber": "+49 30 5550123"},
        "CompanyStartDate": at.date().isoformat(),
        # minor version 75 adds DefaultTimeZone (notes §1.7); the value format is unverified.
        "DefaultTimeZone": "Europe/Berlin",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        "Id": "1",
    }
    store.add("CompanyInfo", info, at, notify=False)
    prefs: dict[str, Any] = {
        "SalesFormsPrefs": {"DefaultTerms": {"value": "3"}, "ETransactionPaymentEnabled": True},
        "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "EUR"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "Id": "1",
    }
    store.add("Preferences", prefs, at, notify=False)


def _customer(store: CompanyStore, rng: random.Random, k: int, at: datetime) -> str:
    j, cycle = k % 45, k // 45  # two German customers, then one English, 45 names per cycle
    german = j % 3 != 2
    base = GERMAN[j // 3 * 2 + j % 3] if german else ENGLISH[j // 3]
    name = base if cycle == 0 else f"{base} {cycle + 1}"
    inactive = k == 45
    if inactive:
        name = "Altbestand Handels GmbH (deleted)"  # quickbooks-ruby deleted_customer.xml naming
    given = rng.choice(GIVEN_DE if german else GIVEN_EN)
    usd = not german and j // 3 % 3 != 2
    if german:
        city, postal = rng.choice(CITIES_DE)
        address = {"Line1": f"Hauptstraße {rng.randrange(1, 200)}", "City": city, "PostalCode": postal, "Country": "DE"}
    else:
        city, region, postal = rng.choice(CITIES_EN)
        address = {"Line1": f"{rng.randrange(1, 999)} Main St.", "City": city, "CountrySubDivisionCode": region}
        address.update(PostalCode=postal, Country="US")
    term = 0 if k % 7 == 6 else (1 + k % 2 if german else 2 + k % 2)
    customer: dict[str, Any] = {
        "Taxable": german,
        "BillAddr": {"Id": str(100 + k), **address},
        "Job": False,
        "BillWithParent": False,
        "Balance": Decimal(0),
        "BalanceWithJobs": Decimal(0),
        "CurrencyRef": books.currency_ref("USD" if usd else "EUR"),
        "PreferredDeliveryMethod": "Email",
        "IsProject": False,
        "GivenName": given,
        "FamilyName": base.split()[0],
        "FullyQualifiedName": name,
        "CompanyName": name,
        "DisplayName": name,
        "PrintOnCheckName": name,
        "Active": not inactive,
        "PrimaryPhone": {"FreeFormNumber": f"+49 {rng.randrange(30, 99)} {rng.randrange(100000, 999999)}"},
        "SalesTermRef": {"value": str(term + 1), "name": TERMS[term][0]},
    }
    domain = _slug(base) + (f"-{cycle + 1}" if cycle else "") + (".de" if german else ".com")
    customer["PrimaryEmailAddr"] = {"Address": f"{'buchhaltung' if german else 'accounts'}@{domain}"}
    body = store.add("Customer", customer, at, notify=False)
    if body["Id"] == NO_EMAIL:
        del body["PrimaryEmailAddr"]
        body["PreferredDeliveryMethod"] = "Print"
    if body["Id"] == TWO_EMAILS:
        body["PrimaryEmailAddr"] = {"Address": f"info@{domain}"}  # invoices go to rechnungen@ (BillEmail)
    return str(body["Id"])


def _lines(rng: random.Random) -> list[dict[str, Any]]:
    lines = []
    for number in range(1, rng.randrange(2, 4)):
        item, text, low, high = rng.choice(ITEMS)
        price = Decimal(rng.randrange(low * 100, high * 100)) / 100
        lines.append(books.sales_line(number, text, Decimal(rng.randrange(1, 6)), price, item))
    return lines


def _invoice(store: CompanyStore, rng: random.Random, cid: str, n: int, today: date, now: datetime) -> None:
    customer = store.get("Customer", cid)
    term_id = customer["SalesTermRef"]["value"]
    days = int(store.get("Term", term_id)["DueDays"])
    state = rng.choices(("due", "overdue", "paid", "partial"), weights=(20, 40, 30, 10))[0]
    if state == "paid":
        txn = today - timedelta(days=rng.randrange(days + 5, 200))
    elif state == "due" and days > 0:
        txn = today - timedelta(days=rng.randrange(0, min(days, 25)))
    else:
        low, high = OVERDUE_AGES[n % len(OVERDUE_AGES)]
        txn = today - timedelta(days=rng.randrange(low, high + 1) + days)
    bill = None
    if cid == TWO_EMAILS:
        bill = "rechnungen@" + customer["PrimaryEmailAddr"]["Address"].split("@")[1]
    created = _at(txn, rng, now)
    invoice = books.new_invoice(
        store, created, customer_id=cid, lines=_lines(rng), txn_date=txn, due_date=txn + timedelta(days=days),
        term_id=term_id, doc_number=f"RE-{2025000 + n + 1}", bill_email=bill, online_payment=n % 4 != 0, notify=False,
    )  # fmt: skip
    if state in {"paid", "partial"}:
        paid_on = min(today, txn + timedelta(days=rng.randrange(1, days + 35)))
        paid_at = min(max(_at(paid_on, rng, now), created + timedelta(minutes=5)), now)
        part = None
        if state == "partial":
            part = books.money(invoice["TotalAmt"] * Decimal(rng.randrange(25, 75)) / 100)
        books.apply_payment(store, paid_at, invoice["Id"], part, notify=False)


def _specials(store: CompanyStore, rng: random.Random, active: list[str], today: date, now: datetime) -> None:
    """The one-of-a-kind records: void, delete, a two-invoice payment, an unapplied payment, credits."""

    def fresh(cid: str, age: int, note: str | None = None, amount: int | None = None) -> dict[str, Any]:
        txn = today - timedelta(days=age)
        item = books.sales_line(1, "Montage", Decimal(1), Decimal(amount or 0), ITEMS[3][0])
        lines = _lines(rng) if amount is None else [item]
        return books.new_invoice(
            store, _at(txn, rng, now), customer_id=cid, lines=lines, txn_date=txn,
            due_date=txn + timedelta(days=14), term_id="2", private_note=note, notify=False,
        )  # fmt: skip

    voided = fresh(active[4], 40, "Doppelt erfasst")
    books.void_invoice(store, now - timedelta(days=10), voided["Id"], notify=False)
    deleted = fresh(active[5], 50)
    books.delete_invoice(store, now - timedelta(days=3), deleted["Id"], notify=False)
    first, second = fresh(active[6], 45), fresh(active[6], 35)
    applications = [(first["Id"], first["Balance"]), (second["Id"], second["Balance"])]
    total = first["Balance"] + second["Balance"]
    at = now - timedelta(days=6)
    books.receive_payment(store, at, customer_id=active[6], amount=total, applications=applications, notify=False)
    books.receive_payment(store, now - timedelta(days=5), customer_id=active[7], amount="250.00", notify=False)
    credits = ((active[8], "150.00", None, 20), (active[9], "100.00", "0", 12), (active[10], "300.00", "120.00", 8))
    for cid, amount, used, age in credits:
        issued = today - timedelta(days=age + 1)
        memo = books.new_credit_memo(
            store, now - timedelta(days=age + 1), customer_id=cid, amount=amount, txn_date=issued, notify=False
        )
        if used != "0":
            target = fresh(cid, 60, amount=800)
            books.apply_credit_memo(store, now - timedelta(days=age), memo["Id"], target["Id"], used, notify=False)
