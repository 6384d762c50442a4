"""`facturier batch`: process the batch inboxes (see facturier.ops.batch.plan and docs/batch.md)."""

from __future__ import annotations

import sys

import typer

from facturier.cli.common import (
    DateOpt,
    JsonOpt,
    app,
    finish,
    load,
    progress_bar,
    writing_date,
)
from facturier.ops.outcome import Report


@app.command()
def batch(
    ctx: typer.Context,
    date: str | None = DateOpt,
    client: str | None = typer.Option(None, "--client", help="Only this batch client."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and show what would be issued; write nothing."),
    template: bool = typer.Option(False, "--template", help="Print a CSV header line with every column, and exit."),
    as_json: bool = JsonOpt,
) -> None:
    """Process every CSV file in the batch inboxes: one invoice per row (docs/csv-format.md)."""
    from facturier.ops.batch.plan import process_batches
    from facturier.ops.batch.rows import template_header

    if template:
        print(template_header())
        return
    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    with progress_bar(sys.stdout.isatty() and not as_json and not dry_run) as progress:
        report = process_batches(ws, day, client, dry_run, progress)
    from facturier.ops.einvoicing.accounts import transmitting_accounts

    after: list[Report] = []
    if not dry_run and transmitting_accounts(ws):  # the transmit module (42 ms) only when it transmits
        from facturier.ops.einvoicing.transmit import after_issuing

        after = after_issuing(ws, day)
    finish(ws, [report, *after], day, dry_run, as_json)
