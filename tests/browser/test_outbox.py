"""The outbox in real Chromium: a collector finds two messages in doubt (the dispatcher stopped
while sending them), confirms one was sent from the list, opens the other, reads it rendered as
the payer would see it (text, and the HTML part in its sandboxed frame), and sends it again."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page
from sqlalchemy import select, update

from connector.db import Activity, MessageTemplate, OutboxMessage
from tests.browser.conftest import Live
from tests.personas import NOW
from tests.web.conftest import seed_objects
from tests.web.test_outbox import add_message

DOUBT = {"claimed_by": "dispatcher-1", "claimed_at": NOW, "attempts": 1}


def text(page: Page, selector: str) -> str:
    """The visible text of ``selector``, spaces collapsed."""
    return " ".join(page.inner_text(selector).split())


def stored(live: Live, outbox_id: int) -> OutboxMessage:
    with live.world.sessions() as s:
        return s.get_one(OutboxMessage, outbox_id)


def test_a_collector_confirms_one_message_in_doubt_and_sends_another_again(
    live: Live, sign_in: Callable[..., Page]
) -> None:
    world, org = live.world, live.world.orgs["A"]
    customer = seed_objects(world.sessions, org, "A")["customer_id"]
    with world.sessions.begin() as s:
        s.execute(
            update(MessageTemplate)
            .where(MessageTemplate.organisation_id == org)
            .values(body_text="Hallo {{ customer.name }}", body_html="<p>Hallo <b>{{ customer.name }}</b></p>")
        )
    first = add_message(world.sessions, org, customer, "in_doubt", tag="first", message_id="<1@a.invalid>", **DOUBT)
    second = add_message(world.sessions, org, customer, "in_doubt", tag="second", message_id="<2@a.invalid>", **DOUBT)
    page = sign_in("bob")

    page.goto(f"/orgs/{org}/outbox")
    assert text(page, "#state-in_doubt") == "in doubt (2)"
    assert page.get_attribute("#state-in_doubt", "class") == "warning"
    with page.expect_navigation():
        page.click("#state-in_doubt")
    assert page.locator("#messages tbody tr").count() == 2

    # Confirm sent, from the list: the list is left with the other one.
    with page.expect_navigation():
        page.click(f"#message-{first} button:has-text('Confirm sent')")
    assert text(page, ".flashes") == f"Message {first}: Confirm sent, it is sent now."
    assert "state=in_doubt" in page.url
    assert page.locator("#messages tbody tr").count() == 1
    assert text(page, "#state-in_doubt") == "in doubt (1)"
    row = stored(live, first)
    assert (row.status, row.sent_at, row.message_id) == ("sent", NOW, "<1@a.invalid>")

    # The other one, opened: what the payer would get.
    with page.expect_navigation():
        page.click(f"#message-{second} td:first-child a")
    assert text(page, "#state h2") == "State: in doubt"
    assert text(page, "#message-id") == "<2@a.invalid>"
    assert text(page, "#subject") == "Erinnerung"
    assert text(page, "#text") == "Hallo A Kunde GmbH"
    frame = page.frame_locator("#html")
    assert frame.locator("b").inner_text() == "A Kunde GmbH"
    assert "To: ap@a.example" in text(page, "#rendered")

    # Send again: back in the queue, with its Message-ID kept.
    with page.expect_navigation():
        page.click("#state button:has-text('Send again')")
    assert text(page, ".flashes") == f"Message {second}: Send again, it is planned now."
    assert text(page, "#state h2") == "State: planned"
    assert page.locator("#state button:has-text('Send again')").count() == 0
    history = text(page, "#history")
    assert "reminder resend bob@example.test" in history
    row = stored(live, second)
    assert (row.status, row.sent_at, row.message_id) == ("pending", None, "<2@a.invalid>")

    with world.sessions() as s:
        logged = s.scalars(select(Activity).where(Activity.kind.like("reminder_%")).order_by(Activity.id))
        assert [(a.kind, a.data["outbox_id"], a.actor) for a in logged] == [
            ("reminder_confirm_sent", first, str(live.user_id("bob"))),
            ("reminder_resend", second, str(live.user_id("bob"))),
        ]
