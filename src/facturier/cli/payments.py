"""Payment commands: pay, balances, credit, import-bank."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from facturier.cli.common import (
    DateOpt,
    JsonOpt,
    app,
    check_date_option,
    check_free_text,
    load,
    parse_date,
    print_report,
    run_date,
    today,
    writing_date,
)
from facturier.core.errors import InputError


# "-5" would otherwise be read as an unknown option ("No such option: -5"); taken as the
# amount, it gets the amount rule's own message instead.
@app.command(context_settings={"ignore_unknown_options": True})
def pay(
    ctx: typer.Context,
    client: str = typer.Argument(..., help="Client id."),
    amount: str = typer.Argument(..., help="Amount received, e.g. 827.88."),
    date: str = typer.Option(
        ..., "--date", callback=check_date_option, help="Date the money was received (YYYY-MM-DD)."
    ),
    method: str = typer.Option("transfer", "--method", help="transfer, card, cash, cheque or other."),
    ref: str | None = typer.Option(None, "--ref", callback=check_free_text, help="Bank or cheque reference."),
    invoice: str | None = typer.Option(None, "--invoice", help="Settle this invoice only."),
    currency: str | None = typer.Option(None, "--currency", help="Default: the client's currency."),
    as_json: bool = JsonOpt,
) -> None:
    """Record a payment, allocated to the client's open invoices (oldest due first)."""
    from facturier.core.money import to_decimal
    from facturier.ops.payments.record import record_payment

    ws = load(ctx)
    if not re.fullmatch(r"\s*[+-]?[0-9]+(\.[0-9]+)?\s*", amount):
        # The form a bank statement's amount must have too (`received_amount`): no ".5" or "5.".
        raise InputError(f"AMOUNT: {amount!r} is not a plain amount (digits, '.' as decimal mark)")
    report = record_payment(
        ws, client, to_decimal(amount, "AMOUNT"), parse_date(date, "--date"),
        today(ws.config.timezone), method=method, reference=ref, invoice=invoice,
        currency=currency,
    )
    print_report(report, as_json)


@app.command()
def balances(ctx: typer.Context, date: str | None = DateOpt, as_json: bool = JsonOpt) -> None:
    """Invoiced vs credited vs paid per client and currency, with status, aging and DSO."""
    from facturier.ops.payments.hand_edits import hand_edited_payments
    from facturier.ops.reports.balances import balances_report
    from facturier.ops.state_access import reading_state

    ws = load(ctx)
    with reading_state(ws.root) as state:
        report = balances_report(state, run_date(date, ws.config.timezone))
        report.alerts.extend(hand_edited_payments(ws.root, state))  # the seeds' way: edit the file
    print_report(report, as_json)


@app.command()
def credit(
    ctx: typer.Context,
    number: str = typer.Argument(..., help="Number of the invoice to credit."),
    amount: str | None = typer.Option(
        None, "--amount",
        help="Amount incl. VAT, spread over the VAT rates pro rata (default: all that remains).",
    ),
    line: list[int] | None = typer.Option(
        None, "--line", min=1, help="Credit this line of the invoice in full (1-based; repeatable)."
    ),
    reason: str | None = typer.Option(None, "--reason", callback=check_free_text, help="Printed on the credit note."),
    date: str | None = DateOpt,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the credit note that would be issued; write nothing."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Issue a credit note (avoir) against an invoice: in full, for an amount, or for given lines."""
    from facturier.core.money import to_decimal
    from facturier.ops.invoicing.credit import issue_credit_note

    ws = load(ctx)
    value = None if amount is None else to_decimal(amount, "--amount")
    day = writing_date(date, ws.config.timezone, dry_run)
    report = issue_credit_note(ws, number, value, reason, day, tuple(line or ()), dry_run)
    print_report(report, as_json)


@app.command("import-bank")
def import_bank(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Bank statement file."),
    fmt: str | None = typer.Option(None, "--format",
                                   help="camt053, camt054, camt052, ofx, mt940 or csv (default: detected)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the matching; record nothing."),
    accept_duplicates: bool = typer.Option(
        False, "--accept-duplicates",
        help="Also record credits that look like payments already recorded (listed as 'likely duplicate').",
    ),
    date: str | None = DateOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import a bank statement: credits matched to invoices become payments."""
    from facturier.ops.payments.bank import import_statement

    ws = load(ctx)
    day = writing_date(date, ws.config.timezone, dry_run)  # credits after that day are refused
    reports = import_statement(ws, file, fmt, dry_run, day, accept_duplicates)
    for report in reports:
        print_report(report, as_json)
