"""Connecting the QuickBooks sandbox company in real Chromium: the admin clicks "Connect", approves
on the sandbox's own consent page, comes back signed in, and finds the company in the list with
its connection state, last sync and next run; the tokens are stored encrypted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page
from sqlalchemy import select

from connector.db import Activity, Connection, Organisation
from connector.jobs import sync_due
from tests.browser.conftest import Live
from tests.personas import NOW

COMPANY = "Kranich Werkzeugbau GmbH"


def row_text(page: Page, org_id: int) -> str:
    """The organisations list row of ``org_id``, cells separated by " | " (CLDR's narrow and
    no-break spaces read as plain spaces)."""
    cells = page.locator(f"#org-{org_id} td").all_inner_texts()
    return " | ".join(" ".join(cell.replace("\u202f", " ").split()) for cell in cells)


def connect_through_consent(page: Page, live: Live, decision: str = "#approve") -> None:
    """From the organisations page: "Connect QuickBooks", then ``decision`` on the sandbox's
    consent page ("Connect" or "Cancel"), back to the app's landing page."""
    page.goto("/orgs")
    with page.expect_navigation():
        page.click("#connect button:has-text('Connect QuickBooks')")
    assert page.url.startswith(live.sandbox.base_url), page.url
    assert COMPANY in page.inner_text("body")
    with page.expect_navigation(url=f"{live.url}/"):
        page.click(decision)


def test_an_admin_connects_the_sandbox_company_through_its_consent_page(
    live_quickbooks: Live, sign_in: Callable[..., Page]
) -> None:
    live = live_quickbooks
    page = sign_in("alice")
    connect_through_consent(page, live)
    assert f"Connected {COMPANY}. The first sync starts now." in page.inner_text(".flashes")

    with live.world.sessions() as s:
        org = s.scalars(select(Organisation).where(Organisation.name == COMPANY)).one()
        connection = s.get_one(Connection, org.connection_id)
        assert (org.platform, org.external_id, org.firm_id) == ("quickbooks", live.sandbox.realm_id, 1)
        assert connection.status == "active"
        access = live.world.runtime.cipher.decrypt(connection.access_token_enc or b"")
        assert live.sandbox.tokens.authenticate(access) is not None  # the sandbox's own token …
        assert access.encode() not in (connection.access_token_enc or b"")  # … stored encrypted
        [entry] = s.scalars(select(Activity).where(Activity.kind == "connected", Activity.organisation_id == org.id))
        assert entry.actor == str(live.user_id("alice"))

    page.goto("/orgs")
    listed = f"{COMPANY} | quickbooks | active | never | Mar 10, 2026, 9:30:00 AM (Europe/Berlin) | collections off"
    assert row_text(page, org.id) == f"{listed} | Disconnect"

    # The worker's sync job, on the app's own runtime, against the sandbox.
    assert sync_due(live.world.runtime) >= 1
    page.reload()
    after = row_text(page, org.id)
    assert after.startswith(f"{COMPANY} | quickbooks | active | Mar 10, 2026, 9:30:00 AM (Europe/Berlin) | ")
    assert "Mar 10, 2026, 9:45:00 AM (Europe/Berlin)" in after

    # Collections on: today's run (07:00 in Berlin) has not happened yet, so it is due at once.
    page.goto(f"/orgs/{org.id}/settings")
    page.check("input[name=collections_enabled]")
    with page.expect_navigation():
        page.click(f"form[action='/orgs/{org.id}/settings'] button[type=submit]")
    page.goto("/orgs")
    assert row_text(page, org.id).endswith("| Mar 10, 2026, 7:00:00 AM (Europe/Berlin) | Disconnect")
    with live.world.sessions() as s:
        org = s.get_one(Organisation, org.id)
        assert org.collections_enabled and org.last_sync_at == NOW
        assert org.next_sync_at == NOW + timedelta(minutes=15)
        assert org.next_run_at == datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def test_cancelling_on_the_consent_page_connects_nothing(live_quickbooks: Live, sign_in: Callable[..., Page]) -> None:
    page = sign_in("alice")
    connect_through_consent(page, live_quickbooks, decision="#deny")
    assert "QuickBooks Online was not connected. You declined the connection." in page.inner_text(".flashes")
    page.goto("/orgs")
    assert COMPANY not in page.inner_text("#organisations")
    with live_quickbooks.world.sessions() as s:
        assert s.scalars(select(Organisation).where(Organisation.name == COMPANY)).first() is None
        assert s.scalars(select(Activity).where(Activity.kind == "connected")).first() is None
