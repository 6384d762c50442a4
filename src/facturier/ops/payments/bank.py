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

import copy
import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.adapters.bank import BankTransaction, detect_format, parse_statement
from facturier.core.errors import InputError
from facturier.core.accounts import Account
from facturier.core.payments import OpenInvoice
from facturier.ops.logs import log
from facturier.ops.payments.record import allocated_payment, open_invoices
from facturier.ops.state import read_state
from facturier.ops.report import Report
from facturier.ops.views import refresh_views
from facturier.store.events import T
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

BANK_COLUMNS = ["date", "amount", "currency", "text", "result", "client", "invoice"]


def bank_key(tx: BankTransaction) -> str:
    """Identity of a transaction without a bank id: its date, amount and text."""
    raw = f"{tx.date.isoformat()}|{tx.amount}|{' '.join(tx.text.split())}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class PaymentPlan:
    """The ledger state as it will be once the planned payments are recorded; writes nothing.

    Matching runs on a plan (later credits of a statement see the payments of earlier ones),
    and the plan is applied only when every line was accepted: one mechanism for the dry run
    and the real import. Accounts are copied on first use, so the state itself never changes.
    """

    def __init__(self, state: LedgerState) -> None:
        self.state = state
        self._accounts: dict[tuple[str, str], Account | None] = {}
        self.bank_ids: set[str] = set()
        self.bank_keys: set[str] = set()
        self.bank_keys_without_id: set[str] = set()
        self.payments: list[dict[str, Any]] = []

    def account(self, client: str, currency: str) -> Account | None:
        """The client's account with the planned payments applied."""
        key = (client, currency)
        if key not in self._accounts:
            found = self.state.accounts.accounts.get(key)
            self._accounts[key] = copy.deepcopy(found) if found is not None else None
        return self._accounts[key]

    def open_invoices(self, client: str, currency: str, day: Any) -> list[OpenInvoice]:
        """Invoices open at `day`, planned payments included (exact for a day on or after the
        account's latest fact; for an earlier day, recomputed from the journal's facts)."""
        account = self.account(client, currency)
        if account is None:
            return []
        if account.covers(day):
            return [OpenInvoice(n, due, left) for n, due, left in account.open_items(day)]
        return open_invoices(self.state, client, currency, day)

    def add(self, data: dict[str, Any]) -> None:
        """Plan one payment (its journal data)."""
        self.payments.append(data)
        account = self.account(data["client"], data["currency"])
        if account is not None:
            account.add_payment(date.fromisoformat(data["date"]), Decimal(data["amount"]),
                                [(a["number"], Decimal(a["amount"])) for a in data["allocation"]],
                                Decimal(data["unallocated"]))
        if data.get("bank_id"):
            self.bank_ids.add(data["bank_id"])
        else:
            self.bank_keys_without_id.add(data["bank_key"])
        self.bank_keys.add(data["bank_key"])

    def already_imported(self, tx: BankTransaction) -> bool:
        """Same bank id, or (when either side has no bank id) same date + amount + text.

        Two transactions that both carry a bank id are the same only when the ids are equal:
        two real transfers of the same amount, day and text must both be recorded.
        """
        core, key = self.state.core, bank_key(tx)
        if tx.bank_id is not None:
            return (tx.bank_id in core.bank_ids or tx.bank_id in self.bank_ids
                    or key in core.bank_keys_without_id or key in self.bank_keys_without_id)
        return key in core.bank_keys or key in self.bank_keys


def mentions(text: str, number: str) -> bool:
    """Whether the number appears as a whole token (2026-0001 is not in 2026-00012)."""
    return re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text) is not None


def match(ws: Workspace, plan: PaymentPlan, tx: BankTransaction) -> tuple[str, str] | None:
    """(client, invoice) this credit settles, or None when a human must decide."""
    candidates: dict[str, list[OpenInvoice]] = {}
    for client_id, client in sorted(ws.clients.items()):
        if client.mode == "live" and (tx.currency is None or tx.currency == client.currency):
            candidates[client_id] = plan.open_invoices(client_id, client.currency, tx.date)
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
    source = f"bank:{fmt}:{file.name}"
    if dry_run:
        state = read_state(ws.root)
        try:
            return [match_all(ws, PaymentPlan(state), transactions, source, today, dry_run=True)]
        finally:
            state.close()
    with Ledger(ws.root) as ledger:
        plan = PaymentPlan(ledger.state)
        report = match_all(ws, plan, transactions, source, today, dry_run=False)
        for data in plan.payments:  # every line was accepted: apply the plan
            ledger.append(T.PAYMENT_RECORDED, data)
            log(ws.root, f"bank payment {data['currency']} {data['amount']} on {data['date']} -> "
                         f"{data['allocation'][0]['number'] if data['allocation'] else '-'}", data["client"])
        refresh_views(ws, ledger.state, {d["client"] for d in plan.payments})
    return [report]


def match_all(
    ws: Workspace, plan: PaymentPlan, transactions: list[BankTransaction], source: str, today: Any,
    dry_run: bool,
) -> Report:
    """Match each credit in file order into the plan; later credits see the earlier ones."""
    title = "Bank import" + (" (dry run: nothing written)" if dry_run else "")
    report = Report(title, BANK_COLUMNS)
    for tx in transactions:
        row = {"date": tx.date.isoformat(), "amount": str(tx.amount), "currency": tx.currency or "",
               "text": tx.text[:60], "result": "unmatched", "client": "", "invoice": ""}
        report.rows.append(row)
        if tx.date > today:
            raise InputError(f"statement transaction dated {tx.date} is in the future")
        if plan.already_imported(tx):
            row["result"] = "duplicate"
            continue
        found = match(ws, plan, tx)
        if found is None:
            continue
        client, invoice = found
        currency = tx.currency or ws.clients[client].currency
        extra = {"method": "transfer", "reference": tx.bank_id or tx.text[:80], "source": source,
                 "bank_id": tx.bank_id, "bank_key": bank_key(tx)}
        open_now = plan.open_invoices(client, currency, tx.date)
        plan.add(allocated_payment(open_now, client, tx.amount, currency, tx.date, invoice, extra))
        row.update(result="matched", client=client, invoice=invoice, currency=currency)
    summary = {r: sum(1 for x in report.rows if x["result"] == r) for r in ("matched", "unmatched", "duplicate")}
    report.notes.append(", ".join(f"{n} {r}" for r, n in summary.items())
                        + ("; settle unmatched credits with 'facturier pay CLIENT AMOUNT --date D --ref R'"
                           if summary["unmatched"] else ""))
    return report
