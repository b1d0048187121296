"""Mail delivery: reminders out over SMTP, or into a file outbox for local runs.

The dispatcher builds an :class:`OutgoingMessage` (with a stable ``Message-ID`` derived from the
outbox key) and hands it to a :class:`Mailer`. Every failure becomes a :class:`DeliveryError`
whose flags carry the decision; callers never read the message text to decide:

* ``permanent`` — sending the same message again cannot succeed (5xx, authentication rejected,
  TLS not offered or the certificate refused, a malformed address): fail the touch.
* not ``permanent`` — retry later with backoff (4xx, connection refused, reset or timed out).
* ``in_doubt`` — the whole message was handed over but the server's verdict never came back
  (connection lost or timed out after the final dot): it may have been delivered, so it must not
  be re-sent automatically.

Recipients are all-or-nothing: one SMTP transaction per message, and if the server refuses any
recipient the transaction is reset before DATA, so nobody receives it (a 4xx retry then never
duplicates the message for the recipients that were accepted). :attr:`DeliveryError.refused`
names each refused address with the server's reply.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Protocol

from connector.clock import Clock, SystemClock
from connector.errors import ConfigError

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: Mapping[Security, int] = {"starttls": 587, "ssl": 465, "none": 25}

_MESSAGE_ID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
#: Headers build_mime writes itself; an extra header may not replace them.
_MANAGED = frozenset(
    h.lower()
    for h in ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type")
) | {"content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post", "sender", "return-path"}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Attachment:
    """A file sent along with a message.

    Attributes:
        filename: the name the recipient sees (may contain umlauts).
        content_type: the MIME type, e.g. ``application/pdf``.
        data: the file's bytes.
    """

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered reminder, ready to send.

    Attributes:
        message_id: stable ``<local@domain>`` derived from the outbox key; sent as given.
        sender: the From header, e.g. ``Weber Maschinenbau GmbH <mahnwesen@weber.example>``;
            its address is also the envelope sender (bounces go there).
        reply_to: the organisation's collector (the Reply-To header).
        recipients: the customer's contacts flagged for reminders; all of them are in To.
        subject: the subject line (any Unicode).
        text: the plain-text part.
        html: the HTML part; empty for a text-only message.
        attachments: files attached after the text and HTML parts.
        headers: extra headers such as ``X-Arcadence-Outbox``; they may not replace one that
            :func:`build_mime` writes.
    """

    message_id: str
    sender: str
    reply_to: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class DeliveryError(Exception):
    """A message was not (or not provably) delivered.

    Attributes:
        permanent: True when sending the same message again cannot succeed.
        code: the SMTP reply code, or None when there was none (connection failure, bad input).
        message: what went wrong, with the server's reply; never a password.
        in_doubt: True when the message may have been delivered (see the module docstring).
        refused: each refused recipient address -> (code, server reply).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        in_doubt: bool = False,
        refused: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.in_doubt = in_doubt
        self.refused: Mapping[str, tuple[int, str]] = MappingProxyType(dict(refused or {}))


class Mailer(Protocol):
    """Delivers messages; the dispatcher's only port to mail."""

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to all its recipients or to none; raises :class:`DeliveryError`."""
        ...


def build_mime(message: OutgoingMessage, *, clock: Clock | None = None) -> EmailMessage:
    """The RFC 5322 message for ``message``.

    multipart/alternative (text, then HTML) inside multipart/mixed when there are attachments;
    bodies are UTF-8 in quoted-printable, so the whole message is 7-bit and needs no 8BITMIME;
    non-ASCII headers are RFC 2047 encoded. There is no List-Unsubscribe header (B2B reminders).

    Raises:
        DeliveryError: permanent, when the message cannot be built (malformed address or
            Message-ID, a line break in a header, an extra header replacing a managed one).
    """
    if not _MESSAGE_ID.fullmatch(message.message_id):
        raise DeliveryError(f"not a Message-ID: {message.message_id!r}", permanent=True)
    if not message.recipients:
        raise DeliveryError("no recipients", permanent=True)
    mime = EmailMessage(policy=SMTP_POLICY)
    try:
        _set_address(mime, "From", [message.sender])
        _set_address(mime, "Reply-To", [message.reply_to])
        _set_address(mime, "To", list(message.recipients))
        mime["Subject"] = message.subject
        mime["Date"] = format_datetime((clock or SystemClock()).now())
        mime["Message-ID"] = message.message_id
        for name, value in message.headers.items():
            if name.lower() in _MANAGED:
                raise DeliveryError(f"extra header {name!r} would replace a managed header", permanent=True)
            mime[name] = value
    except ValueError as error:  # a CR or LF in a header value (header injection)
        raise DeliveryError(f"cannot build the message: {error}", permanent=True) from None
    mime.set_content(message.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not maintype or not subtype:
            raise DeliveryError(f"not a MIME type: {attachment.content_type!r}", permanent=True)
        mime.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mime


def _set_address(mime: EmailMessage, name: str, values: list[str]) -> None:
    """Set an address header, one address per value; IDN domains become punycode."""
    mime[name] = [_address(name, value) for value in values]


def _address(name: str, value: str) -> Address:
    probe = EmailMessage(policy=SMTP_POLICY)
    probe["To"] = value  # may raise ValueError (a line break): the caller turns it into a DeliveryError
    parsed = probe["To"].addresses
    if len(parsed) != 1 or probe["To"].defects or not parsed[0].username or not parsed[0].domain:
        raise DeliveryError(f"{name}: not one email address: {value!r}", permanent=True)
    address: Address = parsed[0]
    try:
        domain = address.domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DeliveryError(f"{name}: not a domain name: {address.domain!r}", permanent=True) from None
    return Address(address.display_name, address.username, domain)


def to_bytes(mime: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, 7-bit."""
    buffer = BytesIO()
    BytesGenerator(buffer, policy=SMTP_POLICY).flatten(mime)
    return buffer.getvalue()


def envelope(mime: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients (bare addresses) of a message from :func:`build_mime`."""
    sender = mime["From"].addresses[0].addr_spec
    return sender, [address.addr_spec for address in mime["To"].addresses]


class FileMailer:
    """Writes each message to ``<folder>/<message id>.eml`` (the local outbox of ``make run``).

    The file appears atomically (written beside it, then renamed); sending the same Message-ID
    again replaces it, so the folder holds one file per message id.
    """

    def __init__(self, folder: Path, *, clock: Clock | None = None) -> None:
        self.folder = folder
        self._clock = clock or SystemClock()

    def path_for(self, message_id: str) -> Path:
        """Where the message with ``message_id`` is written."""
        bare = message_id.strip("<>")
        safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", bare).lstrip(".")
        if safe != bare:  # keep two ids that sanitise alike apart
            safe += "-" + hashlib.sha256(message_id.encode()).hexdigest()[:8]
        return self.folder / f"{safe}.eml"

    def send(self, message: OutgoingMessage) -> None:
        """Write the message file; raises :class:`DeliveryError` (temporary) when the disk fails."""
        data = to_bytes(build_mime(message, clock=self._clock))
        target = self.path_for(message.message_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise DeliveryError(f"cannot write {target}: {error}", permanent=False) from None
        log.info("mail %s written to %s for %d recipients", message.message_id, target, len(message.recipients))


class SmtpMailer:
    """Sends each message in its own SMTP session (connect, TLS, AUTH, one transaction, QUIT).

    It keeps no connection between sends, so one instance may be shared by threads.

    Args:
        host: the submission server.
        port: its port (587 for starttls, 465 for ssl, usually).
        security: ``starttls`` (upgrade after EHLO; refused if the server does not offer it),
            ``ssl`` (TLS from the first byte) or ``none`` (plain; only for a loopback relay
            when a password is given).
        username: login name; None sends without AUTH.
        password: login password; never logged, never in an error message.
        timeout: seconds each network operation may take.
        local_hostname: the name sent in EHLO (None: this machine's FQDN).
        ssl_context: the TLS settings (default: system CAs, host name checked).
        clock: gives the Date header.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}, not {security!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        if security == "none" and username is not None and host not in _LOOPBACK:
            raise ValueError("refusing to send a password without TLS to a host other than loopback")
        self.host, self.port, self.security = host, port, security
        self.username, self._password = username, password
        self.timeout, self.local_hostname = timeout, local_hostname
        self._ssl_context = ssl_context
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"SmtpMailer({self.host!r}, {self.port}, security={self.security!r}, username={self.username!r})"

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to all its recipients or to none.

        Raises:
            DeliveryError: classified as described in the module docstring.
        """
        where = f"{self.host}:{self.port}"
        try:
            mime = build_mime(message, clock=self._clock)
            data, (sender, recipients) = to_bytes(mime), envelope(mime)
            code, reply = self._deliver(data, sender, recipients)
        except DeliveryError as error:
            kind = "in doubt" if error.in_doubt else "permanent" if error.permanent else "temporary"
            log.warning("mail %s not sent via %s (%s): %s", message.message_id, where, kind, error.message)
            raise
        log.info("mail %s sent via %s to %d recipients: %d %s", message.message_id, where, len(recipients), code, reply)

    def _deliver(self, data: bytes, sender: str, recipients: list[str]) -> tuple[int, str]:
        smtp: smtplib.SMTP | None = None
        stage = "connect"
        try:
            smtp = self._connect()
            stage = "login"
            self._secure_and_login(smtp)
            stage = "envelope"
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            self._recipients(smtp, recipients)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            body = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing, as smtplib.data does
            smtp.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
            stage = "awaiting verdict"  # the final dot is out: from here on a lost reply is in doubt
            code, reply = smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            return code, self._text(reply)
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as error:
            raise self._classify(error, stage) from None
        finally:
            if smtp is not None:
                _close_quietly(smtp)

    def _connect(self) -> smtplib.SMTP:
        # Host given to the constructor: it is also the name TLS checks the certificate against.
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo_or_helo_if_needed()
        if self.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"{self.host}:{self.port}: the server does not offer STARTTLS (check ARCADENCE_SMTP_SECURITY)",
                    permanent=True,
                )
            smtp.starttls(context=self._context())
            smtp.ehlo()
        if self.username is not None and self._password is not None:
            smtp.login(self.username, self._password)

    def _recipients(self, smtp: smtplib.SMTP, recipients: list[str]) -> None:
        refused: dict[str, tuple[int, str]] = {}
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, self._text(reply))
        if not refused:
            return
        # Nobody gets it, so a retry never duplicates it for the accepted ones (and if RSET fails,
        # closing the session without DATA abandons the transaction as well).
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        # One 5xx makes the whole message permanent: all-or-nothing cannot succeed until it is fixed.
        permanent = any(500 <= code < 600 for code, _ in refused.values())
        worst = next(code for code, _ in refused.values() if (500 <= code < 600) == permanent)
        details = "; ".join(f"{address}: {code} {text}" for address, (code, text) in refused.items())
        raise DeliveryError(
            f"{self.host}:{self.port}: recipient refused: {details}", permanent=permanent, code=worst, refused=refused
        )

    def _classify(self, error: smtplib.SMTPException | OSError, stage: str) -> DeliveryError:
        where = f"{self.host}:{self.port}"
        if isinstance(error, smtplib.SMTPResponseException):
            code, text = error.smtp_code, self._text(error.smtp_error)
            what = "authentication failed" if isinstance(error, smtplib.SMTPAuthenticationError) else stage
            return DeliveryError(f"{where}: {what}: {code} {text}", permanent=500 <= code < 600, code=code)
        in_doubt = stage == "awaiting verdict"
        text = self._text(str(error))
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(f"{where}: TLS certificate refused: {text}", permanent=True)
        if isinstance(error, ssl.SSLError) and error.reason == "WRONG_VERSION_NUMBER":  # TLS spoken to plain SMTP
            return DeliveryError(f"{where}: no TLS on this port (check the port and security): {text}", permanent=True)
        if isinstance(error, smtplib.SMTPException) and not isinstance(error, smtplib.SMTPServerDisconnected):
            # The rest of smtplib's errors (AUTH not offered, no common AUTH mechanism) are configuration.
            return DeliveryError(f"{where}: {stage}: {text}", permanent=True)
        # SMTPServerDisconnected and socket errors (refused, reset, timed out, DNS, TLS handshake).
        what = "no reply after the message was sent, it may have been delivered" if in_doubt else stage
        return DeliveryError(f"{where}: {what}: {text or type(error).__name__}", permanent=False, in_doubt=in_doubt)

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _text(self, reply: bytes | str) -> str:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        text = " ".join(text.split())
        if self._password:
            text = text.replace(self._password, "[redacted]")
        return text


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()  # the verdict is already in: a failing QUIT changes nothing
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def mailer_from_environment(environ: Mapping[str, str], var_dir: Path) -> Mailer:
    """The mailer the ``ARCADENCE_SMTP_*`` variables describe (see :data:`VARIABLES`).

    Without ``ARCADENCE_SMTP_HOST`` messages go to the file outbox ``var_dir/outbox`` (refused
    when ``ARCADENCE_ENV`` is production).

    Raises:
        ConfigError: naming the variable at fault; never quoting the password.
    """
    host = _get(environ, "ARCADENCE_SMTP_HOST")
    if host is None:
        others = [name for name in VARIABLES if name != "ARCADENCE_SMTP_HOST" and _get(environ, name)]
        if others:
            raise ConfigError(f"ARCADENCE_SMTP_HOST: required when {', '.join(others)} is set")
        if _get(environ, "ARCADENCE_ENV") == "production":
            raise ConfigError("ARCADENCE_SMTP_HOST: required in production (the file outbox is for local runs)")
        log.warning("ARCADENCE_SMTP_HOST is not set: mail goes to the file outbox %s", var_dir / "outbox")
        return FileMailer(var_dir / "outbox")
    if "/" in host or host.count(":") == 1 or any(c.isspace() for c in host):
        raise ConfigError(f"ARCADENCE_SMTP_HOST: a host name or address, not {host!r} (the port has its own variable)")
    security = (_get(environ, "ARCADENCE_SMTP_SECURITY") or "starttls").lower()
    if security not in SECURITIES:
        raise ConfigError(f"ARCADENCE_SMTP_SECURITY: must be one of {', '.join(SECURITIES)}, not {security!r}")
    checked: Security = "ssl" if security == "ssl" else "none" if security == "none" else "starttls"
    port = _port(_get(environ, "ARCADENCE_SMTP_PORT"), DEFAULT_PORTS[checked])
    timeout = _timeout(_get(environ, "ARCADENCE_SMTP_TIMEOUT"))
    username = _get(environ, "ARCADENCE_SMTP_USER")
    password = environ.get("ARCADENCE_SMTP_PASSWORD") or None  # taken as is: spaces may belong to it
    if password is not None and username is None:
        raise ConfigError("ARCADENCE_SMTP_PASSWORD: set without ARCADENCE_SMTP_USER")
    if username is not None and password is None:
        raise ConfigError("ARCADENCE_SMTP_PASSWORD: required when ARCADENCE_SMTP_USER is set")
    if checked == "none" and username is not None and host not in _LOOPBACK:
        raise ConfigError("ARCADENCE_SMTP_SECURITY: none would send the password in clear; use starttls or ssl")
    return SmtpMailer(host, port, security=checked, username=username, password=password, timeout=timeout)


#: name -> (default, meaning), for the configuration table.
VARIABLES: dict[str, tuple[str, str]] = {
    "ARCADENCE_SMTP_HOST": ("unset: mail goes to $ARCADENCE_VAR_DIR/outbox/ as .eml files", "SMTP submission server"),
    "ARCADENCE_SMTP_PORT": ("587 (465 with ssl, 25 with none)", "SMTP port"),
    "ARCADENCE_SMTP_SECURITY": ("starttls", "starttls, ssl (TLS from the first byte) or none (loopback relays only)"),
    "ARCADENCE_SMTP_USER": ("unset: no AUTH", "SMTP login name"),
    "ARCADENCE_SMTP_PASSWORD": ("unset", "SMTP password, required with ARCADENCE_SMTP_USER; never logged"),
    "ARCADENCE_SMTP_TIMEOUT": ("30", "seconds each SMTP network operation may take"),
}


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _port(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"ARCADENCE_SMTP_PORT: not a TCP port: {raw!r}")
    return int(raw)


def _timeout(raw: str | None) -> float:
    if raw is None:
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise ConfigError(f"ARCADENCE_SMTP_TIMEOUT: seconds between 0 and 600, not {raw!r}")
    return value
