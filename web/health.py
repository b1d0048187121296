"""Health and status: ``/healthz`` for load balancers and process monitors (public: says only
whether the database answers), and one organisation's operating status for its members (last and
next sync, next collection run, connection, parking, outbox backlog, sends in doubt, quarantined
records) from the same queries as ``arcadence status`` (``connector.status``).
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, render_template, request
from flask_login import login_required
from werkzeug.wrappers import Response

from connector.db import Role
from connector.status import database_answers, open_quarantine, organisation_statuses
from web import runtime
from web.auth import require_org

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 when it does not; nothing else is revealed."""
    if database_answers(runtime().engine):
        return jsonify(status="ok", database="ok"), 200
    log.warning("health check: the database does not answer")
    return jsonify(status="unavailable", database="unreachable"), 503


@bp.get("/orgs/<int:org_id>/status")
@login_required
def org_status(org_id: int) -> tuple[str | Response, int]:
    """Where the organisation stands (HTML, or JSON when the client asks for it)."""
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    with rt.sessions() as session:
        (row,) = organisation_statuses(session, rt.clock.now(), [org.id])
        quarantined = open_quarantine(session, org.id, limit=20) if row.quarantined else []
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return jsonify(row.as_dict()), 200
    return render_template("health/status.html", org=org, row=row, quarantined=quarantined), 200
