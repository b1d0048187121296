"""A template that fails never goes out: every failure is one TemplateError naming key, language and part."""

from __future__ import annotations

import pytest

from connector.render import TemplateError, TemplateSource, default_template, render_message
from tests.render.builders import make_context

GOOD = default_template("mahnung_1", "de")


@pytest.mark.parametrize(
    ("part", "source", "what"),
    [
        pytest.param("text", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "sandbox violation", id="mro-escape"),
        pytest.param("html", "{{ invoices.__class__ }}", "sandbox violation", id="dunder-attribute"),
        pytest.param("text", "{{ cycler.__init__.__globals__ }}", "", id="globals-escape"),
        pytest.param("subject", "{% if %}", "TemplateSyntaxError", id="syntax-error"),
        pytest.param("html", "<p>{{ invoice_total }}</p>", "UndefinedError", id="undefined-variable"),
        pytest.param("text", "{{ customer.vat_id }}", "UndefinedError", id="undefined-attribute"),
        pytest.param("text", "{{ 'x' * 10000000 }}", "sandbox violation", id="memory-bomb"),
        pytest.param("text", "{% for i in range(10**9) %}{% endfor %}", "", id="huge-range"),
        pytest.param("text", "{{ 1 / 0 }}", "ZeroDivisionError", id="exception-inside"),
        pytest.param("text", "{{ invoices.append(1) }}", "sandbox violation", id="mutating-data"),
        pytest.param("text", '{% include "/etc/passwd" %}', "TemplateNotFound", id="include-outside"),
    ],
)
def test_failing_template_raises_template_error_naming_the_template(part: str, source: str, what: str) -> None:
    edited = TemplateSource(**{**GOOD.__dict__, part: source})
    with pytest.raises(TemplateError) as caught:
        render_message(make_context(template="mahnung_1", level=2), edited, attach_letter=False)
    error = caught.value
    assert error.template == "mahnung_1"
    assert error.message.startswith(f"template 'mahnung_1' (de, {part})")
    assert what in error.message and "\n" not in error.message


def test_error_says_on_which_line() -> None:
    edited = TemplateSource(subject="Hallo", text="Zeile eins\nZeile zwei\n{{ nope }}", html="<p>x</p>")
    with pytest.raises(TemplateError, match=r"\(de, text\) at line 3: UndefinedError: 'nope' is undefined"):
        render_message(make_context(template="mahnung_1", level=2), edited, attach_letter=False)


def test_an_empty_subject_is_refused() -> None:
    edited = TemplateSource(subject="{% if false %}x{% endif %}", text=GOOD.text, html=GOOD.html)
    with pytest.raises(TemplateError, match="subject"):
        render_message(make_context(template="mahnung_1", level=2), edited, attach_letter=False)


def test_edited_template_may_include_shipped_partials() -> None:
    edited = TemplateSource(
        subject="Offene Posten {{ customer.name }}",
        text='Guten Tag,\n{% include "de/_invoices.txt" %}',
        html='{% extends "de/_base.html" %}{% block body %}{% include "de/_invoices.html" %}{% endblock %}',
    )
    message = render_message(make_context(), edited)
    assert message.subject == "Offene Posten Beispiel AG"
    assert "RE-1001" in message.text and "RE-1002" in message.html
