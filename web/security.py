"""Session cookies and the security headers every response carries.

The Content-Security-Policy allows scripts, styles, images and fonts from this origin only, so
an injected ``<script>`` or ``style=`` does nothing: templates keep their CSS in
``static/app.css`` and any script in ``static/<area>.js``. There is deliberately no
``form-action`` directive: Chrome applies it to the redirect that follows a form, and the
"Connect" form redirects to the platform's consent page on another origin.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

CSP = "; ".join(
    (
        "default-src 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    )
)

#: Sent on every response.
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    # Reset and invitation links carry their token in the path: never hand it to another site.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
#: Sent in production only (served over HTTPS there; a local http:// run must stay reachable).
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask, *, production: bool) -> None:
    """Set the session cookie flags and add the headers to every response of ``app``.

    Call it before the caller's config overrides, so tests may still change a flag.
    """
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
        ARCADENCE_HSTS=production,
    )
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    from flask import current_app

    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("ARCADENCE_HSTS"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static":
        # Pages show one firm's ledger and carry tokens: no shared or back-button cache keeps them.
        response.headers.setdefault("Cache-Control", "no-store")
    return response
