"""The connect flow's branches, each on its own: state checks, provider errors, odd token
responses, a company of another firm, and a successful sign-in (the sandbox is the platform)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from connector.clock import FixedClock
from connector.db import Activity, Connection, Firm, Membership, Organisation, User
from connector.logsetup import RedactingFilter
from tests.contract.quickbooks import QuickBooksHarness
from tests.personas import NOW


@pytest.fixture
def qbo(tmp_path: Path) -> Iterator[QuickBooksHarness]:
    harness = QuickBooksHarness(tmp_path, FixedClock(NOW))
    yield harness
    harness.close()


def _start(h: QuickBooksHarness) -> str:
    """Click Connect; the consent URL at the sandbox."""
    page = h.http.get(f"{h.app_url}/", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    started = h.http.post(f"{h.app_url}/connect/quickbooks", data={"csrf_token": token}, allow_redirects=False,
                          timeout=10)  # fmt: skip
    assert started.status_code == 302
    return str(started.headers["Location"])


def _consent(url: str) -> str:
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def test_starting_needs_the_csrf_token(qbo: QuickBooksHarness) -> None:
    assert qbo.http.post(f"{qbo.app_url}/connect/quickbooks", allow_redirects=False, timeout=10).status_code == 400


def test_the_consent_url_carries_state_scopes_and_our_callback(qbo: QuickBooksHarness) -> None:
    query = parse_qs(urlsplit(_start(qbo)).query)
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == [f"{qbo.app_url}/connect/quickbooks/callback"]
    assert set(query["scope"][0].split()) == {"com.intuit.quickbooks.accounting", "openid", "email", "profile"}


def test_a_callback_with_another_state_is_refused_and_stores_nothing(qbo: QuickBooksHarness) -> None:
    callback = _consent(_start(qbo)).replace("state=", "state=forged")
    assert qbo.http.get(callback, allow_redirects=False, timeout=10).status_code == 403
    with qbo.runtime.sessions() as session:
        assert session.scalars(select(Organisation)).all() == []


def test_a_callback_without_a_started_flow_is_refused(qbo: QuickBooksHarness) -> None:
    callback = _consent(_start(qbo))
    stranger = requests.Session()  # another browser: no state in its session
    assert stranger.get(callback, allow_redirects=False, timeout=10).status_code == 403


def test_the_state_is_used_once(qbo: QuickBooksHarness) -> None:
    callback = _consent(_start(qbo))
    assert qbo.http.get(callback, allow_redirects=False, timeout=10).status_code == 302
    assert qbo.http.get(callback, allow_redirects=False, timeout=10).status_code == 403


def test_a_declined_consent_is_a_message_not_an_error(qbo: QuickBooksHarness) -> None:
    qbo.sandbox.fail_next_authorize("access_denied")
    done = qbo.http.get(_consent(_start(qbo)), allow_redirects=False, timeout=10)
    assert done.status_code == 302
    page = qbo.http.get(f"{qbo.app_url}/", timeout=10).text
    assert "QuickBooks Online was not connected. You declined the connection." in page


def test_a_failing_token_endpoint_is_a_message_and_logs_no_secret(qbo: QuickBooksHarness) -> None:
    written = io.StringIO()
    handler = logging.StreamHandler(written)  # what configure_logging installs: a redacting handler
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    try:
        callback = _consent(_start(qbo))
        code = parse_qs(urlsplit(callback).query)["code"][0]
        qbo.sandbox.inject_fault("/oauth2/v1/tokens/bearer", status=500, times=1)
        assert qbo.http.get(callback, allow_redirects=False, timeout=10).status_code == 302
        page = qbo.http.get(f"{qbo.app_url}/", timeout=10).text
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert "could not be connected" in page
    assert "quickbooks connect failed" in written.getvalue()  # the failure was logged ...
    assert code not in written.getvalue()  # ... without the authorization code
    with qbo.runtime.sessions() as session:
        assert session.scalars(select(Connection)).all() == []


def test_a_company_connected_by_another_firm_is_refused(qbo: QuickBooksHarness) -> None:
    with qbo.runtime.sessions.begin() as session:
        other = Firm(name="Other", created_at=NOW)
        session.add(Organisation(firm=other, platform="quickbooks", external_id=qbo.sandbox.realm_id, name="Taken",
                                 created_at=NOW))  # fmt: skip
    qbo.http.get(_consent(_start(qbo)), allow_redirects=False, timeout=10)
    page = qbo.http.get(f"{qbo.app_url}/", timeout=10).text
    assert "already connected to arcadence by another firm" in page
    with qbo.runtime.sessions() as session:
        assert session.scalars(select(Connection)).all() == []


def test_the_first_consent_creates_user_firm_and_organisation_and_logs_it(qbo: QuickBooksHarness) -> None:
    qbo.connect()
    with qbo.runtime.sessions() as session:
        user = session.scalars(select(User)).one()
        membership = session.scalars(select(Membership)).one()
        org = session.scalars(select(Organisation)).one()
        connection = session.get_one(Connection, org.connection_id)
        assert membership.user_id == user.id and membership.role == "admin" and org.firm_id == membership.firm_id
        assert org.external_id == qbo.sandbox.realm_id and org.name == qbo.sandbox.company_name()
        assert connection.access_expires_at == NOW + timedelta(hours=1)
        assert connection.refresh_hard_expires_at is not None and connection.refresh_hard_expires_at > NOW
        activity = session.scalars(select(Activity)).one()
        assert activity.kind == "connected" and user.email in activity.summary
    page = qbo.http.get(f"{qbo.app_url}/", timeout=10).text
    assert org.name in page and "Disconnect" in page  # signed in: the browser now sees its company
