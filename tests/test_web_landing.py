"""The landing page says plainly what is and is not connected."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from connector.config import load_settings
from connector.db import Connection, Firm, Organisation
from connector.db.session import session_factory, upgrade
from web import create_app

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


def _client(env: dict[str, str], sqlite_url: str) -> tuple[FlaskClient, sessionmaker[Session]]:
    upgrade(sqlite_url)
    app = create_app({"TESTING": True}, settings=load_settings(env))
    return app.test_client(), session_factory(app.extensions["arcadence"]["engine"])


def test_empty_installation_says_nothing_is_connected(env: dict[str, str], sqlite_url: str) -> None:
    client, _ = _client(env, sqlite_url)
    page = client.get("/").get_data(as_text=True)
    assert "No company is connected yet" in page
    assert "QuickBooks Online" in page and "Xero" in page
    assert page.count("not available yet") == 1  # Xero; QuickBooks Online is implemented
    assert "No cadence is switched on" in page


def test_connected_organisations_are_listed_with_their_state(env: dict[str, str], sqlite_url: str) -> None:
    client, sessions = _client(env, sqlite_url)
    with sessions.begin() as session:
        firm = Firm(name="Kanzlei Weber", created_at=NOW)
        connection = Connection(firm=firm, platform="quickbooks", status="needs_reauth", created_at=NOW, updated_at=NOW)
        session.add(
            Organisation(
                firm=firm,
                connection=connection,
                platform="quickbooks",
                external_id="4620816365",
                name="Weber Maschinenbau GmbH",
                last_sync_at=NOW,
                created_at=NOW,
            )
        )
    page = client.get("/").get_data(as_text=True)
    assert "No company is connected yet" not in page
    assert "Weber Maschinenbau GmbH" in page and "needs_reauth" in page and "2026-03-10 08:30 UTC" in page


def test_landing_page_is_read_only(env: dict[str, str], sqlite_url: str) -> None:
    client, _ = _client(env, sqlite_url)
    assert client.post("/").status_code == 405
