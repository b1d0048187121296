"""A stateful emulator of the Xero identity and accounting APIs for tests and the offline demo.

``XeroSandbox`` is a WSGI app; ``sandbox.serve()`` runs it on a free loopback port. See
``plugins/xero/README.md`` ("The sandbox") for what is faithful, what is simplified and why.
"""

from plugins.xero.sandbox.app import XeroSandbox
from plugins.xero.sandbox.seed import TENANTS
from plugins.xero.sandbox.webhooks import sign

__all__ = ["TENANTS", "XeroSandbox", "sign"]
