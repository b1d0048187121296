"""What the contract suite needs from each platform, behind one interface.

A harness runs the platform's sandbox and the arcadence web app, each a real HTTP server on
loopback, wired to one fixed clock. ``connect()`` goes through the real OAuth flow (CSRF token
from the page, consent at the sandbox, callback at the app); ``sync()`` runs the real sync; the
mutation methods change the sandbox as a user of the platform would; ``truth()`` reads the
sandbox's own records with a small independent oracle (never arcadence's mapping), and
``stored()`` reads arcadence's store in the same shape.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import requests
from sqlalchemy import select

from connector.clock import Clock, FixedClock
from connector.config import load_settings
from connector.db import Contact, Customer, Invoice, Organisation, OutboxMessage, OutboxStatus
from connector.delivery import dispatcher
from connector.mail import SmtpMailer
from connector.platform import PlatformConfig
from connector.runtime import Runtime, build_runtime
from connector.sandboxkit import serve_in_thread
from connector.sync import EntityReport, sync_organisation
from connector.webhooks import process_pending
from tests.integration.smtp_server import Received, SmtpServer
from web import create_app

#: An invoice as both sides see it: status and open balance.
InvoiceState = tuple[str, Decimal]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Harness(Protocol):
    """One platform under the contract suite."""

    name: str
    idle_sync_calls: int
    """API calls of an incremental sync that finds nothing (QBO 1 CDC call; Xero 1 per entity)."""
    pay_link_calls_per_invoice: int
    """Calls made for an invoice's pay link alone, when its first reminder goes out (QBO 0: the link
    comes with the query; Xero 1: ``OnlineInvoice``, then stored); later reminders and syncs make none."""
    runtime: Runtime
    http: requests.Session
    app_url: str

    def connect(self) -> int: ...
    def sync(self, *, full: bool = False) -> list[EntityReport]: ...
    def truth(self) -> dict[str, InvoiceState]: ...
    def stored(self) -> dict[str, InvoiceState]: ...
    def truth_emails(self, customer: str) -> list[str]: ...
    def stored_emails(self, customer: str) -> list[str]: ...
    def open_invoice(self) -> str: ...
    def payable_invoice(self) -> str: ...
    def some_customer(self) -> str: ...
    def create_invoice(self, customer: str, amount: str) -> str: ...
    def pay(self, invoice: str, amount: str | None = None) -> None: ...
    def credit(self, invoice: str, amount: str) -> None: ...
    def void(self, invoice: str) -> None: ...
    def delete(self, invoice: str) -> None: ...
    def set_email(self, customer: str, email: str) -> None: ...
    def add_malformed_invoice(self) -> str: ...
    def expire_access_tokens(self) -> None: ...
    def throttle_after(self, calls: int) -> None: ...
    def notes_on(self, invoice: str) -> list[str]: ...
    def deliver_webhooks(self) -> list[int]: ...
    def api_calls(self) -> int: ...
    def pay_link_calls(self) -> int: ...


@dataclass
class AppServer:
    """The arcadence web app, served for real, on a runtime that talks to one platform sandbox."""

    runtime: Runtime
    url: str
    stop: Callable[[], None]
    http: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(
        cls, tmp: Path, clock: Clock, configs: dict[str, PlatformConfig], port: int, database_url: str | None = None
    ) -> AppServer:
        from cryptography.fernet import Fernet

        from connector.db.session import upgrade

        env = {
            "ARCADENCE_ENV": "test",
            "ARCADENCE_VAR_DIR": str(tmp / "var"),
            "ARCADENCE_DATABASE_URL": database_url or f"sqlite:///{tmp}/contract.sqlite3",
            "ARCADENCE_SECRET_KEYS": Fernet.generate_key().decode(),
            "ARCADENCE_SESSION_SECRET": "contract",
            "ARCADENCE_PORT": str(port),
        }
        settings = load_settings(env)
        upgrade(settings.database_url)
        # A fixed clock moves when the rate limiter waits; the system clock needs a real wait.
        sleep = (lambda s: clock.advance(timedelta(seconds=s))) if isinstance(clock, FixedClock) else time.sleep
        runtime = build_runtime(settings, configs=configs, clock=clock, sleep=sleep)
        app = create_app({"TESTING": True}, runtime=runtime)
        url, stop = serve_in_thread(app, "127.0.0.1", port)
        return cls(runtime, url, stop)

    def connect(self, platform: str, consent: Callable[[str], str]) -> None:
        """Click "Connect" (with the page's CSRF token), give consent, follow the callback."""
        page = self.http.get(f"{self.url}/", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "the landing page has no CSRF token"
        started = self.http.post(f"{self.url}/connect/{platform}", data={"csrf_token": token.group(1)},
                                 allow_redirects=False, timeout=10)  # fmt: skip
        assert started.status_code == 302, started.text
        callback = consent(started.headers["Location"])
        done = self.http.get(callback, allow_redirects=False, timeout=30)
        assert done.status_code == 302 and done.headers["Location"].endswith("/"), done.text
        landing = self.http.get(f"{self.url}/", timeout=10).text
        assert "Connected" in landing, landing

    def organisation_id(self, platform: str) -> int:
        with self.runtime.sessions() as session:
            org_id = session.scalar(select(Organisation.id).where(Organisation.platform == platform))
            assert org_id is not None
            return org_id

    def sync(self, platform: str, *, full: bool = False) -> list[EntityReport]:
        org_id = self.organisation_id(platform)
        with self.runtime.sessions() as session:
            org = session.get_one(Organisation, org_id)
        access = self.runtime.access(org)
        return sync_organisation(self.runtime.sessions, org_id, self.runtime.platform(platform), access,
                                 self.runtime.clock, full=full)  # fmt: skip

    def process_webhooks(self) -> int:
        return process_pending(self.runtime.sessions, self.runtime.platform, self.runtime.access,
                               clock=self.runtime.clock)  # fmt: skip

    def stored(self) -> dict[str, InvoiceState]:
        with self.runtime.sessions() as session:
            rows = session.execute(select(Invoice.external_id, Invoice.status, Invoice.balance))
            return {ext: (status, Decimal(balance).quantize(Decimal("0.01"))) for ext, status, balance in rows}

    def stored_emails(self, customer: str) -> list[str]:
        with self.runtime.sessions() as session:
            row = session.scalars(select(Customer).where(Customer.external_id == customer)).one()
            return [c.email for c in sorted(row.contacts, key=lambda c: c.position)]

    def contact_count(self) -> int:
        with self.runtime.sessions() as session:
            return len(session.scalars(select(Contact)).all())


def money_of(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def queue_reminder(runtime: Runtime, invoice: str, key: str) -> int:
    """Queue a friendly email reminder for one stored invoice, as the collection run would; its
    customer gets a reminder address if the platform gave none. Returns the outbox id."""
    now = runtime.clock.now()
    with runtime.sessions.begin() as session:
        row = session.scalars(select(Invoice).where(Invoice.external_id == invoice)).one()
        customer = session.get_one(Customer, row.customer_id)
        if not any(c.include_in_reminders for c in customer.contacts):
            customer.contacts.append(Contact(organisation_id=row.organisation_id, email="ap@payer.example"))
        queued = OutboxMessage(
            organisation_id=row.organisation_id,
            dedupe_key=f"contract-{key}-{invoice}",
            customer_id=row.customer_id,
            currency=row.currency,
            step_key="friendly",
            level=1,
            action="email",
            template_key="friendly_reminder",
            planned_date=now.date(),
            invoice_ids=invoice,
            payload={"language": "en", "invoices": [{"id": invoice, "step": "friendly", "level": 1}], "claim": None},
            status=OutboxStatus.PENDING.value,
            created_at=now,
        )
        session.add(queued)
        session.flush()
        return queued.id


def send_reminders(runtime: Runtime, smtp: SmtpServer) -> list[Received]:
    """Run the real dispatcher once (re-check, render, SMTP to ``smtp``); what arrived."""
    already = len(smtp.inbox.messages)
    report = dispatcher(runtime, SmtpMailer(smtp.host, smtp.port, security="none")).run_once()
    return smtp.inbox.wait_for(already + report.sent)[already:]


def text_of(received: Received) -> str:
    """The plain-text part of a received message."""
    part = received.message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
