"""Bad configuration names its variable, exits non-zero, and creates nothing."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connector.config import SECRET_KEYS_FILE, VARIABLES, load_settings
from connector.errors import ConfigError

KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"ARCADENCE_DATABASE_URL": "not a url"}, "ARCADENCE_DATABASE_URL: not a database URL", id="garbage-url"
        ),
        pytest.param(
            {"ARCADENCE_DATABASE_URL": "mysql://root@localhost/x"},
            "ARCADENCE_DATABASE_URL: unsupported database 'mysql'",
            id="wrong-backend",
        ),
        pytest.param(
            {"ARCADENCE_DATABASE_URL": "postgresql+psycopg2://u@h/db"},
            "ARCADENCE_DATABASE_URL: use the psycopg driver",
            id="wrong-driver",
        ),
        pytest.param(
            {"ARCADENCE_DATABASE_URL": "postgresql+psycopg://u@h"},
            "ARCADENCE_DATABASE_URL: no database name",
            id="no-database",
        ),
        pytest.param(
            {"ARCADENCE_SECRET_KEYS": "short"}, "ARCADENCE_SECRET_KEYS: key 1 is not a Fernet key", id="bad-key"
        ),
        pytest.param(
            {"ARCADENCE_SECRET_KEYS": f"{KEY},nope"},
            "ARCADENCE_SECRET_KEYS: key 2 is not a Fernet key",
            id="bad-second-key",
        ),
        pytest.param(
            {"ARCADENCE_ENV": "production"}, "ARCADENCE_SECRET_KEYS: required in production", id="prod-no-keys"
        ),
        pytest.param(
            {"ARCADENCE_ENV": "production", "ARCADENCE_SECRET_KEYS": KEY},
            "ARCADENCE_SESSION_SECRET: required in production",
            id="prod-no-session",
        ),
        pytest.param({"ARCADENCE_ENV": "staging"}, "ARCADENCE_ENV: must be one of", id="bad-env"),
        pytest.param({"ARCADENCE_PORT": "http"}, "ARCADENCE_PORT: not a TCP port", id="bad-port"),
    ],
)
def test_bad_setting_names_the_variable_and_creates_nothing(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    environ = {"ARCADENCE_VAR_DIR": str(tmp_path / "var"), **overrides}
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)
    assert not (tmp_path / "var").exists()


def test_error_never_echoes_a_database_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"ARCADENCE_VAR_DIR": str(tmp_path), "ARCADENCE_DATABASE_URL": "oracle://scott:tiger-pw@db/x"})
    assert "tiger-pw" not in str(caught.value)


def test_development_generates_a_private_key_file_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    environ = {"ARCADENCE_VAR_DIR": str(tmp_path / "var")}
    first = load_settings(environ)
    key_file = tmp_path / "var" / SECRET_KEYS_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "ARCADENCE_SECRET_KEYS is not set: generated a key" in caplog.text
    assert key_file.read_text().strip().encode() not in caplog.text.encode()
    second = load_settings(environ)
    assert first.secret_keys == second.secret_keys and first.session_secret == second.session_secret
    assert first.database_url == f"sqlite:///{tmp_path / 'var' / 'arcadence.sqlite3'}"


def test_keys_from_the_environment_win_and_keep_their_order(tmp_path: Path) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = load_settings({"ARCADENCE_VAR_DIR": str(tmp_path), "ARCADENCE_SECRET_KEYS": f" {new} , {old} "})
    assert settings.secret_keys == (new.encode(), old.encode())
    assert not (tmp_path / SECRET_KEYS_FILE).exists()


def test_readme_documents_every_variable() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for name in VARIABLES:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        pytest.param({"ARCADENCE_DATABASE_URL": "::::"}, "ARCADENCE_DATABASE_URL", id="malformed-url"),
        pytest.param(
            {"ARCADENCE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"},
            "ARCADENCE_DATABASE_URL",
            id="unreachable",
        ),
        pytest.param({"ARCADENCE_SECRET_KEYS": "not-a-key"}, "ARCADENCE_SECRET_KEYS", id="invalid-key"),
    ],
)
def test_command_prints_one_line_naming_the_variable(
    env: dict[str, str], tmp_path: Path, overrides: dict[str, str], variable: str
) -> None:
    environ = {**env, "ARCADENCE_VAR_DIR": str(tmp_path / "fresh"), **overrides}
    done = subprocess.run(
        [".venv/bin/arcadence", "db", "upgrade"], env=environ, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"arcadence: {variable}:"), done.stderr
    assert not (tmp_path / "fresh").exists()
    assert not os.path.exists(tmp_path / "nowhere")
