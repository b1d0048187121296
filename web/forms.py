"""Flask-WTF forms shared by the blueprints."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ButtonForm(FlaskForm):
    """An empty form: a button that changes state, protected by the CSRF token."""
