"""The landing page: what is connected and what is not, said plainly."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import func, select

from connector.db import Connection, Organisation

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """List the platforms with their state and the organisations with their connection state."""
    ext = current_app.extensions["arcadence"]
    with ext["sessions"]() as session:
        rows = session.execute(
            select(Organisation.name, Organisation.platform, Connection.status, Organisation.last_sync_at)
            .outerjoin(Connection, Organisation.connection_id == Connection.id)
            .order_by(Organisation.name)
        ).all()
        total = session.scalar(select(func.count()).select_from(Organisation)) or 0
    return render_template(
        "home/index.html",
        platforms=ext["registry"].status(),
        organisations=rows,
        total=total,
        database="SQLite (embedded)" if ext["settings"].is_sqlite else "PostgreSQL",
    )
