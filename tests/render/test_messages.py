"""Rendering reminders: every default template in both languages, formats, links, claim, credit, escaping."""

from __future__ import annotations

import re

import pytest

from connector.render import (
    LANGUAGES,
    MessageContext,
    Party,
    TemplateError,
    default_keys,
    default_template,
    render_message,
)
from core.policy import DEFAULT_POLICIES
from tests.render.builders import invoice_line, make_context

STEPS = sorted({(step.template, step.level) for policy in DEFAULT_POLICIES.values() for step in policy.steps})
NBSP = "\u00a0"


def _render(ctx: MessageContext) -> tuple[str, str, str]:
    message = render_message(ctx, attach_letter=False)
    return message.subject, message.text, message.html


def test_every_policy_template_key_has_a_default_in_both_languages() -> None:
    assert {key for key, _ in STEPS} <= set(default_keys())
    for key in default_keys():
        for language in LANGUAGES:
            source = default_template(key, language)
            assert source.subject.strip() and source.text.strip() and source.html.strip()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("key", "level"), STEPS, ids=[f"{key}-L{level}" for key, level in STEPS])
def test_every_default_template_renders_whole(key: str, level: int, language: str) -> None:
    ctx = make_context(template=key, level=level, language=language)
    subject, text, html = _render(ctx)
    assert subject and "\n" not in subject
    for part in (subject, text, html):
        assert "None" not in part and "{{" not in part and "{%" not in part
    for line in ctx.invoices:
        assert line.number in text and line.number in html
        assert text.count(str(line.pay_url)) == 1 and f'href="{line.pay_url}"' in html
    assert SELLER_NAME_HTML in html and ctx.organisation.name in text
    assert html.lstrip().startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "\n\n\n" not in text


SELLER_NAME_HTML = "Müller &amp; Söhne GmbH"


SUBJECTS = [
    # id, key, language, level, invoices, how the subject starts
    ("de-erinnerung-one", "zahlungserinnerung", "de", 1, 1, "Zahlungserinnerung: Rechnung RE-1001 – Müller & Söhne"),
    ("de-erinnerung-two", "zahlungserinnerung", "de", 1, 2, "Zahlungserinnerung: 2 offene Rechnungen – Müller"),
    ("de-mahnung-1", "mahnung_1", "de", 2, 1, "1. Mahnung: Rechnung RE-1001 – Müller & Söhne GmbH"),
    ("de-mahnung-2", "mahnung_2", "de", 2, 2, "2. Mahnung: 2 überfällige Rechnungen – Müller & Söhne GmbH"),
    ("de-letzte", "letzte_mahnung_mit_fristsetzung", "de", 3, 1, "Letzte Mahnung: Rechnung RE-1001 – Zahlungsfrist"),
    ("de-inkasso", "uebergabe_inkasso", "de", 4, 1, "Übergabe an ein Inkassounternehmen: Rechnung RE-1001"),
    ("de-final-notice", "final_notice", "de", 3, 1, "Letzte Mahnung: Rechnung RE-1001 – Zahlungsfrist bis 20.03.2026"),
    ("en-courtesy", "courtesy_reminder", "en", 0, 1, "Invoice RE-1001 is due on 13 March 2026 – Müller & Söhne GmbH"),
    ("en-friendly", "friendly_reminder", "en", 1, 2, "Payment reminder: 2 open invoices – Müller & Söhne GmbH"),
    ("en-firm", "firm_reminder", "en", 2, 1, "Overdue: invoice RE-1001, €1,234.50 outstanding"),
    ("en-final", "final_notice", "en", 3, 2, "Final notice: 2 overdue invoices – please pay by 20 March 2026"),
    ("en-demand", "demand_letter", "en", 3, 1, "Demand for payment: invoice RE-1001 – payment due by 20 March 2026"),
    ("en-agency", "agency_handoff", "en", 4, 1, "Notice: invoice RE-1001 passed to a collection agency"),
    ("en-mahnung-1", "mahnung_1", "en", 2, 1, "First reminder: invoice RE-1001"),
]


@pytest.mark.parametrize(
    ("key", "language", "level", "count", "expected"), [pytest.param(*row[1:], id=row[0]) for row in SUBJECTS]
)
def test_subject(key: str, language: str, level: int, count: int, expected: str) -> None:
    locale = "en_GB" if language == "en" else "de_DE"
    ctx = make_context(template=key, language=language, level=level, locale=locale, count=count)
    subject, _, _ = _render(ctx)
    assert subject.startswith(expected)


@pytest.mark.parametrize(
    ("language", "locale", "currency", "amount", "day"),
    [
        pytest.param("de", "de_DE", "EUR", f"1.234,50{NBSP}€", "29.01.2026", id="de-de_DE-EUR"),
        pytest.param("en", "en_GB", "EUR", "€1,234.50", "29 January 2026", id="en-en_GB-EUR"),
        pytest.param("en", "en_GB", "GBP", "£1,234.50", "29 January 2026", id="en-en_GB-GBP"),
        pytest.param("en", "de_DE", "EUR", f"1.234,50{NBSP}€", "29 January 2026", id="en-customer-of-de_DE-org"),
        pytest.param("de", "en_GB", "EUR", f"1.234,50{NBSP}€", "29.01.2026", id="de-customer-of-en_GB-org"),
        pytest.param("fr", "fr_FR", "EUR", f"1\u202f234,50{NBSP}€", "29 January 2026", id="fr-english-words"),
    ],
)
def test_money_and_dates_follow_language_and_org_locale(
    language: str, locale: str, currency: str, amount: str, day: str
) -> None:
    line = invoice_line("RE-1001", 40, "1234.50", currency)
    ctx = make_context(language=language, locale=locale, invoices=(line,))
    _, text, html = _render(ctx)
    assert amount in text and amount in html
    assert day in text
    if language == "fr":  # no French templates: English words, the French organisation's number format
        assert text.startswith("Dear Beispiel AG,")


@pytest.mark.parametrize(
    ("level", "key", "language", "shown"),
    [
        pytest.param(2, "mahnung_2", "de", False, id="level-2-never-states-the-claim"),
        pytest.param(3, "letzte_mahnung_mit_fristsetzung", "de", True, id="de-level-3"),
        pytest.param(3, "final_notice", "en", True, id="en-level-3"),
        pytest.param(4, "uebergabe_inkasso", "de", True, id="de-level-4"),
    ],
)
def test_claim_is_stated_only_from_level_3(level: int, key: str, language: str, shown: bool) -> None:
    locale = "en_GB" if language == "en" else "de_DE"
    ctx = make_context(template=key, level=level, language=language, locale=locale, with_claim=True)
    assert ctx.claim is not None
    _, text, html = _render(ctx)
    for part in (text, html):
        assert ("§ 288" in part) is shown
        assert ("10,27" in part or "10.27" in part) is shown
    if shown:
        interest = f"{ctx.claim.interest.amount:.2f}".replace(".", "," if language == "de" else ".")
        assert interest in text
        assert ("80,00" if language == "de" else "€80.00") in text


def test_uk_claim_names_the_act_and_banded_fee() -> None:
    line = invoice_line("INV-7", 40, "1500.00", "GBP", terms="Net 30")
    ctx = make_context(template="final_notice", language="en", level=3, locale="en_GB", invoices=(line,))
    _, text, _ = _render(ctx)
    assert "Late Payment of Commercial Debts (Interest) Act 1998" in text
    assert "£70.00" in text and "Payment terms: Net 30." in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("credit", [None, "50.00"], ids=["no-credit", "credit"])
def test_unapplied_credit_is_set_off_only_when_present(language: str, credit: str | None) -> None:
    from core.model import money

    ctx = make_context(language=language, unapplied_credit=money(credit, "EUR") if credit else None)
    _, text, html = _render(ctx)
    words = "verrechnen" if language == "de" else "set it off"
    left = f"1.283,50{NBSP}€" if language == "de" else "1.283,50"
    assert (words in text) is bool(credit) and (words in html) is bool(credit)
    assert (left in text) is bool(credit)


def test_html_escapes_the_customer_name_and_text_does_not() -> None:
    ctx = make_context(language="en", customer=Party("<script>alert(1)</script> & Co"))
    _, text, html = _render(ctx)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "Dear <script>alert(1)</script> & Co," in text


def test_subject_is_one_line_whatever_the_name_holds() -> None:
    ctx = make_context(template="notify_account_owner", level=3, customer=Party("Evil\r\nBcc: all@example.com"))
    subject, _, _ = _render(ctx)
    assert "\n" not in subject and "\r" not in subject
    assert subject.startswith("Überfälliges Kundenkonto: Evil Bcc: all@example.com")


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "/relative", ""], ids=repr)
def test_pay_link_that_is_not_http_is_left_out(url: str) -> None:
    ctx = make_context(language="en", invoices=(invoice_line("RE-9", 40, "10.00", pay_url=url),))
    _, text, html = _render(ctx)
    assert "Pay now:" not in text and "href" not in html.split("<table", 1)[1].split("</table>", 1)[0]
    assert "transfer the amount" in text


def test_payer_link_offers_the_self_service_page() -> None:
    ctx = make_context(language="de", payer_link="https://arcadence.example/p/abc")
    _, text, html = _render(ctx)
    assert "https://arcadence.example/p/abc" in text and 'href="https://arcadence.example/p/abc"' in html


def test_courtesy_note_before_due_says_nothing_is_overdue() -> None:
    ctx = make_context(template="courtesy_reminder", level=0, language="de")
    _, text, _ = _render(ctx)
    assert "Überfällig ist nichts" in text and "Verzug" not in text and "Mahnung" not in text


def test_german_texts_use_formal_address() -> None:
    for key in default_keys():
        ctx = make_context(template=key, level=3, language="de")
        _, text, _ = _render(ctx)
        assert not re.search(r"\b(du|dich|dir|dein\w*)\b", text, re.IGNORECASE), key


def test_unknown_language_falls_back_to_english_and_unknown_key_is_a_template_error() -> None:
    assert default_template("mahnung_1", "fr") == default_template("mahnung_1", "en")
    with pytest.raises(TemplateError) as caught:
        default_template("no_such_template", "de")
    assert caught.value.template == "no_such_template" and "no_such_template" in str(caught.value)
    with pytest.raises(TemplateError):
        render_message(make_context(template="no_such_template"))
