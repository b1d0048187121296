"""The arcadence app behind Flask's test client, wired to a running Xero sandbox on loopback.

Unlike the contract harness (which serves the app over HTTP), the app here is driven through the
test client, so a test can read the flashed messages and pass its own ``sleep`` to the runtime
(the rate-limit tests fail on any long wait). Connecting goes through the real OAuth flow: the
landing page's CSRF token, ``POST /connect/xero``, the sandbox's consent (auto, for the chosen
tenants), and the callback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from connector.clock import FixedClock
from connector.config import load_settings
from connector.db import Organisation
from connector.db.session import upgrade
from connector.platform import PlatformConfig
from connector.runtime import Runtime, build_runtime
from plugins.xero.sandbox import XeroSandbox
from web import create_app

REDIRECT_URI = "http://localhost/connect/xero/callback"  # the test client's host


class XeroWeb:
    """A Xero sandbox and the arcadence app (test client) on one fixed clock.

    Args:
        tmp: a folder for the SQLite file and ``var/``.
        clock: the clock both sides share.
        database_url: the store (default: SQLite under ``tmp``).
        sleep: how the rate limiter waits (default: advance the clock).
        sandbox_options: passed to :class:`XeroSandbox` (``contacts=``, ``invoices=`` …).
    """

    def __init__(
        self,
        tmp: Path,
        clock: FixedClock,
        *,
        database_url: str | None = None,
        sleep: Callable[[float], None] | None = None,
        **sandbox_options: int,
    ) -> None:
        self.clock = clock
        self.sandbox = XeroSandbox(clock=clock, **sandbox_options)  # type: ignore[arg-type]
        self.sandbox.serve()
        self.sandbox.set_auto_consent(True)
        env = {
            "ARCADENCE_ENV": "test",
            "ARCADENCE_VAR_DIR": str(tmp / "var"),
            "ARCADENCE_DATABASE_URL": database_url or f"sqlite:///{tmp}/xero-web.sqlite3",
            "ARCADENCE_SECRET_KEYS": Fernet.generate_key().decode(),
            "ARCADENCE_SESSION_SECRET": "xero-web",
        }
        settings = load_settings(env)
        upgrade(settings.database_url)
        config = PlatformConfig(
            client_id=self.sandbox.client_id, client_secret=self.sandbox.client_secret, redirect_uri=REDIRECT_URI,
            identity_url=self.sandbox.identity_url, api_base=self.sandbox.api_base,
            webhook_key=self.sandbox.webhook_key,
        )  # fmt: skip
        self.runtime: Runtime = build_runtime(
            settings, configs={"xero": config}, clock=clock, sleep=sleep or self._advance
        )
        self.app = create_app({"TESTING": True}, runtime=self.runtime)
        self.client: FlaskClient = self.app.test_client()

    def _advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    def close(self) -> None:
        self.runtime.close()
        self.sandbox.stop()

    def csrf(self) -> str:
        """The CSRF token of the landing page (the session's)."""
        page = self.client.get("/").get_data(as_text=True)
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found, "the landing page has no CSRF token"
        return found.group(1)

    def connect(self, tenants: list[str] | None = None) -> TestResponse:
        """Connect through the real flow (the consent covers ``tenants``, default all); the
        landing page the callback redirects to."""
        self.sandbox.set_consent_tenants(tenants or list(self.sandbox.tenant_ids))
        started = self.client.post("/connect/xero", data={"csrf_token": self.csrf()})
        assert started.status_code == 302, started.get_data(as_text=True)
        consent = requests.get(started.headers["Location"], allow_redirects=False, timeout=10)
        assert consent.status_code == 302, consent.text
        callback = urlsplit(consent.headers["Location"])
        done = self.client.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 302, done.get_data(as_text=True)
        return self.client.get(done.headers["Location"])

    def organisation_ids(self) -> dict[str, int]:
        """Local organisation ids by tenant id."""
        with self.runtime.sessions() as session:
            rows = session.execute(select(Organisation.external_id, Organisation.id))
            return {tenant: org_id for tenant, org_id in rows}
