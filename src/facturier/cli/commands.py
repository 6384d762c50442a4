"""Core commands: init, check, run, invoices, show, verify, rebuild, purge-logs."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer

from facturier.cli.common import (
    DateOpt,
    JsonOpt,
    ReplayDateOpt,
    app,
    check_date_option,
    console,
    load,
    print_lines,
    print_report,
    print_rows,
    progress_bar,
    root_of,
    run_date,
    today,
    writing_date,
)
from facturier.core.errors import InputError
from facturier.core.text import printable

if TYPE_CHECKING:
    from facturier.ops.einvoice import EInvoiceReport


@app.command()
def init(directory: Path = typer.Argument(..., help="Directory to create the workspace in.")) -> None:
    """Scaffold a commented, valid workspace."""
    from facturier.config import scaffold_workspace

    scaffold_workspace(directory)
    console.print(f"Workspace created in {directory}. Edit facturier.toml and clients/, then run 'facturier check'.")


@app.command()
def check(ctx: typer.Context, date: str | None = DateOpt) -> None:
    """Validate all configuration and list every problem (file: key: message), then warnings."""
    from facturier.config import check_workspace_report, load_workspace
    from facturier.ops.numbering_check import shared_number_warnings
    from facturier.ops.orphan_clients import orphan_client_warnings
    from facturier.ops.printable import printed_text_problems
    from facturier.ops.template_overrides import mail_template_report, reminder_override_warnings
    from facturier.render.pdf import check_template
    from facturier.render.reminders import check_templates

    root = root_of(ctx)
    problems, warnings = check_workspace_report(root)
    collections = None
    if not problems:
        ws = load_workspace(root)
        # Only a valid configuration makes documents whose every printed text can be checked.
        day = run_date(date, ws.config.timezone)
        problems += printed_text_problems(ws, day)
        collections = ws.config.collections
        problems += _connector_problems(ws, warnings, day)
        warnings += _ereport_warnings(ws, day)
        warnings += shared_number_warnings(ws)
        warnings += orphan_client_warnings(ws, day)
    problems += check_template(root / "templates")
    mail_problems, mail_warnings = mail_template_report(root)
    problems += mail_problems
    warnings += mail_warnings
    if collections is not None:
        problems += check_templates(root, collections.stage_tuple())
        warnings += reminder_override_warnings(root, collections.stage_tuple())
    for problem in problems:
        print(printable(problem))
    for warning in warnings:  # never fatal: the workspace is valid, but probably not as meant
        print(f"warning: {printable(warning)}")
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        raise typer.Exit(1)
    console.print(f"Configuration OK, with {len(warnings)} warning(s)." if warnings else "Configuration OK.")
    notice = collections.notice() if collections is not None else None
    if notice:
        console.print(f"Note: {notice}.", markup=False, highlight=False)


def _ereport_warnings(ws: Any, day: date) -> list[str]:
    """The e-reports due and not sent (PRODUCT §13), when a seller e-reports and there is a journal."""
    from facturier.core.errors import FacturierError
    from facturier.ops.einvoicing.ereport import ereport_warnings, reporting_accounts
    from facturier.ops.state_access import read_state

    if not reporting_accounts(ws) or not (ws.root / "data" / "journal.jsonl").is_file():
        return []
    try:
        state = read_state(ws.root, dry_run=True)
    except FacturierError:
        return []  # a journal that cannot be read is `verify`'s to report, not the configuration's
    try:
        return ereport_warnings(ws, state, day)
    finally:
        state.close()


def _connector_problems(ws: Any, warnings: list[str], day: date) -> list[str]:
    """A CSV sheet source's rows (problems), and the Google and QuickBooks sign-ins (warnings)."""
    from facturier.adapters.google.auth import google_warnings
    from facturier.adapters.quickbooks import quickbooks_warnings
    from facturier.adapters.sheets import check_sheet_source, csv_sheet_rows, sheet_warnings
    from facturier.adapters.slack import check_webhook

    warnings.extend(google_warnings(ws.config, ws.root))
    warnings.extend(quickbooks_warnings(ws.config, ws.root))
    warnings.extend(sheet_warnings(ws.config, csv_sheet_rows(ws.config, ws.root, day)))
    warnings.extend(check_webhook(ws.config.collections.slack, os.environ))
    warnings.extend(_password_file_warnings(ws))
    return check_sheet_source(ws.config, ws.root, day)


def _password_file_warnings(ws: Any) -> list[str]:
    """The SMTP password file a send would refuse (missing, another user's, readable by others),
    told by `check` rather than on the send day; the rule is the transport's own."""
    from facturier.adapters.mail import PasswordError, read_password

    smtp = ws.config.mail.smtp
    if ws.config.mail.transport != "smtp" or smtp is None or not smtp.password_file:
        return []
    try:
        read_password(smtp, ws.root)
    except PasswordError as exc:
        return [f"facturier.toml: mail.smtp.password_file: {str(exc).removeprefix('[mail.smtp] password_file: ')}"]
    return []


@app.command()
def run(
    ctx: typer.Context,
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be issued and sent; write nothing."),
    as_json: bool = JsonOpt,
) -> None:
    """The monthly cycle: issue due direct invoices, then send what may be sent."""
    from facturier.cli.common import finish
    from facturier.ops.cycle import monthly_cycle

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)
    with progress_bar(sys.stdout.isatty() and not as_json and not dry_run) as progress:
        reports = monthly_cycle(ws, day, dry_run, progress)
    finish(ws, reports, day, dry_run, as_json)


def _check_listing_year(value: int | None) -> int | None:
    """--year of a listing: the same range as every other --year (a usage error outside it)."""
    from facturier.cli.exports import check_year

    return None if value is None else check_year(value)


@app.command()
def invoices(
    ctx: typer.Context,
    client: str | None = typer.Option(None, "--client", help="Only this client (or batch client)."),
    year: int | None = typer.Option(None, "--year", metavar="YEAR", callback=_check_listing_year,
                                    help="Only this year (1900-2999)."),
    status: str | None = typer.Option(None, "--status", help="paid, partial, unpaid, overdue, credited or disputed."),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List issued invoices and credit notes."""
    from facturier.ops.reports.listing import list_documents

    ws = load(ctx)
    report = list_documents(ws, client, year, status, run_date(date, ws.config.timezone))
    print_report(report, as_json)


@app.command()
def show(
    ctx: typer.Context, number: str, as_json: bool = JsonOpt,
    as_xml: bool = typer.Option(False, "--xml", help="Print the Factur-X XML embedded in its PDF."),
    date: str | None = DateOpt,
) -> None:
    """One invoice or credit note, with every journal event that mentions it."""
    from facturier.ops.reports.listing import collections_summary, document_events

    ws = load(ctx)
    if as_xml:
        from facturier.ops.einvoice import document_xml

        sys.stdout.buffer.write(document_xml(ws.root, number))
        sys.stdout.buffer.write(b"\n")
        return
    from facturier.ops.einvoicing.summary import einvoicing_summary

    try:
        record, events = document_events(ws, number)
    except InputError:
        if not _show_sheet_invoice(ws, number, as_json, run_date(date, ws.config.timezone)):
            raise
        return
    collections = collections_summary(ws, number)
    einvoicing = einvoicing_summary(ws, number)
    if as_json:
        extra = {} if einvoicing is None else {"einvoicing": einvoicing}
        print(json.dumps({"document": record, "events": events, "collections": collections, **extra}, indent=2,
                         ensure_ascii=False))
        return
    _print_document(record)
    _print_collections(collections, run_date(date, ws.config.timezone))
    _print_einvoicing(einvoicing)
    print_rows("Events", ["seq", "at", "type", "detail"], events)


def _show_sheet_invoice(ws: Any, number: str, as_json: bool, day: date) -> bool:
    """An invoice of the collections sheet (issue 24): where it lives and its reminders;
    False when the workspace has no sheet source."""
    from facturier.ops.collections.sheet_invoice import sheet_invoice, sheet_invoice_lines
    from facturier.ops.reports.listing import collections_summary

    found = sheet_invoice(ws, number)
    if found is None:
        return False
    collections = collections_summary(ws, number)
    if found["unreadable"] and not collections["reminders"]:  # nothing says it is a sheet invoice
        raise InputError(f"no invoice or credit note numbered {number!r} in the ledger, and {found['where']} "
                         f"cannot be read now to look for it: {found['unreadable']}")
    if as_json:
        print(json.dumps({"document": None, "sheet": found, "collections": collections}, indent=2,
                         ensure_ascii=False))
        return True
    for line in sheet_invoice_lines(found):
        console.print(printable(line), markup=False, highlight=False)
    _print_collections(collections, day)
    return True


def _print_collections(summary: dict[str, Any], day: date) -> None:
    """The reminders of an invoice, and its dispute or promise, as lines."""
    lines = [f"Reminder: stage {r['stage']} on {r['date']} ({r['status']}, {r['store']}"
             + (f": {r['draft']})" if r["draft"] else ")") for r in summary["reminders"]]
    if summary["disputed"]:
        reason = summary["disputed"]["reason"]
        lines.append(f"Disputed since {summary['disputed']['since']}" + (f": {reason}" if reason else "")
                     + " (no reminders until `dispute --resolve`)")
    until = summary["promised_until"]
    if until and until > day.isoformat():
        lines.append(f"Payment promised by {until} (no reminder before that day)")
    elif until:
        lines.append(f"Payment promised by {until}: that day has come, reminders resumed")
    print_lines(printable(text) for text in lines)


def _print_einvoicing(summary: dict[str, Any] | None) -> None:
    """The document's route to the platform or e-reporting, its flow and latest status, as lines."""
    if summary is None:
        return
    lines = [f"E-invoicing: {summary['channel']} ({summary['reason']})"]
    flow = summary["flow"]
    if flow:
        what = "transmitted as flow " + flow["flow_id"] if flow["state"] == "transmitted" else "sending"
        where = f"{flow['mode']} platform, " if flow.get("mode") else ""
        lines.append(f"Platform: {what} ({where}tracking {flow['tracking_id']})")
    other = summary.get("other_flow")
    if other:
        what = "transmitted as flow " + other["flow_id"] if other["state"] == "transmitted" else "sent"
        lines.append(f"Platform: {what} to the {other['mode']} platform only: due on the {other['due_in']} one")
    status = summary["status"]
    if status:
        reason = f": {status['reason']}" if status["reason"] else ""
        lines.append(f"Lifecycle status: {status['code']} {status['label']} at {status['at']}{reason}")
    print_lines(printable(text) for text in lines)


# What `show` says of a line outside the standard VAT regime (the record's `vat_regime`).
NO_VAT = {"reverse_charge": "reverse charge", "exempt": "exempt", "franchise": "franchise en base"}


def _print_document(record: dict[str, Any]) -> None:
    period = record.get("service_period") or {}
    lines = [
        f"{record['kind'].replace('_', ' ').title()} {record['number']} ({record['mode']})",
        f"Seller: {record['seller']['name']}",
        f"Client: {record['client_id']} - {record['buyer']['name']}",
        f"Issued: {record['issue_date']}   Due: {record['due_date']}",
    ]
    if period:
        lines.append(f"Service period: {period['start']} to {period['end']}")
    if record.get("refers_to"):
        lines.append(f"Refers to: {record['refers_to']['number']} of {record['refers_to']['date']}")
    # Outside the standard regime no line bears VAT, whatever rate its configuration names.
    regime = record.get("vat_regime", "standard")
    no_vat = None if regime == "standard" else f"no VAT: {NO_VAT.get(regime, regime)}"
    for line in record["lines"]:
        vat = no_vat or f"VAT {line['vat_rate']}%"
        lines.append(f"  {line['description']}: {line['quantity']} x {line['unit_price']} "
                     f"({vat}) = {line['amount_excl_vat']}")
    lines.append(f"Total excl. VAT {record['total_excl_vat']}  VAT {record['total_vat']}  "
                 f"Total incl. VAT {record['total_incl_vat']} {record['currency']}")
    print_lines(printable(text) for text in lines)  # a control character in a record forges nothing


@app.command()
def verify(
    ctx: typer.Context,
    expect: str | None = typer.Option(
        None, "--expect", metavar="HASH",
        help="A head hash kept elsewhere: the journal must end at (or contain) that entry."),
    einvoice: bool = typer.Option(False, "--einvoice",
                                  help="Also validate every issued Factur-X XML (XSD and EN 16931 schematrons)."),
    _date: str | None = ReplayDateOpt,
) -> None:
    """Check the journal chain and head record, every file it names, the state and the views."""
    from facturier.ops.verify import verify_workspace

    started = time.perf_counter()
    result = verify_workspace(load(ctx).root, expect, einvoice=einvoice)
    for note in result.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    for problem in result.problems:
        print(f"BROKEN: {printable(problem)}")  # a file name could carry a newline
    if result.problems:
        print(f"Integrity check FAILED: {len(result.problems)} problem(s).", file=sys.stderr)
    else:
        console.print(f"Integrity OK: {result.entries} journal entries, {result.files} files "
                      f"verified, {result.views} views match the journal.")
        console.print(f"The journal ends at entry {result.entries}, hash {result.head_hash}", markup=False,
                      highlight=False)
    einvoice_failed = result.einvoice is not None and _print_einvoice(result.einvoice, time.perf_counter() - started)
    if result.problems or einvoice_failed:
        raise typer.Exit(1)


def _print_einvoice(report: EInvoiceReport, seconds: float) -> bool:
    """Print `file: rule id: message` per failure and a summary; True when any e-invoice is invalid."""
    for note in report.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    # Warnings repeat across files (the same rule, the same text): one line per distinct warning.
    for warning, count in Counter(w.split(": ", 1)[-1] for w in report.warnings).items():
        console.print(f"warning: {warning} ({count} file(s))", markup=False, highlight=False)
    for error in report.errors:
        print(f"INVALID: {error}")
    if report.errors:
        print(f"E-invoice check FAILED: {len(report.errors)} problem(s) in {report.files} file(s) "
              f"({seconds:.1f} s).", file=sys.stderr)
        return True
    console.print(f"E-invoices OK: {report.files} Factur-X file(s) pass the XSD and the EN 16931 "
                  f"schematrons ({seconds:.1f} s).")
    return False


@app.command()
def rebuild(ctx: typer.Context, _date: str | None = ReplayDateOpt) -> None:
    """Regenerate every derived view from the journal."""
    from facturier.ops.views import rebuild_views

    ws = load(ctx)
    count = rebuild_views(ws)
    console.print(f"Rebuilt {count} view file(s) from the journal.")


@app.command("purge-logs")
def purge_logs(
    ctx: typer.Context,
    older_than: int = typer.Option(..., "--older-than", min=1, help="Delete log files not written for DAYS days."),
    date: str | None = typer.Option(
        None, "--date", metavar="DATE", callback=check_date_option,
        help="Count the DAYS back from this day (YYYY-MM-DD; default: now; never after today)."),
) -> None:
    """Delete old log files under data/logs/, never anything else."""
    from facturier.ops.logs import purge_logs as purge

    ws = load(ctx)
    now = None
    if date is not None:  # the files' ages are real times: only an explicit day moves "now"
        day, now_day = run_date(date, ws.config.timezone), today(ws.config.timezone)
        if day > now_day:  # a day ahead would delete logs that are not that old yet
            raise InputError(f"--date {day} is after today ({now_day}): log ages count from a day that has come")
        clock = datetime.now(ZoneInfo(ws.config.timezone))
        now = datetime.combine(day, clock.timetz()).timestamp()
    removed = purge(ws.root, older_than, now)
    console.print(f"Deleted {len(removed)} log file(s).")
    for path in removed:
        console.print(f"  {path}", markup=False, highlight=False)


