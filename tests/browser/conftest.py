"""Browser tests: the real app served on loopback, driven in real headless Chromium.

* ``live`` — the app (``web.create_app``) served by werkzeug in a thread on 127.0.0.1, on a
  migrated SQLite store of its own with the personas seeded (alice, bob, charlie, each with the
  password :data:`PASSWORD`), a :class:`FixedClock` at :data:`NOW`, no platform configured, and
  its mail going over SMTP to an aiosmtpd server on loopback (``live.inbox``).
* ``live_factory`` — the same with platform configs (``live_factory(platforms=...)``), e.g. a
  platform sandbox; ``live_quickbooks`` is that with the QuickBooks sandbox and its sample company
  (``live_quickbooks.sandbox``; the consent page waits for a click on "Approve").
* ``browser`` — Debian's Chromium (``/usr/bin/chromium``, installed by ``make``; never
  ``playwright install``), launched once per session by Playwright.
* ``page`` — a fresh page (own cookies) in English on ``live``; ``new_page(locale=...)`` makes
  more; ``sign_in("alice")`` signs a page in through the real login form and returns it.

Every test here is marked ``browser``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from sqlalchemy import update

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import User
from connector.db.session import upgrade
from connector.mail import SmtpMailer
from connector.platform import PlatformConfig
from connector.runtime import build_runtime
from connector.sandboxkit import serve_in_thread
from tests.integration.smtp_server import Inbox, SmtpServer, free_port
from tests.personas import NOW, World, make_world
from web import MAILER
from web.accounts.signin import hash_password

CHROMIUM = "/usr/bin/chromium"
#: Keep Chromium off the outside network (this machine refuses those connections anyway).
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Every persona's password in the browser tests.
PASSWORD = "correct horse battery staple"
#: How long a Playwright step may wait (ms): generous for a loaded 2-core machine.
TIMEOUT_MS = 15_000

PlatformsFor = Callable[[str], dict[str, PlatformConfig]]
"""Given the live app's URL, the platform configs it should run with."""


@dataclass
class Live:
    """The served app: its URL, its world (app, runtime, persona ids), clock and mail inbox."""

    url: str
    world: World
    clock: FixedClock
    inbox: Inbox
    sandbox: Any = None
    """The platform sandbox the app is wired to, if any (``live_quickbooks``)."""

    def user_id(self, who: str) -> int:
        return self.world.users[who]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_factory(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[..., Live]]:
    """Starts live apps (at most one per test is usual); stops them, their SMTP server and store."""
    stops: list[Callable[[], None]] = []

    def start(platforms: PlatformsFor | None = None) -> Live:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = load_settings({**env, "ARCADENCE_PORT": str(port), "ARCADENCE_PUBLIC_URL": url})
        upgrade(settings.database_url)
        clock = FixedClock(NOW)
        runtime = build_runtime(settings, configs=platforms(url) if platforms else {}, clock=clock)
        world = make_world(runtime)
        with world.sessions.begin() as session:
            session.execute(update(User).values(password_hash=hash_password(PASSWORD)))
        smtp = SmtpServer()
        smtp.__enter__()
        stops.append(lambda: smtp.__exit__(None, None, None))
        world.app.extensions[MAILER] = SmtpMailer(smtp.host, smtp.port, security="none", timeout=10, clock=clock)
        served, stop = serve_in_thread(world.app, "127.0.0.1", port)
        assert served == url
        stops.append(stop)
        stops.append(runtime.close)
        return Live(url, world, clock, smtp.inbox)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def live(live_factory: Callable[..., Live]) -> Live:
    """The app on loopback, no platform configured."""
    return live_factory()


@pytest.fixture
def live_quickbooks(live_factory: Callable[..., Live]) -> Iterator[Live]:
    """The app on loopback with the QuickBooks sandbox configured (``live.sandbox``)."""
    from plugins.quickbooks.sandbox import QuickBooksSandbox

    sandbox = QuickBooksSandbox(clock=FixedClock(NOW))
    sandbox.serve()

    def platforms(url: str) -> dict[str, PlatformConfig]:
        return {
            "quickbooks": PlatformConfig(
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                redirect_uri=f"{url}/connect/quickbooks/callback",
                identity_url=sandbox.discovery_url,
                api_base=sandbox.api_url_v3,
                webhook_key=sandbox.webhook_verifier,
            )
        }

    served = live_factory(platforms)
    served.sandbox = sandbox
    yield served
    sandbox.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs the Debian chromium package)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Makes pages on the test's app (``live_quickbooks`` when the test asks for it, else ``live``:
    one app per test, the two share the test's store), each in its own browser context (own
    cookies), in ``locale``."""
    served = "live_quickbooks" if "live_quickbooks" in request.fixturenames else "live"
    live: Live = request.getfixturevalue(served)
    contexts = []

    def make(locale: str = "en-US") -> Page:
        context = browser.new_context(base_url=live.url, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A fresh English page, not signed in."""
    return new_page()


def sign_in_page(page: Page, who: str, password: str = PASSWORD) -> Page:
    """Sign ``page`` in as ``who`` through the login form, and wait for the landing page."""
    page.goto("/login")
    page.fill("input[name=email]", f"{who}@example.test")
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("#sign-in-submit")
    assert page.locator("#sign-out").count() == 1, page.content()
    return page


@pytest.fixture
def sign_in(new_page: Callable[..., Page]) -> Callable[..., Page]:
    """``sign_in("alice")``: a new page signed in as that persona through the real login form."""

    def make(who: str, locale: str = "en-US") -> Page:
        return sign_in_page(new_page(locale), who)

    return make
