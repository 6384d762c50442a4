"""Shared CLI plumbing: the Typer app, workspace resolution, dates, and table output."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from facturier.core.errors import InputError
from facturier.core.text import printable, printable_lines
from facturier.ops.outcome import Report

app = typer.Typer(
    name="facturier",
    help="Invoicing, payments and collections from plain files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

def check_date_option(value: str | None) -> str | None:
    """Reject a malformed --date while parsing arguments: a usage error (exit 2)."""
    if value is not None:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None
    return value


def check_free_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """Refuse a control or format character in free text the journal keeps (a reference, a
    reason, a description): a CR, LF or TAB there forges lines in `show`, logs and exports, and
    a direction mark makes it read as something else. An error (exit 1), naming the option."""
    from facturier.config.fields import describe_invisible, invisible_characters

    if value is not None and (bad := invisible_characters(value)):
        raise InputError(f"{param.opts[0] if param.opts else param.name}: {describe_invisible(bad)}")
    return value


DateOpt = typer.Option(
    None, "--date", callback=check_date_option, help="Run as if today were this date (YYYY-MM-DD)."
)
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")


def print_version(value: bool) -> None:
    """--version: print the installed version and stop before any command runs."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("facturier")
        except PackageNotFoundError:  # run from a source tree that was never installed
            installed = "unknown (not installed)"
        console.print(f"facturier {installed}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    workspace: Path = typer.Option(
        Path("."), "--workspace", "-w", envvar="FACTURIER_WORKSPACE",
        help="Workspace directory (default: the current directory).",
    ),
    _version: bool = typer.Option(
        False, "--version", callback=print_version, is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Facturier: invoicing, payments and collections from plain files."""
    ctx.obj = workspace.resolve()


def root_of(ctx: typer.Context) -> Path:
    """The workspace directory chosen by --workspace, FACTURIER_WORKSPACE or the cwd."""
    root: Path = ctx.obj
    return root


def load(ctx: typer.Context) -> Any:
    """Load and validate the workspace; an invalid one stops the command before any write."""
    from facturier.config import load_workspace

    return load_workspace(root_of(ctx))


def today(timezone: str) -> date:
    """Today in the workspace's time zone; FACTURIER_TODAY=YYYY-MM-DD pins it (tests, rehearsals)."""
    pinned = os.environ.get("FACTURIER_TODAY")
    if pinned:
        return parse_date(pinned, "FACTURIER_TODAY")
    return datetime.now(ZoneInfo(timezone)).date()


def run_date(value: str | None, timezone: str) -> date:
    """Parse --date, or today in the workspace's time zone."""
    if value is None:
        return today(timezone)
    return parse_date(value, "--date")


def writing_date(value: str | None, timezone: str, dry_run: bool = False) -> date:
    """--date of a command that issues or sends: never after today, except to preview it.

    A mistyped year would otherwise issue documents dated ahead, and since numbers must
    follow dates, block the whole series until that day.
    """
    day = run_date(value, timezone)
    now = today(timezone)
    if day > now and not dry_run:
        raise InputError(
            f"--date {day} is after today ({now}): nothing is issued or sent ahead of time. "
            "Preview that day with --dry-run."
        )
    return day


def parse_date(value: str, what: str) -> date:
    """An ISO date or a clear error naming the option."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date in the form YYYY-MM-DD") from None


def print_report(report: Report, as_json: bool = False) -> None:
    """A table on a terminal, tab-separated text when piped, or JSON; then notes and alerts."""
    if as_json:
        print(json.dumps({"title": report.title, "rows": report.rows, "notes": report.notes,
                          "alerts": [dataclasses.asdict(a) for a in report.alerts]}, indent=2,
                         ensure_ascii=False))
    else:
        if report.rows and not sys.stdout.isatty():
            print(f"# {report.title}")
        print_rows(report.title, report.columns, report.rows)
        for note in report.notes:
            console.print(printable_lines(note), markup=False, highlight=False)
    for alert in report.alerts:  # names in messages are escaped where inserted; this catches the rest
        err_console.print(f"{alert.level.upper()}: {printable_lines(alert.message)}", markup=False, highlight=False)


def print_rows(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Rows as a Rich table on a terminal, or as plain tab-separated lines when piped.

    Cells are escaped (`printable`): a tab or a newline in a name must not forge a column or a row.
    """
    if not rows:
        return
    if sys.stdout.isatty():
        table = Table(title=title)
        for col in columns:
            table.add_column(col, justify="right" if col.startswith(("total", "amount", "balance")) else "left")
        for row in rows:
            table.add_row(*(printable(str(row.get(c, ""))) for c in columns))
        console.print(table)
    else:
        print("\t".join(columns))
        for row in rows:
            print("\t".join(printable(str(row.get(c, ""))) for c in columns))


class RichProgress:
    """A Rich progress bar, one task per unit of work (a run, a batch file); only on a terminal."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            transient=True)
        self.task: object = None

    def start(self, label: str, total: int) -> None:
        """A new unit of work: a new bar."""
        self.task = self.bar.add_task(label, total=total)

    def advance(self, count: int) -> None:
        """`count` more documents committed."""
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


def finish(ws: Any, reports: list[Report], day: date, dry_run: bool, as_json: bool) -> None:
    """Print the reports; on error alerts email the operator (not in a dry run) and exit 1."""
    from facturier.ops.delivery.alerts import notify_operator

    for report in reports:
        print_report(report, as_json)
    if not any(r.failed for r in reports):
        return
    if not dry_run:
        outcome = notify_operator(ws, reports, day)
        if outcome:
            err_console.print(outcome, markup=False, highlight=False)
    raise typer.Exit(1)
