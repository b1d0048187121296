"""The landing page says plainly what is and is not connected, and shows a user their own
organisations only."""

from __future__ import annotations

from sqlalchemy import update

from connector.db import Connection, Organisation
from tests.personas import NOW, World


def test_anonymous_visitor_sees_platforms_and_no_organisation(world: World) -> None:
    page = world.client().get("/").get_data(as_text=True)
    assert "Connecting a company signs you in" in page
    assert "Weber" not in page and "Charlie Trading" not in page
    assert "QuickBooks Online" in page and "Xero" in page
    assert "not configured on this server" in page  # both implemented, no OAuth client here
    assert "not available yet" not in page  # no placeholder plugin is installed
    assert "No cadence is switched on" in page


def test_each_user_sees_only_the_organisations_of_their_firm(world: World) -> None:
    alice = world.client("alice").get("/").get_data(as_text=True)
    charlie = world.client("charlie").get("/").get_data(as_text=True)
    assert "Weber Maschinenbau GmbH" in alice and "Charlie Trading Ltd" not in alice
    assert "Charlie Trading Ltd" in charlie and "Weber Maschinenbau GmbH" not in charlie


def test_connection_state_and_last_sync_are_shown(world: World) -> None:
    with world.sessions.begin() as session:
        session.execute(update(Connection).values(status="needs_reauth"))
        session.execute(update(Organisation).values(last_sync_at=NOW))
    page = world.client("bob").get("/").get_data(as_text=True)
    assert "needs_reauth" in page and "2026-03-10 08:30 UTC" in page and "Reconnect" in page


def test_landing_page_is_read_only(world: World) -> None:
    assert world.client("alice").post("/").status_code == 405
