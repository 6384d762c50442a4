"""`facturier send`: deliver what the send rules allow; resolve a send interrupted mid-flight."""

from __future__ import annotations

import typer

from facturier.cli.common import (
    DateOpt,
    JsonOpt,
    app,
    finish,
    load,
    writing_date,
)
from facturier.core.errors import InputError


@app.command()
def send(
    ctx: typer.Context,
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent; send nothing."),
    confirm_sent: str | None = typer.Option(
        None, "--confirm-sent", metavar="KEY",
        help="Record as sent an interrupted send that did arrive (invoice number or BATCH_ID/YYYY-MM)."),
    retry: str | None = typer.Option(
        None, "--retry", metavar="KEY",
        help="Send now, whatever the date: an interrupted or never-sent invoice (or BATCH_ID/YYYY-MM)."),
    as_json: bool = JsonOpt,
) -> None:
    """Deliver invoice emails and batch ZIPs that the send rules allow (also done by `run`)."""
    from facturier.ops.delivery.send import plan_deliveries, resolve_in_flight
    from facturier.ops.plan import carry_out

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    if confirm_sent and retry:
        raise InputError("use --confirm-sent or --retry, not both")
    if (confirm_sent or retry) and dry_run:  # as remind: a retry with --dry-run sent the email for real
        raise InputError("--confirm-sent and --retry settle a send for real; they take no --dry-run "
                         "(`facturier send --dry-run` shows what the send rules would deliver)")
    if confirm_sent or retry:
        report = resolve_in_flight(ws, confirm_sent or retry or "", "confirm" if confirm_sent else "retry")
    else:
        report = carry_out(ws.root, lambda state: plan_deliveries(ws, state, day), dry_run=dry_run)
    finish(ws, [report], day, dry_run, as_json)


