"""Storage: SQLAlchemy 2 models (one module per area), sessions, migrations, repositories.

Importing this package registers every table on :data:`Base.metadata` (what Alembic compares).
"""

from connector.db.accounts import (
    Connection,
    ConnectionStatus,
    Firm,
    Invitation,
    LoginAttempt,
    Membership,
    Organisation,
    RateBudget,
    Role,
    SyncCursor,
    User,
)
from connector.db.base import Base
from connector.db.collections import (
    Activity,
    MessageTemplate,
    OutboxMessage,
    OutboxStatus,
    Pause,
    Policy,
    PolicyStep,
    Task,
    TaskStatus,
)
from connector.db.ledger import Contact, Credit, CreditAllocation, Customer, Invoice, Payment, PaymentAllocation
from connector.db.plumbing import QuarantinedRecord, WebhookEvent

__all__ = [
    "Activity",
    "Base",
    "Connection",
    "ConnectionStatus",
    "Contact",
    "Credit",
    "CreditAllocation",
    "Customer",
    "Firm",
    "Invitation",
    "Invoice",
    "LoginAttempt",
    "Membership",
    "MessageTemplate",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "Pause",
    "Payment",
    "PaymentAllocation",
    "Policy",
    "PolicyStep",
    "QuarantinedRecord",
    "RateBudget",
    "Role",
    "SyncCursor",
    "Task",
    "TaskStatus",
    "User",
    "WebhookEvent",
]

# The append-only guard on activities is a session event: registering it is part of importing storage.
from connector.db import activity as _activity  # noqa: F401
