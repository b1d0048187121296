"""Organisations: the user's companies with their connection and schedule, and each one's settings
(country, region, time zone, run time, sender, currency, locale, collections on/off).

Everyone in the firm may read the settings; only an admin may change them (``save``, the POST of
the same URL). The settings page also asks the platform whether its *own* reminders are switched
on: a payer reminded by both would be dunned twice, a real complaint. That check may be slow or
fail; it is bounded by a short time limit and never breaks the page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from connector.clock import local_today
from connector.db import Connection, ConnectionStatus, Membership, Organisation, Role
from connector.db.activity import ActivityLog
from web import runtime
from web.auth import RANK, require_org
from web.forms import ButtonForm
from web.forms_settings import COMMON_LOCALES, SettingsForm, time_zones

log = logging.getLogger(__name__)
bp = Blueprint("settings", __name__)

#: The fields of the form that are columns of ``organisations``, in the order they are shown.
FIELDS = (
    "country",
    "subdivision",
    "timezone",
    "run_time",
    "sender_email",
    "base_currency",
    "locale",
    "collections_enabled",
)
#: Seconds the page waits for the platform's answer about its own reminders (app config overrides).
CHECK_SECONDS = 5.0


class OwnReminders(StrEnum):
    """What the platform said about its own reminders."""

    ON = "on"
    OFF = "off"
    NOT_DETECTABLE = "not_detectable"
    """The platform has no way to tell (QuickBooks Online: notes/quickbooks.md §9)."""
    COULD_NOT_CHECK = "could_not_check"
    """The platform failed or did not answer in time."""
    NOT_CONNECTED = "not_connected"


# -- the list ------------------------------------------------------------------------------------


@bp.get("/orgs")
@login_required
def organisations() -> str:
    """The organisations of the user's firms: platform, connection, last and next sync, next run."""
    rt = runtime()
    with rt.sessions() as db:
        rows = db.execute(
            select(Organisation, Connection.status, Membership.role)
            .join(Membership, Membership.firm_id == Organisation.firm_id)
            .outerjoin(Connection, Organisation.connection_id == Connection.id)
            .where(Membership.user_id == current_user.id)
            .order_by(Organisation.name, Organisation.id)
        ).all()
    listed = [
        {
            "org": org,
            "state": _connection_state(status),
            "admin": RANK.get(role, -1) >= RANK[Role.ADMIN.value],
            "last_sync": _when(org.last_sync_at, org.timezone),
            "next_sync": _when(org.next_sync_at, org.timezone),
            "next_run": _when(org.next_run_at, org.timezone),
        }
        for org, status, role in rows
    ]
    return render_template(
        "settings/organisations.html",
        organisations=listed,
        platforms=rt.registry.status(),
        configured=set(rt.configs),
        form=ButtonForm(),
    )


def _connection_state(status: str | None) -> str:
    """``active``, ``needs_reauth``, ``revoked`` or ``none`` (never connected or connection gone)."""
    known = {s.value for s in ConnectionStatus}
    return status if status in known else "none"


def _when(at: datetime | None, timezone: str) -> str | None:
    """An instant in the organisation's time zone, in the UI language (None stays None)."""
    if at is None:
        return None
    return format_datetime(at, "medium", tzinfo=ZoneInfo(timezone), locale=get_locale()) + f" ({timezone})"


# -- one organisation's settings ------------------------------------------------------------------


@bp.get("/orgs/<int:org_id>/settings")
@login_required
def edit(org_id: int) -> str:
    """The settings, editable for admins and read-only for the others; the double-dunning check."""
    org = require_org(org_id, Role.VIEWER)
    form = SettingsForm(obj=org)
    return _page(org, form)


@bp.post("/orgs/<int:org_id>/settings", endpoint="save")
@login_required
def save(org_id: int) -> Response | tuple[str, int]:
    """Change the settings (admins): all or nothing; each bad value is named next to its field."""
    org = require_org(org_id, Role.ADMIN)
    form = SettingsForm()
    _fill(form)
    if not form.validate_on_submit():
        return _page(org, form), 400
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        row = db.get_one(Organisation, org.id)
        changes = {
            name: [getattr(row, name), getattr(form, name).data]
            for name in FIELDS
            if getattr(row, name) != getattr(form, name).data
        }
        for name, (_old, new) in changes.items():
            setattr(row, name, new)
        if changes:
            ActivityLog(db, row.id).append(
                kind="settings_changed",
                actor=str(current_user.id),
                occurred_at=now,
                summary="settings changed: "
                + "; ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changes.items()),
                data={"changes": changes},
            )
            _reschedule(db, row, now)
    if changes:
        flash(_("The settings of %(name)s are saved.", name=org.name), "info")
    else:
        flash(_("Nothing was changed."), "info")
    return redirect(url_for("settings.edit", org_id=org.id))


def _reschedule(db: Any, org: Organisation, now: datetime) -> None:
    """Recompute the next collection run from the new time zone, run time and calendar, when the
    scheduler module is part of this installation (it is written alongside the web UI)."""
    try:
        from connector import schedule  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return
    schedule.schedule_organisation(db, org, now)


def _fill(form: SettingsForm) -> None:
    rt = runtime()
    form.fill_choices(rt.clock.now().date())


def _page(org: Organisation, form: SettingsForm) -> str:
    _fill(form)
    rt = runtime()
    may_edit = _is_admin(org)
    return render_template(
        "settings/edit.html",
        org=org,
        form=form,
        may_edit=may_edit,
        button=ButtonForm(),
        reminders=own_reminders(org),
        time_zones=time_zones(),
        locales=COMMON_LOCALES,
        today=local_today(rt.clock, org.timezone),
        next_run=_when(org.next_run_at, org.timezone),
        connection=_connection_of(org),
        platform_name=_display_name(org.platform),
    )


def _display_name(platform: str) -> str:
    named = {p.name: p.display_name for p in runtime().registry.status()}
    return named.get(platform) or platform


def _is_admin(org: Organisation) -> bool:
    with runtime().sessions() as db:
        role = db.scalar(
            select(Membership.role).where(Membership.firm_id == org.firm_id, Membership.user_id == current_user.id)
        )
    return RANK.get(role or "", -1) >= RANK[Role.ADMIN.value]


def _connection_of(org: Organisation) -> str:
    if org.connection_id is None:
        return "none"
    with runtime().sessions() as db:
        return _connection_state(db.scalar(select(Connection.status).where(Connection.id == org.connection_id)))


# -- the double-dunning check ---------------------------------------------------------------------


def own_reminders(org: Organisation) -> OwnReminders:
    """Whether the platform sends reminders of its own for ``org``.

    Calls the platform's optional ``own_reminders_enabled(org_access) -> bool | None`` (a plugin
    without it cannot tell). Any failure, or no answer within the time limit, is
    :attr:`OwnReminders.COULD_NOT_CHECK`: the page still shows.
    """
    rt = runtime()
    if _connection_of(org) != ConnectionStatus.ACTIVE.value:
        return OwnReminders.NOT_CONNECTED
    try:
        platform = rt.platform(org.platform)
        check: Callable[[Any], bool | None] | None = getattr(platform, "own_reminders_enabled", None)
        if check is None:
            return OwnReminders.NOT_DETECTABLE
        access = rt.access(org)
        answer = _within(lambda: check(access), float(current_app.config.get("ARCADENCE_CHECK_SECONDS", CHECK_SECONDS)))
    except TimeoutError:
        log.warning("organisation %s: %s did not say in time whether its own reminders are on", org.id, org.platform)
        return OwnReminders.COULD_NOT_CHECK
    except Exception as exc:  # an advisory check: whatever the platform does, the page shows
        log.warning("organisation %s: checking %s's own reminders failed: %s", org.id, org.platform, exc)
        return OwnReminders.COULD_NOT_CHECK
    if answer is None:
        return OwnReminders.NOT_DETECTABLE
    return OwnReminders.ON if answer else OwnReminders.OFF


def _within(call: Callable[[], bool | None], seconds: float) -> bool | None:
    """``call()`` on a daemon thread; :class:`TimeoutError` when it has not returned after ``seconds``
    (the thread is left to finish on its own: the transport's own timeouts end it)."""
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(("value", call()))
        except BaseException as exc:
            outcome.append(("error", exc))
        finally:
            done.set()

    threading.Thread(target=run, name="own-reminders-check", daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError
    kind, value = outcome[0]
    if kind == "error":
        raise value
    result: bool | None = value
    return result
