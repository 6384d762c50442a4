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
    day = writing_date(date, ws.config.timezone, preview=False)
    start = parse_date(since, "--since") if since is not None else None
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

    if period is not None:
        _check_period_syntax(period)  # even when nothing is e-reported: a typo is said, not ignored
    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    finish(ws, [run_ereport(ws, day, period, dry_run)], day, dry_run, as_json)


def _check_period_syntax(key: str) -> None:
    """--period is a month YYYY-MM or a day YYYY-MM-DD (which periods exist is ereport's to say)."""
    import datetime as dt
    import re

    from facturier.core.errors import InputError
    from facturier.core.text import printable

    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}", key):
            dt.date.fromisoformat(f"{key}-01")
            return
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", key):
            dt.date.fromisoformat(key)
            return
    except ValueError:
        pass
    raise InputError(f"--period {printable(key)!r}: expected YYYY-MM, e.g. 2027-09 (or, for ten-day periods, "
                     "their first day YYYY-MM-DD, e.g. 2027-09-11)")
