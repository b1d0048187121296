"""CSV exports on the seeded ledger of ``tests/web/ledger_builders.py``: the format (BOM, header,
plain amounts with their currency, ISO dates), the ledger's filters, the activity log, the aging
report, and cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from werkzeug.test import TestResponse

from connector.db.activity import ActivityLog
from tests.personas import NOW, World
from tests.web.ledger_builders import DATABASES, Ledger, add_customer, add_invoice, page, seed_ledger, world_on
from web.exports import ACTIVITY_HEADER, AGING_HEADER, CUSTOMER_HEADER, INVOICE_HEADER


@pytest.fixture
def ledger(world: World) -> Ledger:
    return seed_ledger(world)


def rows(response: TestResponse) -> list[dict[str, str]]:
    """The CSV body as dicts by column, after checking the BOM."""
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff"), "a byte order mark, so that Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(body[1:])))


def header(response: TestResponse) -> tuple[str, ...]:
    return tuple(next(csv.reader(io.StringIO(response.get_data(as_text=True)[1:]))))


def export(world: World, org_id: int, kind: str, query: str = "", who: str = "bob") -> TestResponse:
    response = world.client(who).get(f"/orgs/{org_id}/exports/{kind}.csv{query}")
    return response


def test_invoices_export_is_streamed_csv_with_plain_amounts_and_iso_dates(world: World, ledger: Ledger) -> None:
    response = export(world, ledger.org_id, "invoices")

    assert response.status_code == 200 and response.is_streamed
    assert response.content_type == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="invoices-{ledger.org_id}-2026-03-10.csv"'
    assert header(response) == INVOICE_HEADER
    found = rows(response)
    assert [r["number"] for r in found] == ["O-1", "X-1", "P-1", "A-1001", "T-1", "D-1", "E-1"]
    old = found[0]
    assert {k: old[k] for k in ("customer", "status", "issue_date", "due_date", "currency", "total", "balance")} == {
        "customer": "Old Debt Ltd",
        "status": "open",
        "issue_date": "2025-10-31",
        "due_date": "2025-11-30",
        "currency": "USD",
        "total": "2000.00",
        "balance": "2000.00",
    }
    assert (old["days_overdue"], old["aging_bucket"], old["level"], old["owner"]) == ("100", "90+", "2", "Bob")
    assert (found[4]["balance"], found[4]["currency"], found[4]["level"]) == ("5.00", "EUR", "")


def invoice_numbers(html: str) -> list[str]:
    """The invoice numbers of the ledger page's table, in order."""
    return re.findall(r'<tr data-invoice="\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("?bucket=31-60", id="bucket"),
        pytest.param("?level=2", id="level"),
        pytest.param("?level=none&bucket=1-30", id="untouched-in-bucket"),
        pytest.param("?owner=me", id="my-customers"),
        pytest.param("?status=all", id="all-statuses"),
        pytest.param("?status=closed", id="closed"),
    ],
)
def test_invoices_export_has_what_the_ledger_page_lists(world: World, ledger: Ledger, query: str) -> None:
    listed = invoice_numbers(page(world.client("bob").get(f"/orgs/{ledger.org_id}/invoices{query}")))
    exported = [r["number"] for r in rows(export(world, ledger.org_id, "invoices", query))]
    assert exported == listed and exported


@pytest.mark.parametrize("query", ["?bucket=31-60", "?level=2&owner=me", "?status=all"])
def test_the_ledger_page_links_its_own_list_as_csv(world: World, ledger: Ledger, query: str) -> None:
    client = world.client("bob")
    html = page(client.get(f"/orgs/{ledger.org_id}/invoices{query}"))
    link = re.search(r'<a id="export-csv" href="([^"]+)"', html)
    assert link, "the page offers its list as CSV"
    exported = [r["number"] for r in rows(client.get(link.group(1).replace("&amp;", "&")))]
    assert exported == invoice_numbers(html)


def test_wrong_filter_is_refused_with_the_ledgers_message(world: World, ledger: Ledger) -> None:
    response = export(world, ledger.org_id, "customers", "?bucket=forever")
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert "Unknown aging bucket “forever”" in response.get_data(as_text=True)


def test_customers_export_has_a_row_per_customer_and_currency(world: World, ledger: Ledger) -> None:
    response = export(world, ledger.org_id, "customers")
    assert header(response) == CUSTOMER_HEADER
    found = {r["customer"]: r for r in rows(response)}
    assert list(found)[:3] == ["Old Debt Ltd", "Excluded KG", "Promise AG"]  # most overdue first, as listed
    old = found["Old Debt Ltd"]
    assert (old["currency"], old["open_balance"], old["overdue"], old["owner"]) == ("USD", "2000.00", "2000.00", "Bob")
    assert (old["last_touch_date"], old["next_touch_date"], old["next_touch_level"]) == (
        "2026-03-07",
        "2026-03-14",
        "3",
    )
    due = found["Due Today GmbH"]
    assert (due["payer_rating"], due["owner"], due["next_touch_date"], due["excluded"]) == (
        "A",
        "Alice",
        "2026-03-10",
        "false",
    )
    assert found["Excluded KG"]["excluded"] == "true"
    assert (found["Early Ltd"]["open_balance"], found["Early Ltd"]["overdue"]) == ("250.00", "0.00")


def test_customers_export_follows_the_filters(world: World, ledger: Ledger) -> None:
    found = rows(export(world, ledger.org_id, "customers", "?owner=me", who="alice"))
    assert [r["customer"] for r in found] == ["Due Today GmbH"]


def test_activity_export_is_the_log_oldest_first_with_names(world: World, ledger: Ledger) -> None:
    org = ledger.org_id
    with world.sessions.begin() as s:
        log = ActivityLog(s, org)
        log.append(
            kind="note",
            actor=str(world.users["alice"]),
            summary="Rang, will call back",
            occurred_at=NOW,
            customer_id=ledger.customers["Old Debt Ltd"],
            invoice_id=ledger.invoices["O-1"],
        )
        log.append(kind="reminder_sent", actor="system", summary="Reminder, level 1", occurred_at=NOW - timedelta(1))
        log.append(kind="note", actor="payer", summary='=HYPERLINK("http://x")', occurred_at=NOW + timedelta(1))
        ActivityLog(s, world.orgs["B"]).append(kind="note", actor="system", summary="other firm", occurred_at=NOW)

    response = export(world, org, "activity")

    assert response.is_streamed and header(response) == ACTIVITY_HEADER
    assert [tuple(r.values()) for r in rows(response)] == [
        ("2026-03-09T08:30:00+00:00", "reminder_sent", "system", "", "", "Reminder, level 1"),
        ("2026-03-10T08:30:00+00:00", "note", "Alice", "Old Debt Ltd", "O-1", "Rang, will call back"),
        ("2026-03-11T08:30:00+00:00", "note", "payer", "", "", '\'=HYPERLINK("http://x")'),
    ]


def test_aging_report_per_customer_and_currency(world: World, ledger: Ledger) -> None:
    response = export(world, ledger.org_id, "aging")
    assert header(response) == AGING_HEADER
    found = [tuple(r.values()) for r in rows(response)]
    # 29, 10, −5, 70, 100 (USD), 40 and 20 days overdue; Tiny's 5.00 is owed, so it is in the report.
    assert found == [
        ("A Kunde GmbH", "EUR", "0.00", "1190.00", "0.00", "0.00", "0.00", "1190.00"),
        ("Due Today GmbH", "EUR", "0.00", "500.00", "0.00", "0.00", "0.00", "500.00"),
        ("Early Ltd", "EUR", "250.00", "0.00", "0.00", "0.00", "0.00", "250.00"),
        ("Excluded KG", "EUR", "0.00", "0.00", "0.00", "300.00", "0.00", "300.00"),
        ("Old Debt Ltd", "USD", "0.00", "0.00", "0.00", "0.00", "2000.00", "2000.00"),
        ("Promise AG", "EUR", "0.00", "0.00", "800.00", "0.00", "0.00", "800.00"),
        ("Tiny GmbH", "EUR", "0.00", "5.00", "0.00", "0.00", "0.00", "5.00"),
    ]


def test_cells_a_spreadsheet_would_run_are_defused(world: World, ledger: Ledger) -> None:
    org = ledger.org_id
    evil = add_customer(world.sessions, org, "=cmd|' /C calc'!A0")
    add_invoice(world.sessions, org, evil, "+SUM(A1)", overdue=3, balance="-0.50")  # a credit balance stays a number
    add_invoice(world.sessions, org, evil, "@X", overdue=3, balance="12.00")
    names = {r["customer"] for r in rows(export(world, org, "customers"))}
    assert "'=cmd|' /C calc'!A0" in names
    invoices = {r["number"]: r for r in rows(export(world, org, "invoices", "?status=all"))}
    assert invoices["'+SUM(A1)"]["balance"] == "-0.50"
    assert "'@X" in invoices
    assert "'=cmd|' /C calc'!A0" in {r["customer"] for r in rows(export(world, org, "aging"))}


def test_headers_stay_english_for_a_german_user(world: World, ledger: Ledger) -> None:
    response = world.client("bob").get(
        f"/orgs/{ledger.org_id}/exports/invoices.csv", headers={"Accept-Language": "de-DE,de;q=0.9"}
    )
    assert header(response) == INVOICE_HEADER


@pytest.fixture(params=DATABASES)
def any_world(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[World]:
    yield from world_on(request, env)


def test_activity_streams_from_sqlite_and_postgresql(any_world: World) -> None:
    """The log is read in batches while it is sent (a server-side cursor on PostgreSQL)."""
    led = seed_ledger(any_world)
    with any_world.sessions.begin() as s:
        log = ActivityLog(s, led.org_id)
        for i in range(1203):  # more than two batches
            log.append(kind="note", actor="system", summary=f"note {i}", occurred_at=NOW + timedelta(seconds=i))
    found = rows(export(any_world, led.org_id, "activity"))
    assert [r["summary"] for r in found] == [f"note {i}" for i in range(1203)]
    assert rows(export(any_world, led.org_id, "invoices"))[0]["balance"] == "2000.00"
