"""The ledger pages: customers and invoices with what the engine says today, filters, "Why?" in
words and the timelines, on the seeded ledger of ``tests/web/ledger_builders.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from connector.db import Policy
from connector.db.activity import ActivityLog
from tests.personas import NOW, World
from tests.web.ledger_builders import DATABASES, Ledger, page, seed_ledger, world_on


@pytest.fixture(params=DATABASES)
def any_world(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[World]:
    yield from world_on(request, env)


@pytest.fixture
def ledger(world: World) -> Ledger:
    return seed_ledger(world)


def invoice_numbers(html: str) -> list[str]:
    """The invoice numbers listed in the invoices table, in order."""
    return re.findall(r'<tr data-invoice="\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


def customer_names(html: str) -> list[str]:
    """The customer names listed in the customers table, in order."""
    return re.findall(r'<tr(?: class="muted")? data-customer="\d+">\s*<td><a href="[^"]+">([^<]+)</a>', html)


def customer_row(html: str, name: str) -> str:
    """The text of the customers table row of ``name``, tags stripped, spaces collapsed."""
    found = re.search(
        rf'<tr(?: class="muted")? data-customer="\d+">\s*<td><a [^>]+>{re.escape(name)}</a>(.*?)</tr>', html, re.S
    )
    assert found, name
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def section(html: str, section_id: str) -> str:
    """The text of ``<section id=...>``, tags stripped, spaces collapsed."""
    found = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert found, section_id
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


OPEN = ["O-1", "X-1", "P-1", "A-1001", "T-1", "D-1", "E-1"]
"""The open invoices, oldest due first."""


def test_customer_list_shows_balances_rating_touches_and_owner(any_world: World) -> None:
    led = seed_ledger(any_world)
    response = any_world.client("bob").get(f"/orgs/{led.org_id}/customers")
    html = page(response)
    assert response.status_code == 200
    assert customer_names(html) == [
        "Old Debt Ltd",
        "Excluded KG",
        "Promise AG",
        "A Kunde GmbH",
        "Tiny GmbH",
        "Due Today GmbH",
        "Early Ltd",
    ]
    assert customer_row(html, "Due Today GmbH") == ("€500.00 €500.00 A: pays on time – today email, level 1 Alice")
    assert customer_row(html, "Old Debt Ltd") == (
        "$2,000.00 $2,000.00 unrated (too little history) Mar 7, 2026 from Mar 14, 2026 email, level 3 Bob"
    )
    assert (
        customer_row(html, "Early Ltd")
        == "€250.00 – unrated (too little history) – from Mar 18, 2026 email, level 1 nobody"
    )
    assert customer_row(html, "A Kunde GmbH").startswith(
        "€1,190.00 €1,190.00 unrated (too little history) Mar 10, 2026"
    )
    assert "queued: email, level 1" in customer_row(html, "A Kunde GmbH")
    assert customer_row(html, "Excluded KG").startswith("excluded €300.00")
    assert "Customers without an open balance" not in html


def test_amounts_and_dates_follow_the_language(world: World, ledger: Ledger) -> None:
    html = page(world.client("alice").get(f"/orgs/{ledger.org_id}/customers", headers={"Accept-Language": "de"}))
    assert "500,00 €" in customer_row(html, "Due Today GmbH")
    assert "2.000,00 $" in customer_row(html, "Old Debt Ltd")
    assert "07.03.2026" in customer_row(html, "Old Debt Ltd")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("", OPEN, id="open-by-default"),
        pytest.param("bucket=current", ["E-1"], id="current"),
        pytest.param("bucket=1-30", ["A-1001", "T-1", "D-1"], id="1-30"),
        pytest.param("bucket=31-60", ["P-1"], id="31-60"),
        pytest.param("bucket=61-90", ["X-1"], id="61-90"),
        pytest.param("bucket=90%2B", ["O-1"], id="90+"),
        pytest.param("level=2", ["O-1"], id="level-2"),
        pytest.param("level=1", ["A-1001"], id="level-1-queued-counts"),
        pytest.param("level=none", ["X-1", "P-1", "T-1", "D-1", "E-1"], id="never-touched"),
        pytest.param("level=4", [], id="level-nobody-reached"),
        pytest.param("owner=2", ["O-1"], id="owner-bob"),
        pytest.param("owner=me", ["D-1"], id="owner-me"),
        pytest.param("owner=none", ["X-1", "P-1", "A-1001", "T-1", "E-1"], id="owner-nobody"),
        pytest.param("status=closed", ["D-0a", "D-0b", "D-0c"], id="closed"),
        pytest.param("status=all&owner=1", ["D-0a", "D-0b", "D-0c", "D-1"], id="all-of-alice"),
        pytest.param("bucket=1-30&owner=none", ["A-1001", "T-1"], id="bucket-and-owner"),
        pytest.param("bucket=1-30&level=none&owner=none", ["T-1"], id="three-filters"),
        pytest.param("bucket=current&status=closed", [], id="closed-have-no-bucket"),
    ],
)
def test_invoice_filters(world: World, ledger: Ledger, query: str, expected: list[str]) -> None:
    response = world.client("alice").get(f"/orgs/{ledger.org_id}/invoices?{query}")
    assert response.status_code == 200
    assert invoice_numbers(page(response)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("bucket=90%2B", ["Old Debt Ltd"], id="90+"),
        pytest.param("bucket=1-30", ["A Kunde GmbH", "Tiny GmbH", "Due Today GmbH"], id="1-30"),
        pytest.param("owner=2", ["Old Debt Ltd"], id="owner"),
        pytest.param("level=1&owner=none", ["A Kunde GmbH"], id="level-and-owner"),
        pytest.param("bucket=current&owner=1", [], id="nothing"),
    ],
)
def test_customer_filters(world: World, ledger: Ledger, query: str, expected: list[str]) -> None:
    response = world.client("alice").get(f"/orgs/{ledger.org_id}/customers?{query}")
    assert response.status_code == 200
    assert customer_names(page(response)) == expected


@pytest.mark.parametrize(
    ("query", "message", "still"),
    [
        pytest.param("bucket=45", "Unknown aging bucket “45”", OPEN, id="bucket"),
        pytest.param("level=9", "Unknown level “9”", OPEN, id="level-too-high"),
        pytest.param("level=-1", "Unknown level “-1”", OPEN, id="level-negative"),
        pytest.param("owner=3", "Unknown owner “3”", OPEN, id="owner-of-another-firm"),
        pytest.param("owner=alice", "Unknown owner “alice”", OPEN, id="owner-not-an-id"),
        pytest.param("status=unpaid", "Unknown status “unpaid”", OPEN, id="status"),
        pytest.param("page=0", "Unknown page “0”", OPEN, id="page-zero"),
        pytest.param("page=2", "There is no page 2", OPEN, id="page-beyond"),
        pytest.param("bucket=45&owner=2", "Unknown aging bucket", ["O-1"], id="good-filters-still-apply"),
    ],
)
def test_bad_filter_values_get_a_message(
    world: World, ledger: Ledger, query: str, message: str, still: list[str]
) -> None:
    response = world.client("alice").get(f"/orgs/{ledger.org_id}/invoices?{query}")
    html = page(response)
    assert response.status_code == 400
    assert message in re.search(r'<ul class="errors error" role="alert" id="filter-errors">(.*?)</ul>', html, re.S)[1]
    assert invoice_numbers(html) == still


def test_long_lists_are_paged(world: World, ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("web.ledger.PAGE_SIZE", 3)
    client = world.client("alice")
    first = page(client.get(f"/orgs/{ledger.org_id}/invoices?bucket=&page=1"))
    third = page(client.get(f"/orgs/{ledger.org_id}/invoices?page=3"))
    assert invoice_numbers(first) == OPEN[:3]
    assert invoice_numbers(third) == OPEN[6:]
    assert "page 1 of 3" in first
    assert f'href="/orgs/{ledger.org_id}/invoices?page=2&bucket="' in first


@pytest.mark.parametrize(
    ("number", "headline", "details"),
    [
        pytest.param(
            "D-1",
            "Today: email 'friendly_reminder' (step s1, level 1) for 500.00 EUR.",
            ["It is 10 days past its due date 2026-02-28", "Step s1 (level 1) is due."],
            id="message-today",
        ),
        pytest.param(
            "P-1",
            "Nothing today: The customer promised to pay; we wait until the promised date.",
            ["The pause (promise) lasts until 2026-03-22."],
            id="paused-promise",
        ),
        pytest.param(
            "A-1001",
            "Nothing today: The invoice is disputed.",
            ["The pause (dispute) lasts until it is lifted."],
            id="paused-dispute",
        ),
        pytest.param("X-1", "Nothing today: The customer is excluded from reminders.", [], id="excluded"),
        pytest.param(
            "E-1",
            "Nothing today: No step of the cadence is due yet. The invoice is not overdue yet.",
            ["The next step, s1 (level 1), is due on 2026-03-18."],
            id="not-yet-due",
        ),
        pytest.param(
            "T-1",
            "Nothing today: The amount due is below the minimum worth chasing.",
            ["The touch would ask for 5.00 EUR; the minimum is 10.00."],
            id="below-threshold",
        ),
        pytest.param(
            "O-1",
            "Nothing today: The customer was contacted too recently.",
            ["Last touch of the customer 3 days ago (2026-03-07); spacing 7 days: next from 2026-03-14."],
            id="too-soon",
        ),
        pytest.param("D-0a", "Nothing today: The invoice is paid.", [], id="paid"),
    ],
)
def test_why_in_words(world: World, ledger: Ledger, number: str, headline: str, details: list[str]) -> None:
    response = world.client("bob").get(f"/orgs/{ledger.org_id}/invoices/{ledger.invoices[number]}")
    assert response.status_code == 200
    why = section(page(response), "why")
    assert headline in why
    for line in details:
        assert line in why


def test_customer_why_explains_each_open_invoice(world: World, ledger: Ledger) -> None:
    html = page(world.client("alice").get(f"/orgs/{ledger.org_id}/customers/{ledger.customers['Due Today GmbH']}"))
    why = section(html, "why")
    assert "D-1 : Today: email 'friendly_reminder' (step s1, level 1) for 500.00 EUR." in why
    assert "D-0a" not in why  # paid invoices are listed below, not explained
    assert "The cadence is in test mode" in why  # the seeded policy was never switched on


def test_why_in_german(world: World, ledger: Ledger) -> None:
    html = page(
        world.client("alice").get(
            f"/orgs/{ledger.org_id}/invoices/{ledger.invoices['X-1']}", headers={"Accept-Language": "de"}
        )
    )
    assert "Für den Kunden besteht eine Mahnsperre." in section(html, "why")


def test_an_invalid_cadence_is_said_not_raised(world: World, ledger: Ledger) -> None:
    with world.sessions.begin() as s:
        s.execute(update(Policy).where(Policy.id == ledger.seeded["policy_id"]).values(min_days_between_touches=-1))
    client = world.client("alice")
    listing = client.get(f"/orgs/{ledger.org_id}/invoices")
    detail = client.get(f"/orgs/{ledger.org_id}/invoices/{ledger.invoices['D-1']}")
    assert listing.status_code == 200 and detail.status_code == 200
    assert "The cadence cannot be applied: invalid policy: min_days_between_touches" in page(listing)
    assert "The cadence cannot be applied" in section(page(detail), "why")
    assert invoice_numbers(page(listing)) == OPEN


def test_timelines_are_newest_first(world: World, ledger: Ledger) -> None:
    customer, invoice = ledger.customers["Old Debt Ltd"], ledger.invoices["O-1"]
    with world.sessions.begin() as s:
        log = ActivityLog(s, ledger.org_id)
        log.append(
            kind="note",
            actor=str(world.users["bob"]),
            summary="first, about the customer",
            occurred_at=NOW - timedelta(days=2),
            customer_id=customer,
        )
        log.append(
            kind="call",
            actor=str(world.users["alice"]),
            summary="second, about O-1",
            occurred_at=NOW - timedelta(days=1),
            customer_id=customer,
            invoice_id=invoice,
        )
        log.append(
            kind="reminder_sent",
            actor="scheduler",
            summary="third, the reminder",
            occurred_at=NOW,
            customer_id=customer,
            data={"outbox_id": 1},
        )  # another customer's row

    client = world.client("alice")
    people = section(page(client.get(f"/orgs/{ledger.org_id}/customers/{customer}")), "timeline")
    assert people.index("third") < people.index("second") < people.index("first")
    assert "Note Bob" in people and "Call Alice · invoice O-1" in people and "Reminder sent the daily run" in people
    assert "3/10/26, 9:30 AM" in people  # the organisation's clock (Berlin), not UTC
    on_invoice = section(page(client.get(f"/orgs/{ledger.org_id}/invoices/{invoice}")), "timeline")
    assert "second, about O-1" in on_invoice
    assert "first, about the customer" not in on_invoice and "third" not in on_invoice


def test_the_invoice_timeline_has_the_reminders_that_covered_it(world: World, ledger: Ledger) -> None:
    """A reminder's log entry names its outbox row, not the invoice: the row's invoices decide."""
    customer = ledger.customers["A Kunde GmbH"]
    with world.sessions.begin() as s:
        ActivityLog(s, ledger.org_id).append(
            kind="reminder_planned",
            actor="scheduler",
            summary="email at level 1",
            occurred_at=NOW,
            customer_id=customer,
            data={"outbox_id": ledger.seeded["message_id"]},
        )
    html = page(world.client("alice").get(f"/orgs/{ledger.org_id}/invoices/{ledger.seeded['invoice_id']}"))
    assert "Reminder planned the daily run email at level 1" in section(html, "timeline")


def test_viewers_read_but_see_no_actions(world: World, ledger: Ledger) -> None:
    from tests.web.test_access import _set_role

    _set_role(world, "bob", "viewer")
    html = page(world.client("bob").get(f"/orgs/{ledger.org_id}/customers/{ledger.customers['Promise AG']}"))
    assert "Why?" in html and "Promise to pay" in section(html, "pauses")
    assert 'id="pause-form"' not in html and 'id="actions"' not in html and ">Lift<" not in html


@pytest.mark.parametrize("path", ["customers/{customer}", "invoices/{invoice}"])
def test_another_firms_objects_are_not_found(world: World, ledger: Ledger, path: str) -> None:
    from tests.web.conftest import seed_objects

    theirs = seed_objects(world.sessions, world.orgs["B"], "B")
    url = f"/orgs/{ledger.org_id}/" + path.format(customer=theirs["customer_id"], invoice=theirs["invoice_id"])
    assert world.client("alice").get(url).status_code == 404
    assert world.client("charlie").get(url).status_code == 404
