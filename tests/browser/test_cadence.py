"""The cadence editor in real Chromium: an admin edits a step (a bad level is said next to its
field and saves nothing), sees the 90-day preview of the changed policy on the organisation's
real ledger (calendar and first touches), and switches it on from test mode.

The ledger is ``tests/web/ledger_builders.seed_ledger``: today (Tue 2026-03-10) the seeded
"Standard" policy (s1 +3 days level 1, s2 +30 level 2, s3 +60 level 3) would remind Due Today
GmbH of D-1, 10 days overdue.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page
from sqlalchemy import select

from connector.db import Activity, Policy, PolicyStep
from tests.browser.conftest import Live
from tests.personas import NOW
from tests.web.ledger_builders import Ledger, seed_ledger


def steps(live: Live, policy_id: int) -> list[tuple[str, int, int, str, str]]:
    """The stored steps of the policy: (id, offset, level, action, template), in order."""
    with live.world.sessions() as s:
        rows = s.scalars(select(PolicyStep).where(PolicyStep.policy_id == policy_id).order_by(PolicyStep.position))
        return [(r.step_key, r.offset_days, r.level, r.action, r.template_key) for r in rows]


def day_cell(page: Page, iso: str) -> str:
    """What the preview calendar shows on one day, spaces collapsed."""
    return " ".join(page.inner_text(f"#day-{iso}").split())


def first_touches(page: Page) -> list[str]:
    """The rows of the first-touches list, cells separated by " | "."""
    rows = page.locator("#first-touches tr.touch")
    cells = [rows.nth(n).locator("td").all_inner_texts() for n in range(rows.count())]
    return [" | ".join(" ".join(c.split()) for c in row) for row in cells]


def open_editor(page: Page, ledger: Ledger) -> None:
    page.goto(f"/orgs/{ledger.org_id}/cadence")
    with page.expect_navigation():
        page.click("#organisation-policy a:has-text('Edit')")


def test_an_admin_edits_a_step_sees_the_preview_and_switches_the_policy_on(
    live: Live, sign_in: Callable[..., Page]
) -> None:
    ledger = seed_ledger(live.world)
    policy_id = ledger.seeded["policy_id"]
    before = steps(live, policy_id)
    page = sign_in("alice")

    # Before: the preview has Due Today GmbH's first reminder today.
    page.goto(f"/orgs/{ledger.org_id}/cadence/policies/{policy_id}/preview")
    assert day_cell(page, "2026-03-10") == "10 Mar L1: 1"
    assert first_touches(page)[0] == "Mar 10, 2026 | Due Today GmbH | 1 | email | D-1 | €500.00"

    # A level beyond the scale is said next to its field; nothing is saved.
    open_editor(page, ledger)
    page.fill("#steps-0-offset_days", "12")
    page.fill("#steps-0-level", "9")
    with page.expect_navigation():
        page.click("#save-policy")
    error = page.locator("#steps-0-level-error")
    assert error.is_visible() and "6" in error.inner_text(), error.inner_text()
    assert page.get_attribute("#steps-0-level", "aria-invalid") == "true"
    assert steps(live, policy_id) == before

    # The first reminder moves to 12 days after due; saving shows the preview, in test mode.
    page.fill("#steps-0-level", "1")
    with page.expect_navigation():
        page.click("#save-policy")
    assert page.url.endswith(f"/cadence/policies/{policy_id}/preview")
    assert page.locator(".flash").all_inner_texts() == [
        "Saved. The policy is in test mode: check the preview, then switch it on."
    ]
    assert page.get_attribute("#policy-state [data-state]", "data-state") == "test"
    assert steps(live, policy_id) == [("s1", 12, 1, "email", "friendly_reminder"), *before[1:]]

    # The calendar and the first touches show the change on the real ledger.
    assert day_cell(page, "2026-03-10") == "10 Mar"
    assert day_cell(page, "2026-03-12") == "12 Mar L1: 1"
    assert first_touches(page)[0] == "Mar 12, 2026 | Due Today GmbH | 1 | email | D-1 | €500.00"
    assert page.locator("#calendar td[id^=day-]").count() == 90

    # Switched on: the page says by whom, the store says when.
    with page.expect_navigation():
        page.click("#switch-on")
    assert page.get_attribute("#policy-state [data-state]", "data-state") == "on"
    assert "Switched on by Alice" in " ".join(page.inner_text("#policy-state").split())
    with live.world.sessions() as s:
        row = s.get_one(Policy, policy_id)
        assert (row.switched_on_at, row.switched_on_by_id) == (NOW, live.user_id("alice"))
        kinds = s.scalars(select(Activity.kind).where(Activity.organisation_id == ledger.org_id).order_by(Activity.id))
        assert list(kinds) == ["policy_changed", "policy_switched_on"]
