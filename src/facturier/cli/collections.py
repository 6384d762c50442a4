"""Collections commands: remind, reminders, dispute, promise (issue 11, PRODUCT.md §8)."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from facturier.cli.common import (
    DateOpt,
    JsonOpt,
    app,
    check_free_text,
    finish,
    load,
    parse_date,
    print_report,
    today,
    writing_date,
)
from facturier.core.errors import InputError


def local_now(timezone: str) -> datetime:
    """The local time in the workspace's time zone, for the drafting window.

    FACTURIER_NOW=YYYY-MM-DDTHH:MM pins it (tests, rehearsals). With only FACTURIER_TODAY pinned,
    it is the clock's time of day on that day: the window then opens on the run's own day, not
    the real one.
    """
    zone = ZoneInfo(timezone)
    pinned = os.environ.get("FACTURIER_NOW")
    if pinned:
        try:
            return datetime.fromisoformat(pinned).replace(tzinfo=zone)
        except ValueError:
            raise InputError(f"FACTURIER_NOW: {pinned!r} is not a local time like 2026-12-01T09:30") from None
    now = datetime.now(zone)
    return datetime.combine(today(timezone), now.timetz()) if os.environ.get("FACTURIER_TODAY") else now


@app.command()
def remind(
    ctx: typer.Context,
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the reminders that are due; draft nothing."),
    client: str | None = typer.Option(None, "--client", help="Only this client."),
    confirm: str | None = typer.Option(
        None, "--confirm", metavar="NUMBER",
        help="Record as drafted an interrupted hand-over whose draft is in your drafts ('all': every one)."),
    retry: str | None = typer.Option(
        None, "--retry", metavar="NUMBER",
        help="Hand an interrupted draft over again (same Message-ID: never two drafts; 'all': every one)."),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="With a sheet source: remind the valid rows, list the bad ones."),
    as_json: bool = JsonOpt,
) -> None:
    """Draft the reminders that are due for overdue invoices (never sends anything)."""
    from facturier.ops.collections.remind import remind as run_remind
    from facturier.ops.collections.review import ReviewSource, add_review_page
    from facturier.ops.collections.settle import settle

    for name, value in (("--confirm", confirm), ("--retry", retry)):
        if value is not None and not value.strip():  # `--retry "$N"` with N unset: never a whole run
            raise InputError(f"{name}: empty; give the invoice number (or 'all')")
    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    if confirm and retry:
        raise InputError("use --confirm or --retry, not both")
    if (confirm or retry) and dry_run:
        raise InputError("--confirm and --retry settle a draft for real; they take no --dry-run")
    preview = dry_run or (ws.config.collections.dry_run and not (confirm or retry))
    if confirm or retry:
        report = settle(ws, confirm or retry or "", "confirm" if confirm else "retry", day)
    else:
        review = ReviewSource()
        report = run_remind(ws, day, local_now(ws.config.timezone), dry_run=dry_run, client=client,
                            skip_bad_rows=True if skip_bad_rows else None, review=review)
        add_review_page(ws, report, review, day, preview)
    finish(ws, [report], day, preview, as_json)


@app.command()
def reminders(
    ctx: typer.Context,
    client: str | None = typer.Option(None, "--client", help="Only this client."),
    since: str | None = typer.Option(None, "--since", metavar="DATE", help="Only reminders of this day or later."),
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Also list the reminders due on --date (drafts nothing)."),
    as_json: bool = JsonOpt,
) -> None:
    """The reminders drafted, per invoice and stage (and any hand-over in flight)."""
    from facturier.ops.collections.history import list_reminders
    from facturier.ops.collections.remind import remind as run_remind

    ws = load(ctx)
    print_report(list_reminders(ws, client, parse_date(since, "--since") if since else None), as_json)
    if dry_run:
        day = writing_date(date, ws.config.timezone, dry_run=True)
        print_report(run_remind(ws, day, local_now(ws.config.timezone), dry_run=True, client=client), as_json)
    elif date is not None:
        raise InputError("--date goes with --dry-run: the listing shows every reminder drafted")


@app.command()
def dispute(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="The invoice number."),
    reason: str | None = typer.Option(None, "--reason", callback=check_free_text,
                                      help="Why the client disputes it (kept in the journal)."),
    resolve: bool = typer.Option(False, "--resolve", help="The dispute is over: reminders resume."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Stop the reminders of an invoice under dispute (or resume them with --resolve)."""
    from facturier.ops.collections.facts import dispute as record_dispute

    if resolve and reason:
        raise InputError("--reason goes with a new dispute, not with --resolve")
    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, preview=False)
    print_report(record_dispute(ws, number, day, reason, resolve), as_json)


@app.command()
def promise(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="The invoice number."),
    until: str = typer.Option(..., "--until", metavar="DATE", help="The day the client promised to pay by."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """A promise to pay: no reminder for the invoice before that day."""
    from facturier.ops.collections.facts import promise as record_promise

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, preview=False)
    print_report(record_promise(ws, number, day, parse_date(until, "--until")), as_json)

