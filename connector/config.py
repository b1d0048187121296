"""Settings from the environment, validated before anything is created.

Every variable is listed in :data:`VARIABLES` (the README's configuration table is the same
list). :func:`load_settings` first validates everything and only then creates what a local run
needs (the ``var/`` folder, a generated key file): a bad value names its variable and leaves
nothing half-made.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from connector.errors import ConfigError
from connector.mail import VARIABLES as MAIL_VARIABLES

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "test", "production")

#: name -> (default, meaning); the README's configuration table mirrors this.
VARIABLES: dict[str, tuple[str, str]] = {
    "ARCADENCE_ENV": ("development", "development, test or production; production refuses generated secrets"),
    "ARCADENCE_VAR_DIR": ("var", "folder for the SQLite file, generated keys and the local mail outbox"),
    "ARCADENCE_DATABASE_URL": (
        "sqlite:///$ARCADENCE_VAR_DIR/arcadence.sqlite3",
        "SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
    ),
    "ARCADENCE_SECRET_KEYS": (
        "generated into $ARCADENCE_VAR_DIR/secret.keys outside production",
        "Fernet keys for tokens at rest, comma-separated, newest first",
    ),
    "ARCADENCE_SESSION_SECRET": (
        "generated into $ARCADENCE_VAR_DIR/session.key outside production",
        "Flask session signing key",
    ),
    "ARCADENCE_HOST": ("127.0.0.1", "address the web app listens on"),
    "ARCADENCE_PORT": ("5000", "port the web app listens on"),
    "ARCADENCE_PUBLIC_URL": (
        "http://$ARCADENCE_HOST:$ARCADENCE_PORT",
        "the URL people and platforms reach the app at (OAuth callbacks, webhooks, payer links)",
    ),
    "ARCADENCE_LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
    **MAIL_VARIABLES,
}

SECRET_KEYS_FILE = "secret.keys"  # noqa: S105 (a file name, not a secret)
SESSION_KEY_FILE = "session.key"


@dataclass(frozen=True, slots=True)
class Settings:
    """The validated configuration of one process.

    Attributes:
        env: development, test or production.
        var_dir: folder for local state (SQLite file, generated keys, file outbox).
        database_url: the SQLAlchemy URL of the store.
        secret_keys: Fernet keys, newest first; the first encrypts, all decrypt.
        session_secret: the key that signs Flask sessions.
        host: the address the web app listens on.
        port: the port the web app listens on.
        log_level: the logging level name.
        public_url: the URL the app is reached at, without a trailing slash.
    """

    env: str
    var_dir: Path
    database_url: str
    secret_keys: tuple[bytes, ...]
    session_secret: str
    host: str
    port: int
    log_level: str
    public_url: str = ""

    @property
    def is_sqlite(self) -> bool:
        """True when the store is an SQLite file."""
        return make_url(self.database_url).get_backend_name() == "sqlite"


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def parse_database_url(raw: str) -> URL:
    """Check a database URL; the error names ``ARCADENCE_DATABASE_URL`` and never echoes a password."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            "ARCADENCE_DATABASE_URL: not a database URL "
            "(expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB)"
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"ARCADENCE_DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)")
    if backend == "postgresql" and url.get_driver_name() != "psycopg":
        raise ConfigError("ARCADENCE_DATABASE_URL: use the psycopg driver (postgresql+psycopg://…)")
    if backend == "postgresql" and not url.database:
        raise ConfigError("ARCADENCE_DATABASE_URL: no database name in the URL")
    return url


def parse_secret_keys(raw: str, source: str = "ARCADENCE_SECRET_KEYS") -> tuple[bytes, ...]:
    """Parse comma-separated Fernet keys, newest first; the error names the source and key position."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys:
        raise ConfigError(f"{source}: no key given")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigError(
                f"{source}: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return tuple(key.encode("ascii") for key in keys)


def _parse_port(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"ARCADENCE_PORT: not a TCP port: {raw!r}")
    return int(raw)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read, validate and complete the settings.

    Outside production, a missing secret key or session secret is generated into a file under
    the var folder (and a warning is logged); in production both must be given.

    Args:
        environ: the environment to read (``os.environ`` when None).

    Returns:
        The settings.

    Raises:
        ConfigError: naming the variable at fault; nothing has been created then.
    """
    env_map = os.environ if environ is None else environ
    env = _get(env_map, "ARCADENCE_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"ARCADENCE_ENV: must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    var_dir = Path(_get(env_map, "ARCADENCE_VAR_DIR") or "var").resolve()
    raw_url = _get(env_map, "ARCADENCE_DATABASE_URL") or f"sqlite:///{var_dir / 'arcadence.sqlite3'}"
    url = parse_database_url(raw_url)
    raw_keys = _get(env_map, "ARCADENCE_SECRET_KEYS")
    keys = parse_secret_keys(raw_keys) if raw_keys else None
    session_secret = _get(env_map, "ARCADENCE_SESSION_SECRET")
    port = _parse_port(_get(env_map, "ARCADENCE_PORT") or "5000")
    log_level = (_get(env_map, "ARCADENCE_LOG_LEVEL") or "INFO").upper()
    host = _get(env_map, "ARCADENCE_HOST") or "127.0.0.1"
    public_url = (_get(env_map, "ARCADENCE_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"ARCADENCE_PUBLIC_URL: not an http(s) URL: {public_url!r}")
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"ARCADENCE_LOG_LEVEL: not a level: {log_level!r}")
    if env == "production":
        if keys is None:
            raise ConfigError("ARCADENCE_SECRET_KEYS: required in production (refusing to generate a key)")
        if session_secret is None:
            raise ConfigError("ARCADENCE_SESSION_SECRET: required in production (refusing to generate one)")
    stored_keys = _read_key_file(var_dir / SECRET_KEYS_FILE) if keys is None else None
    # Everything is validated: from here on files may be created.
    if keys is None:
        keys = stored_keys or _generate_file(
            var_dir / SECRET_KEYS_FILE, Fernet.generate_key().decode(), "ARCADENCE_SECRET_KEYS"
        )
    if session_secret is None:
        session_secret = _session_secret(var_dir)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return Settings(
        env=env,
        var_dir=var_dir,
        database_url=url.render_as_string(hide_password=False),
        secret_keys=keys,
        session_secret=session_secret,
        host=host,
        port=port,
        log_level=log_level,
        public_url=public_url,
    )


def _read_key_file(path: Path) -> tuple[bytes, ...] | None:
    if not path.exists():
        return None
    return parse_secret_keys(path.read_text(encoding="ascii"), source=str(path))


def _generate_file(path: Path, content: str, variable: str) -> tuple[bytes, ...]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(content + "\n")
    log.warning("%s is not set: generated a key into %s (set the variable in production)", variable, path)
    return parse_secret_keys(content, source=str(path))


def _session_secret(var_dir: Path) -> str:
    path = var_dir / SESSION_KEY_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    secret = Fernet.generate_key().decode()
    _generate_file(path, secret, "ARCADENCE_SESSION_SECRET")
    return secret
