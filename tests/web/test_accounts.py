"""Local accounts through the Flask test client, on SQLite and PostgreSQL, with a fixed clock and
real mail (aiosmtpd on loopback): password sign-in and its rate limit, reset links, firm
members and roles, invitations."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import Activity, Invitation, LoginAttempt, Membership, Role, User
from connector.db.session import upgrade
from connector.mail import SmtpMailer
from connector.runtime import build_runtime
from tests.integration.smtp_server import SmtpServer
from tests.personas import NOW, World, make_world
from web import MAILER
from web.accounts.signin import hash_password

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely new one"
WRONG = "Wrong e-mail address or password."
LOCKED = "Too many sign-in attempts."


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def app_world(env: dict[str, str], db_url: str, smtp: SmtpServer) -> Iterator[World]:
    """The personas' world on SQLite and on PostgreSQL, everyone with PASSWORD, mail to aiosmtpd.

    CSRF is off here: tests/web/test_csrf.py proves every form needs its token."""
    upgrade(db_url)
    clock = FixedClock(NOW)
    runtime = build_runtime(load_settings({**env, "ARCADENCE_DATABASE_URL": db_url}), configs={}, clock=clock)
    world = make_world(runtime)
    world.app.config["WTF_CSRF_ENABLED"] = False
    world.app.extensions[MAILER] = SmtpMailer(smtp.host, smtp.port, security="none", timeout=10, clock=clock)
    with world.sessions.begin() as session:
        session.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    yield world
    runtime.close()


def _clock(world: World) -> FixedClock:
    clock = world.runtime.clock
    assert isinstance(clock, FixedClock)
    return clock


def login(client: FlaskClient, email: str, password: str, *, client_address: str = "10.0.0.1", next: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": email, "password": password, "next": next},
        environ_base={"REMOTE_ADDR": client_address},
    )


def signed_in(client: FlaskClient) -> bool:
    return client.get("/firm/members").status_code == 200


def _link(smtp: SmtpServer, count: int) -> str:
    message = smtp.inbox.wait_for(count)[count - 1].message
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"http://127\.0\.0\.1:5000(/\S+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


# -- sign-in ----------------------------------------------------------------------------------------


def test_the_right_password_signs_in_and_the_address_is_case_blind(app_world: World) -> None:
    client = app_world.app.test_client()
    assert not signed_in(client)
    answer = login(client, "  Alice@Example.TEST ", PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert signed_in(client)
    with app_world.sessions() as session:
        assert session.get_one(User, app_world.users["alice"]).last_login_at == NOW


@pytest.mark.parametrize(
    ("email", "password"),
    [
        pytest.param("alice@example.test", "not the password", id="wrong-password"),
        pytest.param("nobody@example.test", PASSWORD, id="unknown-address"),
        pytest.param("bob@example.test", PASSWORD, id="no-password-set"),
        pytest.param("charlie@example.test", PASSWORD, id="disabled-account"),
    ],
)
def test_a_failed_sign_in_says_one_thing_next_to_the_password(app_world: World, email: str, password: str) -> None:
    with app_world.sessions.begin() as session:
        session.get_one(User, app_world.users["bob"]).password_hash = None
        session.get_one(User, app_world.users["charlie"]).is_active = False
    client = app_world.app.test_client()
    answer = login(client, email, password)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert re.search(r'id="password-error">' + re.escape(WRONG), page), page
    assert not signed_in(client)


def test_a_malformed_address_is_refused_next_to_its_field(app_world: World) -> None:
    answer = login(app_world.app.test_client(), "alice(at)example", PASSWORD)
    assert answer.status_code == 400
    assert 'id="email-error"' in answer.get_data(as_text=True)
    with app_world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0  # nothing was tried


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        pytest.param("/firm/members", "/firm/members", id="local-path"),
        pytest.param("//evil.example/", "/", id="protocol-relative"),
        pytest.param("https://evil.example/", "/", id="absolute"),
    ],
)
def test_after_sign_in_only_a_local_next_is_followed(app_world: World, target: str, landing: str) -> None:
    answer = login(app_world.app.test_client(), "alice@example.test", PASSWORD, next=target)
    assert answer.headers["Location"] == landing


def test_a_protected_page_sends_to_the_sign_in_form_and_back(app_world: World) -> None:
    answer = app_world.app.test_client().get("/firm/members")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")


# -- rate limit -------------------------------------------------------------------------------------


def test_five_failures_lock_the_address_even_for_the_right_password(app_world: World) -> None:
    client = app_world.app.test_client()
    for _ in range(5):
        assert login(client, "alice@example.test", "guess").status_code == 400
    locked = login(client, "alice@example.test", PASSWORD)
    assert locked.status_code == 429 and LOCKED in locked.get_data(as_text=True)
    assert not signed_in(client)
    # The lock is per address: another person on the same network signs in.
    assert login(app_world.app.test_client(), "charlie@example.test", PASSWORD).status_code == 302
    # It lifts a window after the failure that set it; locked attempts did not extend it.
    _clock(app_world).advance(timedelta(minutes=15, seconds=1))
    assert login(client, "alice@example.test", PASSWORD).status_code == 302


def test_the_check_comes_before_the_password_is_verified(app_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app_world.app.test_client()
    for _ in range(5):
        login(client, "alice@example.test", "guess")
    verified: list[str] = []
    import web.accounts.signin as signin

    monkeypatch.setattr(signin, "check_password_hash", lambda stored, given: verified.append(given) or True)
    assert login(client, "alice@example.test", PASSWORD).status_code == 429
    assert verified == []
    with app_world.sessions() as session:  # the locked attempt is not recorded
        assert session.scalar(select(func.count()).where(LoginAttempt.key == "email:alice@example.test")) == 5


def test_a_success_forgives_the_earlier_failures_of_the_address(app_world: World) -> None:
    client = app_world.app.test_client()
    for _ in range(4):
        login(client, "alice@example.test", "guess")
    assert login(client, "alice@example.test", PASSWORD).status_code == 302
    for _ in range(4):
        assert login(app_world.app.test_client(), "alice@example.test", "guess").status_code == 400
    assert login(app_world.app.test_client(), "alice@example.test", PASSWORD).status_code == 302


def test_twenty_failures_lock_the_client_with_the_same_message(app_world: World) -> None:
    for n in range(20):
        assert login(app_world.app.test_client(), f"person{n}@example.test", "guess").status_code == 400
    for email in ("alice@example.test", "nobody@example.test"):  # a real account and an unknown one
        answer = login(app_world.app.test_client(), email, PASSWORD)
        assert answer.status_code == 429 and LOCKED in answer.get_data(as_text=True)
    other_client = login(app_world.app.test_client(), "alice@example.test", PASSWORD, client_address="10.0.0.2")
    assert other_client.status_code == 302


# -- password reset ---------------------------------------------------------------------------------


def test_a_reset_link_sets_a_new_password_once(app_world: World, smtp: SmtpServer) -> None:
    client = app_world.app.test_client()
    answer = client.post("/reset", data={"email": "alice@example.test"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    message = smtp.inbox.wait_for(1)[0]
    assert message.rcpt_tos == ["alice@example.test"]
    link = _link(smtp, 1)
    assert link.startswith("/reset/")
    assert client.get(link).status_code == 200
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "something else entirely"})
    assert mismatch.status_code == 400 and 'id="confirm-error"' in mismatch.get_data(as_text=True)
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert login(app_world.app.test_client(), "alice@example.test", PASSWORD).status_code == 400
    assert login(app_world.app.test_client(), "alice@example.test", NEW_PASSWORD).status_code == 302
    again = client.post(link, data={"password": "and yet another one", "confirm": "and yet another one"})
    assert again.status_code == 400 and "does not work" in again.get_data(as_text=True)


def test_a_reset_ends_the_sessions_opened_with_the_old_password(app_world: World, smtp: SmtpServer) -> None:
    thief = app_world.app.test_client()
    login(thief, "alice@example.test", PASSWORD)
    assert signed_in(thief)
    owner = app_world.app.test_client()
    owner.post("/reset", data={"email": "alice@example.test"})
    owner.post(_link(smtp, 1), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not signed_in(thief)


def test_a_reset_link_expires_after_an_hour(app_world: World, smtp: SmtpServer) -> None:
    client = app_world.app.test_client()
    client.post("/reset", data={"email": "alice@example.test"})
    link = _link(smtp, 1)
    _clock(app_world).advance(timedelta(hours=1, seconds=1))
    assert client.get(link).status_code == 400
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400


def test_a_tampered_reset_link_does_not_work(app_world: World, smtp: SmtpServer) -> None:
    client = app_world.app.test_client()
    client.post("/reset", data={"email": "alice@example.test"})
    link = _link(smtp, 1)
    assert client.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB")).status_code == 400


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app_world: World, smtp: SmtpServer) -> None:
    known = app_world.app.test_client().post("/reset", data={"email": "alice@example.test"}, follow_redirects=True)
    unknown = app_world.app.test_client().post("/reset", data={"email": "nobody@example.test"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200

    def page(answer, name: str) -> str:  # type: ignore[no-untyped-def]
        return re.sub(r'name="csrf_token" value="[^"]+"', "", answer.get_data(as_text=True).replace(name, "X"))

    assert page(known, "alice") == page(unknown, "nobody")
    assert [m.rcpt_tos for m in smtp.inbox.wait_for(2, timeout=0.5)] == [["alice@example.test"]]


def test_reset_links_to_one_address_are_limited(app_world: World, smtp: SmtpServer) -> None:
    for _ in range(5):
        app_world.app.test_client().post("/reset", data={"email": "alice@example.test"})
    assert len(smtp.inbox.wait_for(4, timeout=0.5)) == 3


# -- members and roles ------------------------------------------------------------------------------


def test_members_see_their_own_firm_only_and_only_admins_get_the_controls(app_world: World) -> None:
    alice = app_world.client("alice").get("/firm/members").get_data(as_text=True)
    bob = app_world.client("bob").get("/firm/members").get_data(as_text=True)
    charlie = app_world.client("charlie").get("/firm/members").get_data(as_text=True)
    for page in (alice, bob):
        assert "Kanzlei Weber" in page and "bob@example.test" in page and "charlie@example.test" not in page
    assert "charlie@example.test" in charlie and "alice@example.test" not in charlie
    assert 'id="invite"' in alice and "Remove" in alice
    assert 'id="invite"' not in bob and "Remove" not in bob and "Collector" in bob


def _firm_of(world: World, who: str) -> int:
    with world.sessions() as session:
        firm_id = session.scalar(select(Membership.firm_id).where(Membership.user_id == world.users[who]))
        assert firm_id is not None
        return firm_id


def _role(world: World, who: str) -> str | None:
    with world.sessions() as session:
        return session.scalar(select(Membership.role).where(Membership.user_id == world.users[who]))


def _activities(world: World, kind: str) -> list[Activity]:
    with world.sessions() as session:
        return list(session.scalars(select(Activity).where(Activity.kind == kind)))


def test_an_admin_changes_a_role_and_it_is_logged(app_world: World) -> None:
    answer = app_world.client("alice").post(
        "/firm/members/role", data={"user_id": app_world.users["bob"], "role": Role.VIEWER.value}
    )
    assert answer.status_code == 302
    assert _role(app_world, "bob") == Role.VIEWER.value
    [entry] = _activities(app_world, "member_role_changed")
    assert entry.organisation_id == app_world.orgs["A"] and entry.actor == str(app_world.users["alice"])
    assert entry.data == {"from": "collector", "to": "viewer"}


def test_the_last_admin_can_neither_step_down_nor_be_removed(app_world: World) -> None:
    alice = app_world.client("alice")
    demote = alice.post("/firm/members/role", data={"user_id": app_world.users["alice"], "role": "viewer"})
    assert demote.status_code == 400 and "at least one admin" in demote.get_data(as_text=True)
    remove = alice.post("/firm/members/remove", data={"user_id": app_world.users["alice"]})
    assert remove.status_code == 400 and "at least one admin" in remove.get_data(as_text=True)
    assert _role(app_world, "alice") == Role.ADMIN.value
    # With a second admin she may step down.
    alice.post("/firm/members/role", data={"user_id": app_world.users["bob"], "role": "admin"})
    assert (
        alice.post("/firm/members/role", data={"user_id": app_world.users["alice"], "role": "viewer"}).status_code
        == 302
    )
    assert _role(app_world, "alice") == Role.VIEWER.value


def test_a_removed_member_loses_the_firms_organisations(app_world: World) -> None:
    disconnect = f"/orgs/{app_world.orgs['A']}/disconnect"
    assert app_world.client("bob").post(disconnect).status_code == 403  # a member without the role
    assert (
        app_world.client("alice").post("/firm/members/remove", data={"user_id": app_world.users["bob"]}).status_code
        == 302
    )
    assert _role(app_world, "bob") is None
    assert app_world.client("bob").get("/firm/members").status_code == 404  # no firm left
    assert app_world.client("bob").post(disconnect).status_code == 404  # an outsider now
    [entry] = _activities(app_world, "member_removed")
    assert "bob@example.test" in entry.summary


def test_a_member_of_another_firm_cannot_be_addressed(app_world: World, caplog: pytest.LogCaptureFixture) -> None:
    answer = app_world.client("alice").post("/firm/members/remove", data={"user_id": app_world.users["charlie"]})
    assert answer.status_code == 404
    assert _role(app_world, "charlie") == Role.ADMIN.value
    assert any("not a member of firm" in r.getMessage() for r in caplog.records)


def test_an_invalid_role_is_refused_and_nothing_changes(app_world: World) -> None:
    answer = app_world.client("alice").post(
        "/firm/members/role", data={"user_id": app_world.users["bob"], "role": "owner"}
    )
    assert answer.status_code == 400
    assert _role(app_world, "bob") == Role.COLLECTOR.value


# -- invitations ------------------------------------------------------------------------------------


def _invite(world: World, email: str, role: str = "collector", who: str = "alice"):  # type: ignore[no-untyped-def]
    return world.client(who).post("/firm/invitations", data={"email": email, "role": role})


def test_an_invitation_is_mailed_and_only_its_hash_is_kept(app_world: World, smtp: SmtpServer) -> None:
    assert _invite(app_world, "Dora@Example.test").status_code == 302
    [received] = smtp.inbox.wait_for(1)
    assert received.rcpt_tos == ["dora@example.test"]
    assert "Kanzlei Weber" in received.message["Subject"]
    link = _link(smtp, 1)
    token = link.rsplit("/", 1)[1]
    with app_world.sessions() as session:
        invitation = session.scalars(select(Invitation)).one()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.email == "dora@example.test" and invitation.role == "collector"
    assert invitation.expires_at == NOW + timedelta(days=7)
    assert invitation.invited_by_id == app_world.users["alice"]
    assert "dora@example.test" in app_world.client("alice").get("/firm/members").get_data(as_text=True)
    assert [a.data for a in _activities(app_world, "member_invited")] == [{"role": "collector"}]


def test_a_new_person_accepts_sets_a_password_and_joins(app_world: World, smtp: SmtpServer) -> None:
    _invite(app_world, "dora@example.test", role="viewer")
    link = _link(smtp, 1)
    dora = app_world.app.test_client()
    assert 'name="password"' in dora.get(link).get_data(as_text=True)
    short = dora.post(link, data={"name": "Dora", "password": "short", "confirm": "short"})
    assert short.status_code == 400 and 'id="password-error"' in short.get_data(as_text=True)
    with app_world.sessions() as session:
        assert session.scalar(select(User).where(User.email == "dora@example.test")) is None
    joined = dora.post(link, data={"name": "Dora Diaz", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert joined.status_code == 302
    assert "Kanzlei Weber" in dora.get("/firm/members").get_data(as_text=True)  # signed in, in the firm
    with app_world.sessions() as session:
        user = session.scalars(select(User).where(User.email == "dora@example.test")).one()
        role = session.scalar(select(Membership.role).where(Membership.user_id == user.id))
        assert user.name == "Dora Diaz" and role == "viewer"
        assert session.scalars(select(Invitation)).one().accepted_at == NOW
    [entry] = _activities(app_world, "member_joined")
    assert entry.actor == str(user.id) and entry.organisation_id == app_world.orgs["A"]
    assert login(app_world.app.test_client(), "dora@example.test", NEW_PASSWORD).status_code == 302
    assert app_world.app.test_client().get(link).status_code == 404  # used


def test_an_invitation_expires_after_seven_days(app_world: World, smtp: SmtpServer) -> None:
    _invite(app_world, "dora@example.test")
    link = _link(smtp, 1)
    _clock(app_world).advance(timedelta(days=7))
    assert app_world.app.test_client().get(link).status_code == 404


def test_a_new_invitation_replaces_the_earlier_link(app_world: World, smtp: SmtpServer) -> None:
    _invite(app_world, "dora@example.test")
    _invite(app_world, "dora@example.test", role="admin")
    first, second = _link(smtp, 1), _link(smtp, 2)
    assert app_world.app.test_client().get(first).status_code == 404
    assert app_world.app.test_client().get(second).status_code == 200


def test_someone_with_an_account_signs_in_first_and_then_joins(app_world: World, smtp: SmtpServer) -> None:
    _invite(app_world, "charlie@example.test", role="viewer")
    link = _link(smtp, 1)
    charlie = app_world.app.test_client()
    answer = charlie.get(link)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    assert login(charlie, "charlie@example.test", PASSWORD, next=link).headers["Location"] == link
    assert 'name="password"' not in charlie.get(link).get_data(as_text=True)
    assert charlie.post(link).status_code == 302
    page = charlie.get("/firm/members").get_data(as_text=True)
    assert "Your firms:" in page and "Kanzlei Weber" in page and "Other Firm" in page


def test_an_invitation_for_someone_else_is_refused(app_world: World, smtp: SmtpServer) -> None:
    _invite(app_world, "dora@example.test")
    answer = app_world.client("charlie").post(_link(smtp, 1))
    assert answer.status_code == 403 and "dora@example.test" in answer.get_data(as_text=True)
    with app_world.sessions() as session:
        assert session.scalars(select(Invitation)).one().accepted_at is None


@pytest.mark.parametrize(
    ("email", "message"),
    [
        pytest.param("not an address", "Enter one e-mail address", id="malformed"),
        pytest.param("bob@example.test", "already a member", id="member-already"),
    ],
)
def test_a_bad_invitation_is_refused_next_to_the_field(
    app_world: World, smtp: SmtpServer, email: str, message: str
) -> None:
    answer = _invite(app_world, email)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and re.search(r'id="email-error">[^<]*' + re.escape(message), page), page
    with app_world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert smtp.inbox.wait_for(1, timeout=0.3) == []


def test_an_invitation_the_mail_server_refuses_is_not_kept(app_world: World, smtp: SmtpServer) -> None:
    smtp.inbox.refuse["dora@example.test"] = "550 5.1.1 no such user"
    answer = _invite(app_world, "dora@example.test")
    assert answer.status_code == 400 and "could not be sent" in answer.get_data(as_text=True)
    with app_world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
        assert session.scalar(select(func.count()).select_from(Activity)) == 0
