"""The double-dunning warning: Xero's own invoice reminders (``InvoiceReminders/Settings``), read
from the sandbox right after connecting (a flash naming the organisations) and on each
organisation's settings page (read live, so switching them off in Xero clears the warning).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.clock import FixedClock
from tests.personas import NOW
from tests.plugins.xero.webapp import XeroWeb

WARNING = "sends its own payment reminders for"
OFF = "own reminders are switched off"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[XeroWeb]:
    built = XeroWeb(tmp_path, FixedClock(NOW))
    yield built
    built.close()


def _flash(page: str) -> str:
    """The warning flash of the page ("" when there is none)."""
    start = page.find('class="flash flash-warning"')
    return page[start : page.find("</p>", start)] if start >= 0 else ""


def _settings(web: XeroWeb, tenant: str) -> str:
    answer = web.client.get(f"/orgs/{web.organisation_ids()[tenant]}/settings")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    return page[page.find('id="own-reminders"') : page.find('id="schedule"')]


@pytest.mark.parametrize(
    ("main_on", "other_on"),
    [
        pytest.param(True, False, id="main-on"),
        pytest.param(True, True, id="both-on"),
        pytest.param(False, True, id="other-on"),
        pytest.param(False, False, id="both-off"),
    ],
)
def test_connecting_names_the_organisations_whose_xero_reminders_are_on(
    web: XeroWeb, main_on: bool, other_on: bool
) -> None:
    main, other = web.sandbox.tenant_ids
    web.sandbox.set_invoice_reminders(main_on, tenant_id=main)
    web.sandbox.set_invoice_reminders(other_on, tenant_id=other)

    flash = _flash(web.connect().get_data(as_text=True))

    names = {tenant: html.escape(web.sandbox.org(tenant).info["Name"]) for tenant in (main, other)}
    assert (f"Double dunning: Xero {WARNING}" in flash) is (main_on or other_on)
    assert (names[main] in flash) is main_on and (names[other] in flash) is other_on
    for tenant, on in ((main, main_on), (other, other_on)):
        section = _settings(web, tenant)
        assert ("Double dunning:" in section and f"Xero {WARNING} this company" in section) is on
        assert (OFF in section) is not on


def test_the_settings_page_follows_the_setting_in_xero(web: XeroWeb) -> None:
    main = web.sandbox.tenant_ids[0]
    web.connect()
    assert OFF in _settings(web, main)
    web.sandbox.set_invoice_reminders(True, tenant_id=main)  # switched on in Xero after connecting
    assert "Double dunning:" in _settings(web, main)
    web.sandbox.set_invoice_reminders(False, tenant_id=main)
    assert OFF in _settings(web, main)


def test_a_failing_check_does_not_stop_the_connect(web: XeroWeb) -> None:
    web.sandbox.inject_fault("/api.xro/2.0/InvoiceReminders/Settings", status=500, times=50)
    page = web.connect().get_data(as_text=True)
    assert "Connected " in page and not _flash(page)
    assert "Could not check whether Xero sends its own reminders" in _settings(web, web.sandbox.tenant_ids[0])
