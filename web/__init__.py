"""The Flask web app: ``create_app`` binds everything; nothing is built at import time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask_wtf import CSRFProtect

from connector.config import Settings, load_settings
from connector.runtime import Runtime, build_runtime

csrf = CSRFProtect()


def create_app(
    config: Mapping[str, Any] | None = None, *, settings: Settings | None = None, runtime: Runtime | None = None
) -> Flask:
    """Build the app.

    Args:
        config: Flask config overrides (tests).
        settings: validated settings; loaded from the environment when None.
        runtime: the process wiring (store, platforms, clock); built from the settings when None.
    """
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=runtime.settings.session_secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=runtime.settings.env == "production",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(config or {})
    app.extensions["arcadence"] = runtime
    csrf.init_app(app)

    from web import auth, connect, home, orgs, webhooks

    auth.init_app(app)
    for blueprint in (home.bp, connect.bp, orgs.bp, webhooks.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(webhooks.bp)  # platforms sign their deliveries instead (verified over the raw body)
    return app


def runtime() -> Runtime:
    """The runtime of the current app."""
    value: Runtime = current_app.extensions["arcadence"]
    return value
