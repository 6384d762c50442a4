"""`facturier export revenues|receipts|payments`: accounting CSV files."""

from __future__ import annotations

from pathlib import Path

import typer

from facturier.cli.common import FacturierTyper, ReplayDateOpt, app, console, load

export_app = FacturierTyper(help="Accounting CSV exports (regenerable at any time).", no_args_is_help=True)
app.add_typer(export_app, name="export")



def check_year(value: int) -> int:
    """--year within the supported dates (core.schedule): a usage error otherwise. Checked here,
    not with min/max, whose `[1900<=x<=2999]` widens every --help's option column."""
    if not 1900 <= value <= 2999:
        raise typer.BadParameter(f"{value} is not a year from 1900 to 2999")
    return value


def check_month(value: int | None) -> int | None:
    """--month 1 to 12 (a callback, for the same reason as `check_year`)."""
    if value is not None and not 1 <= value <= 12:
        raise typer.BadParameter(f"{value} is not a month from 1 to 12")
    return value


YearOpt = typer.Option(..., "--year", metavar="YEAR", callback=check_year, help="Year of the period (1900-2999).")
MonthOpt = typer.Option(None, "--month", metavar="MONTH", callback=check_month, help="Month of the period (1-12).")
OutOpt = typer.Option(None, "--out", dir_okay=False, help="Output file (default: exports/<name>-<period>.csv).")
ExcelOpt = typer.Option(False, "--excel", help="';' separator, decimal commas and a BOM for spreadsheets.")


def export_with(ctx: typer.Context, name: str, year: int, month: int | None, out: Path | None, excel: bool) -> None:
    """Build one export from the journal and write it."""
    from facturier.ops.reports.exports import build_export, default_export_path, write_export

    ws = load(ctx)
    content, count = build_export(ws, name, year, month, excel)
    path = out or default_export_path(ws.root, name, year, month, excel)
    write_export(path, content, ws.root)
    console.print(f"Wrote {count} row(s) to {path}", markup=False, highlight=False)


@export_app.command("revenues")
def revenues(ctx: typer.Context, year: int = YearOpt, month: int | None = MonthOpt,
             out: Path | None = OutOpt, excel: bool = ExcelOpt, _date: str | None = ReplayDateOpt) -> None:
    """Issued live invoices (credit notes negative) of the period."""
    export_with(ctx, "revenues", year, month, out, excel)


@export_app.command("receipts")
def receipts(ctx: typer.Context, year: int = YearOpt, month: int | None = MonthOpt,
             out: Path | None = OutOpt, excel: bool = ExcelOpt, _date: str | None = ReplayDateOpt) -> None:
    """Livre des recettes: each amount received in the period, once, with the invoices it settled."""
    export_with(ctx, "receipts", year, month, out, excel)


@export_app.command("payments")
def payments(ctx: typer.Context, year: int = YearOpt, month: int | None = MonthOpt,
             out: Path | None = OutOpt, excel: bool = ExcelOpt, _date: str | None = ReplayDateOpt) -> None:
    """Every payment recorded in the period, with its allocation."""
    export_with(ctx, "payments", year, month, out, excel)
