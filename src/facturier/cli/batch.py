"""`facturier batch`: process the batch inboxes (see facturier.ops.batch and docs/batch.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from facturier.cli.common import DateOpt, JsonOpt, app, load, print_report, writing_date


class RichProgress:
    """A Rich progress bar, one task per batch file (only on a terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            transient=True)
        self.task: object = None

    def start(self, label: str, total: int) -> None:
        """A new file: a new bar."""
        self.task = self.bar.add_task(label, total=total)

    def advance(self, count: int) -> None:
        """`count` more invoices committed."""
        self.bar.advance(self.task, count)  # type: ignore[arg-type]


@contextmanager
def progress_bar(enabled: bool) -> Iterator[RichProgress | None]:
    """A live progress bar on a terminal, nothing when piped or printing JSON."""
    if not enabled:
        yield None
        return
    progress = RichProgress()
    with progress.bar:
        yield progress


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
    from facturier.ops.batch import process_batches
    from facturier.ops.batch_csv import template_header

    if template:
        print(template_header())
        return
    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    with progress_bar(sys.stdout.isatty() and not as_json and not dry_run) as progress:
        report = process_batches(ws, day, client, dry_run, progress)
    print_report(report, as_json)
    if report.failed:
        raise typer.Exit(1)
