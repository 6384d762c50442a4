"""Shared CLI plumbing: the Typer app, workspace resolution, dates, and table output."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

from facturier.cli.coercion import quicken
from facturier.core.errors import InputError
from facturier.core.text import printable, printable_lines
from facturier.ops.outcome import Report

if TYPE_CHECKING:
    from rich.console import Console


class _FlagsTakeNoValue:
    """Help that shows a flag as `--dry-run`, not `--dry-run <bool>`.

    Typer's Rich help prints each option's type (`display_type_rich`), and for a boolean flag
    that is `<bool>`, as if the flag took a value; its plain help already leaves flags (and
    counters) out. An explicit metavar is what `display_type_rich` prints instead: an empty
    one for every flag of the command, `--help` and `--version` included.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # type: ignore[attr-defined]
            quicken(param)  # plain option values without a pydantic adapter (cli/coercion.py)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            quicken(param)  # the --help option, made here
            if isinstance(param, TyperOption) and (param.is_flag or param.count) and param.metavar is None:
                param.metavar = ""
        return params


class FlagCommand(_FlagsTakeNoValue, TyperCommand):
    """A command whose help shows flags without a value placeholder."""


class FlagGroup(_FlagsTakeNoValue, TyperGroup):
    """A group (`export`, `usage`, `auth`) whose help shows flags without a value placeholder."""


class _CommandTable(MutableMapping[str, Any]):
    """The app's commands by name, every name known (`registry.COMMAND_MODULES`, in that order)
    and each command imported and built when first looked up (`registry.build_command`)."""

    def __init__(self, built: MutableMapping[str, Any]) -> None:
        from facturier.cli.registry import COMMAND_MODULES

        # What Typer built already is dropped for a listed name: a group registered by one module
        # and completed by another (`export`: exports and reports) is built once all are imported.
        self._built = {name: command for name, command in built.items() if name not in COMMAND_MODULES}
        self._names = list(COMMAND_MODULES)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built and name in self._names:
            from facturier.cli.registry import build_command

            if (command := build_command(name)) is not None:
                self._built[name] = command
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        if self._built.pop(name, None) is None and name not in self._names:
            raise KeyError(name)
        self._names = [n for n in self._names if n != name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._names, *(n for n in self._built if n not in self._names)])  # a snapshot: a lookup adds

    def __len__(self) -> int:
        return len(set(self._names) | self._built.keys())


class CommandsOnDemand(FlagGroup):
    """The app: its commands imported and built only when looked up (`cli/registry.py`), so a
    command pays for itself alone; `--help` builds them all."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _CommandTable(self.commands)


class FacturierTyper(typer.Typer):
    """A Typer app whose groups and commands show flags without `<bool>` (FlagGroup, FlagCommand)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", FlagGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """`Typer.command`, with `FlagCommand` as the command class."""
        kwargs.setdefault("cls", FlagCommand)
        return super().command(name, **kwargs)


app = FacturierTyper(
    cls=CommandsOnDemand,
    name="facturier",
    help="Invoicing, payments and collections from plain files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _ConsoleOnFirstUse:
    """A Rich console made when first used: importing Rich (and the tables) costs ~25 ms of a
    command's start-up, which a command printing its rows to a pipe never needs (`print_rows`)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console = cast("Console", _ConsoleOnFirstUse(soft_wrap=True))
err_console = cast("Console", _ConsoleOnFirstUse(stderr=True, soft_wrap=True))


def check_date_option(value: str | None) -> str | None:
    """Reject a malformed --date while parsing arguments: a usage error (exit 2)."""
    if value is not None:
        from facturier.config.fields import check_iso_date
        from facturier.core.schedule import DayOutOfRange

        try:
            check_iso_date(value)  # strict: not 20261101, a week date, nor trailing text
        except DayOutOfRange as exc:
            raise typer.BadParameter(str(exc)) from None
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None
    return value


def check_free_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """Refuse a control or format character in free text the journal keeps (a reference, a
    reason, a description): a CR, LF or TAB there forges lines in `show`, logs and exports, and
    a direction mark makes it read as something else. An error (exit 1), naming the option. A
    ZWNJ or ZWJ between two letters is spelling (Persian, Indic names), kept like a letter."""
    from facturier.config.fields import describe_invisible, invisible_characters

    if value is not None and (bad := invisible_characters(value)):
        raise InputError(f"{param.opts[0] if param.opts else param.name}: {describe_invisible(bad)}")
    return value


DateOpt = typer.Option(
    None, "--date", metavar="DATE", callback=check_date_option,
    help="Run as if today were this date (YYYY-MM-DD)."
)
# PRODUCT §1: every command takes --date. On a command whose result does not depend on the day
# it is checked like any --date and changes nothing, so a replay script may pass it everywhere.
ReplayDateOpt = typer.Option(
    None, "--date", metavar="DATE", callback=check_date_option,
    help="Accepted for replays (YYYY-MM-DD); this command's result does not depend on the day."
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


def writing_date(value: str | None, timezone: str, dry_run: bool = False, preview: bool = True) -> date:
    """--date of a command that issues or sends: never after today, except to preview it
    (`preview`: whether the command has a --dry-run to suggest).

    A mistyped year would otherwise issue documents dated ahead, and since numbers must
    follow dates, block the whole series until that day.
    """
    day = run_date(value, timezone)
    now = today(timezone)
    if day > now and not dry_run:
        raise InputError(f"--date {day} is after today ({now}): nothing is issued or sent ahead of time."
                         + (" Preview that day with --dry-run." if preview else ""))
    return day


def parse_date(value: str, what: str) -> date:
    """An ISO date or a clear error naming the option."""
    from facturier.config.fields import check_iso_date
    from facturier.core.schedule import DayOutOfRange

    try:
        return check_iso_date(value)
    except DayOutOfRange as exc:
        raise InputError(f"{what}: {exc}") from None
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date in the form YYYY-MM-DD") from None


def print_report(report: Report, as_json: bool = False) -> None:
    """A table on a terminal, tab-separated text when piped, or JSON; then notes and alerts."""
    if as_json:
        print(json.dumps({"title": report.title, "rows": report.rows, "notes": report.notes,
                          "alerts": [dataclasses.asdict(a) for a in report.alerts]}, indent=2,
                         ensure_ascii=False))
    else:
        if report.rows and not stdout_is_terminal():
            print(f"# {report.title}")
        print_rows(report.title, report.columns, report.rows)
        for note in report.notes:
            console.print(printable_lines(note), markup=False, highlight=False)
    for alert in report.alerts:  # names in messages are escaped where inserted; this catches the rest
        err_console.print(f"{alert.level.upper()}: {printable_lines(alert.message)}", markup=False, highlight=False)


def print_rows(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Rows as a table on a terminal (`cli.tables`: no number ever cut), or as plain
    tab-separated lines when piped.

    Cells are escaped (`printable`): a tab or a newline in a name must not forge a column or a row.
    """
    if not rows:
        return
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    # `printable` leaves printable text as it is: one check of every cell at once, not one a cell
    # (a listing of 6,800 documents has 61,000 cells).
    if not "".join(chain.from_iterable(cells)).isprintable():
        cells = [[printable(cell) for cell in line] for line in cells]
    if stdout_is_terminal():
        from rich.console import Console

        from facturier.cli.tables import print_table

        # A console per table: the width is the terminal's (or COLUMNS) now, not at import.
        print_table(Console(soft_wrap=True), title, columns, cells)
    else:
        sys.stdout.write("".join("\t".join(line) + "\n" for line in [columns, *cells]))


def print_lines(lines: Iterable[str]) -> None:
    """Plain lines on stdout, as they are: no Rich markup, emoji codes or highlighting to
    guard against, and no Rich to import for a command that prints only lines (`show`)."""
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal; Rich's TTY_COMPATIBLE=1 (or 0) says so for a pipe."""
    forced = os.environ.get("TTY_COMPATIBLE", "")
    if forced in ("0", "1"):
        return forced == "1"
    return sys.stdout.isatty()


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
