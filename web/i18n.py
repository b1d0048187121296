"""The UI language: German or English, the user's choice (``users.locale``), else the browser's.

Strings in views and templates go through Flask-Babel's ``_()``; the German catalog lives in
``web/translations/`` (``messages.po``, compiled to ``messages.mo`` by ``make``). A string the
catalog does not have is shown in English. Visitors who are not signed in may choose too: their
choice is kept in the session (``POST /language``, ``web.accounts.language``).
"""

from __future__ import annotations

import flask_babel
from flask import Flask, request, session
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

LANGUAGES = ("en", "de")
#: The session key of a visitor's choice (signed-in users keep theirs in ``users.locale``).
SESSION_KEY = "locale"


#: How a step's action reads (docs/GLOSSARY.md, "Action"); the codes stay English in stored data.
ACTION_NAMES = {
    "email": _l("email"),
    "call": _l("call"),
    "letter": _l("letter"),
    "notify_owner": _l("notify owner"),
    "agency": _l("agency"),
    "legal": _l("legal"),
    "writeoff_review": _l("writeoff review"),
}


def action_name(code: object) -> str:
    """The UI name of a step action (or of a message channel, which shares the names)."""
    value = str(getattr(code, "value", code))
    return str(ACTION_NAMES.get(value, value.replace("_", " ")))


def select_locale() -> str:
    """The signed-in user's chosen language, else the visitor's, else the best match for the
    browser, else English."""
    chosen = getattr(current_user, "locale", None) if current_user and current_user.is_authenticated else None
    if chosen in LANGUAGES:
        return str(chosen)
    if session.get(SESSION_KEY) in LANGUAGES:
        return str(session[SESSION_KEY])
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_timezone() -> str | None:
    """Times on an organisation's pages are that organisation's local times (as its run time and
    its ledger timeline are); elsewhere UTC. Only the zone is read here: who may see the page is
    the view's ``require_org``."""
    org_id = (request.view_args or {}).get("org_id")
    if not isinstance(org_id, int):
        return None
    from connector.db import Organisation
    from web import runtime

    with runtime().sessions() as db:
        zone: str | None = db.scalar(select(Organisation.timezone).where(Organisation.id == org_id))
    return zone


def init_app(app: Flask) -> None:
    """Bind Flask-Babel to ``app``."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    # One Babel per app: a shared instance keeps one translations cache for every app it is bound
    # to, so a second app with other translation directories would read the first one's catalog.
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # The names the templates use (the conventions'), besides Flask-Babel's own ``dateformat`` etc.
    app.jinja_env.filters.update(
        format_date=flask_babel.format_date,
        format_datetime=flask_babel.format_datetime,
        format_time=flask_babel.format_time,
        format_currency=flask_babel.format_currency,
        format_decimal=flask_babel.format_decimal,
        format_number=flask_babel.format_number,
        format_percent=flask_babel.format_percent,
        action_name=action_name,
    )
