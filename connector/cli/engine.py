"""``arcadence simulate`` and ``arcadence explain``: the engine on a scenario file.

Both read a scenario (``shared/contracts/scenario.md``) and call the very functions the daily
run calls. Bad input — an unreadable file, invalid JSON, a field that breaks the contract — is
one line on stderr naming the field, exit code 2, and nothing on stdout.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from core import explain as explaining
from core.engine import plan
from core.interest import RateUnavailable
from core.scenario import Scenario, ScenarioError, days_json, dumps, parse, plan_json
from core.simulate import simulate as simulate_days

BAD_INPUT = 2


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(BAD_INPUT)


def _load(path: str) -> Scenario:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"{path}: cannot read the file: {getattr(error, 'strerror', None) or error}")
    try:
        return parse(text)
    except ScenarioError as error:
        _fail(str(error))


@click.command("simulate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--days", type=click.IntRange(min=1), default=None, help="Plan today and the N-1 following days.")
def simulate(file: str, days: int | None) -> None:
    """Print the engine's decision for the scenario FILE as JSON."""
    scenario = _load(file)
    try:
        if days is None:
            decided = plan(scenario.ledger, scenario.policy, scenario.history, scenario.today, scenario.organisation)
            text = dumps(plan_json(decided, scenario.today))
        else:
            run = simulate_days(
                scenario.ledger, scenario.policy, scenario.history, scenario.today, days, scenario.organisation
            )
            text = dumps(days_json(run))
    except RateUnavailable as error:
        _fail(f"organisation.reference_rate_percent: needed, the built-in table has no rate: {error}")
    click.echo(text, nl=False)


@click.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--invoice", "invoice_id", required=True, help="The id of the invoice to explain.")
@click.option("--language", type=click.Choice(["en", "de"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the structured explanation instead of words.")
def explain(file: str, invoice_id: str, language: str, as_json: bool) -> None:
    """Say why the scenario FILE sends a message for an invoice today, or why nothing."""
    scenario = _load(file)
    if invoice_id not in {i.id for i in scenario.ledger.invoices}:
        _fail(f"--invoice: unknown invoice {invoice_id!r}")
    try:
        found = explaining.explain(
            scenario.ledger,
            scenario.policy,
            scenario.history,
            scenario.today,
            invoice_id,
            scenario.organisation,
        )
    except RateUnavailable as error:
        _fail(f"organisation.reference_rate_percent: needed, the built-in table has no rate: {error}")
    if as_json:
        click.echo(dumps(explaining.as_json(found, language)), nl=False)
    else:
        click.echo(explaining.words(found, language))


__all__ = ["explain", "simulate"]
