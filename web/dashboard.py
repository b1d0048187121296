"""The dashboard: one organisation, and the firm's organisations together (issue 10)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
