"""The Flask web app: ``create_app`` binds everything; nothing is built at import time."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask_wtf import CSRFProtect

from connector.config import Settings, load_settings
from connector.mail import Mailer, mailer_from_environment
from connector.runtime import Runtime, build_runtime

csrf = CSRFProtect()

#: One blueprint per area (``web/<area>.py`` defines ``bp``), registered in this order.
AREAS = (
    "home",
    "dashboard",
    "accounts",
    "connect",
    "orgs",
    "settings",
    "cadence",
    "messages",
    "ledger",
    "exports",
    "statements",
    "tasks",
    "outbox",
    "health",
    "portal",
    "webhooks",
)


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
    mailer: Mailer | None = None,
) -> Flask:
    """Build the app.

    Args:
        config: Flask config overrides (tests).
        settings: validated settings; loaded from the environment when None.
        runtime: the process wiring (store, platforms, clock); built from the settings when None.
        mailer: sends the app's own mail (reset links, invitations); when None it is built from
            the ``ARCADENCE_SMTP_*`` variables on first use (see :func:`mailer`).
    """
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    app = Flask(__name__)
    app.config.update(SECRET_KEY=runtime.settings.session_secret, WTF_CSRF_TIME_LIMIT=None)

    from web import auth, i18n, security, webhooks

    security.init_app(app, production=runtime.settings.env == "production")
    app.config.update(config or {})
    app.extensions["arcadence"] = runtime
    app.extensions[MAILER] = mailer
    app.extensions[MAILER + ".lock"] = threading.Lock()
    csrf.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    for area in AREAS:
        app.register_blueprint(importlib.import_module(f"web.{area}").bp)
    csrf.exempt(webhooks.bp)  # platforms sign their deliveries instead (verified over the raw body)
    return app


#: Where the app keeps its mailer (``app.extensions[MAILER]``); tests may put an SMTP mailer there.
MAILER = "arcadence.mailer"


def mailer() -> Mailer:
    """The mailer of the current app, built from the environment on first use (not at import
    or start: a web process that never sends mail needs no SMTP settings to start)."""
    app = current_app
    with app.extensions[MAILER + ".lock"]:
        if app.extensions[MAILER] is None:
            app.extensions[MAILER] = mailer_from_environment(os.environ, runtime().settings.var_dir)
        value: Mailer = app.extensions[MAILER]
        return value


def runtime() -> Runtime:
    """The runtime of the current app."""
    value: Runtime = current_app.extensions["arcadence"]
    return value
