"""Webhook deliveries: verify the signature over the raw bytes, store, answer 200 at once.

The work (fetching what changed) happens later, from the inbox (``connector.webhooks``): QBO wants
200 within 3 s and Xero within 5 s, or they retry and eventually disable the subscription.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request

from connector.errors import PluginError
from connector.webhooks import receive
from web import runtime

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.post("/<name>")
def deliver(name: str) -> Response:
    """401 for a bad signature, else 200 with no body (an unreadable signed body is kept for support)."""
    rt = runtime()
    try:
        platform = rt.platform(name)
    except PluginError:
        abort(404)
    body = request.get_data(cache=False)
    if not platform.verify_webhook(body, dict(request.headers)):
        log.warning("%s webhook with a bad signature refused", name)
        return Response(status=401)
    stored = receive(rt.sessions, platform, body, now=rt.clock.now())
    log.info("%s webhook: %d new event(s) stored", name, stored)
    return Response(status=200)
