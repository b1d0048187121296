"""The payer's self-service page at ``/pay/<token>`` (issue 10): no account, a signed link."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("portal", __name__)
