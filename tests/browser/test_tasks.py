"""Tasks in real Chromium: a collector finds a task under "My tasks", tries to finish it without
saying what came of it (refused next to the field), finishes it with an outcome, and the admin
sees the workload change and the outcome in the customer's timeline."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page
from sqlalchemy import select

from connector.db import Activity, Task
from tests.browser.conftest import Live
from tests.personas import NOW
from tests.web.conftest import seed_objects
from tests.web.ledger_builders import day


def text(page: Page, selector: str) -> str:
    """The visible text of ``selector``, spaces collapsed."""
    return " ".join(page.inner_text(selector).split())


def test_a_collector_finishes_a_task_with_an_outcome(live: Live, sign_in: Callable[..., Page]) -> None:
    world, org = live.world, live.world.orgs["A"]
    seeded = seed_objects(world.sessions, org, "A")
    with world.sessions.begin() as s:
        task = s.get_one(Task, seeded["task_id"])
        task.assignee_id, task.due_date = live.user_id("bob"), day(-1)
    task_id = seeded["task_id"]

    bob = sign_in("bob")
    bob.click("header a:has-text('My tasks')")
    bob.wait_for_url("**/tasks")
    assert bob.locator("#task-list tbody tr.overdue").count() == 1
    assert text(bob, f"#task-list tr[data-task='{task_id}']").startswith("Weber Maschinenbau GmbH Call AP Call")
    with bob.expect_navigation():
        bob.click("#task-list a:text-is('Call AP')")
    assert text(bob, "#status") == "open"

    # Done without an outcome: said next to the field, the task stays open.
    with bob.expect_navigation():
        bob.click("#done-form button[type=submit]")
    assert text(bob, "#done-outcome-errors") == "Say what came of it."
    assert bob.get_attribute("#done-outcome", "aria-invalid") == "true"
    assert text(bob, "#status") == "open"

    bob.fill("#done-outcome", "Reached Frau Kunde: pays on Friday.")
    with bob.expect_navigation():
        bob.click("#done-form button[type=submit]")
    assert text(bob, ".flashes") == "Task done."
    assert text(bob, "#status") == "done"
    assert text(bob, "#outcome") == "Reached Frau Kunde: pays on Friday."
    assert bob.locator("#done-form").count() == 0 and bob.locator("#reopen-form").is_visible()
    with world.sessions() as s:
        row = s.get_one(Task, task_id)
        assert (row.status, row.outcome, row.completed_at) == ("done", "Reached Frau Kunde: pays on Friday.", NOW)
        [entry] = s.scalars(select(Activity).where(Activity.kind == "task_done"))
        assert (entry.actor, entry.customer_id) == (str(live.user_id("bob")), seeded["customer_id"])

    # The admin: nobody is on anything now, and the outcome is on the customer's timeline.
    alice = sign_in("alice")
    alice.goto(f"/orgs/{org}/tasks?tab=team")
    assert text(alice, f"#workload tr[data-assignee='{live.user_id('bob')}']") == "Bob 0 0"
    alice.goto(f"/orgs/{org}/customers/{seeded['customer_id']}")
    assert "Task done: Call AP. Outcome: Reached Frau Kunde: pays on Friday." in text(alice, "#timeline")
