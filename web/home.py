"""The landing page: what is connected and what is not, said plainly.

Anonymous visitors see the platforms only; a signed-in user sees the organisations of their
firms (never anyone else's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from connector.db import Connection, Membership, Organisation
from web import runtime
from web.forms import ButtonForm

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """Platforms with their state (and a connect button when configured), and the user's organisations."""
    rt = runtime()
    rows: Sequence[Any] = []
    if current_user.is_authenticated:
        with rt.sessions() as session:
            rows = session.execute(
                select(
                    Organisation.id,
                    Organisation.name,
                    Organisation.platform,
                    Connection.status,
                    Organisation.last_sync_at,
                )
                .join(Membership, Membership.firm_id == Organisation.firm_id)
                .outerjoin(Connection, Organisation.connection_id == Connection.id)
                .where(Membership.user_id == current_user.id)
                .order_by(Organisation.name)
            ).all()
    return render_template(
        "home/index.html",
        platforms=rt.registry.status(),
        configured=set(rt.configs),
        organisations=rows,
        database=_("SQLite (embedded)") if rt.settings.is_sqlite else "PostgreSQL",
        form=ButtonForm(),
    )
