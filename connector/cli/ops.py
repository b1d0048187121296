"""Operating commands: ``arcadence sync ORG`` (with progress) and ``arcadence status``."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click
from sqlalchemy import or_, select

from connector.db import Organisation
from connector.errors import PlatformError, PluginError
from connector.runtime import Runtime, build_runtime
from connector.status import OrgStatus, open_quarantine, organisation_statuses
from connector.sync import EntityReport, sync_organisation


def _runtime(ctx: click.Context) -> Runtime:
    from connector.cli import settings_from

    return build_runtime(settings_from(ctx))


@contextmanager
def _organisation(ctx: click.Context, org: str) -> Iterator[tuple[Runtime, Organisation]]:
    """The runtime and the organisation named by ORG; the runtime is closed afterwards."""
    runtime = _runtime(ctx)
    try:
        yield runtime, _find(runtime, org)
    finally:
        runtime.close()


def _find(runtime: Runtime, org: str) -> Organisation:
    with runtime.sessions() as session:
        found = session.scalars(
            select(Organisation).where(
                or_(Organisation.external_id == org, Organisation.id == (int(org) if org.isdigit() else -1))
            )
        ).all()
    if len(found) != 1:
        raise click.ClickException(f"ORG: no single organisation with id or platform id {org!r} (see arcadence status)")
    return found[0]


@click.command("sync")
@click.argument("org")
@click.option("--full", is_flag=True, help="Ignore the cursors and read everything again.")
@click.pass_context
def sync(ctx: click.Context, org: str, full: bool) -> None:
    """Sync one organisation (ORG: its arcadence id or its realm / tenant id) now, showing progress."""
    with _organisation(ctx, org) as (runtime, organisation):
        click.echo(f"syncing {organisation.name} ({organisation.platform} {organisation.external_id})")

        def progress(report: EntityReport) -> None:
            click.echo(
                f"  {report.entity.value:<12} page {report.pages:>3}: {report.written} stored, "
                f"{report.deleted} deleted, {report.quarantined} quarantined"
            )

        try:
            reports = sync_organisation(
                runtime.sessions,
                organisation.id,
                runtime.platform(organisation.platform),
                runtime.access(organisation),
                runtime.clock,
                full=full,
                progress=progress,
            )
        except (PlatformError, PluginError) as exc:
            raise click.ClickException(f"sync stopped: {exc} (stored pages are kept; the next sync resumes)") from None
        total = sum(r.written for r in reports)
        bad = sum(r.quarantined for r in reports)
        click.echo(f"done: {total} record(s) stored, {bad} quarantined")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per organisation, one per line (for scripts).")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Every organisation: connection, last and next sync, next collection run, parking, outbox
    backlog, sends in doubt, quarantined records and pending webhooks."""
    runtime = _runtime(ctx)
    try:
        with runtime.sessions() as session:
            rows = organisation_statuses(session, runtime.clock.now())
            if as_json:
                for row in rows:
                    click.echo(json.dumps(row.as_dict(), sort_keys=True))
                return
            if not rows:
                click.echo("no organisation is connected")
            for row in rows:
                for line in _status_lines(row):
                    click.echo(line)
                for record in open_quarantine(session, row.organisation_id) if row.quarantined else ():
                    click.echo(f"      {record.entity} {record.external_id}: {record.field}: {record.error}")
    finally:
        runtime.close()


def _status_lines(row: OrgStatus) -> list[str]:
    connection = row.connection + (f" ({row.connection_note})" if row.connection_note else "")
    lines = [
        f"{row.organisation_id}  {row.name}  [{row.platform} {row.external_id}]",
        f"    connection: {connection}",
        f"    last sync:  {_when(row.last_sync_at)}   next sync: {_when(row.next_sync_at, 'not planned')}"
        f"   next collection run: {_when(row.next_run_at, 'not planned')}",
    ]
    if row.parked_until is not None:
        lines.append(
            f"    parked until {_when(row.parked_until)} ({row.parked_for or 'throttled'}): no API calls before then"
        )
    lines.append(
        f"    open invoices: {row.open_invoices}   outbox pending: {row.outbox_pending}   in doubt: {row.in_doubt}"
        f"   quarantined: {row.quarantined}   webhooks pending: {row.webhooks_pending}"
    )
    return lines


def _when(at: datetime | None, never: str = "never") -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else never


@click.command("collect")
@click.argument("org")
@click.option("--dry-run", is_flag=True, help="Print the plan and the reasons for what is skipped; write nothing.")
@click.pass_context
def collect_command(ctx: click.Context, org: str, dry_run: bool) -> None:
    """Run the collection for one organisation today (in its time zone): plan and queue the touches."""
    from collections import Counter

    from connector.outbox import collect

    with _organisation(ctx, org) as (runtime, organisation):
        result = collect(runtime.sessions, organisation.id, runtime.clock, dry_run=dry_run)
        click.echo(
            f"{organisation.name}: collection run for {result.today:%Y-%m-%d}" + (" (dry run)" if dry_run else "")
        )
        for touch in result.plan.touches:
            invoices = ", ".join(i.invoice_id for i in touch.invoices)
            flags = f" [{', '.join(touch.flags)}]" if touch.flags else ""
            click.echo(
                f"  {touch.action.value:<14} level {touch.level} {touch.step_id:<20} customer {touch.customer_id}: "
                f"{touch.amount_due} ({invoices}){flags}"
            )
        for reason, count in sorted(Counter(s.reason.value for s in result.plan.skipped).items()):
            click.echo(f"  skipped {count:>5} invoice(s): {reason}")
        if not dry_run:
            click.echo(
                f"queued {result.created} new touch(es), {result.existing} already queued, {result.tasks} task(s)"
            )


@click.command("dispatch")
@click.option("--limit", default=200, show_default=True, help="Rows claimed per pass.")
@click.pass_context
def dispatch_command(ctx: click.Context, limit: int) -> None:
    """Send what is queued now (re-check, render, send, record), pass after pass until nothing is left."""
    import os

    from connector.delivery import dispatcher
    from connector.mail import mailer_from_environment

    runtime = _runtime(ctx)
    try:
        worker = dispatcher(
            runtime, mailer_from_environment(os.environ, runtime.settings.var_dir), worker=f"cli-{os.getpid()}"
        )
        totals: Counter[str] = Counter()
        while True:
            report = worker.run_once(limit=limit)
            done = vars(report)
            totals.update(done)
            if not any(v for k, v in done.items() if k not in ("postponed", "in_doubt")):
                break
        worker.retry_notes()
        click.echo(", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    finally:
        runtime.close()


@click.group("outbox")
def outbox_group() -> None:
    """Reminders that need a person: in doubt after a crash, held by a template error, failed."""


@outbox_group.command("list")
@click.pass_context
def outbox_list(ctx: click.Context) -> None:
    """List the rows that need a decision."""
    from connector.db import OutboxMessage

    runtime = _runtime(ctx)
    try:
        with runtime.sessions() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status.in_(("in_doubt", "held", "failed")))
                .order_by(OutboxMessage.id)
            ).all()
        if not rows:
            click.echo("nothing needs a decision")
        for row in rows:
            click.echo(
                f"{row.id}  {row.status:<9} org {row.organisation_id} customer {row.customer_id} level {row.level} "
                f"{row.planned_date}  {row.last_error or ''}"
            )
    finally:
        runtime.close()


@outbox_group.command("resolve")
@click.argument("outbox_id", type=int)
@click.argument("action", type=click.Choice(["confirm_sent", "resend", "release", "cancel"]))
@click.option("--by", "actor", required=True, help="Who decides (recorded in the activity log).")
@click.pass_context
def outbox_resolve(ctx: click.Context, outbox_id: int, action: str, actor: str) -> None:
    """Decide on one row: confirm_sent | resend | release | cancel."""
    from connector.outbox import NotResolvable, resolve

    runtime = _runtime(ctx)
    try:
        row = resolve(runtime.sessions, outbox_id, action, actor=actor, now=runtime.clock.now())
        click.echo(f"outbox {row.id} is {row.status} now")
    except NotResolvable as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        runtime.close()


@click.command("letter")
@click.argument("outbox_id", type=int)
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, writable=True), required=True, help="Where to write the PDF."
)
@click.pass_context
def letter_command(ctx: click.Context, outbox_id: int, out: str) -> None:
    """Write the demand letter (PDF) of a letter step, with the invoices re-checked now."""
    from pathlib import Path

    from connector.delivery import letter

    runtime = _runtime(ctx)
    try:
        pdf = letter(runtime, outbox_id)
        if pdf is None:
            raise click.ClickException(f"outbox {outbox_id}: nothing is left to chase, no letter written")
        Path(out).write_bytes(pdf)
        click.echo(f"wrote {out} ({len(pdf)} bytes)")
    finally:
        runtime.close()
