"""The dashboard on a known ledger: every figure below is worked out by hand from :data:`INVOICES`.

The organisation is org A (Europe/Berlin, no stored policy: the German default cadence, promise
grace 3 days); today is 2026-03-10. DSO months are March 2025 … February 2026, cash weeks start
today (Mar 10–16, Mar 17–23, …), message weeks end today (…, Feb 25–Mar 3, Mar 4–10).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.db import (
    Customer,
    Invoice,
    Organisation,
    OutboxMessage,
    Pause,
    Payment,
    PaymentAllocation,
    QuarantinedRecord,
)
from tests.personas import NOW, World
from tests.web.ledger_builders import DATABASES, page, world_on

SVG = "{http://www.w3.org/2000/svg}"

#: (number, customer, currency, issued, due, total, balance, paid): the org A ledger.
INVOICES = [
    # Acme paid I-1 16 days late (its only payment: unrated, lateness 16 days for the forecast).
    ("I-1", "Acme", "EUR", date(2026, 1, 5), date(2026, 2, 4), "1000.00", "0", date(2026, 2, 20)),
    ("I-2", "Acme", "EUR", date(2026, 2, 10), date(2026, 3, 12), "600.00", "600.00", None),  # current
    ("I-3", "Acme", "EUR", date(2025, 12, 1), date(2025, 12, 31), "400.00", "400.00", None),  # 69 days: 61–90
    ("B-1", "Beta", "EUR", date(2026, 2, 1), date(2026, 2, 15), "300.00", "300.00", None),  # 23 days: 1–30
    ("G-1", "Gamma", "USD", date(2025, 10, 15), date(2025, 11, 14), "250.00", "250.00", None),  # 116 days: 90+
    ("V-1", "Beta", "EUR", date(2026, 2, 1), date(2026, 2, 15), "999.00", "999.00", None),  # voided: nothing
]
VOIDED = {"V-1"}
#: (customer, invoice, since, until): promises to pay.
PROMISES = [
    ("Acme", "I-1", date(2026, 2, 10), date(2026, 2, 18)),  # paid Feb 20 ≤ Feb 18 + 3: kept
    ("Gamma", "G-1", date(2026, 1, 20), date(2026, 2, 1)),  # unpaid after Feb 4: broken
    ("Beta", "B-1", date(2026, 3, 5), date(2026, 3, 20)),  # not due yet: pending; B-1 expected Mar 20
]
#: (sent_at, level, status): reminders in the outbox.
MESSAGES = [
    (datetime(2026, 3, 9, 9, 0, tzinfo=UTC), 1, "sent"),  # week Mar 4–10
    (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 1, "sent"),  # week Feb 25–Mar 3
    (datetime(2026, 3, 3, 22, 30, tzinfo=UTC), 2, "sent"),  # 23:30 in Berlin: still Mar 3
    (datetime(2026, 1, 1, 9, 0, tzinfo=UTC), 3, "sent"),  # before the eight weeks
    (datetime(2026, 3, 8, 9, 0, tzinfo=UTC), 2, "in_doubt"),  # not counted as sent: in doubt
]


def seed_dashboard(sessions: sessionmaker[Session], org_id: int) -> dict[str, int]:
    """The ledger of the module docstring in ``org_id``; returns customer row ids by name."""
    with sessions.begin() as s:
        customers = {
            name: Customer(organisation_id=org_id, external_id=f"c-{name}", name=name, synced_at=NOW)
            for name in ("Acme", "Beta", "Gamma")
        }
        s.add_all(customers.values())
        s.flush()
        invoices = {}
        for number, who, currency, issued, due, total, balance, paid in INVOICES:
            status = "voided" if number in VOIDED else ("paid" if paid else "open")
            invoices[number] = Invoice(
                organisation_id=org_id,
                customer_id=customers[who].id,
                external_id=f"i-{number}",
                number=number,
                issue_date=issued,
                due_date=due,
                currency=currency,
                total=Decimal(total),
                balance=Decimal(balance),
                status=status,
                paid_date=paid,
                synced_at=NOW,
            )
        s.add_all(invoices.values())
        payment = Payment(
            organisation_id=org_id,
            customer_id=customers["Acme"].id,
            external_id="p-1",
            payment_date=date(2026, 2, 20),
            currency="EUR",
            amount=Decimal("1000.00"),
            unapplied_amount=Decimal(0),
            synced_at=NOW,
        )
        s.add(payment)
        s.flush()
        s.add(
            PaymentAllocation(
                organisation_id=org_id, payment_id=payment.id, invoice_external_id="i-I-1", amount=Decimal("1000.00")
            )
        )
        for who, number, since, until in PROMISES:
            s.add(
                Pause(
                    organisation_id=org_id,
                    customer_id=customers[who].id,
                    invoice_id=invoices[number].id,
                    kind="promise",
                    since_date=since,
                    until_date=until,
                    created_by="payer",
                    created_at=NOW,
                )
            )
        for i, (sent_at, level, status) in enumerate(MESSAGES):
            s.add(
                OutboxMessage(
                    organisation_id=org_id,
                    dedupe_key=f"dash-{i}",
                    customer_id=customers["Acme"].id,
                    currency="EUR",
                    step_key=f"s{level}",
                    level=level,
                    action="email",
                    template_key="reminder",
                    planned_date=sent_at.date(),
                    invoice_ids="i-I-3",
                    payload={"invoices": [{"id": "i-I-3", "step": f"s{level}", "level": level}]},
                    status=status,
                    sent_at=sent_at if status == "sent" else None,
                    created_at=sent_at,
                )
            )
        for i, resolved in enumerate((None, None, NOW)):
            s.add(
                QuarantinedRecord(
                    organisation_id=org_id,
                    entity="invoice",
                    external_id=f"bad-{i}",
                    field="TotalAmt",
                    error="not a number",
                    payload="{}",
                    first_seen_at=NOW,
                    last_seen_at=NOW,
                    resolved_at=resolved,
                )
            )
        return {name: c.id for name, c in customers.items()}


def add_organisation(world: World, like: str, name: str, invoices: list[tuple[str, str, str]]) -> int:
    """Another organisation in the firm of org ``like``, with open invoices (number, currency, balance)
    due on 2026-03-20 (current); returns its id."""
    with world.sessions.begin() as s:
        firm_id = s.get_one(Organisation, world.orgs[like]).firm_id
        org = Organisation(firm_id=firm_id, platform="xero", external_id=f"tenant-{name}", name=name, created_at=NOW)
        s.add(org)
        s.flush()
        customer = Customer(organisation_id=org.id, external_id=f"{name}-c", name=f"{name} customer", synced_at=NOW)
        s.add(customer)
        s.flush()
        for number, currency, balance in invoices:
            s.add(
                Invoice(
                    organisation_id=org.id,
                    customer_id=customer.id,
                    external_id=number,
                    number=number,
                    issue_date=date(2026, 3, 1),
                    due_date=date(2026, 3, 20),
                    currency=currency,
                    total=Decimal(balance),
                    balance=Decimal(balance),
                    status="open",
                    synced_at=NOW,
                )
            )
        return org.id


# ---------------------------------------------------------------- reading the page


def figure(html: str, chart_id: str) -> ET.Element:
    """The SVG of the chart ``chart_id``, parsed (it must be well-formed XML)."""
    found = re.search(rf'<figure class="chart" id="{re.escape(chart_id)}">\s*(<svg.*?</svg>)\s*</figure>', html, re.S)
    assert found, f"no chart {chart_id}"
    return ET.fromstring(found.group(1))


def bars(html: str, chart_id: str) -> list[tuple[str | None, str | None, Decimal]]:
    """(series, label, value) of every bar of a chart."""
    root = figure(html, chart_id)
    return [
        (e.get("data-series"), e.get("data-label"), Decimal(e.get("data-value") or "nan"))
        for e in root.iter(f"{SVG}rect")
        if e.get("class") == "bar"
    ]


def points(html: str, chart_id: str) -> list[tuple[str | None, str | None, str | None]]:
    """(series, label, value) of every point of a line chart."""
    root = figure(html, chart_id)
    return [
        (e.get("data-series"), e.get("data-label"), e.get("data-value"))
        for e in root.iter(f"{SVG}circle")
        if e.get("class") == "point"
    ]


def table_values(html: str, table_id: str) -> list[list[Decimal | None]]:
    """The ``data-value`` of each charted cell, row by row, of the table ``table_id`` (None: empty)."""
    found = re.search(rf'<table class="chart-data" id="{re.escape(table_id)}">(.*?)</table>', html, re.S)
    assert found, f"no table {table_id}"
    body = re.search(r"<tbody>(.*?)</tbody>", found.group(1), re.S)
    assert body
    rows = re.findall(r"<tr.*?</tr>", body.group(1), re.S)
    return [[Decimal(v) if v else None for v in re.findall(r'data-value="([^"]*)"', row)] for row in rows]


def d(*values: str) -> list[Decimal]:
    """Decimals from strings (``d("1.50", "0")``)."""
    return [Decimal(v) for v in values]


def text_of(html: str, element_id: str) -> str:
    """The text of the element with ``id``, tags stripped, spaces collapsed."""
    found = re.search(rf'<(\w+)[^>]* id="{re.escape(element_id)}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


@pytest.fixture
def dashboard(world: World) -> str:
    seed_dashboard(world.sessions, world.orgs["A"])
    response = world.client("bob").get(f"/orgs/{world.orgs['A']}/dashboard")
    assert response.status_code == 200
    return page(response)


# ---------------------------------------------------------------- one organisation


def test_open_ar_and_overdue_per_currency(dashboard: str) -> None:
    # EUR open: 600 + 400 + 300 = 1,300; overdue: all but I-2 (current) = 700. USD: 250, all overdue.
    assert text_of(dashboard, "open-ar") == "Currency Open Overdue EUR €1,300.00 €700.00 USD $250.00 $250.00"


def test_aging_buckets_as_bars_and_table(dashboard: str) -> None:
    assert table_values(dashboard, "aging-EUR-table") == [[v] for v in d("600", "300", "0", "400", "0")]
    assert bars(dashboard, "aging-EUR") == [
        ("EUR", "not yet due", Decimal("600")),
        ("EUR", "1–30 days", Decimal("300")),
        ("EUR", "61–90 days", Decimal("400")),
    ]
    assert bars(dashboard, "aging-USD") == [("USD", "over 90 days", Decimal("250"))]


@pytest.mark.parametrize(
    ("month", "eur", "usd"),
    [
        pytest.param("2025-09", "", "", id="before-any-invoice"),
        # G-1 issued Oct 15: AR 250 ÷ sales 250 × 31 days.
        pytest.param("2025-10", "", "31.0", id="oct-usd-only"),
        # No USD sales in November: no DSO (the month has a row, the point is missing).
        pytest.param("2025-11", "", "", id="nov-no-sales"),
        # I-3 issued Dec 1: 400 ÷ 400 × 31.
        pytest.param("2025-12", "31.0", "", id="dec"),
        # I-1 issued: AR 400 + 1,000 ÷ sales 1,000 × 31 = 43.4.
        pytest.param("2026-01", "43.4", "", id="jan"),
        # I-1 paid Feb 20; AR 400 + 600 + 300 = 1,300 ÷ sales 600 + 300 × 28 = 40.4 (V-1 voided).
        pytest.param("2026-02", "40.4", "", id="feb"),
    ],
)
def test_dso_per_month(dashboard: str, month: str, eur: str, usd: str) -> None:
    rows = dict(re.findall(r'<tr data-month="([\d-]+)">(.*?)</tr>', dashboard, re.S))
    assert len(rows) == 12 and min(rows) == "2025-03" and max(rows) == "2026-02"
    assert re.findall(r'data-value="([^"]*)"', rows[month]) == [eur, usd]


def test_dso_line_has_one_point_per_month_with_a_value(dashboard: str) -> None:
    assert [(s, v) for s, _, v in points(dashboard, "dso-chart")] == [
        ("EUR", "31.0"),
        ("EUR", "43.4"),
        ("EUR", "40.4"),
        ("USD", "31.0"),
    ]


def test_expected_cash_by_week(dashboard: str) -> None:
    # I-3 late beyond Acme's 16 days: now (week 1); B-1 promised for Mar 20 (week 2);
    # I-2 due Mar 12 + 16 = Mar 28 (week 3). G-1 (Gamma, no history) is overdue: week 1.
    eur = [row[0] for row in table_values(dashboard, "cash-EUR-table")]
    assert eur == d("400", "300", "600", "0", "0", "0", "0", "0")
    assert [row[0] for row in table_values(dashboard, "cash-USD-table")] == d("250", *["0"] * 7)
    assert [(label, v) for _, label, v in bars(dashboard, "cash-EUR")] == [
        ("10 Mar", Decimal("400")),
        ("17 Mar", Decimal("300")),
        ("24 Mar", Decimal("600")),
    ]


def test_promises_kept_broken_pending(dashboard: str) -> None:
    assert text_of(dashboard, "promises-table") == "Kept Broken Pending Kept, of those decided 1 1 1 50 %"


def test_messages_sent_per_week_by_level(dashboard: str) -> None:
    rows = table_values(dashboard, "messages-chart-table")
    assert len(rows) == 8
    assert rows[-2:] == [d("1", "1"), d("1", "0")]  # levels 1 and 2: Feb 25–Mar 3, Mar 4–10
    assert all(row == d("0", "0") for row in rows[:-2])  # the January message is before the weeks
    assert bars(dashboard, "messages-chart") == [
        ("level 1", "25 Feb", 1),
        ("level 2", "25 Feb", 1),
        ("level 1", "4 Mar", 1),
    ]


def test_riskiest_customers_rank_per_currency(dashboard: str) -> None:
    # All unrated (fewer than 3 paid invoices): weight 3. Acme 1,000 → 3,000; Beta 300 → 900; Gamma (USD) 750.
    rows = re.findall(r'<tr data-customer="\d+"><td><a [^>]+>([^<]+)</a></td>\s*<td>(\w+)</td>', dashboard)
    assert rows == [("Acme", "EUR"), ("Beta", "EUR"), ("Gamma", "USD")]
    assert "3,000" in text_of(dashboard, "risk-table")


def test_in_doubt_and_quarantine_counts_link_to_where_they_are_resolved(world: World, dashboard: str) -> None:
    org = world.orgs["A"]
    assert f'href="/orgs/{org}/outbox?state=in_doubt"' in dashboard
    assert text_of(dashboard, "in-doubt") == "1 message in doubt: decide whether it was sent"
    assert text_of(dashboard, "quarantined") == "2 platform records in quarantine"
    assert f'href="/orgs/{org}/status"' in dashboard


def test_every_chart_matches_its_table(dashboard: str) -> None:
    for chart_id in ("aging-EUR", "aging-USD", "cash-EUR", "cash-USD", "messages-chart"):
        drawn = len(bars(dashboard, chart_id))
        nonzero = [v for row in table_values(dashboard, f"{chart_id}-table") for v in row if v]
        assert drawn == len(nonzero), chart_id
    dso = [v for row in table_values(dashboard, "dso-chart-table") for v in row if v is not None]
    assert len(points(dashboard, "dso-chart")) == len(dso)


def test_empty_organisation_says_so(world: World) -> None:
    html = page(world.client("alice").get(f"/orgs/{world.orgs['A']}/dashboard"))
    assert text_of(html, "open-ar") == "Currency Open Overdue No open invoices."
    assert "No message was sent in the last eight weeks." in html
    assert "<svg" not in html


def test_page_needs_nothing_from_outside(dashboard: str) -> None:
    assert re.search(r"<title>Dashboard · Weber Maschinenbau GmbH</title>", dashboard)
    assert not re.search(r'(src|href)="(https?:)?//', dashboard)


@pytest.fixture(params=DATABASES)
def any_world(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[World]:
    yield from world_on(request, env)


def test_same_figures_on_sqlite_and_postgresql(any_world: World) -> None:
    """Amounts (4-place numerics), instants (local weeks of sent_at) and dates read alike on both stores."""
    seed_dashboard(any_world.sessions, any_world.orgs["A"])
    html = page(any_world.client("bob").get(f"/orgs/{any_world.orgs['A']}/dashboard"))
    assert text_of(html, "open-ar") == "Currency Open Overdue EUR €1,300.00 €700.00 USD $250.00 $250.00"
    assert table_values(html, "messages-chart-table")[-2:] == [d("1", "1"), d("1", "0")]
    assert [v for _, _, v in points(html, "dso-chart")] == ["31.0", "43.4", "40.4", "31.0"]


# ---------------------------------------------------------------- the firm's organisations


def test_firm_view_adds_organisations_per_currency(world: World) -> None:
    seed_dashboard(world.sessions, world.orgs["A"])
    add_organisation(world, "A", "Weber Zwei", [("Z-1", "EUR", "50.00"), ("Z-2", "CHF", "70.00")])
    html = page(world.client("bob").get("/dashboard"))
    # EUR: 1,300 (org A) + 50 (Weber Zwei, current); CHF and USD each alone, never added to EUR.
    assert text_of(html, "open-ar") == (
        "Currency Open Overdue CHF CHF70.00 CHF0.00 EUR €1,350.00 €700.00 USD $250.00 $250.00"
    )
    assert table_values(html, "aging-EUR-table") == [[v] for v in d("650", "300", "0", "400", "0")]
    assert len(bars(html, "aging-EUR")) == 3
    assert text_of(html, "promises") == "Promises to pay: 1 kept, 1 broken, 1 pending."
    assert text_of(html, "in-doubt") == "1 message in doubt"
    organisations = re.findall(r'<tr data-org="(\d+)">\s*<td><a href="([^"]+)">([^<]+)</a>', html)
    assert [name for _, _, name in organisations] == ["Weber Maschinenbau GmbH", "Weber Zwei"]
    assert organisations[0][1] == f"/orgs/{world.orgs['A']}/dashboard"


def test_charlie_never_sees_the_other_firms_organisations(world: World) -> None:
    seed_dashboard(world.sessions, world.orgs["A"])
    add_organisation(world, "B", "Charlie Two", [("C-1", "GBP", "777.00")])
    html = page(world.client("charlie").get("/dashboard"))
    assert "Weber" not in html and "Acme" not in html and "EUR" not in html and "USD" not in html
    assert text_of(html, "open-ar") == "Currency Open Overdue GBP £777.00 £0.00"
    assert world.client("charlie").get(f"/orgs/{world.orgs['A']}/dashboard").status_code == 404
    alice = page(world.client("alice").get("/dashboard"))
    assert "Charlie" not in alice and "GBP" not in alice


def test_firm_view_without_organisations(world: World) -> None:
    with world.sessions.begin() as s:
        s.query(Organisation).filter(Organisation.id == world.orgs["B"]).delete()
    html = page(world.client("charlie").get("/dashboard"))
    assert "No company is connected yet." in html
    assert text_of(html, "open-ar") == "Currency Open Overdue No open invoices."
