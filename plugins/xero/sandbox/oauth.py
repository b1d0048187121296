"""Xero's identity side on the sandbox: authorize, token, revocation, OpenID, connections.

- Authorize (``/identity/connect/authorize``, login.xero.com in real life): a consent page that
  lists the organisations with a checkbox each and Allow/Cancel buttons; ``auto_consent`` (or
  ``?auto=1``) connects the default tenants at once. With ``code_challenge`` the method must be
  ``S256`` (notes §2, pkce-flow); the redirect carries ``code``, ``scope``, ``state``,
  ``session_state``. Each consent is an *auth event*: its tenants become connections with that
  ``authEventId`` (notes §2 "Connections").
- Token (``/connect/token``): ``authorization_code`` (with ``code_verifier`` when PKCE; a PKCE
  client sends no secret) and ``refresh_token``. Access tokens are RS256 JWTs valid 1800 s with
  ``authentication_event_id``; every refresh rotates the refresh token, the superseded one works
  30 minutes more, unused refresh tokens die after 60 days (notes §0.4, §2 "Lifetimes"). No
  ``refresh_token`` without ``offline_access``; ``id_token`` only with ``openid``. Errors:
  400 ``{"error":"invalid_grant"}`` (token_error_invalid_grant.json). Body key order as in
  token_refresh_response.xero-python-cassette.json.
- Revocation (``/connect/revocation``, ``token=<refresh_token>``): ends the grant and removes its
  connections (notes §2 "Revoke everything").
- ``GET /connections`` (``?authEventId=``), ``DELETE /connections/{id}`` → 204 (connections.spec.json).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from werkzeug.wrappers import Request, Response

from connector.sandboxkit import Grant, InvalidGrant, TokenAuthority, TokenPair, rsa_signing_key
from plugins.xero.sandbox import wire

ACCESS_TTL = timedelta(seconds=1800)
REFRESH_TTL = timedelta(days=60)  # "Unused refresh tokens expire after 60 days" (notes §2)
ROTATION_GRACE = timedelta(minutes=30)  # retry the old refresh token for 30 minutes (notes §0.4)
HARD_TTL = timedelta(days=3650)  # no absolute lifetime is documented
CODE_TTL = timedelta(minutes=5)
ISSUER = "https://identity.xero.com"
_KID = "arcadence-xero-sandbox-1"


def _json(payload: Any, status: int = 200) -> Response:
    response = Response(json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store, no-cache, max-age=0"
    response.headers["Pragma"] = "no-cache"
    return response


class OAuthRoutes:
    """Mixin of :class:`plugins.xero.sandbox.XeroSandbox`: identity and connections."""

    client_id: str
    client_secret: str
    auto_consent: bool
    redirect_uris: tuple[str, ...] | None
    user: dict[str, str]
    authorize_errors: list[str]
    tokens: TokenAuthority
    clock: Any
    organisations: dict[str, Any]
    consent_tenants: list[str]
    connections: dict[str, dict[str, Any]]
    auth_events: dict[str, list[str]]
    conn_lock: threading.RLock

    def make_authority(self) -> TokenAuthority:
        """The token authority with Xero's lifetimes and JWT access tokens."""
        return TokenAuthority(
            self.clock, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL, rotation_grace=ROTATION_GRACE,
            hard_ttl=HARD_TTL, code_ttl=CODE_TTL, access_factory=self._access_jwt,
        )  # fmt: skip

    def _access_jwt(self, grant: Grant, issued: datetime, expires: datetime) -> str:
        claims = {
            "nbf": int(issued.timestamp()), "exp": int(expires.timestamp()), "iss": ISSUER,
            "aud": f"{ISSUER}/resources", "client_id": grant.client_id, "sub": self.user["sub"],
            "auth_time": int(grant.created_at.timestamp()), "xero_userid": self.user["xero_userid"],
            "global_session_id": grant.grant_id, "jti": secrets.token_hex(16),
            "authentication_event_id": grant.subject, "scope": list(grant.scopes),
        }  # fmt: skip
        return jwt.encode(claims, rsa_signing_key(), algorithm="RS256", headers={"kid": _KID})

    # ----- OpenID -----------------------------------------------------------------------------

    def discovery(self, request: Request) -> Response:
        """``/.well-known/openid-configuration`` with the sandbox's own URLs."""
        base = request.host_url.rstrip("/")
        return _json(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{base}/identity/connect/authorize",
                "token_endpoint": f"{base}/connect/token",
                "userinfo_endpoint": f"{base}/connect/userinfo",
                "revocation_endpoint": f"{base}/connect/revocation",
                "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "subject_types_supported": ["public"],
            }
        )

    def jwks(self, request: Request) -> Response:
        """The public key of the token signatures."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_signing_key().public_key()))
        return _json({"keys": [{**jwk, "kid": _KID, "use": "sig", "alg": "RS256"}]})

    def userinfo(self, request: Request) -> Response:
        """The user's profile for the granted OpenID scopes."""
        grant = self.bearer_grant(request)
        if grant is None or "openid" not in grant.scopes:
            return _json({"error": "invalid_token"}, 401)
        info = {"sub": self.user["sub"], "xero_userid": self.user["xero_userid"]}
        if "profile" in grant.scopes:
            info.update(given_name=self.user["given_name"], family_name=self.user["family_name"])
        if "email" in grant.scopes:
            info.update(email=self.user["email"], preferred_username=self.user["email"])
        return _json(info)

    def bearer_grant(self, request: Request) -> Grant | None:
        """The live grant behind the request's bearer token."""
        header = request.headers.get("Authorization", "")
        return self.tokens.authenticate(header[7:].strip()) if header[:7].lower() == "bearer " else None

    # ----- authorize --------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        """The consent step: a page with the organisations and Allow/Cancel, or an immediate redirect."""
        params = request.form if request.method == "POST" else request.args
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        scope, state = params.get("scope", ""), params.get("state", "")
        if client_id != self.client_id:
            return _page("unauthorized_client", "Unknown client or client not enabled", 400)
        if not redirect_uri or (self.redirect_uris is not None and redirect_uri not in self.redirect_uris):
            return _page("Invalid redirect_uri", "The redirect_uri is not registered for this app.", 400)
        if params.get("response_type", "code") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        challenge = params.get("code_challenge") or None
        if challenge is not None and params.get("code_challenge_method") != "S256":
            return _redirect(redirect_uri, {"error": "invalid_request", "state": state})
        if not scope.split():
            return _redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        decision = params.get("decision")
        if decision is None and self.authorize_errors:
            return _redirect(redirect_uri, {"error": self.authorize_errors.pop(0), "state": state})
        if decision == "deny":
            return _redirect(redirect_uri, {"error": "access_denied", "state": state})
        if decision == "approve" or self.auto_consent or params.get("auto") == "1":
            chosen = request.form.getlist("tenant") if decision == "approve" else list(self.consent_tenants)
            chosen = [t for t in chosen if t in self.organisations]
            if not chosen:
                return _redirect(redirect_uri, {"error": "access_denied", "state": state})
            event = self._consent(chosen)
            code = self.tokens.issue_code(client_id, redirect_uri, event, scope.split(), challenge)
            answer = {"code": code, "scope": scope, "state": state, "session_state": secrets.token_urlsafe(16)}
            return _redirect(redirect_uri, answer)
        return self._consent_page(request.path, params)

    def _consent(self, tenants: list[str]) -> str:
        """Record an auth event: each chosen tenant's connection is created or re-stamped."""
        event = str(uuid.uuid4())
        now = self.clock.now()
        with self.conn_lock:
            self.auth_events[event] = tenants
            for tenant in tenants:
                found = next((c for c in self.connections.values() if c["tenantId"] == tenant), None)
                if found is None:
                    org = self.organisations[tenant]
                    found = {
                        "id": str(uuid.uuid4()), "authEventId": event, "tenantId": tenant,
                        "tenantType": "ORGANISATION", "tenantName": org.info["Name"],
                        "createdDateUtc": wire.iso7(now), "updatedDateUtc": wire.iso7(now),
                    }  # fmt: skip
                    self.connections[found["id"]] = found
                found.update(authEventId=event, updatedDateUtc=wire.iso7(now))
        return event

    def _consent_page(self, action: str, params: Any) -> Response:
        keep = {"client_id", "redirect_uri", "scope", "state", "response_type", "code_challenge",
                "code_challenge_method"}  # fmt: skip
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k in keep
        )
        boxes = "".join(
            f"<li><label><input type='checkbox' name='tenant' value='{html.escape(tid)}' checked> "
            f"{html.escape(org.info['Name'])}</label></li>"
            for tid, org in self.organisations.items()
        )
        body = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Xero (sandbox): allow access</title>"
            "</head><body><h1>Allow access to your Xero organisations</h1>"
            f"<p>An app asks for: {html.escape(params.get('scope', ''))}</p>"
            f"<form method='post' action='{html.escape(action)}'>{hidden}<ul>{boxes}</ul>"
            "<button type='submit' name='decision' value='approve' id='approve'>Allow access</button> "
            "<button type='submit' name='decision' value='deny' id='deny'>Cancel</button>"
            "</form><p><small>arcadence Xero sandbox: nothing here talks to Xero.</small></p></body></html>"
        )
        return Response(body, status=200, mimetype="text/html")

    # ----- token, revocation ------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        """The token endpoint (authorization_code with optional PKCE, refresh_token)."""
        client_id, secret = _client_credentials(request)
        if client_id != self.client_id or (secret and secret != self.client_secret):
            return _json({"error": "invalid_client"}, 400)
        grant_type = request.form.get("grant_type")
        try:
            if grant_type == "authorization_code":
                verifier = request.form.get("code_verifier") or None
                if not secret and not verifier:
                    return _json({"error": "invalid_client"}, 400)
                pair = self.tokens.redeem_code(
                    request.form.get("code", ""), client_id, request.form.get("redirect_uri", ""), verifier
                )
                self._bind_connections(pair.grant)
            elif grant_type == "refresh_token":
                presented = request.form.get("refresh_token", "")
                known = self.tokens.grant_of(presented)
                if not secret and (known is None or not known.pkce):
                    return _json({"error": "invalid_client"}, 400)
                pair = self.tokens.refresh(client_id, presented)
            else:
                return _json({"error": "unsupported_grant_type"}, 400)
        except InvalidGrant:
            return _json({"error": "invalid_grant"}, 400)
        return _json(self._token_body(pair))

    def _bind_connections(self, grant: Grant) -> None:
        with self.conn_lock:
            tenants = self.auth_events.get(grant.subject, [])
            for connection in self.connections.values():
                if connection["tenantId"] in tenants and connection["authEventId"] == grant.subject:
                    connection["_grant"] = grant.grant_id

    def _token_body(self, pair: TokenPair) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if "openid" in pair.grant.scopes:
            body["id_token"] = self._id_token(pair)
        body.update(access_token=pair.access_token, expires_in=pair.expires_in, token_type="Bearer")  # noqa: S106
        if "offline_access" in pair.grant.scopes:
            body["refresh_token"] = pair.refresh_token
        body["scope"] = " ".join(pair.grant.scopes)
        return body

    def _id_token(self, pair: TokenPair) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "nbf": now, "exp": now + 300, "iss": ISSUER, "aud": self.client_id, "iat": now,
            "auth_time": int(pair.grant.created_at.timestamp()), "sub": self.user["sub"],
            "xero_userid": self.user["xero_userid"], "global_session_id": pair.grant.grant_id,
        }  # fmt: skip
        if "email" in pair.grant.scopes:
            claims.update(email=self.user["email"], preferred_username=self.user["email"])
        if "profile" in pair.grant.scopes:
            claims.update(given_name=self.user["given_name"], family_name=self.user["family_name"])
        return jwt.encode(claims, rsa_signing_key(), algorithm="RS256", headers={"kid": _KID})

    def revocation(self, request: Request) -> Response:
        """Revoke the grant behind a refresh (or access) token and drop its connections."""
        client_id, secret = _client_credentials(request)
        if client_id != self.client_id or (secret and secret != self.client_secret):
            return _json({"error": "invalid_client"}, 400)
        token = request.form.get("token", "")
        if not token:
            return _json({"error": "invalid_request"}, 400)
        grant = self.tokens.grant_of(token)
        if grant is not None and self.tokens.revoke(token):
            with self.conn_lock:
                for cid in [c for c, v in self.connections.items() if v.get("_grant") == grant.grant_id]:
                    del self.connections[cid]
        return Response(b"", status=200)

    # ----- connections ------------------------------------------------------------------------

    def list_connections(self, request: Request) -> Response:
        """``GET /connections`` (optionally ``?authEventId=``)."""
        if self.bearer_grant(request) is None:
            return wire.unauthorized(None)
        wanted = request.args.get("authEventId")
        with self.conn_lock:
            rows = [
                {k: v for k, v in c.items() if not k.startswith("_")}
                for c in self.connections.values()
                if wanted is None or c["authEventId"] == wanted
            ]
        return _json(rows)

    def delete_connection(self, request: Request, connection_id: str) -> Response:
        """``DELETE /connections/{id}``: disconnect one tenant (the id is the connection's, not the tenant's)."""
        if self.bearer_grant(request) is None:
            return wire.unauthorized(None)
        with self.conn_lock:
            if self.connections.pop(connection_id, None) is None:
                return wire.not_found()
        return Response(b"", status=204)

    def connected(self, tenant_id: str) -> bool:
        """Whether the user's app has a connection to ``tenant_id``."""
        with self.conn_lock:
            return any(c["tenantId"] == tenant_id for c in self.connections.values())


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
