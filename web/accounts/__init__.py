"""Local accounts: sign-in with e-mail and password (rate-limited), reset by an e-mailed signed
link, the UI language, and the firm's members, roles and invitations.

One blueprint, ``accounts``, split by concern: ``signin`` (sign-in, reset, language), ``firm``
(members, roles, invitations), ``throttle`` (the login rate limit), ``links`` (the signed and
hashed tokens the e-mails carry, and sending them), ``forms``.

There is no local sign-up: a firm is created by the first sign-in through Intuit or Xero (the
consent that connects its first company, ``connector.connect.store_grant``), and everybody else
joins a firm by invitation. Someone who came through a platform sets a local password with the
reset link.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_babel import get_locale

bp = Blueprint("accounts", __name__)


@bp.app_context_processor
def _layout() -> dict[str, object]:
    """What ``base.html`` needs on every page: which endpoints exist (the navigation links only
    to built areas), the UI language, and the current path (the language switch comes back to it)."""

    def has_endpoint(name: str) -> bool:
        return name in current_app.view_functions

    here = request.full_path.rstrip("?") if request else "/"
    return {"has_endpoint": has_endpoint, "current_locale": str(get_locale() or "en"), "here": here}


from web.accounts import firm, signin  # noqa: E402  (the views register themselves on bp)

__all__ = ["bp", "firm", "signin"]
