"""E-invoicing commands (PRODUCT §13): transmit, statuses, ereport."""

from __future__ import annotations

import typer

from facturier.cli.common import DateOpt, JsonOpt, app, finish, load, parse_date, writing_date


@app.command()
def transmit(
    ctx: typer.Context,
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be transmitted; send nothing."),
    as_json: bool = JsonOpt,
) -> None:
    """Send the e-invoices due to the accredited platform (also done by run and batch)."""
    from facturier.ops.einvoicing.transmit import transmit as run_transmit

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    finish(ws, [run_transmit(ws, day, dry_run)], day, dry_run, as_json)


@app.command()
def statuses(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", metavar="DATE",
                                     help="Ask the platform for statuses set from this day (default: "
                                          "since the last one journalled)."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Fetch the platform's lifecycle statuses and journal each new one once."""
    from facturier.ops.einvoicing.statuses import fetch_statuses

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone)
    start = parse_date(since, "--since") if since else None
    finish(ws, [fetch_statuses(ws, day, start)], day, False, as_json)


@app.command()
def ereport(
    ctx: typer.Context,
    period: str | None = typer.Option(None, "--period", metavar="YYYY-MM",
                                      help="Only this period (default: every period ended and not sent); "
                                           "YYYY-MM-DD: one ten-day period (ereporting = \"ten-day\")."),
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Build and check the files; send nothing."),
    as_json: bool = JsonOpt,
) -> None:
    """Build, validate (XSD and Flux 10 schematron) and send the e-reporting files that are due."""
    from facturier.ops.einvoicing.ereport import ereport as run_ereport

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    finish(ws, [run_ereport(ws, day, period, dry_run)], day, dry_run, as_json)
