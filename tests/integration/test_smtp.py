"""Mail delivery through a real aiosmtpd server on loopback, the file outbox, and the SMTP settings.

STARTTLS and implicit TLS run for real too, against a self-signed certificate made per test
(the client trusts it through ``ssl_context``); the certificate-refused case uses the system CAs.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from connector.clock import FixedClock
from connector.errors import ConfigError
from connector.mail import (
    Attachment,
    DeliveryError,
    FileMailer,
    OutgoingMessage,
    SmtpMailer,
    build_mime,
    mailer_from_environment,
)
from tests.integration.smtp_server import Authenticator, Certificate, Inbox, SmtpServer, free_port, self_signed

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
PASSWORD = "s3cr3t-Pa55"


def reminder(*recipients: str, **changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": "<outbox-123.org-4@arcadence.local>",
        "sender": "Weber Maschinenbau GmbH <mahnwesen@weber.example>",
        "reply_to": "Inge Weber <inge.weber@weber.example>",
        "recipients": recipients or ("Anna Müller <anna@kunde.example>",),
        "subject": "1. Mahnung: Rechnung 4711 – Zahlungsfrist überschritten",
        "text": "Sehr geehrte Frau Müller,\n.\nbitte überweisen Sie 1.234,50 €.\n",
        "html": "<p>Sehr geehrte Frau Müller,</p><p>bitte überweisen Sie 1.234,50&nbsp;€.</p>",
        "attachments": (Attachment("Mahnschreiben 4711.pdf", "application/pdf", PDF),),
        "headers": {"X-Arcadence-Outbox": "123"},
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def mailer(server: SmtpServer, **options: object) -> SmtpMailer:
    options.setdefault("security", "none")
    return SmtpMailer(
        server.host,
        server.port,
        local_hostname="arcadence.test",
        clock=FixedClock(NOW),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return self_signed(tmp_path)


def sent_error(mail: SmtpMailer, message: OutgoingMessage) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        mail.send(message)
    return caught.value


# --- what arrives -------------------------------------------------------------------------


def test_message_arrives_with_headers_parts_and_attachment(server: SmtpServer) -> None:
    mailer(server).send(reminder())

    (got,) = server.inbox.wait_for(1)
    message = got.message
    assert got.mail_from == "mahnwesen@weber.example"
    assert got.rcpt_tos == ["anna@kunde.example"]
    assert message["Message-ID"] == "<outbox-123.org-4@arcadence.local>"
    assert message["From"] == "Weber Maschinenbau GmbH <mahnwesen@weber.example>"
    assert message["Reply-To"] == "Inge Weber <inge.weber@weber.example>"
    assert message["To"] == "Anna Müller <anna@kunde.example>"
    assert message["Subject"] == "1. Mahnung: Rechnung 4711 – Zahlungsfrist überschritten"
    assert message["X-Arcadence-Outbox"] == "123"
    assert message["Date"].datetime == NOW
    assert "List-Unsubscribe" not in message
    assert got.data.isascii()  # 7-bit on the wire: no 8BITMIME needed anywhere
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and html is not None
    # (the wire has CRLF line ends; the lone dot line survived dot-stuffing)
    assert body.get_content().replace("\r\n", "\n") == reminder().text
    assert "überweisen Sie 1.234,50&nbsp;€" in html.get_content()
    (pdf,) = message.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "Mahnschreiben 4711.pdf"
    assert pdf.get_content() == PDF


def test_text_and_html_are_alternatives_before_the_attachment(server: SmtpServer) -> None:
    mailer(server).send(reminder())

    message = server.inbox.wait_for(1)[0].message
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_disposition() == "attachment"


def test_two_recipients_get_one_message_each(server: SmtpServer) -> None:
    mailer(server).send(reminder("anna@kunde.example", "Buchhaltung <buchhaltung@kunde.example>"))

    messages = server.inbox.wait_for(1)
    assert len(messages) == 1
    assert messages[0].rcpt_tos == ["anna@kunde.example", "buchhaltung@kunde.example"]
    assert messages[0].message["To"].addresses[1].addr_spec == "buchhaltung@kunde.example"


def test_the_same_message_id_every_time(server: SmtpServer) -> None:
    mail = mailer(server)
    mail.send(reminder())
    mail.send(reminder())

    first, second = server.inbox.wait_for(2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == "<outbox-123.org-4@arcadence.local>"


def test_german_domain_goes_out_as_punycode(server: SmtpServer) -> None:
    mailer(server).send(reminder("Jürgen <j@müller-bau.example>", attachments=()))

    (got,) = server.inbox.wait_for(1)
    assert got.rcpt_tos == ["j@xn--mller-bau-q9a.example"]
    assert got.message["To"].addresses[0].display_name == "Jürgen"


def test_one_line_per_send_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="connector.mail")
    with auth_server() as server:
        mail = mailer(server, username="collector", password=PASSWORD)
        mail.send(reminder("a@kunde.example", "b@kunde.example"))

    (line,) = [r.getMessage() for r in caplog.records if r.name == "connector.mail"]
    assert "<outbox-123.org-4@arcadence.local>" in line
    assert "2 recipients" in line
    assert "250" in line
    assert PASSWORD not in caplog.text


# --- refusals -----------------------------------------------------------------------------


def test_550_for_a_recipient_is_permanent_with_the_server_message_and_nobody_gets_it() -> None:
    inbox = Inbox(refuse={"weg@kunde.example": "550 5.1.1 <weg@kunde.example>: Recipient address rejected"})
    with SmtpServer(inbox) as server:
        error = sent_error(mailer(server), reminder("anna@kunde.example", "weg@kunde.example"))
        assert error.permanent and not error.in_doubt
        assert error.code == 550
        assert "Recipient address rejected" in error.message
        assert dict(error.refused) == {
            "weg@kunde.example": (550, "5.1.1 <weg@kunde.example>: Recipient address rejected")
        }
        assert inbox.commands[-1] == "RSET"  # reset before DATA: anna did not get it either
        assert inbox.wait_for(1, timeout=0.2) == []


def test_451_for_a_recipient_is_temporary() -> None:
    inbox = Inbox(refuse={"voll@kunde.example": "451 4.2.0 Mailbox busy, try again later"})
    with SmtpServer(inbox) as server:
        error = sent_error(mailer(server), reminder("anna@kunde.example", "voll@kunde.example"))
        assert not error.permanent and not error.in_doubt
        assert error.code == 451
        assert "Mailbox busy" in error.message
        assert "DATA" not in inbox.commands


def test_a_5xx_next_to_a_4xx_is_permanent() -> None:
    inbox = Inbox(refuse={"weg@kunde.example": "550 5.1.1 unknown", "voll@kunde.example": "451 4.2.0 busy"})
    with SmtpServer(inbox) as server:
        error = sent_error(mailer(server), reminder("voll@kunde.example", "weg@kunde.example"))
        assert error.permanent and error.code == 550
        assert set(error.refused) == {"weg@kunde.example", "voll@kunde.example"}


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        pytest.param("554 5.7.1 Message rejected as spam", True, id="554-permanent"),
        pytest.param("452 4.3.1 Insufficient system storage", False, id="452-temporary"),
    ],
)
def test_verdict_on_the_message_is_classified_by_its_code(reply: str, permanent: bool) -> None:
    with SmtpServer(Inbox(data_reply=reply)) as server:
        error = sent_error(mailer(server), reminder())
        assert error.permanent is permanent and not error.in_doubt
        assert error.code == int(reply[:3])
        assert reply[4:] in error.message


# --- authentication -----------------------------------------------------------------------


def auth_server() -> SmtpServer:
    return SmtpServer(
        Inbox(require_auth=True), authenticator=Authenticator("collector", PASSWORD), auth_require_tls=False
    )


def test_auth_success_sends() -> None:
    with auth_server() as server:
        mailer(server, username="collector", password=PASSWORD).send(reminder())
        (got,) = server.inbox.wait_for(1)
        assert got.authenticated_as == "collector"


def test_auth_failure_is_permanent_535_without_the_password() -> None:
    with auth_server() as server:
        wrong = "wrong-" + PASSWORD
        error = sent_error(mailer(server, username="collector", password=wrong), reminder())
        assert error.permanent and error.code == 535
        assert "authentication failed" in error.message
        assert wrong not in str(error) and PASSWORD not in str(error)
        assert server.inbox.messages == []


def test_password_for_a_server_without_auth_is_permanent(server: SmtpServer) -> None:
    error = sent_error(mailer(server, username="collector", password=PASSWORD), reminder())
    assert error.permanent and error.code is None
    assert "AUTH" in error.message


def test_a_server_reply_quoting_the_password_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    with auth_server() as server:
        server.inbox.refuse["anna@kunde.example"] = f"550 5.7.1 user collector:{PASSWORD} may not send here"
        error = sent_error(mailer(server, username="collector", password=PASSWORD), reminder())
        assert error.permanent and "may not send here" in error.message
        assert PASSWORD not in str(error) and PASSWORD not in repr(dict(error.refused))
        assert PASSWORD not in caplog.text


def test_server_that_wants_auth_gets_none_is_permanent() -> None:
    with auth_server() as server:
        error = sent_error(mailer(server), reminder())
        assert error.permanent and error.code == 530


# --- connection trouble -------------------------------------------------------------------


def test_server_down_is_temporary() -> None:
    mail = SmtpMailer("127.0.0.1", free_port(), security="none", local_hostname="arcadence.test")
    error = sent_error(mail, reminder())
    assert not error.permanent and not error.in_doubt and error.code is None
    assert "127.0.0.1" in error.message


def test_connection_dropped_before_the_message_is_temporary_not_in_doubt() -> None:
    with SmtpServer(Inbox(drop_at="MAIL")) as server:
        error = sent_error(mailer(server), reminder())
        assert not error.permanent and not error.in_doubt


def test_connection_dropped_after_the_message_is_in_doubt() -> None:
    with SmtpServer(Inbox(drop_at="DATA")) as server:
        error = sent_error(mailer(server), reminder())
        assert error.in_doubt and not error.permanent
        assert "may have been delivered" in error.message


def test_no_verdict_within_the_timeout_is_in_doubt() -> None:
    with SmtpServer(Inbox(hang_at_data=True)) as server:
        error = sent_error(mailer(server, timeout=0.5), reminder())
        assert error.in_doubt and not error.permanent


# --- TLS ----------------------------------------------------------------------------------


def test_starttls_upgrades_then_authenticates(certificate: Certificate) -> None:
    inbox = Inbox()
    authenticator = Authenticator("collector", PASSWORD)
    options = {"tls_context": certificate.server, "require_starttls": True, "authenticator": authenticator}
    with SmtpServer(inbox, auth_required=True, **options) as server:
        mail = mailer(
            server, security="starttls", ssl_context=certificate.client, username="collector", password=PASSWORD
        )
        mail.send(reminder())
        (got,) = inbox.wait_for(1)
        assert got.authenticated_as == "collector"


def test_implicit_tls(certificate: Certificate) -> None:
    with SmtpServer(ssl_context=certificate.server) as server:
        mailer(server, security="ssl", ssl_context=certificate.client).send(reminder())
        assert len(server.inbox.wait_for(1)) == 1


def test_starttls_not_offered_is_permanent(server: SmtpServer) -> None:
    error = sent_error(mailer(server, security="starttls"), reminder())
    assert error.permanent
    assert "STARTTLS" in error.message


def test_tls_to_a_plain_port_is_permanent(server: SmtpServer) -> None:
    error = sent_error(mailer(server, security="ssl"), reminder())
    assert error.permanent
    assert "no TLS on this port" in error.message


def test_untrusted_certificate_is_permanent(certificate: Certificate) -> None:
    with SmtpServer(ssl_context=certificate.server) as server:
        error = sent_error(mailer(server, security="ssl", ssl_context=ssl.create_default_context()), reminder())
        assert error.permanent
        assert "certificate" in error.message
        assert server.inbox.messages == []


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param({"recipients": ("no address",)}, "To: not one email address", id="bad-recipient"),
        pytest.param({"recipients": ()}, "no recipients", id="no-recipients"),
        pytest.param({"reply_to": "a@b.example, c@d.example"}, "Reply-To: not one", id="two-reply-to"),
        pytest.param({"message_id": "outbox-1"}, "not a Message-ID", id="bad-message-id"),
        pytest.param({"subject": "Mahnung\nBcc: all@x.example"}, "cannot build", id="header-injection"),
        pytest.param({"headers": {"List-Unsubscribe": "<mailto:x@y>"}}, "managed header", id="list-unsubscribe"),
        pytest.param({"headers": {"From": "x@y.example"}}, "managed header", id="replace-from"),
        pytest.param({"recipients": ("jürgen@kunde.example",)}, "not one email address", id="utf8-local-part"),
    ],
)
def test_unbuildable_message_is_permanent_before_any_connection(changes: dict[str, object], fragment: str) -> None:
    mail = SmtpMailer("127.0.0.1", free_port(), security="none")  # nothing listens: a connection would fail
    error = sent_error(mail, reminder(**changes))
    assert error.permanent and error.code is None
    assert fragment in error.message


def test_text_only_message_arrives(server: SmtpServer) -> None:
    mailer(server).send(reminder(html="", attachments=(), text="Bitte zahlen.\n.\n..\nDanke"))  # no final newline

    message = server.inbox.wait_for(1)[0].message
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == "Bitte zahlen.\n.\n..\nDanke\n"


def test_text_only_message_has_no_html_part() -> None:
    mime = build_mime(reminder(html="", attachments=()), clock=FixedClock(NOW))
    assert mime.get_content_type() == "text/plain"
    assert mime.get_content() == reminder().text


# --- file outbox --------------------------------------------------------------------------


def parse(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_file_outbox_writes_a_parseable_message(tmp_path: Path) -> None:
    FileMailer(tmp_path / "outbox", clock=FixedClock(NOW)).send(reminder())

    (path,) = (tmp_path / "outbox").iterdir()
    assert path.name == "outbox-123.org-4@arcadence.local.eml"
    message = parse(path)
    assert message.defects == []
    assert message["Message-ID"] == "<outbox-123.org-4@arcadence.local>"
    assert message["Subject"] == "1. Mahnung: Rechnung 4711 – Zahlungsfrist überschritten"
    (pdf,) = message.iter_attachments()
    assert pdf.get_content() == PDF


def test_file_outbox_keeps_one_file_per_message_id(tmp_path: Path) -> None:
    outbox = FileMailer(tmp_path, clock=FixedClock(NOW))
    outbox.send(reminder())
    outbox.send(reminder(subject="second"))
    outbox.send(reminder(message_id="<outbox-124.org-4@arcadence.local>"))

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "outbox-123.org-4@arcadence.local.eml",
        "outbox-124.org-4@arcadence.local.eml",
    ]
    assert parse(tmp_path / "outbox-123.org-4@arcadence.local.eml")["Subject"] == "second"


def test_file_outbox_never_leaves_a_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = FileMailer(tmp_path, clock=FixedClock(NOW))
    outbox.send(reminder())
    before = (tmp_path / "outbox-123.org-4@arcadence.local.eml").read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(DeliveryError) as caught:
        outbox.send(reminder(subject="never written"))
    assert not caught.value.permanent
    assert [p.name for p in tmp_path.iterdir()] == ["outbox-123.org-4@arcadence.local.eml"]  # no temp file left
    assert (tmp_path / "outbox-123.org-4@arcadence.local.eml").read_bytes() == before


def test_file_names_are_sanitised_and_kept_apart(tmp_path: Path) -> None:
    outbox = FileMailer(tmp_path)
    one, other = outbox.path_for("<a/b@x>"), outbox.path_for("<a_b@x>")
    assert one != other
    assert one.parent == tmp_path and "/" not in one.name
    assert outbox.path_for("<../../etc@x>").parent == tmp_path


# --- settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, ("file",), id="no-host-file-outbox"),
        pytest.param({"ARCADENCE_SMTP_HOST": "smtp.example"}, ("smtp.example", 587, "starttls", None), id="defaults"),
        pytest.param(
            {"ARCADENCE_SMTP_HOST": "smtp.example", "ARCADENCE_SMTP_SECURITY": "SSL"},
            ("smtp.example", 465, "ssl", None),
            id="ssl-port-465",
        ),
        pytest.param(
            {"ARCADENCE_SMTP_HOST": "localhost", "ARCADENCE_SMTP_SECURITY": "none", "ARCADENCE_SMTP_PORT": "1025"},
            ("localhost", 1025, "none", None),
            id="local-relay",
        ),
        pytest.param(
            {
                "ARCADENCE_SMTP_HOST": "smtp.example",
                "ARCADENCE_SMTP_PORT": "2525",
                "ARCADENCE_SMTP_USER": "collector",
                "ARCADENCE_SMTP_PASSWORD": PASSWORD,
                "ARCADENCE_SMTP_TIMEOUT": "7.5",
            },
            ("smtp.example", 2525, "starttls", "collector"),
            id="with-auth",
        ),
    ],
)
def test_valid_settings(environ: dict[str, str], expected: tuple[object, ...], tmp_path: Path) -> None:
    mail = mailer_from_environment(environ, tmp_path)
    if expected == ("file",):
        assert isinstance(mail, FileMailer)
        assert mail.folder == tmp_path / "outbox"
        return
    assert isinstance(mail, SmtpMailer)
    assert (mail.host, mail.port, mail.security, mail.username) == expected
    assert PASSWORD not in repr(mail)


def test_timeout_is_read(tmp_path: Path) -> None:
    mail = mailer_from_environment({"ARCADENCE_SMTP_HOST": "h.example", "ARCADENCE_SMTP_TIMEOUT": "7.5"}, tmp_path)
    assert isinstance(mail, SmtpMailer) and mail.timeout == 7.5


WITH_HOST = {"ARCADENCE_SMTP_HOST": "smtp.example"}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"ARCADENCE_SMTP_HOST": "smtp://smtp.example"}, "ARCADENCE_SMTP_HOST: a host name", id="url"),
        pytest.param({"ARCADENCE_SMTP_HOST": "smtp.example:587"}, "ARCADENCE_SMTP_HOST: a host name", id="with-port"),
        pytest.param({"ARCADENCE_SMTP_USER": "collector"}, "ARCADENCE_SMTP_HOST: required when", id="user-no-host"),
        pytest.param({"ARCADENCE_ENV": "production"}, "ARCADENCE_SMTP_HOST: required in production", id="prod-file"),
        pytest.param({**WITH_HOST, "ARCADENCE_SMTP_PORT": "smtp"}, "ARCADENCE_SMTP_PORT: not a TCP port", id="port"),
        pytest.param({**WITH_HOST, "ARCADENCE_SMTP_PORT": "70000"}, "ARCADENCE_SMTP_PORT: not a TCP port", id="big"),
        pytest.param({**WITH_HOST, "ARCADENCE_SMTP_SECURITY": "tls"}, "ARCADENCE_SMTP_SECURITY: must be", id="sec"),
        pytest.param({**WITH_HOST, "ARCADENCE_SMTP_TIMEOUT": "soon"}, "ARCADENCE_SMTP_TIMEOUT: seconds", id="timeout"),
        pytest.param({**WITH_HOST, "ARCADENCE_SMTP_TIMEOUT": "0"}, "ARCADENCE_SMTP_TIMEOUT: seconds", id="timeout-0"),
        pytest.param(
            {**WITH_HOST, "ARCADENCE_SMTP_PASSWORD": PASSWORD}, "ARCADENCE_SMTP_PASSWORD: set without", id="pw-no-user"
        ),
        pytest.param(
            {**WITH_HOST, "ARCADENCE_SMTP_USER": "collector"}, "ARCADENCE_SMTP_PASSWORD: required when", id="no-pw"
        ),
        pytest.param(
            {
                **WITH_HOST,
                "ARCADENCE_SMTP_SECURITY": "none",
                "ARCADENCE_SMTP_USER": "collector",
                "ARCADENCE_SMTP_PASSWORD": PASSWORD,
            },
            "ARCADENCE_SMTP_SECURITY: none would send the password in clear",
            id="clear-password",
        ),
    ],
)
def test_invalid_settings_name_the_variable(environ: dict[str, str], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        mailer_from_environment(environ, tmp_path)
    assert PASSWORD not in str(caught.value)
    assert not (tmp_path / "outbox").exists()
