"""The Xero platform: registered now, implemented by issue #7.

Until then every platform call raises ``NotImplementedError`` naming the plugin and the issue;
the landing page and ``arcadence version`` show it as not yet available.
"""

from __future__ import annotations

from connector.platform import UnfinishedPlatform


class XeroPlatform(UnfinishedPlatform):
    """Xero (tenant = organisation)."""

    name = "xero"
    display_name = "Xero"
    issue = 7
