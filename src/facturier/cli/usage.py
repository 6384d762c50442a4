"""Usage commands: `usage record`, `usage import`, `usage list`, and `charge`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

from facturier.cli.common import (
    DateOpt,
    FacturierTyper,
    JsonOpt,
    ReplayDateOpt,
    app,
    check_free_text,
    load,
    print_report,
    root_of,
    run_date,
    today,
    writing_date,
)
from facturier.core.errors import InputError
from facturier.core.text import printable

usage_app = FacturierTyper(help="Usage records of metered lines: record, import, list.", no_args_is_help=True)
app.add_typer(usage_app, name="usage")
_MONTH = re.compile(r"(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])")  # the supported dates: 1900 to 2999


@usage_app.command("record")
def record(
    ctx: typer.Context,
    client: str = typer.Argument(..., help="Client id (its clients/<id>.toml)."),
    metric: str = typer.Argument(..., help="Metric name, as its metered line names it."),
    quantity: str = typer.Argument(..., help="Quantity, a plain decimal like 12.5 (at most 4 decimals)."),
    date: str | None = typer.Option(None, "--date", help="Day the usage happened (YYYY-MM-DD; default today)."),
    record_id: str | None = typer.Option(None, "--id", callback=check_free_text,
                                         help="Unique id: a record with an id already recorded is ignored."),
    key: str | None = typer.Option(None, "--key", callback=check_free_text,
                                   help="What a unique count counts (a user, a device...)."),
    as_json: bool = JsonOpt,
) -> None:
    """Record one usage record."""
    from facturier.ops.usage.record import record_usage

    ws = load(ctx)
    now = today(ws.config.timezone)
    day = run_date(date, ws.config.timezone)
    print_report(record_usage(ws, client, metric, quantity, day, record_id, now, key), as_json)


@usage_app.command("import")
def import_file(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or JSONL file: client, metric, quantity, date, id[, key]."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import a usage file: validated whole first, rejected whole if any row is bad."""
    from facturier.ops.usage.record import import_usage
    from facturier.ops.usage.rows import MAX_SHOWN

    ws = load(ctx)
    result = import_usage(ws, file, writing_date(date, ws.config.timezone, preview=False))  # rows after it are refused
    if result.problems:
        for problem in result.problems[:MAX_SHOWN]:
            print(str(problem), file=sys.stderr)
        more = len(result.problems) - MAX_SHOWN
        if more > 0:
            print(f"... and {more} more problem(s).", file=sys.stderr)
        print(f"{printable(file.name)}: rejected whole, nothing recorded: {len(result.problems)} problem(s).",
              file=sys.stderr)
        raise typer.Exit(1)
    print_report(result.report, as_json)


@usage_app.command("list")
def list_command(
    ctx: typer.Context,
    client: str | None = typer.Option(None, "--client", help="Only this client."),
    month: str | None = typer.Option(None, "--month", help="Only this month (YYYY-MM)."),
    _date: str | None = ReplayDateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Aggregated usage per client, month and metric, and the charges not invoiced yet."""
    from facturier.ops.state_access import reading_state
    from facturier.ops.usage.views import list_usage

    if month is not None and not _MONTH.fullmatch(month):
        raise InputError(f"--month: {printable(month)!r} is not a month in the form YYYY-MM, from 1900-01 to 2999-12")
    ws = load(ctx)
    if client is not None and client not in ws.clients:
        raise InputError(f"--client: unknown client {printable(client)!r}")
    with reading_state(root_of(ctx)) as state:
        report = list_usage(ws, state, client, month)
    print_report(report, as_json)


@app.command()
def charge(
    ctx: typer.Context,
    client: str = typer.Argument(..., help="Client id."),
    amount: str = typer.Argument(..., help="Amount excl. VAT, like 49.90."),
    description: str = typer.Option(..., "--description", callback=check_free_text,
                                    help="The line's text on the invoice."),
    vat_rate: str | None = typer.Option(None, "--vat-rate", help="VAT rate in percent (default: the issuer's)."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add a one-off line to a client's next monthly invoice (billed once)."""
    from facturier.ops.usage.record import add_charge

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, preview=False)
    print_report(add_charge(ws, client, amount, description, day, vat_rate), as_json)
