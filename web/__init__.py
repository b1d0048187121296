"""The Flask web app: ``create_app`` binds everything; nothing is built at import time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect

from connector.config import Settings, load_settings
from connector.db.session import make_engine, session_factory
from connector.registry import Registry

csrf = CSRFProtect()


def create_app(config: Mapping[str, Any] | None = None, *, settings: Settings | None = None) -> Flask:
    """Build the app.

    Args:
        config: Flask config overrides (tests).
        settings: validated settings; loaded from the environment when None.
    """
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.session_secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(config or {})
    engine = make_engine(settings.database_url)
    app.extensions["arcadence"] = {
        "settings": settings,
        "engine": engine,
        "sessions": session_factory(engine),
        "registry": Registry(),
    }
    csrf.init_app(app)

    from web.home import bp as home_bp

    app.register_blueprint(home_bp)
    return app
