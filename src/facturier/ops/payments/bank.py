"""`facturier import-bank`: match statement credits to open invoices and record them.

Matching, in order, against live direct invoices open at the transaction date:
1. an invoice number in the remittance text, same currency, amount <= its open amount
   (equal = full settlement, less = partial payment); several numbers of one client's open
   invoices: the one whose open amount is the credit's, else all of them together (oldest
   due first) when the credit is at most what they leave open (`by_number`);
2. else the client's name in the text or counterparty (whole words, with or without its legal
   form: `names`), with exactly one open invoice of exactly that amount, and no other client
   so named with one.
Anything else is listed as unmatched for a human (`facturier pay ... --ref`).

A returned transfer (a credit the bank took back) records nothing: it is named in a warning,
with the payment recorded before that it appears to return (`returned_payment`), since
Facturier does not record reversals yet and that payment still counts.

Two kinds of duplicates are kept out of the journal:
- exact: a transaction already imported (same bank id, or same date, amount and text) is
  skipped silently, as `duplicate`;
- likely: a credit that looks like a payment recorded earlier from another file or format,
  or by hand (same date and amount, the same payer, and a shared reference when both sides
  have one) is listed as `likely duplicate` and recorded only with `--accept-duplicates`.
"""

from __future__ import annotations

import copy
import hashlib
import re
import stat
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.adapters.bank import BankTransaction, StatementProblems, detect_format, parse_statement
from facturier.adapters.bank_record import ProblemCollector
from facturier.config.fields import describe_invisible, invisible_characters
from facturier.core.accounts import Account
from facturier.core.errors import InputError
from facturier.core.money import ZERO, check_minor_unit, quantize
from facturier.core.payments import OpenInvoice
from facturier.core.text import printable
from facturier.ops.logs import log
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.ops.payments.names import contains_words, fold, name_found, named_clients
from facturier.ops.payments.record import allocated_payment, open_invoices
from facturier.ops.plan import carry_out
from facturier.ops.views import PAYMENT_VIEWS, refresh_views
from facturier.store.events import PaymentRecorded, T
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

BANK_COLUMNS = ["date", "amount", "currency", "text", "result", "client", "invoice"]
RESULTS = ("matched", "unmatched", "duplicate", "likely duplicate")
_WORD = re.compile(r"[\w-]+")
RETURN_WINDOW = 400  # days before a returned transfer where the payment it returns is looked for


def bank_key(tx: BankTransaction) -> str:
    """Identity of a transaction without a bank id: its date, amount and text."""
    raw = f"{tx.date.isoformat()}|{tx.amount}|{' '.join(tx.text.split())}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class PaymentPlan:
    """The ledger state as it will be once the planned payments are recorded; writes nothing.

    Matching runs on it (later credits of a statement see the payments of earlier ones); its
    payments become the `BankImport` plan, applied only when every line was accepted. Accounts
    are read apart on first use (their open rows, or a copy), so the state itself never changes.
    """

    def __init__(self, state: LedgerState) -> None:
        self.state = state
        self._accounts: dict[tuple[str, str], Account | None] = {}
        self._open: dict[tuple[str, str], list[OpenInvoice]] = {}  # open_invoices of an account that covers the day
        self.bank_ids: set[str] = set()
        self.bank_keys: set[str] = set()
        self.bank_keys_without_id: set[str] = set()
        self.payments: list[PaymentRecorded] = []

    def account(self, client: str, currency: str, day: date | None = None) -> Account | None:
        """The client's account with the planned payments applied. Read, when first asked with
        the day of a credit, with only its open rows (`Accounts.open_only`: a client with
        250,000 settled invoices is a few rows, not a copy of all of them: 30 s and 500 MB at
        1M entries); else, or when the aggregates cannot tell, whole and copied."""
        key = (client, currency)
        if key not in self._accounts:
            opened = self.state.accounts.open_only(client, day) if day is not None else None
            if opened is not None:  # never kept by the state: the plan may change it
                self._accounts[key] = next((a for a in opened if a.currency == currency), None)
            else:
                found = self.state.accounts.get(*key)
                self._accounts[key] = copy.deepcopy(found) if found is not None else None
        return self._accounts[key]

    def open_invoices(self, client: str, currency: str, day: Any) -> list[OpenInvoice]:
        """Invoices open at `day`, planned payments included (exact for a day on or after the
        account's latest fact; for an earlier day, recomputed from the journal's facts)."""
        account = self.account(client, currency, day)
        if account is None:
            return []
        if account.covers(day):  # the same list for any such day: kept until a payment changes it
            key = (client, currency)
            if key not in self._open:
                self._open[key] = [OpenInvoice(n, due, left) for n, due, left in account.open_items(day)]
            return self._open[key]
        return open_invoices(self.state, client, currency, day)

    def add(self, payment: PaymentRecorded) -> None:
        """Plan one payment of the statement (its bank_key set)."""
        assert payment.bank_key is not None
        self.payments.append(payment)
        account = self.account(payment.client, payment.currency, payment.date)
        if account is not None:
            parts = [(a.number, a.amount) for a in payment.allocation]
            account.add_payment(payment.date, payment.amount, parts, payment.unallocated)
            self._open.pop((payment.client, payment.currency), None)
        self._remember(payment.bank_id, payment.bank_key)

    def seen(self, tx: BankTransaction) -> None:
        """Remember a credit of this file, matched or not: the same credit again in the file (two
        overlapping statements) is a duplicate, never a second line for a human to pay."""
        self._remember(tx.bank_id, bank_key(tx))

    def _remember(self, bank_id: str | None, key: str) -> None:
        if bank_id:
            self.bank_ids.add(bank_id)
        else:
            self.bank_keys_without_id.add(key)
        self.bank_keys.add(key)

    def recorded_on(self, day: date) -> list[Entry]:
        """Payments recorded before this import, dated `day` (for the likely-duplicate check)."""
        return [self.state.entry_at(o) for o in self.state.index.payments_on.get(day.toordinal(), [])]

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


def _fold(text: str) -> str:
    """Text as compared: NFKC, case-folded, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _references(text: str) -> set[str]:
    """Words with a digit: invoice numbers, end-to-end ids; not days, months or years."""
    words = {w.strip("-") for w in _WORD.findall(_fold(text))}
    return {w for w in words if len(w) >= 3 and any(c.isdigit() for c in w)
            and not (w.isdigit() and len(w) <= 4)}


def likely_duplicate(ws: Workspace, earlier: list[Entry], tx: BankTransaction, fmt: str) -> Entry | None:
    """A payment recorded before this import that is probably this very credit, or None.

    Same date, amount (and currency when the file says it); the same payer (the payment's
    counterparty or client name appears in the credit, or the credit's payer in the payment);
    and a shared reference when both sides carry one. Payments whose bank id comes from the
    same format as this credit's bank id are left to the exact check: distinct ids there are
    distinct transfers.
    """
    for e in earlier:
        if (e["type"] != T.PAYMENT_RECORDED or e["date"] != tx.date.isoformat()
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
    haystack = fold(f"{tx.text} {tx.counterparty}")
    payer = fold(tx.counterparty)
    remittance = fold(str(payment.get("remittance") or ""))
    names = (str(payment.get("counterparty") or ""), client.name if client else "")
    return any(name_found(haystack, n) for n in names) or bool(payer and contains_words(remittance, payer))


def _same_reference(payment: Entry, tx: BankTransaction) -> bool:
    ours = _references(tx.text)
    theirs = _references(" ".join([str(payment.get("remittance") or ""), str(payment.get("reference") or ""),
                                   *(a["number"] for a in payment.get("allocation", []))]))
    return not ours or not theirs or bool(ours & theirs)


def mentions(text: str, number: str) -> bool:
    """Whether the number appears as a whole token (2026-0001 is not in 2026-00012). The plain
    substring test first: a client with 250,000 open invoices is as many tests per credit."""
    return number in text and re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", text) is not None


def match(ws: Workspace, plan: PaymentPlan, tx: BankTransaction) -> tuple[str, tuple[str, ...]] | None:
    """(client, invoices) this credit settles, or None when a human must decide."""
    candidates: dict[str, list[OpenInvoice]] = {}
    for client_id, client in sorted(ws.clients.items()):
        if client.mode != "live":
            continue
        if tx.currency is None or tx.currency == client.currency:
            candidates[client_id] = plan.open_invoices(client_id, client.currency, tx.date)
        elif plan.account(client_id, tx.currency, tx.date) is not None:  # invoices from before a change of currency
            candidates[client_id] = plan.open_invoices(client_id, tx.currency, tx.date)
    for client_id, invoices in candidates.items():
        settled = by_number(tx, invoices)
        if settled:
            return client_id, settled
    # By name (with or without its legal form, `names`): only when exactly one client named
    # has exactly one open invoice of that amount; two such clients are for a human to tell.
    named = named_clients(f"{tx.text} {tx.counterparty}", {c: ws.clients[c].name for c in candidates})
    exact = {c: found for c in named
             if len(found := [inv for inv in candidates[c] if inv.open_amount == tx.amount]) == 1}
    if len(exact) == 1:
        [(client_id, [invoice])] = exact.items()
        return client_id, (invoice.number,)
    return None


def by_number(tx: BankTransaction, invoices: list[OpenInvoice]) -> tuple[str, ...]:
    """The open invoices of one client this credit settles by their numbers in its text.

    One named invoice whose open amount is the credit's is that invoice; else the credit
    settles the named invoices together (oldest due first) when it is at most what they leave
    open: one transfer for two invoices is matched, an over-payment is left to a human.
    """
    named = [inv for inv in invoices if mentions(tx.text, inv.number)]
    exact = [inv.number for inv in named if inv.open_amount == tx.amount]
    if exact:
        return (exact[0],)
    if named and tx.amount <= sum((inv.open_amount for inv in named), ZERO):
        return tuple(inv.number for inv in named)
    return ()


def import_statement(
    ws: Workspace, file: Path, fmt: str | None, dry_run: bool, today: date, accept_duplicates: bool = False,
) -> list[Report]:
    """Parse, match and (unless dry run) journal every credit of a statement."""
    bad = invisible_characters(file.name)
    if bad:  # the name is journalled as the payments' source: a newline there would forge lines
        raise InputError(f"statement {printable(file.name)}: its name {describe_invisible(bad)}")
    try:
        if not stat.S_ISREG(file.stat().st_mode):  # a FIFO or a device would block the read for ever
            raise InputError(f"{file}: not a regular file (a pipe or a device): save the statement as a file")
        content = file.read_bytes()
    except OSError as exc:
        raise InputError(f"{file}: cannot read the statement: {exc.strerror}") from None
    try:
        fmt = detect_format(content) if fmt is None else fmt  # an empty --format is refused, not detected
        transactions = parse_statement(content, fmt, ws.config.bank.csv, lambda tx: _check_transaction(ws, tx, today))
        return [_import(ws, transactions, fmt, file.name, dry_run, today, accept_duplicates)]
    except StatementProblems as exc:
        if exc.count == 1:
            raise InputError(f"{file}: {exc}") from None
        raise InputError("\n".join([f"{file}: {exc.summary()}", *(f"{file}: {p}" for p in exc.problems)])) from None
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from None


@dataclass(frozen=True, slots=True)
class BankImport:
    """`import-bank`'s plan (`ops.plan.Plan`): every credit of the statement matched, the
    payments to record, and the matching table. Made only when every line was accepted (a
    refused line raises while planning), so applying it records the whole file or nothing."""

    ws: Workspace
    matching: Report  # rows, notes and alerts; its title is the report's
    payments: tuple[PaymentRecorded, ...]

    def report(self) -> Report:
        """The matching; nothing recorded."""
        matching = self.matching
        return replace(matching, title="Bank import (dry run: nothing written)", rows=list(matching.rows),
                       notes=list(matching.notes), alerts=list(matching.alerts))

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Journal the planned payments in statement order, log them, refresh the clients' views."""
        for payment in self.payments:
            ledger.append(payment)
            first = payment.allocation[0].number if payment.allocation else "-"
            log(self.ws.root, f"bank payment {payment.currency} {payment.amount} on {payment.date} "
                              f"-> {first}", payment.client)
        refresh_views(self.ws, ledger.state, {p.client for p in self.payments}, PAYMENT_VIEWS)
        return self.matching


def plan_import(ws: Workspace, state: LedgerState, transactions: list[BankTransaction], source: str,
                today: date, accept_duplicates: bool = False) -> BankImport:
    """Match every credit on a `PaymentPlan` of the state; InputError for a credit refused."""
    plan = PaymentPlan(state)
    matching = match_all(ws, plan, transactions, source, today, accept_duplicates)
    return BankImport(ws, matching, tuple(plan.payments))


def _import(
    ws: Workspace, transactions: list[BankTransaction], fmt: str, name: str, dry_run: bool, today: date,
    accept_duplicates: bool,
) -> Report:
    source = f"bank:{fmt}:{name}"
    return carry_out(ws.root, lambda state: plan_import(ws, state, transactions, source, today, accept_duplicates),
                     dry_run=dry_run)


def match_all(
    ws: Workspace, plan: PaymentPlan, transactions: list[BankTransaction], source: str,
    today: date, accept_duplicates: bool = False,
) -> Report:
    """Match each credit in file order into the plan; later credits see the earlier ones.

    Credits of this very file are distinct lines of one statement, never likely duplicates
    of each other: they are compared with what was recorded before this import only.
    """
    report = Report("Bank import", BANK_COLUMNS)
    fmt = source.split(":")[1]
    problems = ProblemCollector()
    for tx in transactions:
        if tx.returned:  # nothing to record: the owner is told, the other lines go on
            report.alerts.append(Alert("warning", returned_warning(ws, plan, tx, source)))
            continue
        row = {"date": tx.date.isoformat(), "amount": str(tx.amount), "currency": tx.currency or "",
               "text": tx.text[:60], "result": "unmatched", "client": "", "invoice": ""}
        report.rows.append(row)
        with problems.line():  # a refused credit is named with every other one, nothing recorded
            _match_one(ws, plan, tx, (source, fmt), today, accept_duplicates, row)
    problems.check()
    _summarise(report)
    return report


def _match_one(ws: Workspace, plan: PaymentPlan, tx: BankTransaction, origin: tuple[str, str], today: date,
               accept_duplicates: bool, row: dict[str, Any]) -> None:
    """Match one credit into the plan (origin: the payments' source and the file's format)."""
    source, fmt = origin
    _check_transaction(ws, tx, today)
    if plan.already_imported(tx):
        row["result"] = "duplicate"
        return
    plan.seen(tx)
    twin = likely_duplicate(ws, plan.recorded_on(tx.date), tx, fmt)
    if twin is not None and not accept_duplicates:
        numbers = [a["number"] for a in twin.get("allocation", [])]
        row.update(result="likely duplicate", client=twin["client"], invoice=" ".join(numbers))
        return
    found = match(ws, plan, tx)
    if found is not None:
        _record(ws, plan, tx, found, source, row)


def returned_payment(plan: PaymentPlan, tx: BankTransaction) -> PaymentRecorded | None:
    """The payment, recorded before or planned earlier in this file, that a returned transfer
    takes back: the one whose bank id or reference is a reference the return quotes, else one
    of the same amount whose remittance or invoices the return's text names; the latest first.
    Only payments of the RETURN_WINDOW days before it are read: a transfer is returned within
    days, recalled within 13 months at most (SEPA)."""
    last = tx.date.toordinal()
    days = plan.state.index.payments_on
    earlier = [o for day in days if last - RETURN_WINDOW <= day <= last for o in days[day]]
    payments = [*plan.state.payments(sorted(earlier)), *(p for p in plan.payments if p.date <= tx.date)]
    payments.sort(key=lambda p: p.date, reverse=True)
    refs = {fold(r) for r in tx.refs} - {""}
    for p in payments:
        if refs & {fold(p.bank_id or ""), fold(p.reference)}:
            return p
    text, ours = fold(tx.text), _references(tx.text)
    for p in payments:
        if p.amount != tx.amount or (tx.currency and p.currency != tx.currency):
            continue
        remittance = fold(p.remittance or "")
        theirs = _references(" ".join([p.remittance or "", p.reference, *(a.number for a in p.allocation)]))
        if (ours & theirs) or (remittance and remittance in text):
            return p
    return None


def returned_warning(ws: Workspace, plan: PaymentPlan, tx: BankTransaction, source: str) -> str:
    """Where, what, which payment it appears to return, and what the owner should do."""
    name = source.split(":", 2)[2]
    what = (f"{name}: {tx.where}: returned transfer of {tx.currency or ''} {tx.amount} on {tx.date}"
            f" ({printable(tx.text[:80]) or 'no text'}{'; ref ' + printable(', '.join(tx.refs)) if tx.refs else ''}): "
            "nothing recorded")
    follow_up = ("follow it up with the client. Facturier does not yet record reversals "
                 "(see docs/payments.md, Returned transfers)")
    payment = returned_payment(plan, tx)
    if payment is None:
        return (f"{what}; it matches no payment recorded before. If it takes back a payment you "
                f"recorded, that invoice is unpaid again: {follow_up}")
    client = ws.clients.get(payment.client)
    invoices = ", ".join(a.number for a in payment.allocation) or "no invoice (on account)"
    return (f"{what}; it appears to return the payment of {payment.client}"
            f"{f' ({printable(client.name)})' if client else ''} on {payment.date}, {payment.currency} "
            f"{payment.amount}, settling {invoices}. That payment still counts: the invoice is unpaid "
            f"again, {follow_up}")


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
    ws: Workspace, plan: PaymentPlan, tx: BankTransaction, found: tuple[str, tuple[str, ...]], source: str,
    row: dict[str, Any],
) -> None:
    """Plan the payment of a matched credit (journalled once the whole file is accepted)."""
    client, invoices = found
    currency = tx.currency or ws.clients[client].currency
    amount = check_minor_unit(tx.amount, currency, f"{tx.where or 'transaction'}: amount")
    payment = PaymentRecorded(
        client=client, date=tx.date, amount=amount, currency=currency, method="transfer",
        reference=tx.bank_id or tx.text[:80], source=source, allocation=(), unallocated=ZERO,
        bank_id=tx.bank_id, bank_key=bank_key(tx),
        # Kept so that a later import of the same credit in another format is recognised.
        counterparty=tx.counterparty, remittance=" ".join(tx.text.split())[:500])
    open_now = [inv for inv in plan.open_invoices(client, currency, tx.date) if inv.number in invoices]
    plan.add(allocated_payment(open_now, payment, invoices[0] if len(invoices) == 1 else None))
    row.update(result="matched", client=client, invoice=" ".join(invoices), currency=currency)


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
