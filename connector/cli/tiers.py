"""``arcadence worker`` and ``arcadence web``: the two tiers of a scaled-out deployment.

``arcadence run`` (what ``make run`` starts) is both in one process on one machine. With PostgreSQL,
any number of ``arcadence worker`` processes on any number of machines run the jobs (they
coordinate through the database: docs/deploy.md), and the web tier is stateless: ``arcadence web``
serves it with werkzeug for a small or embedded setup; a real deployment runs
``gunicorn 'web:create_app()'`` instead.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType

import click

from connector.cli import Failure, settings_from


@contextmanager
def until_stopped() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (the previous handlers come back afterwards): how every
    long-running command (``run``, ``worker``, ``web``) stops cleanly."""
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"{signal.Signals(signum).name}: stopping", err=True)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def wait_for(stop: threading.Event) -> None:
    """Block until ``stop`` is set (waking every second, so signals are handled promptly)."""
    while not stop.wait(1.0):
        pass


@click.command("worker")
@click.option(
    "--tick",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds between passes over the organisations due for sync and the webhook inbox.",
)
@click.option(
    "--minute",
    type=click.FloatRange(0.1, 3600),
    default=60.0,
    show_default=True,
    help="Seconds between dispatcher passes and checks for due collection runs.",
)
@click.option(
    "--sync-interval",
    type=click.IntRange(1, 1440),
    default=15,
    show_default=True,
    envvar="ARCADENCE_SYNC_INTERVAL",
    help="Minutes between incremental syncs of each organisation (env ARCADENCE_SYNC_INTERVAL).",
)
@click.pass_context
def worker(ctx: click.Context, tick: float, minute: float, sync_interval: int) -> None:
    """Run the jobs (syncs, webhooks, collection runs, dispatcher, keep-alive) until SIGTERM or Ctrl+C.

    Start as many as you like against one PostgreSQL database: each organisation, outbox row and
    webhook event is claimed by one worker at a time. On SQLite run only one (or arcadence run).
    """
    from connector import jobs
    from connector.mail import mailer_from_environment
    from connector.observe import worker_id
    from connector.runtime import build_runtime

    settings = settings_from(ctx)
    runtime = build_runtime(settings)
    mailer = mailer_from_environment(os.environ, settings.var_dir)
    pace = jobs.Pace(tick=tick, minute=minute, sync_every=timedelta(minutes=sync_interval))
    with until_stopped() as stop:
        scheduler = jobs.start(runtime, mailer, pace=pace)
        click.echo(f"arcadence worker {worker_id()} is running (SIGTERM or Ctrl+C to stop)")
        try:
            wait_for(stop)
        finally:
            scheduler.shutdown(wait=True)  # running jobs finish; claims not yet used simply expire
            runtime.close()
    click.echo("stopped")


@click.command("web")
@click.pass_context
def web(ctx: click.Context) -> None:
    """Serve only the web app on ARCADENCE_HOST:ARCADENCE_PORT (werkzeug), until SIGTERM or Ctrl+C.

    No jobs run here: start arcadence worker beside it. For production traffic serve the same
    app with a WSGI server, e.g. gunicorn -w 4 -b 0.0.0.0:8000 'web:create_app()'.
    """
    from werkzeug.serving import make_server

    from connector.runtime import build_runtime
    from web import create_app

    settings = settings_from(ctx)
    runtime = build_runtime(settings)
    try:
        server = make_server(settings.host, settings.port, create_app(runtime=runtime), threaded=True)
    except OSError as exc:
        runtime.close()
        raise Failure(f"ARCADENCE_PORT: cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    host, port = server.socket.getsockname()[:2]
    with until_stopped() as stop:
        serving = threading.Thread(target=server.serve_forever, name="web", daemon=True)
        serving.start()
        click.echo(f"arcadence web is serving on http://{host}:{port}/ (no jobs run here; SIGTERM or Ctrl+C to stop)")
        try:
            wait_for(stop)
        finally:
            server.shutdown()
            serving.join(timeout=10)
            runtime.close()
    click.echo("stopped")
