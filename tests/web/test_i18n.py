"""The German catalog: complete, consistent with the sources, and what German users see.

Every msgid of ``web/translations/de/LC_MESSAGES/messages.po`` has a German text (none empty,
none fuzzy) with the same placeholders; the catalog holds exactly the strings ``web/`` marks
for translation (``make messages`` extracts them again); a page is German for a user who chose
German, or for a visitor whose browser asks for it, and English otherwise.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import update

from connector.db import User
from tests.personas import World
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
GERMAN = ROOT / "web" / "translations" / "de" / "LC_MESSAGES" / "messages.po"
#: A printf placeholder (``%(name)s``, ``%(n)d``, ``%(value)r``) or a Jinja one in a help text.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrf]|\{\{.*?\}\}")


def _catalog(path: Path = GERMAN) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def _messages() -> list[Message]:
    return [m for m in _catalog() if m.id]


def _ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, tuple) else (message.string,)


def test_every_message_has_a_german_text() -> None:
    untranslated = [m.id for m in _messages() if not all(_strings(m))]
    fuzzy = [m.id for m in _messages() if m.fuzzy]
    assert not untranslated, f"translate these in {GERMAN.relative_to(ROOT)}: {untranslated}"
    assert not fuzzy, f"check these guesses and drop their fuzzy flag: {fuzzy}"


def test_every_german_text_has_the_placeholders_of_its_msgid() -> None:
    wrong = {}
    for message in _messages():
        wanted = sorted(set(PLACEHOLDER.findall(" ".join(_ids(message)))))
        for text in _strings(message):
            got = sorted(set(PLACEHOLDER.findall(text)))
            # German may drop the number in a singular ("ein Eintrag"), never invent or lose a name.
            if got != wanted and not (isinstance(message.id, tuple) and set(got) < set(wanted)):
                wrong[message.id] = (wanted, got)
    assert not wrong
    assert [(m.id, errors) for m, errors in _catalog().check()] == []


def test_catalog_holds_exactly_the_strings_of_the_sources(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-o", str(template), str(ROOT)]
    CommandLineInterface().run(args)
    extracted = {m.id for m in _catalog(template) if m.id}
    catalog = {m.id for m in _messages()}
    assert sorted(map(str, extracted - catalog)) == [], "new strings: run `make messages`, then translate them"
    assert sorted(map(str, catalog - extracted)) == [], "strings gone from the sources: run `make messages`"


def test_strings_marked_in_the_sources_are_found() -> None:
    """The extraction above is not vacuous: it finds strings of Python views, forms and templates."""
    ids = {m.id for m in _messages()}
    assert {"Sign in", "Wrong e-mail address or password.", "Not an IANA time zone (for example Europe/Berlin or "
            "America/New_York).", "Why?"} <= ids  # fmt: skip


@pytest.fixture
def german_world(world: World, tmp_path: Path) -> Iterator[World]:
    """The personas' app reading the German catalog as it is in the repository (compiled here, so
    the test needs no ``make``)."""
    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as fh:
        write_mo(fh, _catalog())
    app = create_app(
        {"TESTING": True, "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path / "translations")}, runtime=world.runtime
    )
    yield dataclasses.replace(world, app=app)


def _set_locale(world: World, who: str, locale: str | None) -> None:
    with world.sessions.begin() as session:
        session.execute(update(User).where(User.id == world.users[who]).values(locale=locale))


def _page(world: World, who: str | None, path: str, accept: str | None = None) -> str:
    headers = {"Accept-Language": accept} if accept else {}
    response = world.client(who).get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


#: A heading of the settings page in each language.
HEADING = {"de": "Verbindung und Zeitplan", "en": "Connection and schedule"}


@pytest.mark.parametrize(
    ("locale", "accept", "shown"),
    [
        pytest.param("de", None, "de", id="chose-german"),
        pytest.param("de", "en-GB,en;q=0.9", "de", id="choice-beats-browser"),
        pytest.param("en", "de-DE,de;q=0.9", "en", id="chose-english"),
        pytest.param(None, "de-DE,de;q=0.9,en;q=0.5", "de", id="browser-german"),
        pytest.param(None, "fr-FR,fr;q=0.9", "en", id="browser-other-english"),
        pytest.param(None, None, "en", id="no-preference-english"),
    ],
)
def test_signed_in_page_speaks_the_users_language(
    german_world: World, locale: str | None, accept: str | None, shown: str
) -> None:
    _set_locale(german_world, "alice", locale)
    page = _page(german_world, "alice", f"/orgs/{german_world.orgs['A']}/settings", accept)
    other = "en" if shown == "de" else "de"
    assert HEADING[shown] in page and HEADING[other] not in page
    assert f'<html lang="{shown}">' in page


@pytest.mark.parametrize(
    ("accept", "expect"),
    [
        pytest.param("de", ("Anmelden", "Passwort"), id="german"),
        pytest.param("de-AT,de;q=0.8", ("Anmelden", "Passwort"), id="austrian-german"),
        pytest.param("en-US,en;q=0.8", ("Sign in", "Password"), id="english"),
        pytest.param("ja", ("Sign in", "Password"), id="unknown-language-english"),
    ],
)
def test_sign_in_page_follows_the_browser(german_world: World, accept: str, expect: tuple[str, ...]) -> None:
    page = _page(german_world, None, "/login", accept)
    assert all(word in page for word in expect), expect


def test_german_ledger_uses_the_glossary(german_world: World, objects: dict[str, dict[str, int]]) -> None:
    """The words a German credit manager expects (docs/GLOSSARY.md), on a real page."""
    _set_locale(german_world, "alice", "de")
    org = german_world.orgs["A"]
    page = _page(german_world, "alice", f"/orgs/{org}/customers/{objects['A']['customer_id']}")
    assert "Mahnpause" in page and "Mahnsperre" in page
    page = _page(german_world, "alice", f"/orgs/{org}/cadence")
    assert "Mahnverfahren" in page and "Testmodus" in page
    assert "<td>E-Mail</td>" in page, "a step's action by its German name"


def test_form_errors_are_german_for_a_german_user(german_world: World) -> None:
    """Messages of the app's validators and of WTForms' own come in German too."""
    german_world.app.config["WTF_CSRF_ENABLED"] = False
    _set_locale(german_world, "alice", "de")
    org = german_world.orgs["A"]
    data = {"country": "DE", "timezone": "Mars/Olympus", "run_time": "", "base_currency": "EUR", "locale": "de_DE"}
    response = german_world.client("alice").post(f"/orgs/{org}/settings", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Keine IANA-Zeitzone" in page
    assert "Dieses Feld wird benötigt." in page  # WTForms' InputRequired, from its own catalog


def test_the_cadence_rules_have_one_wording_in_core_and_in_the_catalog() -> None:
    from core.policy import POLICY_MESSAGES
    from web.forms_cadence import POLICY_WORDING

    assert {code: str(text) for code, text in POLICY_WORDING.items()} == POLICY_MESSAGES


def test_a_cadence_rule_is_told_in_german_next_to_its_field(german_world: World) -> None:
    from tests.web.test_cadence import _form, _start

    org = german_world.orgs["A"]
    policy_id = _start(german_world, org)
    _set_locale(german_world, "alice", "de")
    client = german_world.client("alice")
    answer = client.post(
        f"/orgs/{org}/cadence/policies/{policy_id}", data={**_form(client, org, policy_id), "steps-2-level": "1"}
    )
    assert answer.status_code == 400
    error = re.search(r'<span class="error" id="steps-2-level-error">([^<]*)</span>', answer.get_data(as_text=True))
    assert error and html.unescape(error.group(1)) == "1 liegt unter der Mahnstufe 2 des vorigen Schritts"


def test_times_on_an_organisations_pages_are_its_local_times(world: World) -> None:
    from datetime import UTC, datetime

    from flask_babel import format_datetime

    instant = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    with world.app.test_request_context(f"/orgs/{world.orgs['A']}/outbox"):  # Europe/Berlin: UTC+1 in March
        assert "9:30" in format_datetime(instant, "short")
    with world.app.test_request_context("/tasks"):  # no organisation: UTC
        assert "8:30" in format_datetime(instant, "short")
