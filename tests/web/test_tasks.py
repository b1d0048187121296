"""The task pages: my tasks and the team's, the admin's view of who is on what, and the actions
(assign, due date, done with an outcome, reopen), each logged with its actor; bad values are said
next to their field and change nothing; a viewer reads but cannot act; another firm's task is not
found.

Organisation A is in Berlin; the personas' clock says 2026-03-10 09:30 there (``TODAY``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from connector.db import Activity, Task
from tests.personas import NOW, World
from tests.web.conftest import seed_objects
from tests.web.ledger_builders import DATABASES, TODAY, activities, day, field_errors, page, world_on
from tests.web.test_access import _set_role


@dataclass
class Tasks:
    """The seeded tasks of organisation A by name, and the ``seed_objects`` ids of A and B."""

    org_id: int
    ids: dict[str, int]
    seeded: dict[str, int]
    theirs: dict[str, int]


def add_task(world: World, org_id: int, title: str, **fields: Any) -> int:
    """A task of ``org_id`` (a call unless ``kind`` says otherwise); returns its id."""
    with world.sessions.begin() as s:
        row = Task(organisation_id=org_id, kind=fields.pop("kind", "call"), title=title, created_at=NOW, **fields)
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def tasks(world: World) -> Tasks:
    """Organisation A: the seeded "Call AP" (nobody on it) and four more; B has its own."""
    org, users = world.orgs["A"], world.users
    seeded = seed_objects(world.sessions, org, "A")
    theirs = seed_objects(world.sessions, world.orgs["B"], "B")
    customer = seeded["customer_id"]
    ids = {
        "Call AP": seeded["task_id"],
        "Send the letter": add_task(
            world,
            org,
            "Send the letter",
            kind="letter",
            assignee_id=users["bob"],
            due_date=day(-2),
            customer_id=customer,
        ),
        "Find a contact": add_task(
            world, org, "Find a contact", kind="find_email", assignee_id=users["bob"], due_date=day(3)
        ),
        "Review write-off": add_task(
            world, org, "Review write-off", kind="writeoff_review", assignee_id=users["alice"], due_date=day(1)
        ),
        "Called last week": add_task(
            world, org, "Called last week", assignee_id=users["bob"], status="done", outcome="Promised Friday"
        ),
    }
    return Tasks(org, ids, seeded, theirs)


def titles(html: str) -> list[str]:
    """The task titles listed in the tasks table, in order."""
    row = r'<tr data-task="\d+"(?: class="overdue")?>\s*(?:<td>[^<]*</td>\s*)?<td><a [^>]+>([^<]+)</a>'
    return re.findall(row, html)


def text(html: str) -> str:
    """``html`` with tags stripped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def workload(html: str) -> dict[str, tuple[int, int]]:
    """The "who is on what" table: person → (open, overdue)."""
    found = re.search(r'<section id="workload">(.*?)</section>', html, re.S)
    assert found, "no workload section"
    rows = re.findall(r'<tr data-assignee="[^"]+">(.*?)</tr>', found.group(1), re.S)
    cells = [[text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]
    return {name: (int(opened), int(late)) for name, opened, late in cells}


def token(client: FlaskClient, url: str) -> str:
    """The client's CSRF token, read from any form on the page at ``url``."""
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="(?:[a-z]+-)?csrf_token"(?: type="hidden")? value="([^"]+)"', html)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def act(world: World, who: str | FlaskClient, task_id: int, action: str, org: str = "A", **fields: str) -> TestResponse:
    """POST the task form ``action`` (assignee, due, done, reopen) as ``who`` (a persona, or a
    client when the next page should show the flash) with a real token."""
    client = world.client(who) if isinstance(who, str) else who
    base = f"/orgs/{world.orgs[org]}/tasks/{task_id}"
    prefix = {"assignee": "assign-", "due": "due-", "done": "done-"}.get(action, "")
    data = {f"{prefix}csrf_token": token(client, "/tasks")}
    data.update({f"{prefix}{name}": value for name, value in fields.items()})
    return client.post(f"{base}/{action}", data=data)


def task_row(world: World, task_id: int) -> Task:
    with world.sessions() as s:
        return s.get_one(Task, task_id)


def logged(world: World) -> list[Activity]:
    with world.sessions() as s:
        return list(s.scalars(select(Activity).order_by(Activity.id)))


# -- lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "query", "expected"),
    [
        pytest.param("bob", "", ["Send the letter", "Find a contact"], id="mine-open-by-default"),
        pytest.param("alice", "tab=mine", ["Review write-off"], id="mine-of-alice"),
        pytest.param(
            "bob",
            "tab=team",
            ["Send the letter", "Review write-off", "Find a contact", "Call AP"],
            id="team-open-most-urgent-first-undated-last",
        ),
        pytest.param("bob", "tab=mine&show=closed", ["Called last week"], id="mine-closed"),
        pytest.param(
            "bob",
            "tab=mine&show=all",
            ["Send the letter", "Find a contact", "Called last week"],
            id="mine-all-open-first",
        ),
        pytest.param("bob", "tab=team&show=closed", ["Called last week"], id="team-closed"),
    ],
)
def test_task_lists(world: World, tasks: Tasks, who: str, query: str, expected: list[str]) -> None:
    response = world.client(who).get(f"/orgs/{tasks.org_id}/tasks?{query}")
    assert response.status_code == 200
    assert titles(page(response)) == expected


def test_overdue_tasks_are_marked_on_the_organisations_day(world: World, tasks: Tasks) -> None:
    html = page(world.client("bob").get(f"/orgs/{tasks.org_id}/tasks?tab=team"))
    overdue = re.findall(r'<tr data-task="(\d+)" class="overdue">', html)
    assert overdue == [str(tasks.ids["Send the letter"])]
    assert "Hand to a collection agency" not in html and "Letter" in html and "Find a contact" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("tab=theirs", "Unknown tab “theirs”: choose one of mine, team.", id="tab"),
        pytest.param("show=some", "Unknown show “some”: choose one of open, closed, all.", id="show"),
    ],
)
def test_an_unknown_filter_is_said_and_the_default_shown(world: World, tasks: Tasks, query: str, message: str) -> None:
    response = world.client("bob").get(f"/orgs/{tasks.org_id}/tasks?{query}")
    assert response.status_code == 400
    html = page(response)
    assert message in html
    assert titles(html)  # the default list is still shown


def test_the_admin_sees_who_is_on_what(world: World, tasks: Tasks) -> None:
    html = page(world.client("alice").get(f"/orgs/{tasks.org_id}/tasks?tab=team"))
    assert workload(html) == {"Alice": (1, 0), "Bob": (2, 1), "unassigned": (1, 0)}


def test_collectors_do_not_see_the_workload(world: World, tasks: Tasks) -> None:
    html = page(world.client("bob").get(f"/orgs/{tasks.org_id}/tasks?tab=team"))
    assert 'id="workload"' not in html


def test_my_tasks_span_the_organisations_of_my_firm_only(world: World, tasks: Tasks) -> None:
    add_task(world, world.orgs["B"], "Charlie's call", assignee_id=world.users["charlie"])
    bob = page(world.client("bob").get("/tasks"))
    assert titles(bob) == ["Send the letter", "Find a contact"]
    assert "Weber Maschinenbau GmbH" in bob
    charlie = page(world.client("charlie").get("/tasks"))
    assert titles(charlie) == ["Charlie's call"]
    assert "Send the letter" not in charlie


def test_the_task_page_says_what_for_whom_and_by_when(world: World, tasks: Tasks) -> None:
    html = page(world.client("bob").get(f"/orgs/{tasks.org_id}/tasks/{tasks.ids['Send the letter']}"))
    summary = re.search(r'<table class="facts" id="summary">(.*?)</table>', html, re.S)
    assert summary
    facts = "Kind Letter Status open Customer A Kunde GmbH Assignee Bob Due Mar 8, 2026 overdue"
    assert text(summary.group(1)) == facts
    assert 'id="done-form"' in html and 'id="assign-form"' in html and 'id="due-form"' in html


# -- assign ------------------------------------------------------------------------------------------


def test_assigning_saves_and_logs_who_by_whom(world: World, tasks: Tasks) -> None:
    task_id, bob = tasks.ids["Call AP"], world.client("bob")
    response = act(world, bob, task_id, "assignee", assignee=str(world.users["alice"]))
    assert response.status_code == 302
    assert task_row(world, task_id).assignee_id == world.users["alice"]
    [entry] = activities(world.sessions, "task_assigned")
    assert entry.actor == str(world.users["bob"]) and entry.data == {"task_id": task_id}
    assert entry.summary == "Task “Call AP” assigned to Alice <alice@example.test>"
    assert entry.customer_id == tasks.seeded["customer_id"]
    assert "Assignee saved." in page(bob.get(response.headers["Location"]))


def test_unassigning_is_logged_and_the_same_person_again_is_not(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Find a contact"]
    assert act(world, "alice", task_id, "assignee", assignee=str(world.users["bob"])).status_code == 302
    assert activities(world.sessions, "task_assigned") == []
    assert act(world, "alice", task_id, "assignee", assignee="0").status_code == 302
    assert task_row(world, task_id).assignee_id is None
    assert [e.summary for e in activities(world.sessions, "task_assigned")] == [
        "Task “Find a contact” assigned to nobody"
    ]


@pytest.mark.parametrize(
    ("assignee", "message"),
    [
        pytest.param("charlie", "Choose a collector or an admin of the firm.", id="another-firm"),
        pytest.param("viewer", "Choose a collector or an admin of the firm.", id="a-viewer"),
        pytest.param("999", "Choose a collector or an admin of the firm.", id="nobody-known"),
        pytest.param("bob!", "Choose a collector or an admin of the firm.", id="not-a-number"),
    ],
)
def test_assigning_someone_who_cannot_act_is_refused_next_to_the_field(
    world: World, tasks: Tasks, assignee: str, message: str
) -> None:
    if assignee == "viewer":
        _set_role(world, "alice", "viewer")
    value = {"charlie": str(world.users["charlie"]), "viewer": str(world.users["alice"])}.get(assignee, assignee)
    task_id = tasks.ids["Find a contact"]
    response = act(world, "bob", task_id, "assignee", assignee=value)
    assert response.status_code == 400
    assert field_errors(page(response), "assign-assignee") == message
    assert task_row(world, task_id).assignee_id == world.users["bob"]
    assert logged(world) == []


def test_only_collectors_and_admins_are_offered(world: World, tasks: Tasks) -> None:
    _set_role(world, "alice", "viewer")
    html = page(world.client("bob").get(f"/orgs/{tasks.org_id}/tasks/{tasks.ids['Call AP']}"))
    select_ = re.search(r'<select id="assign-assignee" name="assign-assignee">(.*?)</select>', html, re.S)
    assert select_, html
    assert re.findall(r">([^<]+)</option>", select_.group(1)) == ["nobody", "Bob"]


# -- due date ----------------------------------------------------------------------------------------


def test_setting_the_due_date_saves_and_logs_it(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Call AP"]
    assert act(world, "bob", task_id, "due", due_date="2026-03-12").status_code == 302
    assert task_row(world, task_id).due_date == date(2026, 3, 12)
    [entry] = activities(world.sessions, "task_due_set")
    assert entry.summary == "Task “Call AP” due on 2026-03-12" and entry.actor == str(world.users["bob"])


def test_today_is_a_valid_due_date(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Call AP"]
    assert act(world, "bob", task_id, "due", due_date=TODAY.isoformat()).status_code == 302
    assert task_row(world, task_id).due_date == TODAY


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("2026-03-09", "This date is in the past; choose today or a later day.", id="yesterday"),
        pytest.param("2026-09-07", "Choose a date within 180 days from today.", id="beyond-horizon"),
        pytest.param("", "Choose a day.", id="empty"),
        pytest.param("10.03.2026", "Not a valid date value.", id="not-iso"),
        pytest.param("2026-02-30", "Not a valid date value.", id="no-such-day"),
    ],
)
def test_a_bad_due_date_is_said_next_to_the_field(world: World, tasks: Tasks, value: str, message: str) -> None:
    task_id = tasks.ids["Find a contact"]
    response = act(world, "bob", task_id, "due", due_date=value)
    assert response.status_code == 400
    html = page(response)
    assert field_errors(html, "due-due_date") == message
    assert 'aria-invalid="true"' in html
    assert task_row(world, task_id).due_date == day(3)
    assert logged(world) == []


# -- done and reopen ---------------------------------------------------------------------------------


def test_done_with_an_outcome_closes_the_task_and_logs_it(world: World, tasks: Tasks) -> None:
    task_id, bob = tasks.ids["Send the letter"], world.client("bob")
    response = act(world, bob, task_id, "done", outcome="  Letter posted, signed for.  ")
    assert response.status_code == 302
    row = task_row(world, task_id)
    assert (row.status, row.outcome, row.completed_at) == ("done", "Letter posted, signed for.", NOW)
    [entry] = activities(world.sessions, "task_done")
    assert entry.summary == "Task done: Send the letter. Outcome: Letter posted, signed for."
    assert entry.actor == str(world.users["bob"]) and entry.customer_id == tasks.seeded["customer_id"]
    html = page(bob.get(response.headers["Location"]))
    assert "Task done." in html and 'id="outcome">Letter posted, signed for.<' in html
    assert 'id="done-form"' not in html and 'id="reopen-form"' in html


def test_the_outcome_goes_to_the_customers_timeline(world: World, tasks: Tasks) -> None:
    act(world, "bob", tasks.ids["Send the letter"], "done", outcome="Letter posted")
    html = page(world.client("alice").get(f"/orgs/{tasks.org_id}/customers/{tasks.seeded['customer_id']}"))
    timeline = re.search(r'<section id="timeline">(.*?)</section>', html, re.S)
    assert timeline and "Task done: Send the letter. Outcome: Letter posted" in timeline.group(1)


@pytest.mark.parametrize(
    "outcome",
    [pytest.param("", id="empty"), pytest.param("   \n ", id="blank"), pytest.param(None, id="missing")],
)
def test_done_without_an_outcome_is_refused_next_to_the_field(world: World, tasks: Tasks, outcome: str | None) -> None:
    task_id = tasks.ids["Send the letter"]
    fields = {} if outcome is None else {"outcome": outcome}
    response = act(world, "bob", task_id, "done", **fields)
    assert response.status_code == 400
    assert field_errors(page(response), "done-outcome") == "Say what came of it."
    row = task_row(world, task_id)
    assert (row.status, row.outcome, row.completed_at) == ("open", None, None)
    assert logged(world) == []


def test_an_overlong_outcome_is_refused(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Send the letter"]
    response = act(world, "bob", task_id, "done", outcome="x" * 2001)
    assert response.status_code == 400
    assert "Field cannot be longer than 2000 characters." in field_errors(page(response), "done-outcome")
    assert task_row(world, task_id).status == "open"


def test_a_closed_task_cannot_be_done_again(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Called last week"]
    response = act(world, "bob", task_id, "done", outcome="again")
    assert response.status_code == 400
    assert "This task is not open: reopen it first." in page(response)
    assert task_row(world, task_id).outcome == "Promised Friday"
    assert logged(world) == []


def test_reopening_clears_the_outcome_and_logs_it(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Called last week"]
    assert act(world, "bob", task_id, "reopen").status_code == 302
    row = task_row(world, task_id)
    assert (row.status, row.outcome, row.completed_at) == ("open", None, None)
    [entry] = activities(world.sessions, "task_reopened")
    assert entry.summary == "Task reopened (done before): Called last week"
    assert entry.actor == str(world.users["bob"])


def test_reopening_an_open_task_changes_nothing(world: World, tasks: Tasks) -> None:
    task_id, bob = tasks.ids["Call AP"], world.client("bob")
    response = act(world, bob, task_id, "reopen")
    assert response.status_code == 302
    assert "This task is already open." in page(bob.get(response.headers["Location"]))
    assert logged(world) == []


def test_a_task_done_reopened_and_done_again_keeps_both_outcomes_in_the_log(world: World, tasks: Tasks) -> None:
    task_id = tasks.ids["Find a contact"]
    act(world, "bob", task_id, "done", outcome="No address found")
    act(world, "alice", task_id, "reopen")
    act(world, "alice", task_id, "done", outcome="ap@kunde.example from the website")
    assert task_row(world, task_id).outcome == "ap@kunde.example from the website"
    assert [(e.kind, e.actor) for e in logged(world)] == [
        ("task_done", str(world.users["bob"])),
        ("task_reopened", str(world.users["alice"])),
        ("task_done", str(world.users["alice"])),
    ]


# -- who may act -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        pytest.param("assignee", {"assignee": "0"}, id="assign"),
        pytest.param("due", {"due_date": "2026-03-12"}, id="due"),
        pytest.param("done", {"outcome": "Called"}, id="done"),
        pytest.param("reopen", {}, id="reopen"),
    ],
)
def test_a_viewer_reads_but_cannot_act(world: World, tasks: Tasks, action: str, fields: dict[str, str]) -> None:
    _set_role(world, "bob", "viewer")
    task_id = tasks.ids["Called last week" if action == "reopen" else "Send the letter"]
    before = task_row(world, task_id)
    html = page(world.client("bob").get(f"/orgs/{tasks.org_id}/tasks/{task_id}"))
    assert "<h1>" in html and 'id="actions"' not in html
    assert act(world, "bob", task_id, action, **fields).status_code == 403
    after = task_row(world, task_id)
    assert (after.status, after.assignee_id, after.due_date, after.outcome) == (
        before.status,
        before.assignee_id,
        before.due_date,
        before.outcome,
    )
    assert logged(world) == []


@pytest.mark.parametrize("action", ["assignee", "due", "done", "reopen"])
def test_another_firms_task_is_not_found(world: World, tasks: Tasks, action: str) -> None:
    theirs = tasks.theirs["task_id"]
    assert world.client("alice").get(f"/orgs/{tasks.org_id}/tasks/{theirs}").status_code == 404
    fields = {"assignee": {"assignee": "0"}, "due": {"due_date": "2026-03-12"}, "done": {"outcome": "x"}}
    assert act(world, "alice", theirs, action, **fields.get(action, {})).status_code == 404
    assert act(world, "charlie", tasks.ids["Call AP"], action, org="B", **fields.get(action, {})).status_code == 404
    with world.sessions() as s:
        assert s.get_one(Task, theirs).status == "open"
    assert logged(world) == []


# -- on PostgreSQL too -------------------------------------------------------------------------------


@pytest.fixture(params=DATABASES)
def any_world(request: pytest.FixtureRequest, env: dict[str, str]) -> Iterator[World]:
    yield from world_on(request, env)


def test_the_task_round_trip_on_each_store(any_world: World) -> None:
    org = any_world.orgs["A"]
    task_id = add_task(any_world, org, "Call Kunde", due_date=day(-1))
    assert act(any_world, "bob", task_id, "assignee", assignee=str(any_world.users["bob"])).status_code == 302
    assert act(any_world, "bob", task_id, "due", due_date="2026-03-11").status_code == 302
    assert act(any_world, "bob", task_id, "done", outcome="Reached, pays Friday").status_code == 302
    row = task_row(any_world, task_id)
    assert (row.status, row.assignee_id, row.due_date) == ("done", any_world.users["bob"], date(2026, 3, 11))
    assert [e.kind for e in logged(any_world)] == ["task_assigned", "task_due_set", "task_done"]
    html = page(any_world.client("alice").get(f"/orgs/{org}/tasks?tab=team&show=closed"))
    assert titles(html) == ["Call Kunde"]
