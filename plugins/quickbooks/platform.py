"""The QuickBooks Online platform: registered now, implemented by issue #5.

Until then every platform call raises ``NotImplementedError`` naming the plugin and the issue;
the landing page and ``arcadence version`` show it as not yet available.
"""

from __future__ import annotations

from connector.platform import UnfinishedPlatform


class QuickBooksPlatform(UnfinishedPlatform):
    """QuickBooks Online (realm = organisation)."""

    name = "quickbooks"
    display_name = "QuickBooks Online"
    issue = 5
