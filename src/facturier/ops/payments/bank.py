"""`facturier import-bank`: match statement credits to open invoices and record them.

Matching, in order, against live direct invoices open at the transaction date:
1. an invoice number in the remittance text, same currency, amount <= its open amount
   (equal = full settlement, less = partial payment);
2. else the client's name in the text or counterparty, with exactly one open invoice of
   exactly that amount.
Anything else is listed as unmatched for a human (`facturier pay ... --ref`).

Two kinds of duplicates are kept out of the journal:
- exact: a transaction already imported (same bank id, or same date, amount and text) is
  skipped silently, as `duplicate`;
- likely: a credit that looks like a payment recorded earlier from another file or format,
  or by hand (same date and amount, the same payer, and a shared reference when both sides
  have one) is listed as `likely duplicate` and recorded only with `--accept-duplicates`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.adapters.bank import BankTransaction, detect_format, parse_statement
from facturier.core.errors import InputError
from facturier.core.money import check_minor_unit, quantize
from facturier.core.payments import OpenInvoice
from facturier.ops.logs import log
from facturier.ops.payments.record import open_invoices, payment_data
from facturier.ops.report import Alert, Report
from facturier.ops.views import refresh_views
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace

BANK_COLUMNS = ["date", "amount", "currency", "text", "result", "client", "invoice"]
RESULTS = ("matched", "unmatched", "duplicate", "likely duplicate")
_WORD = re.compile(r"[\w-]+")


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


def _fold(text: str) -> str:
    """Text as compared: NFKC, case-folded, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _references(text: str) -> set[str]:
    """Words with a digit: invoice numbers, end-to-end ids; not days, months or years."""
    words = {w.strip("-") for w in _WORD.findall(_fold(text))}
    return {w for w in words if len(w) >= 3 and any(c.isdigit() for c in w)
            and not (w.isdigit() and len(w) <= 4)}


def _contains_words(haystack: str, words: str) -> bool:
    """Whether `words` appear whole in `haystack` (a client "AB" is not in "abonnement")."""
    return re.search(rf"(?<!\w){re.escape(words)}(?!\w)", haystack) is not None


def likely_duplicate(ws: Workspace, earlier: list[Entry], tx: BankTransaction, fmt: str) -> Entry | None:
    """A payment recorded before this import that is probably this very credit, or None.

    Same date, amount (and currency when the file says it); the same payer (the payment's
    counterparty or client name appears in the credit, or the credit's payer in the payment);
    and a shared reference when both sides carry one. Payments whose bank id comes from the
    same format as this credit's bank id are left to the exact check: distinct ids there are
    distinct transfers.
    """
    for e in earlier:
        if (e["type"] != "payment.recorded" or e["date"] != tx.date.isoformat()
                or Decimal(e["amount"]) != tx.amount or (tx.currency and e["currency"] != tx.currency)):
            continue
        if tx.bank_id is not None and e.get("bank_id") and _format_of(e) == fmt:
            continue
        if _same_payer(ws, e, tx) and _same_reference(e, tx):
            return e
    return None


def _format_of(payment: Entry) -> str:
    source = str(payment.get("source", ""))
    return source.split(":")[1] if source.startswith("bank:") else ""


def _same_payer(ws: Workspace, payment: Entry, tx: BankTransaction) -> bool:
    client = ws.clients.get(payment["client"])
    names = {_fold(str(payment.get("counterparty") or "")), _fold(client.name if client else "")} - {""}
    haystack = _fold(f"{tx.text} {tx.counterparty}")
    payer = _fold(tx.counterparty)
    remittance = _fold(str(payment.get("remittance") or ""))
    return any(_contains_words(haystack, n) for n in names) or bool(payer and _contains_words(remittance, payer))


def _same_reference(payment: Entry, tx: BankTransaction) -> bool:
    ours = _references(tx.text)
    theirs = _references(" ".join([str(payment.get("remittance") or ""), str(payment.get("reference") or ""),
                                   *(a["number"] for a in payment.get("allocation", []))]))
    return not ours or not theirs or bool(ours & theirs)


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


def import_statement(
    ws: Workspace, file: Path, fmt: str | None, dry_run: bool, today: date, accept_duplicates: bool = False,
) -> list[Report]:
    """Parse, match and (unless dry run) journal every credit of a statement."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read the statement: {exc.strerror}") from None
    try:
        fmt = fmt or detect_format(content)
        transactions = parse_statement(content, fmt, ws.config.bank.csv)
        return [_import(ws, transactions, fmt, file.name, dry_run, today, accept_duplicates)]
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None


def _import(
    ws: Workspace, transactions: list[BankTransaction], fmt: str, name: str, dry_run: bool, today: date,
    accept_duplicates: bool,
) -> Report:
    source = f"bank:{fmt}:{name}"
    if dry_run:
        from facturier.store.journal import read_entries

        entries = list(read_entries(ws.root / "data" / "journal.jsonl"))
        return match_all(ws, entries, transactions, source, None, today, accept_duplicates)
    with Ledger(ws.root) as ledger:
        # Rehearse on a copy first: any refused line stops the import before anything is written.
        match_all(ws, list(ledger.entries), transactions, source, None, today, accept_duplicates)
        report = match_all(ws, ledger.entries, transactions, source, ledger, today, accept_duplicates)
        refresh_views(ws, ledger.entries, {r["client"] for r in report.rows if r["result"] == "matched"})
    return report


def match_all(
    ws: Workspace, entries: list[Entry], transactions: list[BankTransaction], source: str,
    ledger: Ledger | None, today: date, accept_duplicates: bool = False,
) -> Report:
    """Match each credit in file order; later credits see the payments of earlier ones."""
    report = Report("Bank import" + (" (dry run: nothing written)" if ledger is None else ""), BANK_COLUMNS)
    # Credits of this very file are distinct lines of one statement, never likely duplicates
    # of each other: compare with what was recorded before this import only.
    earlier = list(entries)
    fmt = source.split(":")[1]
    for tx in transactions:
        row = {"date": tx.date.isoformat(), "amount": str(tx.amount), "currency": tx.currency or "",
               "text": tx.text[:60], "result": "unmatched", "client": "", "invoice": ""}
        report.rows.append(row)
        _check_transaction(ws, tx, today)
        if already_imported(entries, tx):
            row["result"] = "duplicate"
            continue
        twin = likely_duplicate(ws, earlier, tx, fmt)
        if twin is not None and not accept_duplicates:
            numbers = [a["number"] for a in twin.get("allocation", [])]
            row.update(result="likely duplicate", client=twin["client"], invoice=" ".join(numbers))
            continue
        found = match(ws, entries, tx)
        if found is not None:
            _record(ws, entries, ledger, tx, found, source, row)
    _summarise(report)
    return report


def _check_transaction(ws: Workspace, tx: BankTransaction, today: date) -> None:
    """Refuse a credit no one could have received: future date, impossible decimals."""
    where = f"{tx.where}: " if tx.where else ""
    if tx.date > today:
        raise InputError(f"{where}statement transaction dated {tx.date} is in the future")
    currencies = {c.currency for c in ws.clients.values()}
    if tx.currency is None and currencies and all(quantize(tx.amount, c) != tx.amount for c in currencies):
        raise InputError(f"{where}amount: {tx.amount} has more decimals than "
                         f"{', '.join(sorted(currencies))} allow")


def _record(
    ws: Workspace, entries: list[Entry], ledger: Ledger | None, tx: BankTransaction,
    found: tuple[str, str], source: str, row: dict[str, Any],
) -> None:
    """Journal (or, in a rehearsal, append in memory) the payment of a matched credit."""
    client, invoice = found
    currency = tx.currency or ws.clients[client].currency
    amount = check_minor_unit(tx.amount, currency, f"{tx.where or 'transaction'}: amount")
    extra = {"method": "transfer", "reference": tx.bank_id or tx.text[:80], "source": source,
             "bank_id": tx.bank_id, "bank_key": bank_key(tx),
             # Kept so that a later import of the same credit in another format is recognised.
             "counterparty": tx.counterparty, "remittance": " ".join(tx.text.split())[:500]}
    data = payment_data(entries, client, amount, currency, tx.date, invoice, extra)
    if ledger is None:
        entries.append({"type": "payment.recorded", "seq": 0, **data})
    else:
        ledger.append("payment.recorded", data)
        log(ws.root, f"bank payment {currency} {amount} on {tx.date} -> {invoice}", client)
    row.update(result="matched", client=client, invoice=invoice, currency=currency)


def _summarise(report: Report) -> None:
    counts = {r: sum(1 for x in report.rows if x["result"] == r) for r in RESULTS}
    note = ", ".join(f"{n} {r}" for r, n in counts.items())
    if counts["unmatched"]:
        note += "; settle unmatched credits with 'facturier pay CLIENT AMOUNT --date D --ref R'"
    report.notes.append(note)
    if counts["likely duplicate"]:
        report.alerts.append(Alert("warning", (
            f"{counts['likely duplicate']} credit(s) not recorded: each looks like a payment already "
            "recorded (same date, amount, payer and reference), perhaps from the same statement in "
            "another format; check them, then import again with --accept-duplicates to record them")))
