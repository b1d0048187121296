"""Disconnecting a Xero organisation: one tenant only (``DELETE /connections/{id}``) or the whole
grant (revocation), chosen on the disconnect form when one consent covers several organisations
(notes/xero.md §2).

Real parts: the sandbox over loopback (its connections and token authority), the app through
Flask's test client with CSRF, the store on SQLite and PostgreSQL, the scheduler's sync job.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connector.clock import FixedClock
from connector.connect import DisconnectScope
from connector.db import Activity, Connection, ConnectionStatus, Organisation
from connector.errors import AuthRevoked
from connector.jobs import sync_due
from connector.tokens import TokenSet, TokenStore
from tests.personas import NOW
from tests.plugins.xero.webapp import XeroWeb


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[XeroWeb]:
    """Both sample organisations connected with one consent."""
    built = XeroWeb(tmp_path, FixedClock(NOW), database_url=db_url)
    built.connect()
    yield built
    built.close()


def _org(web: XeroWeb, tenant: str) -> Organisation:
    with web.runtime.sessions() as session:
        return session.get_one(Organisation, web.organisation_ids()[tenant])


def _tokens(web: XeroWeb, tenant: str) -> TokenSet:
    with web.runtime.sessions() as session:
        org = session.get_one(Organisation, web.organisation_ids()[tenant])
        assert org.connection is not None
        return TokenStore(web.runtime.cipher).load(org.connection)


def _disconnect(web: XeroWeb, tenant: str, scope: str | None = None) -> tuple[int, str]:
    """POST the disconnect form; the status and the page shown (the redirect followed)."""
    data = {"csrf_token": web.csrf()}
    if scope is not None:
        data["scope"] = scope
    answer = web.client.post(f"/orgs/{web.organisation_ids()[tenant]}/disconnect", data=data)
    if answer.status_code == 302:
        return 302, web.client.get(answer.headers["Location"]).get_data(as_text=True)
    return answer.status_code, answer.get_data(as_text=True)


def test_a_consent_of_several_organisations_asks_which_to_disconnect(web: XeroWeb) -> None:
    main, other = web.sandbox.tenant_ids
    status, page = _disconnect(web, main)
    assert status == 200
    assert re.search(r'<input checked[^>]*value="organisation"', page)  # the gentler choice is preselected
    assert html.escape(_org(web, other).name) in page
    assert 'name="scope"' in page and 'value="grant"' in page
    assert web.sandbox.connected(main) and web.sandbox.connected(other)  # nothing happened yet
    assert _org(web, main).connection_id is not None


def test_one_organisation_is_disconnected_and_the_other_keeps_syncing(web: XeroWeb) -> None:
    main, other = web.sandbox.tenant_ids
    connection_id = _org(web, main).connection_id

    status, page = _disconnect(web, main, DisconnectScope.ORGANISATION.value)

    assert status == 302
    assert html.escape(f"{_org(web, main).name} is disconnected. The consent stays") in page
    assert not web.sandbox.connected(main) and web.sandbox.connected(other)
    assert _org(web, main).connection_id is None
    with web.runtime.sessions() as session:
        connection = session.get_one(Connection, connection_id)
        assert connection.status == ConnectionStatus.ACTIVE.value and connection.refresh_token_enc is not None
        kinds = session.scalars(
            select(Activity.kind).where(Activity.organisation_id == web.organisation_ids()[main])
        ).all()
    assert list(kinds)[-1] == "disconnected"

    invoice = next(
        str(r["InvoiceID"])
        for r in web.sandbox.records("Invoices", tenant_id=other)
        if r["Type"] == "ACCREC" and r["Status"] == "AUTHORISED" and Decimal(str(r["AmountDue"])) > 5
    )
    web.sandbox.apply_payment(invoice, "5.00", tenant_id=other)
    assert sync_due(web.runtime) == 1  # the other organisation only
    assert _org(web, other).last_sync_at is not None and _org(web, main).last_sync_at is None
    web.runtime.platform("xero").refresh(_tokens(web, other), now=web.clock.now())  # the grant lives on


def test_revoking_the_grant_disconnects_every_organisation_and_the_token_is_refused(web: XeroWeb) -> None:
    main, other = web.sandbox.tenant_ids
    before = _tokens(web, main)

    status, page = _disconnect(web, main, DisconnectScope.GRANT.value)

    assert status == 302 and "tokens were revoked and deleted" in page
    assert not web.sandbox.connected(main) and not web.sandbox.connected(other)
    for tenant in (main, other):
        with web.runtime.sessions() as session:
            org = session.get_one(Organisation, web.organisation_ids()[tenant])
            assert org.connection is not None and org.connection.status == ConnectionStatus.REVOKED.value
            assert org.connection.refresh_token_enc is None
    with pytest.raises(AuthRevoked):
        web.runtime.platform("xero").refresh(before, now=web.clock.now())
    assert sync_due(web.runtime) == 0


def test_an_organisation_alone_on_its_consent_is_revoked_without_asking(tmp_path: Path) -> None:
    web = XeroWeb(tmp_path, FixedClock(NOW))
    try:
        main = web.sandbox.tenant_ids[0]
        web.connect([main])
        status, page = _disconnect(web, main)
        assert status == 302 and "tokens were revoked and deleted" in page
        assert not web.sandbox.connected(main)
    finally:
        web.close()


@pytest.mark.parametrize("scope", [pytest.param("everything", id="unknown"), pytest.param("", id="empty")])
def test_a_choice_that_is_not_offered_is_named_next_to_the_field(web: XeroWeb, scope: str) -> None:
    main, other = web.sandbox.tenant_ids
    status, page = _disconnect(web, main, scope)
    assert status == 400 and 'class="error" id="scope-error"' in page
    assert web.sandbox.connected(main) and web.sandbox.connected(other)


def test_when_xero_cannot_be_reached_nothing_is_disconnected(web: XeroWeb) -> None:
    main = web.sandbox.tenant_ids[0]
    web.sandbox.inject_fault("/connections", status=500, times=20)
    status, page = _disconnect(web, main, DisconnectScope.ORGANISATION.value)
    assert status == 302 and "could not be reached, so nothing was disconnected" in page
    assert web.sandbox.connected(main) and _org(web, main).connection_id is not None


def test_the_form_needs_its_csrf_token(web: XeroWeb) -> None:
    main = web.sandbox.tenant_ids[0]
    answer = web.client.post(f"/orgs/{web.organisation_ids()[main]}/disconnect", data={"scope": "grant"})
    assert answer.status_code == 400 and web.sandbox.connected(main)
