"""``arcadence sandbox <platform>``: serve a platform sandbox on its own.

The sandbox speaks the vendor's real paths and payload shapes, so any client — the vendor's own
SDKs included — can be pointed at it. It needs no configuration and no database. The platform's
sandbox class is loaded by name, so the command line does not import plugin code until asked.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click

from connector.clock import SystemClock

SANDBOXES = {
    "quickbooks": "plugins.quickbooks.sandbox:QuickBooksSandbox",
    "xero": "plugins.xero.sandbox:XeroSandbox",
}


def load_sandbox_class(platform: str) -> Any:
    """The sandbox class registered for ``platform`` (``module:Class``)."""
    module_name, _, class_name = SANDBOXES[platform].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


@click.group("sandbox")
def sandbox() -> None:
    """Serve a platform sandbox (an offline emulator of the vendor API) on loopback."""


@sandbox.command("quickbooks")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=0, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--seed", type=click.Choice(["sample", "empty"]), default="sample", show_default=True)
@click.option("--webhook-url", default=None, help="POST signed webhooks here as data changes.")
@click.option("--webhook-format", type=click.Choice(["legacy", "cloudevents"]), default="legacy", show_default=True)
@click.option("--rate-per-minute", default=500, show_default=True, type=int, help="Per-realm API call budget.")
@click.option("--no-control", is_flag=True, help="Do not serve the test-only /_sandbox control API.")
def quickbooks(
    host: str,
    port: int,
    seed: str,
    webhook_url: str | None,
    webhook_format: str,
    rate_per_minute: int,
    no_control: bool,
) -> None:
    """Serve the QuickBooks Online sandbox until Ctrl+C."""
    app = load_sandbox_class("quickbooks")(
        clock=SystemClock(), seed=seed, control=not no_control, rate_per_minute=rate_per_minute
    )
    if webhook_url:
        app.configure_webhooks(url=webhook_url, format=webhook_format, delivery="immediate")

    def describe(base: str) -> list[str]:
        return [
            f"QuickBooks Online sandbox running on {base}",
            f"  company:           {app.company_name()} (realm id {app.realm_id})",
            f"  discovery URL:     {app.discovery_url}   (intuit-oauth: environment=<this URL>)",
            f"  API base:          {app.api_url_v3}   (python-quickbooks: qb.api_url_v3 = <this URL>)",
            f"  client id:         {app.client_id}",
            f"  client secret:     {app.client_secret}",
            f"  webhook verifier:  {app.webhook_verifier}   (intuit-signature = base64 HMAC-SHA256 of the body)",
            f"  webhooks:          {f'{webhook_url} ({webhook_format})' if webhook_url else 'off (--webhook-url)'}",
            f"  control API:       {base + '/_sandbox' if not no_control else 'off'}",
            "  plain http: set OAUTHLIB_INSECURE_TRANSPORT=1 for requests-oauthlib clients. Ctrl+C to stop.",
        ]

    _serve(app, host, port, describe)


def _serve(app: Any, host: str, port: int, describe: Callable[[str], list[str]]) -> None:
    """Listen on ``host:port``, print what ``describe(base_url)`` says, serve until Ctrl+C."""
    from werkzeug.serving import make_server

    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound_host, bound_port = server.socket.getsockname()[:2]
    base = f"http://{bound_host}:{bound_port}"
    app.base_url = base
    click.echo("\n".join(describe(base)), nl=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


@sandbox.command("xero")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=0, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--seed", type=click.Choice(["sample", "empty"]), default="sample", show_default=True)
@click.option("--webhook-url", default=None, help="POST signed webhooks here as data changes.")
@click.option("--per-minute", default=60, show_default=True, type=int, help="Per-tenant API calls per minute.")
@click.option("--per-day", default=5000, show_default=True, type=int, help="Per-tenant API calls per day.")
@click.option("--auto-consent", is_flag=True, help="Connect every organisation without showing the consent page.")
@click.option("--no-control", is_flag=True, help="Do not serve the test-only /_sandbox control API.")
def xero(
    host: str,
    port: int,
    seed: str,
    webhook_url: str | None,
    per_minute: int,
    per_day: int,
    auto_consent: bool,
    no_control: bool,
) -> None:
    """Serve the Xero sandbox until Ctrl+C."""
    app = load_sandbox_class("xero")(
        clock=SystemClock(), seed=seed, control=not no_control, per_minute=per_minute, per_day=per_day,
        auto_consent=auto_consent,
    )  # fmt: skip
    if webhook_url:
        app.configure_webhooks(url=webhook_url, delivery="immediate")

    def describe(base: str) -> list[str]:
        app.webhooks.resource_base = app.api_base
        tenants = [f"  tenant:            {tid}  {org.info['Name']}" for tid, org in app.organisations.items()]
        return [
            f"Xero sandbox running on {base}",
            *tenants,
            f"  identity URL:      {app.identity_url}   (token: /connect/token, revocation: /connect/revocation)",
            f"  authorize URL:     {app.authorize_url}",
            f"  discovery:         {app.identity_url}/.well-known/openid-configuration",
            f"  connections:       {app.connections_url}",
            f"  API base:          {app.api_base}   (send xero-tenant-id on every call)",
            f"  client id:         {app.client_id}",
            f"  client secret:     {app.client_secret}",
            f"  webhook key:       {app.webhook_key}   (x-xero-signature = base64 HMAC-SHA256 of the body)",
            f"  webhooks:          {webhook_url or 'off (--webhook-url)'}",
            f"  control API:       {base + '/_sandbox' if not no_control else 'off'}",
            "  plain http: set OAUTHLIB_INSECURE_TRANSPORT=1 for requests-oauthlib clients. Ctrl+C to stop.",
        ]

    _serve(app, host, port, describe)
