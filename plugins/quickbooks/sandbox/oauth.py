"""Intuit's OAuth 2.0 / OpenID Connect endpoints on the sandbox.

- Discovery document: openid_discovery.dotnet-sdk.json with the sandbox's own URLs, served at
  ``/.well-known/openid_configuration`` (with and without the trailing slash intuit-oauth uses).
- Authorize: an auto-approving consent page; redirects with ``code``, ``state``, ``realmId``
  (notes §2.1), or ``error=access_denied`` when the user cancels or the control API says so.
- Token: authorization_code and refresh_token grants, HTTP Basic (or ``client_secret_post``)
  client auth; access tokens live 3600 s; refresh tokens rotate, the old one works 24 h more
  (notes §0.2, §2.3); ``x_refresh_token_expires_in`` 8726400 (token_response_body sample);
  ``x_refresh_token_hard_expires_in`` when ``x-include-refresh-token-hard-expires-in: true`` is sent;
  ``invalid_grant`` body from token_error_invalid_grant.python-quickbooks-issue397.raw.json.
- Revoke (RFC 7009: 200 for any token), userinfo (``givenName``, ``familyName``, ``email``,
  ``emailVerified``) and a JWKS.
- ``id_token`` (only when ``openid`` was granted) is an RS256 JWT signed with a key generated per
  process and published at ``jwks_uri``, so intuit-oauth's validator can check it. Its ``exp``
  follows the sandbox clock while intuit-oauth compares with the wall clock: with a fixed clock in
  the past the library silently drops the token (it does not fail).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from werkzeug.wrappers import Request, Response

from connector.sandboxkit import InvalidGrant, TokenPair, rsa_signing_key

ACCESS_TTL = timedelta(seconds=3600)
REFRESH_TTL = timedelta(seconds=8726400)
ROTATION_GRACE = timedelta(hours=24)
HARD_TTL = timedelta(days=5 * 365)  # the five-year maximum (Intuit blog 2025-11-12, notes §2.3)
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
_KID = "arcadence-sandbox-1"


def _json(payload: Any, status: int = 200) -> Response:
    response = Response(json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


class OAuthRoutes:
    """Mixin of :class:`plugins.quickbooks.sandbox.QuickBooksSandbox`: the ``/connect`` and ``/oauth2`` side."""

    # Provided by the sandbox class.
    client_id: str
    client_secret: str
    realm_id: str
    auto_consent: bool
    redirect_uris: tuple[str, ...] | None
    user: dict[str, Any]
    authorize_errors: list[str]
    tokens: Any
    clock: Any

    def discovery(self, request: Request) -> Response:
        """The OpenID discovery document pointing at this sandbox."""
        base = request.host_url.rstrip("/")
        return _json(
            {
                "issuer": f"{base}/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
                "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
                "jwks_uri": f"{base}/op/v1/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile", "address", "phone"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            }
        )

    def authorize(self, request: Request) -> Response:
        """The consent step: a page with Connect/Cancel, or an immediate redirect when automatic."""
        params = request.form if request.method == "POST" else request.args
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        scope, state = params.get("scope", ""), params.get("state", "")
        if client_id != self.client_id:
            return _page("Invalid client", "The client_id is not known to this sandbox.", 400)
        if not redirect_uri or (self.redirect_uris is not None and redirect_uri not in self.redirect_uris):
            return _page("Invalid redirect_uri", "The redirect_uri is not registered for this app.", 400)
        if params.get("response_type", "code") != "code" or not scope.split():
            return _redirect(redirect_uri, {"error": "invalid_request", "state": state})
        decision = params.get("decision")
        if decision is None and self.authorize_errors:
            return _redirect(redirect_uri, {"error": self.authorize_errors.pop(0), "state": state})
        if decision == "deny":
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        if decision == "approve" or self.auto_consent or params.get("auto") == "1":
            code = self.tokens.issue_code(client_id, redirect_uri, self.realm_id, scope.split())
            return _redirect(redirect_uri, {"code": code, "state": state, "realmId": self.realm_id})
        return _consent_page(request.path, params, self.company_name())

    def token(self, request: Request) -> Response:
        """The token endpoint (both grants)."""
        client_id, secret = _client_credentials(request)
        if client_id != self.client_id or secret != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        grant_type = request.form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                pair = self.tokens.redeem_code(
                    request.form.get("code", ""), client_id, request.form.get("redirect_uri", "")
                )
            elif grant_type == "refresh_token":
                pair = self.tokens.refresh(client_id, request.form.get("refresh_token", ""))
            else:
                return _json({"error": "unsupported_grant_type"}, 400)
        except InvalidGrant:
            if grant_type == "refresh_token":
                return _json({"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}, 400)
            return _json({"error": "invalid_grant"}, 400)
        hard = request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
        return _json(self._token_body(pair, request, hard))

    def _token_body(self, pair: TokenPair, request: Request, hard: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "openid" in pair.grant.scopes:
            body["id_token"] = self._id_token(pair, request.host_url.rstrip("/"))
        body.update(
            expires_in=pair.expires_in,
            token_type="bearer",  # noqa: S106 (a type name, not a secret)
            x_refresh_token_expires_in=pair.refresh_expires_in,
            refresh_token=pair.refresh_token,
            access_token=pair.access_token,
        )
        if hard:
            body["x_refresh_token_hard_expires_in"] = pair.hard_expires_in
        return body

    def _id_token(self, pair: TokenPair, base: str) -> str:
        now = int(self.clock.now().timestamp())
        claims = {
            "sub": self.user["sub"],
            "aud": [self.client_id],
            "realmid": self.realm_id,
            "auth_time": int(pair.grant.created_at.timestamp()),
            "iss": f"{base}/op/v1",
            "exp": now + pair.expires_in,
            "iat": now,
        }
        return jwt.encode(claims, rsa_signing_key(), algorithm="RS256", headers={"kid": _KID})

    def jwks(self, request: Request) -> Response:
        """The public key of the ``id_token`` signatures."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_signing_key().public_key()))
        return _json({"keys": [{**jwk, "kid": _KID, "use": "sig", "alg": "RS256"}]})

    def revoke(self, request: Request) -> Response:
        """Revoke the grant behind a token (JSON ``{"token": …}`` as intuit-oauth sends it, or a form)."""
        client_id, secret = _client_credentials(request)
        if client_id != self.client_id or secret != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        try:
            token = json.loads(request.get_data() or b"{}").get("token")
        except (ValueError, AttributeError):
            token = request.form.get("token")
        if not token:
            return _json({"error": "invalid_request"}, 400)
        self.tokens.revoke(str(token))
        return Response(b"", status=200)

    def userinfo(self, request: Request) -> Response:
        """The signed-in user's profile for the granted OpenID scopes."""
        header = request.headers.get("Authorization", "")
        grant = self.tokens.authenticate(header[7:]) if header.startswith("Bearer ") else None
        if grant is None or "openid" not in grant.scopes:
            return _json({"error": "invalid_token"}, 401)
        info: dict[str, Any] = {"sub": self.user["sub"]}
        if "profile" in grant.scopes:
            info.update(givenName=self.user["givenName"], familyName=self.user["familyName"])
        if "email" in grant.scopes:
            info.update(email=self.user["email"], emailVerified=True)
        return _json(info)

    def company_name(self) -> str:
        """The sandbox company's name (shown on the consent page)."""
        raise NotImplementedError


def _client_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return client_id, secret
    return request.form.get("client_id", ""), request.form.get("client_secret", "")


def _redirect(uri: str, params: dict[str, str]) -> Response:
    separator = "&" if "?" in uri else "?"
    response = Response(status=302)
    response.headers["Location"] = f"{uri}{separator}{urlencode(params)}"
    return response


def _page(title: str, text: str, status: int) -> Response:
    body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    return Response(body, status=status, mimetype="text/html")


def _consent_page(action: str, params: Any, company: str) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k in {"client_id", "redirect_uri", "scope", "state", "response_type"}
    )
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Connect to QuickBooks (sandbox)</title>"
        "</head><body><h1>Connect to QuickBooks</h1>"
        f"<p>An app wants access to <strong>{html.escape(company)}</strong> "
        f"(scopes: {html.escape(params.get('scope', ''))}).</p>"
        f"<form method='post' action='{html.escape(action)}'>{hidden}"
        "<button type='submit' name='decision' value='approve' id='approve'>Connect</button> "
        "<button type='submit' name='decision' value='deny' id='deny'>Cancel</button>"
        "</form><p><small>arcadence QuickBooks sandbox: nothing here talks to Intuit.</small></p></body></html>"
    )
    return Response(body, status=200, mimetype="text/html")
