"""A real SMTP server on loopback (aiosmtpd) that records what arrives, for mail tests.

``SmtpServer`` starts an aiosmtpd ``Controller`` on 127.0.0.1 on a free port (``port=0`` does
not work with aiosmtpd 1.4) and records every accepted transaction in ``inbox``. Its ``Inbox``
handler can refuse recipients, require AUTH, hang or drop the connection at a chosen command,
so a test can produce each SMTP outcome for real.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    """One accepted transaction."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated_as: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """The aiosmtpd handler: records accepted messages and misbehaves on request.

    Attributes:
        refuse: recipient address -> the reply to RCPT for it (e.g. ``"550 5.1.1 no such user"``).
        require_auth: answer 530 to MAIL FROM in a session that has not logged in.
        drop_at: ``"MAIL"`` or ``"DATA"``: close the connection instead of answering that command
            (at DATA: after the whole message arrived, before the verdict).
        hang_at_data: hold the verdict on DATA until ``release`` is set (the client times out).
        data_reply: the verdict on DATA (a 4xx/5xx here refuses the whole message).
    """

    refuse: dict[str, str] = field(default_factory=dict)
    require_auth: bool = False
    drop_at: str | None = None
    hang_at_data: bool = False
    data_reply: str = "250 2.0.0 Ok: queued as TEST"
    messages: list[Received] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.commands.append("MAIL")
        if self.drop_at == "MAIL":
            server.transport.close()
            return "421 closing"
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        self.commands.append(f"RCPT {address}")
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self.commands.append("RSET")
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.commands.append("DATA")
        if self.drop_at == "DATA":
            server.transport.close()
            return "421 closing"
        if self.hang_at_data:
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return "421 too late"
        if self.data_reply.startswith("250"):
            user = session.auth_data.login.decode() if session.authenticated else None
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, user))
        return self.data_reply

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The received messages once there are ``count`` (the server thread may lag a little)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(self.messages)


class Authenticator:
    """Accepts exactly one user and password; records the attempts."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.attempts: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.attempts.append(auth_data.login.decode())
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == self.password
        # handled=False lets aiosmtpd answer 235/535 itself (handled=True with a failure hangs).
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """aiosmtpd on 127.0.0.1, started and stopped as a context manager."""

    def __init__(self, inbox: Inbox | None = None, **smtp_options: Any) -> None:
        self.inbox = inbox or Inbox()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname=self.host, port=self.port, **smtp_options)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inbox.release.set()
        self._controller.stop()


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and the contexts that serve and trust it."""

    server: ssl.SSLContext
    client: ssl.SSLContext


def self_signed(folder: Path) -> Certificate:
    """Make a certificate for 127.0.0.1 (and localhost) valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return Certificate(server=server, client=client)
