"""The PDF letter: what its text says, one page for 15 invoices, and when it is attached."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from connector.render import render_letter_pdf, render_message
from tests.render.builders import SELLER, invoice_line, make_context


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)  # line breaks and no-break spaces alike


@pytest.mark.parametrize(
    ("key", "language", "level", "attached"),
    [
        pytest.param("zahlungserinnerung", "de", 1, False, id="de-level-1-none"),
        pytest.param("friendly_reminder", "en", 1, False, id="en-level-1-none"),
        pytest.param("letzte_mahnung_mit_fristsetzung", "de", 3, True, id="de-final-has-pdf"),
    ],
)
def test_final_notice_carries_the_letter_and_a_reminder_does_not(
    key: str, language: str, level: int, attached: bool
) -> None:
    message = render_message(make_context(template=key, language=language, level=level))
    assert bool(message.attachments) is attached
    if attached:
        (letter,) = message.attachments
        assert letter.filename == "Mahnschreiben-OB-42.pdf" and letter.content_type == "application/pdf"
        assert letter.data.startswith(b"%PDF-")
        assert "als PDF im Anhang" in message.text
    else:
        assert "PDF" not in message.text


def test_attach_letter_false_leaves_it_out() -> None:
    message = render_message(make_context(template="final_notice", level=3), attach_letter=False)
    assert message.attachments == () and "PDF" not in message.text


def test_german_letter_text() -> None:
    ctx = make_context(template="letzte_mahnung_mit_fristsetzung", level=3, language="de")
    assert ctx.claim is not None
    pages, text = pdf_text(render_letter_pdf(ctx))
    assert pages == 1
    for expected in (
        "Letzte Mahnung mit Fristsetzung",
        "Müller & Söhne GmbH · Hauptstraße 1 · 80331 München",
        "Beispiel AG",
        "10115 Berlin",
        "Datum 10.03.2026",
        "Unser Zeichen OB-42",
        "RE-1001",
        "RE-1002",
        "1.234,50 €",
        "99,00 €",
        "Offener Gesamtbetrag 1.333,50 €",
        "20.03.2026",
        "§ 288 Abs. 2 BGB",
        "10,27 %",
        f"{ctx.claim.interest.amount:.2f}".replace(".", ",") + " €",
        "80,00 €",
        "Mit freundlichen Grüßen",
    ):
        assert expected in text, expected


def test_english_letter_with_gbp_and_15_invoices_fits_one_page() -> None:
    lines = tuple(invoice_line(f"INV-{n:04d}", 40 + n, "1000.00", "GBP", terms="Net 30") for n in range(15))
    ctx = make_context(
        template="demand_letter",
        language="en",
        level=3,
        locale="en_GB",
        invoices=lines,
        unapplied_credit=lines[0].open_amount,
        customer=SELLER.__class__("Acme Trading Ltd", ("1 High Street", "Leeds LS1 1AA", "United Kingdom")),
    )
    pages, text = pdf_text(render_letter_pdf(ctx))
    assert pages == 1
    assert all(line.number in text for line in lines)
    for expected in ("Final demand for payment", "Acme Trading Ltd", "Total open £15,000.00", "Left to pay £14,000.00"):
        assert expected in text, expected
    assert "Late Payment of Commercial Debts (Interest) Act 1998" in text and "20 March 2026" in text


def test_letter_escapes_names_and_loads_nothing() -> None:
    hostile = SELLER.__class__('<img src="file:///etc/passwd"> Evil & Co', ("<b>Street</b>",))
    pages, text = pdf_text(render_letter_pdf(make_context(level=3, customer=hostile)))
    assert pages == 1 and '<img src="file:///etc/passwd"> Evil & Co' in text and "<b>Street</b>" in text
