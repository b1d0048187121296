"""A stateful emulator of the QuickBooks Online API for tests and the offline demo.

``QuickBooksSandbox`` is a WSGI app; ``sandbox.serve()`` runs it on a free loopback port. See
``plugins/quickbooks/README.md`` ("The sandbox") for what is faithful, what is simplified and why.
"""

from plugins.quickbooks.sandbox.app import DEFAULT_REALM, QuickBooksSandbox
from plugins.quickbooks.sandbox.webhooks import sign

__all__ = ["DEFAULT_REALM", "QuickBooksSandbox", "sign"]
