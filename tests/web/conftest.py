"""Web fixtures: the personas' world with a small ledger in each organisation, so that every
route that takes an object id (customer, invoice, task, message, policy, template) can be walked
with a real id of the right organisation and with a forged one from the other firm."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.db import (
    Contact,
    Customer,
    Invoice,
    MessageTemplate,
    OutboxMessage,
    Pause,
    Policy,
    PolicyStep,
    Task,
)
from tests.personas import NOW, World


def seed_objects(sessions: sessionmaker[Session], org_id: int, tag: str) -> dict[str, int]:
    """One of each object the firm UI works on, in ``org_id``; returns their ids by URL argument name."""
    with sessions.begin() as s:
        customer = Customer(
            organisation_id=org_id, external_id=f"{tag}-C1", name=f"{tag} Kunde GmbH", language="de", synced_at=NOW
        )
        s.add(customer)
        s.flush()
        s.add(
            Contact(organisation_id=org_id, customer_id=customer.id, email=f"ap@{tag.lower()}.example", is_primary=True)
        )
        invoice = Invoice(
            organisation_id=org_id,
            customer_id=customer.id,
            external_id=f"{tag}-I1",
            number=f"{tag}-1001",
            issue_date=date(2026, 1, 10),
            due_date=date(2026, 2, 9),
            currency="EUR",
            total=Decimal("1190.00"),
            balance=Decimal("1190.00"),
            status="open",
            synced_at=NOW,
        )
        policy = Policy(
            organisation_id=org_id,
            name="Standard",
            active=True,
            min_balance=Decimal("10"),
            created_at=NOW,
            updated_at=NOW,
        )
        s.add_all([invoice, policy])
        s.flush()
        s.add(
            PolicyStep(
                organisation_id=org_id,
                policy_id=policy.id,
                step_key="s1",
                position=0,
                offset_days=3,
                level=1,
                action="email",
                template_key="friendly_reminder",
            )
        )
        task = Task(organisation_id=org_id, customer_id=customer.id, kind="call", title="Call AP", created_at=NOW)
        message = OutboxMessage(
            organisation_id=org_id,
            dedupe_key=f"{tag}-dedupe",
            customer_id=customer.id,
            currency="EUR",
            step_key="s1",
            level=1,
            action="email",
            template_key="friendly_reminder",
            planned_date=date(2026, 3, 10),
            invoice_ids=f"{tag}-I1",
            payload={"invoices": [{"id": f"{tag}-I1", "step": "s1", "level": 1}]},
            created_at=NOW,
        )
        pause = Pause(
            organisation_id=org_id,
            customer_id=customer.id,
            invoice_id=invoice.id,
            kind="dispute",
            since_date=date(2026, 3, 1),
            created_by="system",
            created_at=NOW,
        )
        template = MessageTemplate(
            organisation_id=org_id,
            template_key="friendly_reminder",
            level=1,
            language="de",
            subject="Erinnerung",
            body_text="Hallo",
            updated_at=NOW,
        )
        s.add_all([task, message, pause, template])
        s.flush()
        return {
            "customer_id": customer.id,
            "invoice_id": invoice.id,
            "policy_id": policy.id,
            "task_id": task.id,
            "message_id": message.id,
            "pause_id": pause.id,
            "template_id": template.id,
        }


@pytest.fixture
def objects(world: World) -> dict[str, dict[str, int]]:
    """Object ids per organisation key (``A``: alice's and bob's firm, ``B``: charlie's)."""
    return {key: seed_objects(world.sessions, org_id, key) for key, org_id in world.orgs.items()}
