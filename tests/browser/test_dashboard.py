"""The dashboard of the QuickBooks sandbox's sample company in real Chromium: connected through the
consent page, synced by the worker's job, drawn offline; every chart has as many bars or points as
its table has values, and a screenshot is kept in the test's folder."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import select

from connector.db import Organisation
from connector.jobs import sync_due
from tests.browser.conftest import Live


def connect_and_sync(page: Page, live: Live) -> int:
    """Connect the sandbox company from the landing page, approve, and run the sync job."""
    page.goto("/")
    with page.expect_navigation():
        page.click("form[action='/connect/quickbooks'] button")
    assert page.url.startswith(live.sandbox.base_url), page.url
    with page.expect_navigation(url=f"{live.url}/"):
        page.click("#approve")
    assert sync_due(live.world.runtime) >= 1
    with live.world.sessions() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.external_id == live.sandbox.realm_id))
        assert org_id is not None
        return org_id


def charted_values(page: Page, chart_id: str) -> list[Decimal]:
    """The values of the chart's table that the chart draws (non-empty; bars skip zeros)."""
    cells = page.locator(f"#{chart_id}-table tbody td[data-value]")
    return [Decimal(v) for v in (cells.nth(i).get_attribute("data-value") or "" for i in range(cells.count())) if v]


def marks(page: Page, chart_id: str, selector: str) -> list[Decimal]:
    found = page.locator(f"#{chart_id} svg {selector}")
    return [Decimal(found.nth(i).get_attribute("data-value") or "nan") for i in range(found.count())]


def test_sample_company_dashboard_draws_its_tables(
    live_quickbooks: Live, sign_in: Callable[..., Page], tmp_path: Path
) -> None:
    live = live_quickbooks
    page = sign_in("alice")
    org_id = connect_and_sync(page, live)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live.url) else None)

    page.click("#home-dashboard")
    page.wait_for_selector("#organisations-table")
    with page.expect_navigation():
        page.click(f"#organisations-table a[href='/orgs/{org_id}/dashboard']")
    page.wait_for_selector("#aging figure.chart svg")
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert outside == [], "the page loads nothing from outside (no CDN)"
    charts = page.locator("figure.chart").evaluate_all("figures => figures.map(f => f.id)")
    assert {"dso-chart"} <= set(charts) and any(c.startswith("aging-") for c in charts)
    assert any(c.startswith("cash-") for c in charts)
    for chart_id in charts:
        values = charted_values(page, chart_id)
        bars, points = marks(page, chart_id, "rect.bar"), marks(page, chart_id, "circle.point")
        if chart_id == "dso-chart":
            assert (len(points), bars) == (len(values), []), chart_id  # a point for every month with a DSO
            assert sorted(points) == sorted(values), chart_id
        else:
            nonzero = [v for v in values if v != 0]
            assert (len(bars), points) == (len(nonzero), []), chart_id  # a bar for every amount
            assert sorted(bars) == sorted(nonzero), chart_id
        assert bars or points, f"{chart_id} draws nothing for the sample company"
        box = page.locator(f"#{chart_id} svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, chart_id
    assert page.locator("#open-ar tbody tr[data-currency]").count() >= 1
