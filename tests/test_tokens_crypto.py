"""Tokens at rest: encrypted with MultiFernet, rotatable, and never in a log line or an error."""

from __future__ import annotations

import logging
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.db import Connection, Firm
from connector.db.session import make_engine, session_factory, upgrade
from connector.logsetup import RedactingFilter, redact
from connector.tokens import TokenCipher, TokenDecryptError, TokenSet, TokenStore, rotate_all

NOW = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
ACCESS = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..access-secret-4711"
REFRESH = "AB11712345678refresh-secret-0815"
TOKENS = TokenSet(
    access_token=ACCESS,
    refresh_token=REFRESH,
    access_expires_at=NOW + timedelta(hours=1),
    refresh_expires_at=NOW + timedelta(days=100),
    id_token="id.token.secret",
    scopes="accounting",
)


def _store_connection(sessions: sessionmaker[Session], keys: tuple[bytes, ...]) -> int:
    with sessions.begin() as session:
        connection = Connection(
            firm=Firm(name="F", created_at=NOW), platform="quickbooks", created_at=NOW, updated_at=NOW
        )
        session.add(connection)
        session.flush()
        TokenStore(TokenCipher(keys)).save(connection, TOKENS, now=NOW)
        return connection.id


def test_tokens_are_stored_encrypted_and_read_back(
    sessions: sessionmaker[Session], secret_keys: tuple[bytes, ...]
) -> None:
    connection_id = _store_connection(sessions, secret_keys)
    with sessions() as session:
        row = session.get_one(Connection, connection_id)
        assert row.access_token_enc is not None and ACCESS.encode() not in row.access_token_enc
        assert row.refresh_token_enc is not None and REFRESH.encode() not in row.refresh_token_enc
        assert TokenStore(TokenCipher(secret_keys)).load(row) == TOKENS
        assert row.token_version == 1


def test_rotation_re_encrypts_with_the_newest_key(sessions: sessionmaker[Session]) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    connection_id = _store_connection(sessions, (old,))
    with sessions.begin() as session:
        assert rotate_all(session, TokenCipher((new, old))) == 1
    with sessions() as session:
        row = session.get_one(Connection, connection_id)
        assert TokenStore(TokenCipher((new,))).load(row) == TOKENS  # the old key is no longer needed
        with pytest.raises(TokenDecryptError):
            TokenStore(TokenCipher((old,))).load(row)


def test_a_wrong_key_gives_an_error_without_the_token(
    sessions: sessionmaker[Session], secret_keys: tuple[bytes, ...]
) -> None:
    connection_id = _store_connection(sessions, secret_keys)
    with sessions() as session:
        row = session.get_one(Connection, connection_id)
        with pytest.raises(TokenDecryptError) as caught:
            TokenStore(TokenCipher((Fernet.generate_key(),))).load(row)
    message = str(caught.value)
    assert "ARCADENCE_SECRET_KEYS" in message
    assert ACCESS not in message and REFRESH not in message and caught.value.__cause__ is None


def test_no_token_appears_in_logs_during_a_round_trip(
    sessions: sessionmaker[Session], secret_keys: tuple[bytes, ...], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # statement logging, parameters included
    try:
        connection_id = _store_connection(sessions, secret_keys)
        with sessions.begin() as session:
            TokenStore(TokenCipher(secret_keys)).load(session.get_one(Connection, connection_id))
            rotate_all(session, TokenCipher(secret_keys))
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    text = caplog.text + repr(TOKENS)
    assert "stored tokens of connection" in caplog.text  # the round trip was logged ...
    for secret in (ACCESS, REFRESH, "id.token.secret"):
        assert secret not in text  # ... but no secret was


def test_rotate_keys_command_re_encrypts_stored_tokens(env: dict[str, str], sqlite_url: str) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        connection_id = _store_connection(session_factory(engine), (old,))
        env = {**env, "ARCADENCE_SECRET_KEYS": f"{new.decode()},{old.decode()}"}
        done = subprocess.run(
            [".venv/bin/arcadence", "rotate-keys"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "re-encrypted the tokens of 1 connection(s)" in done.stdout
        assert ACCESS not in done.stdout + done.stderr
        with session_factory(engine)() as session:
            row = session.scalars(select(Connection).where(Connection.id == connection_id)).one()
            assert TokenStore(TokenCipher((new,))).load(row).refresh_token == REFRESH
    finally:
        engine.dispose()


def test_rotate_keys_without_the_old_key_changes_nothing(env: dict[str, str], sqlite_url: str) -> None:
    old = Fernet.generate_key()
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        connection_id = _store_connection(session_factory(engine), (old,))
        env = {**env, "ARCADENCE_SECRET_KEYS": Fernet.generate_key().decode()}
        done = subprocess.run(
            [".venv/bin/arcadence", "rotate-keys"], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2
        assert done.stderr.strip().endswith("nothing was changed")
        with session_factory(engine)() as session:
            row = session.get_one(Connection, connection_id)
            assert TokenStore(TokenCipher((old,))).load(row) == TOKENS
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        pytest.param("GET /v3/company/1 Authorization: Bearer eyJhbGciOi.abc-123", "eyJhbGciOi.abc-123", id="bearer"),
        pytest.param('token body {"access_token": "at-4711", "expires_in": 3600}', "at-4711", id="json-field"),
        pytest.param("callback /oauth/callback?code=AB11-xyz&state=s&realmId=1", "AB11-xyz", id="auth-code"),
        pytest.param("refresh_token=rt-0815&grant_type=refresh_token", "rt-0815", id="form-field"),
        pytest.param("Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA==", id="basic"),
        pytest.param('"GET /pay/eyJvIjoxfQ.sig-4711 HTTP/1.1" 200 -', "eyJvIjoxfQ.sig-4711", id="payer-link"),
        pytest.param('"POST /pay/eyJvIjoxfQ.sig-4711/paid HTTP/1.1" 302', "eyJvIjoxfQ.sig-4711", id="payer-action"),
        pytest.param('"GET /reset/InJlc2V0Ig.x-1 HTTP/1.1" 200 -', "InJlc2V0Ig.x-1", id="reset-link"),
        pytest.param('"GET /invite/Imludml0ZSI.y-2 HTTP/1.1" 200 -', "Imludml0ZSI.y-2", id="invite-link"),
    ],
)
def test_redaction_masks_secrets_that_slip_into_a_log_line(line: str, secret: str) -> None:
    assert secret not in redact(line)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)
    RedactingFilter().filter(record)
    assert secret not in record.getMessage() and "[redacted]" in record.getMessage()
