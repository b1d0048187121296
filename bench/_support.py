"""What the benchmarks share: an arcadence runtime on a fresh SQLite file, connected to a running
QuickBooks sandbox through the real OAuth code flow (no browser). Not a benchmark itself."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import requests


def connect_quickbooks(sandbox: Any, tmp: Path, clock: Any) -> tuple[Any, int]:
    """A runtime on ``tmp``/bench.sqlite3 and the id of the organisation connected to ``sandbox``."""
    from cryptography.fernet import Fernet

    from connector.config import Settings
    from connector.connect import resolve_user, store_grant
    from connector.db.session import upgrade
    from connector.platform import PlatformConfig
    from connector.runtime import build_runtime

    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    settings = Settings(
        "test", tmp, url, (Fernet.generate_key(),), "s", "127.0.0.1", 5000, "INFO", "http://127.0.0.1:9"
    )
    config = PlatformConfig(
        sandbox.client_id, sandbox.client_secret, "http://127.0.0.1:9/cb", sandbox.discovery_url, sandbox.api_url_v3
    )
    runtime = build_runtime(
        settings, configs={"quickbooks": config}, clock=clock, sleep=lambda s: clock.advance(timedelta(seconds=s))
    )
    platform = runtime.platform("quickbooks")
    consent = requests.get(
        platform.authorize_url(redirect_uri=config.redirect_uri, state="s", code_verifier=None, sign_in=True),
        allow_redirects=False,
        timeout=10,
    )
    params = dict(p.split("=", 1) for p in consent.headers["Location"].split("?", 1)[1].split("&"))
    grant = platform.exchange_code(
        code=params["code"],
        redirect_uri=config.redirect_uri,
        code_verifier=None,
        callback_params=params,
        sign_in=True,
        now=clock.now(),
    )
    with runtime.sessions.begin() as session:
        user = resolve_user(session, None, grant, clock.now())
        org_id: int = store_grant(
            session, runtime.cipher, platform="quickbooks", grant=grant, user=user, now=clock.now()
        )[0].id
    return runtime, org_id
