"""`facturier report` (the HTML report with charts) and `facturier export fec` (the accountant's FEC)."""

from __future__ import annotations

from pathlib import Path

import typer

from facturier.cli.common import DateOpt, ReplayDateOpt, app, console, load, run_date
from facturier.cli.exports import YearOpt, export_app
from facturier.store.paths import WorkspacePaths

FecOutOpt = typer.Option(None, "--out", dir_okay=False,
                         help="Output file (default: <SIREN>FEC<YYYY>1231.txt in exports/).")
ReportOutOpt = typer.Option(None, "--out", dir_okay=False,
                            help="Output file (default: report-<YEAR>.html in exports/).")
LanguageOpt = typer.Option(None, "--language", help="fr or en (default: fr for a French issuer, else en).")


@export_app.command("fec")
def fec(ctx: typer.Context, year: int = YearOpt, out: Path | None = FecOutOpt,
        _date: str | None = ReplayDateOpt) -> None:
    """The FEC (art. A47 A-1 LPF) of a calendar year: sales and bank journals, for the accountant."""
    from facturier.ops.reports.exports import write_export
    from facturier.ops.reports.fec import build_fec

    ws = load(ctx)
    result = build_fec(ws, year)
    path = out or WorkspacePaths(ws.root).exports / result.name
    write_export(path, result.content, ws.root)
    journals = ", ".join(f"{n} {code}" for code, n in result.entries.items())
    console.print(f"Wrote {result.lines} line(s) ({journals} entries) to {path}", markup=False, highlight=False)
    if result.left_out_batch:
        console.print(f"Left out {result.left_out_batch} batch-service document(s): issued in a batch seller's "
                      "name, they are that seller's sales, not yours.", markup=False, highlight=False)
    if result.left_out_test:
        console.print(f"Left out {result.left_out_test} test-mode document(s): never owed.",
                      markup=False, highlight=False)


@app.command("report")
def report(ctx: typer.Context, year: int = YearOpt, date: str | None = DateOpt,
           out: Path | None = ReportOutOpt, language: str | None = LanguageOpt) -> None:
    """One self-contained HTML report of a year: receivables, aging, DSO, reminders, batch service."""
    from facturier.ops.reports.exports import write_export
    from facturier.ops.reports.html_report import build_html_report, default_report_date

    ws = load(ctx)
    as_of = (run_date(date, ws.config.timezone) if date
             else default_report_date(year, run_date(None, ws.config.timezone)))
    content = build_html_report(ws, year, as_of, language)
    path = out or WorkspacePaths(ws.root).exports / f"report-{year:04d}.html"
    write_export(path, content, ws.root)
    console.print(f"Wrote the {year} report at {as_of} to {path}", markup=False, highlight=False)
