"""The personas every web test can use: alice (admin of org A), bob (collector in org A) and
charlie (admin of org B, another firm), on a real store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from connector.db import Connection, Firm, Membership, Organisation, Role, User
from connector.runtime import Runtime
from web import create_app

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)


@dataclass
class World:
    """The app, its runtime, and the ids of the personas and their organisations."""

    app: Flask
    runtime: Runtime
    sessions: sessionmaker[Session]
    users: dict[str, int]
    orgs: dict[str, int]

    def client(self, who: str | None = None) -> FlaskClient:
        """A test client, signed in as ``who`` (None: anonymous)."""
        client = self.app.test_client()
        if who is not None:
            with client.session_transaction() as session:
                session["_user_id"] = str(self.users[who])
                session["_fresh"] = True
        return client


def make_world(runtime: Runtime) -> World:
    """The app on ``runtime`` (a migrated store) with the personas seeded."""
    app = create_app({"TESTING": True}, runtime=runtime)
    users, orgs = seed_personas(runtime.sessions)
    return World(app, runtime, runtime.sessions, users, orgs)


def seed_personas(sessions: sessionmaker[Session]) -> tuple[dict[str, int], dict[str, int]]:
    """Two firms, three people, one QuickBooks organisation per firm."""
    with sessions.begin() as session:
        firm_a, firm_b = Firm(name="Kanzlei Weber", created_at=NOW), Firm(name="Other Firm", created_at=NOW)
        people = {
            n: User(email=f"{n}@example.test", name=n.title(), created_at=NOW) for n in ("alice", "bob", "charlie")
        }
        session.add_all([firm_a, firm_b, *people.values()])
        session.add_all(
            [
                Membership(user=people["alice"], firm=firm_a, role=Role.ADMIN.value, created_at=NOW),
                Membership(user=people["bob"], firm=firm_a, role=Role.COLLECTOR.value, created_at=NOW),
                Membership(user=people["charlie"], firm=firm_b, role=Role.ADMIN.value, created_at=NOW),
            ]
        )
        conn_a = Connection(firm=firm_a, platform="quickbooks", grant_ref="111", created_at=NOW, updated_at=NOW)
        conn_b = Connection(firm=firm_b, platform="quickbooks", grant_ref="222", created_at=NOW, updated_at=NOW)
        org_a = Organisation(
            firm=firm_a,
            connection=conn_a,
            platform="quickbooks",
            external_id="111",
            name="Weber Maschinenbau GmbH",
            created_at=NOW,
        )
        org_b = Organisation(
            firm=firm_b,
            connection=conn_b,
            platform="quickbooks",
            external_id="222",
            name="Charlie Trading Ltd",
            created_at=NOW,
        )
        session.add_all([org_a, org_b])
        session.flush()
        return {k: v.id for k, v in people.items()}, {"A": org_a.id, "B": org_b.id}
