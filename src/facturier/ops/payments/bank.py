"""`facturier import-bank`: match statement credits to open invoices and record them.

Matching, in order, against live direct invoices open at the transaction date:
1. an invoice number in the remittance text, same currency, amount <= its open amount
   (equal = full settlement, less = partial payment);
2. else the client's name in the text or counterparty, with exactly one open invoice of
   exactly that amount.
Anything else is listed as unmatched for a human (`facturier pay ... --ref`). A transaction
already imported (same bank id, or same date, amount and text) is never recorded again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.adapters.bank import BankTransaction, detect_format, parse_statement
from facturier.core.errors import InputError
from facturier.core.payments import OpenInvoice
from facturier.ops.logs import log
from facturier.ops.payments.record import open_invoices, payment_data
from facturier.ops.report import Report
from facturier.ops.views import refresh_views
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace

BANK_COLUMNS = ["date", "amount", "currency", "text", "result", "client", "invoice"]


def bank_key(tx: BankTransaction) -> str:
    """Identity of a transaction without a bank id: its date, amount and text."""
    raw = f"{tx.date.isoformat()}|{tx.amount}|{' '.join(tx.text.split())}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def already_imported(entries: list[Entry], tx: BankTransaction) -> bool:
    """Same bank id, or (when either side has no bank id) same date + amount + text.

    Two transactions that both carry a bank id are the same only when the ids are equal:
    two real transfers of the same amount, day and text must both be recorded.
    """
    key = bank_key(tx)
    for e in entries:
        if e["type"] != "payment.recorded":
            continue
        if tx.bank_id is not None and e.get("bank_id"):
            if e["bank_id"] == tx.bank_id:
                return True
        elif e.get("bank_key") == key:
            return True
    return False


def mentions(text: str, number: str) -> bool:
    """Whether the number appears as a whole token (2026-0001 is not in 2026-00012)."""
    return re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text) is not None


def match(ws: Workspace, entries: list[Entry], tx: BankTransaction) -> tuple[str, str] | None:
    """(client, invoice) this credit settles, or None when a human must decide."""
    candidates: dict[str, list[OpenInvoice]] = {}
    for client_id, client in sorted(ws.clients.items()):
        if client.mode == "live" and (tx.currency is None or tx.currency == client.currency):
            candidates[client_id] = open_invoices(entries, client_id, client.currency, tx.date)
    for client_id, invoices in candidates.items():
        for inv in invoices:
            if mentions(tx.text, inv.number) and tx.amount <= inv.open_amount:
                return client_id, inv.number
    haystack = f"{tx.text} {tx.counterparty}".casefold()
    for client_id, invoices in candidates.items():
        if ws.clients[client_id].name.casefold() in haystack:
            exact = [inv for inv in invoices if inv.open_amount == tx.amount]
            if len(exact) == 1:
                return client_id, exact[0].number
    return None


def import_statement(ws: Workspace, file: Path, fmt: str | None, dry_run: bool, today: Any) -> list[Report]:
    """Parse, match and (unless dry run) journal every credit of a statement."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read the statement: {exc.strerror}") from None
    try:
        fmt = fmt or detect_format(content)
        transactions = parse_statement(content, fmt, ws.config.bank.csv)
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None
    if dry_run:
        from facturier.store.journal import read_entries

        entries = list(read_entries(ws.root / "data" / "journal.jsonl"))
        return [match_all(ws, entries, transactions, f"bank:{fmt}:{file.name}", None, today)]
    with Ledger(ws.root) as ledger:
        # Rehearse on a copy first: any refused line stops the import before anything is written.
        match_all(ws, list(ledger.entries), transactions, f"bank:{fmt}:{file.name}", None, today)
        report = match_all(ws, ledger.entries, transactions, f"bank:{fmt}:{file.name}", ledger, today)
        refresh_views(ws, ledger.entries, {r["client"] for r in report.rows if r["result"] == "matched"})
    return [report]


def match_all(
    ws: Workspace, entries: list[Entry], transactions: list[BankTransaction], source: str,
    ledger: Ledger | None, today: Any,
) -> Report:
    """Match each credit in file order; later credits see the payments of earlier ones."""
    title = "Bank import" + (" (dry run: nothing written)" if ledger is None else "")
    report = Report(title, BANK_COLUMNS)
    for tx in transactions:
        row = {"date": tx.date.isoformat(), "amount": str(tx.amount), "currency": tx.currency or "",
               "text": tx.text[:60], "result": "unmatched", "client": "", "invoice": ""}
        report.rows.append(row)
        if tx.date > today:
            raise InputError(f"statement transaction dated {tx.date} is in the future")
        if already_imported(entries, tx):
            row["result"] = "duplicate"
            continue
        found = match(ws, entries, tx)
        if found is None:
            continue
        client, invoice = found
        currency = tx.currency or ws.clients[client].currency
        extra = {"method": "transfer", "reference": tx.bank_id or tx.text[:80], "source": source,
                 "bank_id": tx.bank_id, "bank_key": bank_key(tx)}
        data = payment_data(entries, client, tx.amount, currency, tx.date, invoice, extra)
        if ledger is None:
            entries.append({"type": "payment.recorded", "seq": 0, **data})
        else:
            ledger.append("payment.recorded", data)
            log(ws.root, f"bank payment {currency} {tx.amount} on {tx.date} -> {invoice}", client)
        row.update(result="matched", client=client, invoice=invoice, currency=currency)
    summary = {r: sum(1 for x in report.rows if x["result"] == r) for r in ("matched", "unmatched", "duplicate")}
    report.notes.append(", ".join(f"{n} {r}" for r, n in summary.items())
                        + ("; settle unmatched credits with 'facturier pay CLIENT AMOUNT --date D --ref R'"
                           if summary["unmatched"] else ""))
    return report
