"""Demo mode for ``make run``: the platform sandboxes, served in this process, stand in for
QuickBooks (and later Xero) when no real OAuth client is configured outside production.

Everything stays on loopback: the sandbox's consent page approves with one click, its sample
company syncs like a real one, and its webhooks are signed and posted to this app.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.config import Settings
from connector.platform import PlatformConfig
from connector.registry import Registry


def start_sandboxes(settings: Settings) -> tuple[dict[str, PlatformConfig], list[str], Callable[[], None]]:
    """Start the QuickBooks sandbox with its sample company.

    Returns:
        The platform configs pointing at it, lines describing it for the console, and a stop function.
    """
    sandbox = Registry().sandbox_class("quickbooks")(seed="sample")
    base = sandbox.serve(settings.host, 0)
    sandbox.configure_webhooks(url=f"{settings.public_url}/webhooks/quickbooks", format="legacy", delivery="immediate")
    config = PlatformConfig(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        redirect_uri=f"{settings.public_url}/connect/quickbooks/callback",
        identity_url=sandbox.discovery_url,
        api_base=sandbox.api_url_v3,
        webhook_key=sandbox.webhook_verifier,
    )
    lines = [f"demo: QuickBooks Online sandbox on {base} ({sandbox.company_name()}): click 'Connect' to use it"]
    return {"quickbooks": config}, lines, sandbox.stop
