"""The outbox pages: every state listed under its filter, an in-doubt message confirmed or sent
again exactly as ``arcadence outbox resolve`` does it (and logged), a held one released only once
its template renders, other firms' messages invisible, and a message shown as the payer sees it
(a sent one compared with what really arrived over SMTP)."""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import Activity, Membership, MessageTemplate, OutboxMessage
from connector.db.session import upgrade
from connector.delivery import dispatcher
from connector.mail import SmtpMailer
from connector.outbox import collect
from connector.runtime import build_runtime
from tests.contract.quickbooks import QuickBooksHarness
from tests.integration.smtp_server import SmtpServer
from tests.personas import NOW, World, make_world
from tests.web.conftest import seed_objects

STATES = ("pending", "claimed", "sending", "sent", "in_doubt", "cancelled", "failed", "held", "stale", "handed_over")
GROUPS = {
    "planned": {"pending", "claimed", "sending"},
    "sent": {"sent"},
    "in_doubt": {"in_doubt"},
    "cancelled": {"cancelled"},
    "failed": {"failed"},
    "held": {"held"},
    "stale": {"stale"},
    "handed_over": {"handed_over"},
}


def add_message(sessions: sessionmaker[Session], org_id: int, customer_id: int, status: str, **fields: Any) -> int:
    """One outbox row of the seeded customer's invoice (``invoice``, default A's), in ``status``."""
    tag = fields.pop("tag", status)
    invoice = fields.pop("invoice", "A-I1")
    values: dict[str, Any] = {
        "organisation_id": org_id,
        "dedupe_key": f"{org_id}-{tag}",
        "customer_id": customer_id,
        "currency": "EUR",
        "step_key": "s1",
        "level": 1,
        "action": "email",
        "template_key": "friendly_reminder",
        "planned_date": date(2026, 3, 9),
        "invoice_ids": invoice,
        "payload": {"language": "de", "invoices": [{"id": invoice, "step": "s1", "level": 1}]},
        "status": status,
        "created_at": NOW,
        **fields,
    }
    with sessions.begin() as s:
        row = OutboxMessage(**values)
        s.add(row)
        s.flush()
        return row.id


def listed(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="message-(\d+)"', page)}


def row_state(world: World, outbox_id: int) -> OutboxMessage:
    with world.sessions() as s:
        return s.get_one(OutboxMessage, outbox_id)


def activities(world: World, kind: str) -> list[Activity]:
    with world.sessions() as s:
        return list(s.scalars(select(Activity).where(Activity.kind == kind).order_by(Activity.id)))


def decide(world: World, who: str, outbox_id: int, action: str, org: str = "A") -> Any:
    client = world.client(who)
    page = client.get(f"/orgs/{world.orgs[org]}/outbox/{outbox_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the message page has a decision form with a CSRF token"
    return client.post(
        f"/orgs/{world.orgs[org]}/outbox/{outbox_id}/resolve",
        data={"csrf_token": token.group(1), "action": action, "back": "message"},
    )


@pytest.fixture
def seeded(world: World, objects: dict[str, dict[str, int]]) -> dict[str, int]:
    """One message per state in organisation A (besides the seeded pending one)."""
    org, customer = world.orgs["A"], objects["A"]["customer_id"]
    ids = {}
    for n, status in enumerate(STATES):
        extra: dict[str, Any] = {"planned_date": date(2026, 3, 1) + timedelta(days=n)}
        if status == "cancelled":
            extra["last_error"] = "nothing left to chase: A-I1 (paid)"
        if status == "failed":
            extra["last_error"] = "sending failed: 550 no such user"
        if status == "sent":
            extra["sent_at"] = NOW
        ids[status] = add_message(world.sessions, org, customer, status, **extra)
    return ids


# -- listing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", list(GROUPS), ids=list(GROUPS))
def test_each_state_is_listed_under_its_filter(world: World, seeded: dict[str, int], group: str) -> None:
    answer = world.client("bob").get(f"/orgs/{world.orgs['A']}/outbox?state={group}")
    assert answer.status_code == 200
    expected = {seeded[s] for s in GROUPS[group]}
    shown = listed(answer.get_data(as_text=True))
    assert expected <= shown
    assert shown.isdisjoint({seeded[s] for s in STATES if s not in GROUPS[group]})


def test_all_states_are_listed_with_counts_and_reasons(world: World, seeded: dict[str, int]) -> None:
    page = world.client("alice").get(f"/orgs/{world.orgs['A']}/outbox").get_data(as_text=True)
    assert set(seeded.values()) <= listed(page)
    assert "nothing left to chase: A-I1 (paid)" in page  # a cancelled message says why
    assert "550 no such user" in page
    assert re.search(r'id="state-planned"[^>]*>planned \(4\)', page), "pending, claimed, sending and the seeded one"
    assert re.search(r'id="state-in_doubt"[^>]*>in doubt \(1\)', page)


def test_a_message_cancelled_by_a_person_says_who(world: World, seeded: dict[str, int]) -> None:
    assert decide(world, "bob", seeded["failed"], "cancel").status_code == 302
    page = world.client("alice").get(f"/orgs/{world.orgs['A']}/outbox?state=cancelled").get_data(as_text=True)
    assert "cancelled by bob@example.test" in page


def test_date_filter_narrows_and_a_bad_date_is_named(world: World, seeded: dict[str, int]) -> None:
    client = world.client("alice")
    url = f"/orgs/{world.orgs['A']}/outbox"
    page = client.get(f"{url}?planned_from=2026-03-04&planned_to=2026-03-05").get_data(as_text=True)
    assert listed(page) == {seeded["sent"], seeded["in_doubt"]}  # planned on the 4th and 5th
    bad = client.get(f"{url}?planned_from=tomorrow")
    assert bad.status_code == 400
    assert re.search(r'id="planned_from-error">Not a valid date value', bad.get_data(as_text=True))
    backwards = client.get(f"{url}?planned_from=2026-03-05&planned_to=2026-03-04")
    assert backwards.status_code == 400 and "The end is before the start." in backwards.get_data(as_text=True)


def test_in_doubt_rows_have_decision_buttons_for_collectors_only(world: World, seeded: dict[str, int]) -> None:
    url = f"/orgs/{world.orgs['A']}/outbox?state=in_doubt"
    page = world.client("bob").get(url).get_data(as_text=True)
    assert "Confirm sent" in page and "Send again" in page
    with world.sessions.begin() as s:
        s.execute(update_role("bob", "viewer", world))
    viewer = world.client("bob").get(url).get_data(as_text=True)
    assert seeded["in_doubt"] in listed(viewer) and "Confirm sent" not in viewer
    assert decide_without_page(world, "bob", seeded["in_doubt"], "confirm_sent").status_code == 403
    assert row_state(world, seeded["in_doubt"]).status == "in_doubt"


def update_role(who: str, role: str, world: World) -> Any:
    return update(Membership).where(Membership.user_id == world.users[who]).values(role=role)


def decide_without_page(world: World, who: str, outbox_id: int, action: str) -> Any:
    """A POST with a valid CSRF token made the way Flask-WTF makes it (a viewer's page has no form)."""
    client = world.client(who)
    with client.session_transaction() as session:
        session["csrf_token"] = "a" * 40
    token = URLSafeTimedSerializer(world.app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps("a" * 40)
    return client.post(
        f"/orgs/{world.orgs['A']}/outbox/{outbox_id}/resolve", data={"csrf_token": token, "action": action}
    )


# -- decisions, exactly as the command line ---------------------------------------------------------------


@pytest.fixture
def db_world(env: dict[str, str], db_url: str) -> Iterator[tuple[World, dict[str, str]]]:
    """The personas' app on SQLite and on PostgreSQL, with the environment the CLI needs for that store."""
    upgrade(db_url)
    cli_env = {**env, "ARCADENCE_DATABASE_URL": db_url}
    runtime = build_runtime(load_settings(cli_env), configs={}, clock=FixedClock(NOW))
    yield make_world(runtime), cli_env
    runtime.close()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([".venv/bin/arcadence", *args], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("action", "after"),
    [pytest.param("confirm_sent", "sent", id="confirm-sent"), pytest.param("resend", "pending", id="send-again")],
)
def test_a_decision_on_an_in_doubt_message_matches_the_cli(
    db_world: tuple[World, dict[str, str]], action: str, after: str
) -> None:
    world, env = db_world
    customer = seed_objects(world.sessions, world.orgs["A"], "A")["customer_id"]
    doubt = {"claimed_by": "dispatcher-1", "claimed_at": NOW, "message_id": "<abc.1@arcadence.invalid>", "attempts": 1}
    by_web = add_message(world.sessions, world.orgs["A"], customer, "in_doubt", tag="web", **doubt)
    by_cli = add_message(world.sessions, world.orgs["A"], customer, "in_doubt", tag="cli", **doubt)

    answer = decide(world, "bob", by_web, action)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/outbox/{by_web}")
    done = _cli(env, "outbox", "resolve", str(by_cli), action, "--by", "ops")
    assert done.returncode == 0, done.stderr

    web, cli = row_state(world, by_web), row_state(world, by_cli)
    assert web.status == cli.status == after
    assert (web.claimed_by, web.not_before, web.attempts, web.message_id) == (
        cli.claimed_by, cli.not_before, cli.attempts, cli.message_id)  # fmt: skip
    assert (web.sent_at is None) == (cli.sent_at is None) == (after != "sent")
    logged = activities(world, f"reminder_{action}")
    assert [(a.data["outbox_id"], a.actor) for a in logged] == [(by_web, str(world.users["bob"])), (by_cli, "ops")]
    assert logged[0].summary.replace("Bob", "ops") == logged[1].summary, "the log names the person"
    page = world.client("alice").get(f"/orgs/{world.orgs['A']}/outbox/{by_web}").get_data(as_text=True)
    assert "bob@example.test" in page, "the history names who decided"


def test_a_decision_that_does_not_apply_changes_nothing(world: World, seeded: dict[str, int]) -> None:
    answer = decide(world, "alice", seeded["pending"], "confirm_sent")
    assert answer.status_code == 409
    assert "confirm_sent applies to in_doubt" in answer.get_data(as_text=True)
    assert row_state(world, seeded["pending"]).status == "pending"
    assert activities(world, "reminder_confirm_sent") == []


def test_an_unknown_decision_is_refused(world: World, seeded: dict[str, int]) -> None:
    answer = decide(world, "alice", seeded["in_doubt"], "send_twice")
    assert answer.status_code == 400
    assert row_state(world, seeded["in_doubt"]).status == "in_doubt"


def test_another_firm_s_message_is_404(world: World, objects: dict[str, dict[str, int]]) -> None:
    foreign = add_message(
        world.sessions, world.orgs["B"], objects["B"]["customer_id"], "in_doubt", tag="b", invoice="B-I1"
    )
    client = world.client("alice")
    assert client.get(f"/orgs/{world.orgs['A']}/outbox/{foreign}").status_code == 404
    own = add_message(world.sessions, world.orgs["A"], objects["A"]["customer_id"], "in_doubt", tag="a")
    page = client.get(f"/orgs/{world.orgs['A']}/outbox/{own}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    forged = client.post(f"/orgs/{world.orgs['A']}/outbox/{foreign}/resolve",
                         data={"csrf_token": token.group(1), "action": "confirm_sent"})  # fmt: skip
    assert forged.status_code == 404
    assert row_state(world, foreign).status == "in_doubt"
    assert foreign not in listed(client.get(f"/orgs/{world.orgs['A']}/outbox").get_data(as_text=True))


# -- held messages and rendering -------------------------------------------------------------------------------


def _set_template(world: World, org_id: int, **parts: str) -> None:
    with world.sessions.begin() as s:
        s.execute(
            update(MessageTemplate)
            .where(MessageTemplate.organisation_id == org_id, MessageTemplate.template_key == "friendly_reminder")
            .values(**parts)
        )


def test_a_held_message_is_released_only_once_its_template_renders(world: World, seeded: dict[str, int]) -> None:
    held = seeded["held"]
    _set_template(world, world.orgs["A"], body_text="Hallo {{ no_such_variable }}")
    page = world.client("alice").get(f"/orgs/{world.orgs['A']}/outbox/{held}").get_data(as_text=True)
    assert 'id="render-problem"' in page and "no_such_variable" in page
    refused = decide(world, "alice", held, "release")
    assert refused.status_code == 409 and "The template still fails" in refused.get_data(as_text=True)
    assert row_state(world, held).status == "held"

    _set_template(world, world.orgs["A"], body_text="Hallo {{ customer.name }}")
    assert decide(world, "alice", held, "release").status_code == 302
    assert row_state(world, held).status == "pending"
    assert [a.data["outbox_id"] for a in activities(world, "reminder_release")] == [held]


def test_the_html_part_is_shown_only_in_a_sandboxed_frame(world: World, seeded: dict[str, int]) -> None:
    _set_template(
        world, world.orgs["A"], body_html='<p class="x">Hallo {{ customer.name }}</p><script>alert(1)</script>'
    )
    url = f"/orgs/{world.orgs['A']}/outbox/{seeded['pending']}"
    client = world.client("bob")
    page = client.get(url).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page  # the page itself never carries the message's HTML
    frame = re.search(r'<iframe id="html"[^>]*>', page, re.S)
    assert frame is not None and 'sandbox=""' in frame.group(0) and f'src="{url}/html"' in frame.group(0)
    assert re.search(r'<span id="subject">Erinnerung</span>', page)
    part = client.get(f"{url}/html")
    assert part.get_data(as_text=True) == '<p class="x">Hallo A Kunde GmbH</p><script>alert(1)</script>'
    policy = part.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy and "script-src" not in policy
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"


# -- a sent message, as it really went out ----------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


def test_a_sent_message_is_shown_as_it_arrived(qbo_connected: QuickBooksHarness, smtp: SmtpServer) -> None:
    h = qbo_connected
    h.sync()
    org_id = h.server.organisation_id("quickbooks")
    collect(h.runtime.sessions, org_id, h.runtime.clock)
    report = dispatcher(h.runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once(limit=500)
    arrived = smtp.inbox.wait_for(report.sent)
    assert arrived
    mail = arrived[0].message
    outbox_id = int(mail["X-Arcadence-Outbox"])
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    sent_html = mail.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]

    answer = h.http.get(f"{h.app_url}/orgs/{org_id}/outbox/{outbox_id}", timeout=30)
    assert answer.status_code == 200
    page = answer.text
    assert text.strip() and "Rendered again from what was recorded when it was sent" in page
    shown = html.unescape(re.search(r'<pre id="text">(.*?)</pre>', page, re.S).group(1))  # type: ignore[union-attr]
    assert shown.replace("\r\n", "\n").strip() == text.replace("\r\n", "\n").strip()
    assert html.unescape(re.search(r'<span id="subject">(.*?)</span>', page).group(1)) == mail["Subject"]  # type: ignore[union-attr]
    part = h.http.get(f"{h.app_url}/orgs/{org_id}/outbox/{outbox_id}/html", timeout=30).text
    assert part.strip() == sent_html.replace("\r\n", "\n").strip()
    assert html.escape(mail["Message-ID"]) in page
    listed_page = h.http.get(f"{h.app_url}/orgs/{org_id}/outbox?state=sent", timeout=30).text
    assert outbox_id in listed(listed_page)
