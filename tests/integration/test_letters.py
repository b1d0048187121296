"""The demand letter of a letter step: re-checked invoices, rendered as PDF, its text readable,
the generation logged, and written by ``arcadence letter``."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from connector.db import Activity, Customer, Invoice, OutboxMessage
from connector.delivery import letter
from tests.contract.quickbooks import QuickBooksHarness


def _letter_step(h: QuickBooksHarness) -> tuple[int, list[Invoice]]:
    """Queue a letter step (level 3) for a customer with open invoices, as the collection run would."""
    with h.runtime.sessions.begin() as session:
        invoice = session.scalars(select(Invoice).where(Invoice.status == "open").order_by(Invoice.id)).first()
        assert invoice is not None
        invoices = list(
            session.scalars(select(Invoice).where(Invoice.customer_id == invoice.customer_id, Invoice.status == "open"))
        )
        ids = sorted(i.external_id for i in invoices)
        row = OutboxMessage(
            organisation_id=invoice.organisation_id,
            dedupe_key="letter-test",
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            step_key="demand",
            level=3,
            action="letter",
            template_key="demand_letter",
            planned_date=h.runtime.clock.now().date(),
            invoice_ids=",".join(ids),
            status="handed_over",
            created_at=h.runtime.clock.now(),
            payload={
                "language": "de",
                "invoices": [{"id": i, "step": "demand", "level": 3} for i in ids],
                "claim": None,
            },
        )
        session.add(row)
        session.flush()
        return row.id, invoices


def test_the_letter_lists_the_re_checked_invoices_and_is_logged(qbo_connected: QuickBooksHarness) -> None:
    qbo_connected.sync()
    outbox_id, invoices = _letter_step(qbo_connected)
    pdf = letter(qbo_connected.runtime, outbox_id)
    assert pdf is not None and pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    with qbo_connected.runtime.sessions() as session:
        customer = session.get_one(Customer, invoices[0].customer_id)
        logged = session.scalars(select(Activity).where(Activity.kind == "letter_generated")).one()
    assert customer.name in text
    for invoice in invoices:
        assert invoice.number in text
    assert logged.data["outbox_id"] == outbox_id


def test_arcadence_letter_writes_the_pdf(qbo_connected: QuickBooksHarness, tmp_path: Path) -> None:
    qbo_connected.sync()
    outbox_id, _ = _letter_step(qbo_connected)
    settings, config = qbo_connected.runtime.settings, qbo_connected.runtime.configs["quickbooks"]
    env = {
        **os.environ,
        "ARCADENCE_ENV": "test",
        "ARCADENCE_VAR_DIR": str(settings.var_dir),
        "ARCADENCE_DATABASE_URL": settings.database_url,
        "ARCADENCE_SECRET_KEYS": ",".join(k.decode() for k in settings.secret_keys),
        "ARCADENCE_SESSION_SECRET": "x",
        "ARCADENCE_QUICKBOOKS_CLIENT_ID": config.client_id,
        "ARCADENCE_QUICKBOOKS_CLIENT_SECRET": config.client_secret,
        "ARCADENCE_QUICKBOOKS_IDENTITY_URL": config.identity_url,
        "ARCADENCE_QUICKBOOKS_API_BASE": config.api_base,
    }
    out = tmp_path / "letter.pdf"
    done = subprocess.run(
        [".venv/bin/arcadence", "letter", str(outbox_id), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")
