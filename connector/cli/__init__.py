"""The ``arcadence`` command.

Configuration errors print one line naming the variable at fault and exit 2; nothing is
half-created (settings are validated before any file or database is touched).
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from connector.config import Settings, load_settings
from connector.errors import ConfigError
from connector.logsetup import configure_logging

log = logging.getLogger("arcadence")


class Failure(click.ClickException):
    """A clear, one-line error; exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"arcadence: {self.format_message()}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise Failure(str(exc)) from None
        except OperationalError as exc:
            # psycopg's message names host and port, never the password.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise Failure(f"ARCADENCE_DATABASE_URL: cannot use the database: {reason}") from None


def settings_from(ctx: click.Context) -> Settings:
    """The validated settings, loaded once per command (logging is configured from them)."""
    root = ctx.find_root()
    if "settings" not in root.meta:
        settings = load_settings()
        configure_logging(settings.log_level)
        root.meta["settings"] = settings
    settings_value: Settings = root.meta["settings"]
    return settings_value


def package_version() -> str:
    """The installed version of the ``arcadence`` distribution."""
    try:
        return version("arcadence")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """arcadence: collections for QuickBooks Online and Xero, politely first, firmer later."""


@main.command("version")
def version_command() -> None:
    """Print the version and the platform plugins with their state."""
    from connector.registry import Registry

    click.echo(f"arcadence {package_version()}")
    for plugin in Registry().status():
        state = "error: " + plugin.error if plugin.error else ("ready" if plugin.implemented else "not implemented yet")
        click.echo(f"  platform {plugin.name}: {state}")


@main.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to migrate to.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database (ARCADENCE_DATABASE_URL) to the latest schema."""
    from connector.db.session import upgrade

    settings = settings_from(ctx)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {_safe_url(settings.database_url)} is at revision {revision}")


@main.command("rotate-keys")
@click.pass_context
def rotate_keys(ctx: click.Context) -> None:
    """Re-encrypt every stored token with the newest key of ARCADENCE_SECRET_KEYS."""
    from connector.db.session import make_engine, session_factory
    from connector.tokens import TokenCipher, TokenDecryptError, rotate_all

    settings = settings_from(ctx)
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine).begin() as session:
            count = rotate_all(session, TokenCipher(settings.secret_keys))
    except TokenDecryptError as exc:
        raise Failure(f"{exc}; nothing was changed") from None
    finally:
        engine.dispose()
    click.echo(f"re-encrypted the tokens of {count} connection(s) with the newest key")


@main.command("run")
@click.option("--no-demo", is_flag=True, help="Do not start the platform sandboxes when no platform is configured.")
@click.pass_context
def run(ctx: click.Context, no_demo: bool) -> None:
    """Serve the web app on ARCADENCE_HOST:ARCADENCE_PORT and run the jobs (one process).

    Outside production, when no platform is configured, the platform sandboxes are started with
    their sample companies and the app is wired to them (demo mode).
    """
    import os
    import threading

    from werkzeug.serving import make_server

    from connector import jobs
    from connector.cli.tiers import until_stopped, wait_for
    from connector.demo import start_sandboxes
    from connector.mail import mailer_from_environment
    from connector.runtime import build_runtime, platform_configs
    from web import create_app

    settings = settings_from(ctx)
    configs = platform_configs(os.environ, settings.public_url)
    stop_demo = None
    if not configs and settings.env != "production" and not no_demo:
        configs, lines, stop_demo = start_sandboxes(settings)
        for line in lines:
            click.echo(line)
    runtime = build_runtime(settings, configs=configs)
    app = create_app(runtime=runtime)
    try:
        server = make_server(settings.host, settings.port, app, threaded=True)
    except OSError as exc:
        raise Failure(f"ARCADENCE_PORT: cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    mailer = mailer_from_environment(os.environ, settings.var_dir)
    host, port = server.socket.getsockname()[:2]
    with until_stopped() as stop:
        scheduler = jobs.start(runtime, mailer)
        serving = threading.Thread(target=server.serve_forever, name="web", daemon=True)
        serving.start()
        click.echo(f"arcadence is running on http://{host}:{port}/ (SIGTERM or Ctrl+C to stop)")
        try:
            wait_for(stop)
        finally:
            server.shutdown()
            scheduler.shutdown(wait=True)  # running jobs finish; claims not yet used simply expire
            runtime.close()
            if stop_demo is not None:
                stop_demo()
    click.echo("stopped")


def _register() -> None:
    from connector.cli.engine import explain, simulate
    from connector.cli.ops import collect_command, dispatch_command, letter_command, outbox_group, status, sync
    from connector.cli.sandbox import sandbox
    from connector.cli.tiers import web, worker

    for command in (
        simulate,
        explain,
        sync,
        status,
        collect_command,
        dispatch_command,
        outbox_group,
        letter_command,
        sandbox,
        worker,
        web,
    ):
        main.add_command(command)


_register()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
