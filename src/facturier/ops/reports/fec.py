"""`facturier export fec`: the Fichier des écritures comptables of art. A47 A-1 LPF.

One balanced entry per document and per payment of the calendar year, in two journals:

- sales (`VT`): an invoice debits the client's receivable (411, the client as auxiliary
  account or its own account) with its total incl. VAT, and credits revenue (706) with the
  base of each VAT rate and output VAT (44571) with the VAT of each rate, from the
  document's VAT breakdown; a credit note is the same entry reversed;
- bank (`BQ`): a payment debits the bank (512) and credits the client's 411, one line per
  invoice it settled (lettered against that invoice) and one for what it left unallocated.

Lettering (EcritureLet, DateLet): the code is the invoice number, on the invoice's 411 line,
on the credit notes referring to it and on the payment lines allocated to it, once the
invoice is fully settled by credit notes and allocations dated on or before the closing
date (DateLet: the date of the last of them). Partly settled invoices are not lettered.

Only the issuer's live documents are booked: batch sellers invoice their own customers (their
sales are theirs, not the issuer's) and test documents are never owed. Amounts are in euros;
a document in another currency is converted at `[accounting] exchange_rates` (rounded per
line, half up, the 411 line taking the sum so the entry balances) and each of its lines
carries the amount in that currency (Montantdevise, Idevise).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.core.errors import FacturierError, InputError
from facturier.core.text import joins_letters, spreadsheet_cell
from facturier.store.events import DocumentIssued, PaymentRecorded, T
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.config.accounting import AccountingConfig

FEC_COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
)
BOOK_CURRENCY = "EUR"
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class FecLine:
    """One line of an entry: an account debited or credited (amounts in euros, >= 0)."""

    account: str
    account_label: str
    aux: str
    aux_label: str
    label: str
    debit: Decimal
    credit: Decimal
    letter: str = ""
    letter_date: date | None = None
    foreign: Decimal | None = None  # the same amount in the document's currency
    currency: str = ""


@dataclass(frozen=True, slots=True)
class FecEntry:
    """One balanced entry: a document or a payment."""

    journal: str
    day: date
    seq: int  # journal entry number, to order entries of the same day
    piece: str
    piece_date: date
    valid_date: date
    lines: tuple[FecLine, ...]


@dataclass
class FecExport:
    """The file's name and content, and what it left out."""

    name: str
    content: bytes
    entries: dict[str, int]
    lines: int
    left_out_batch: int
    left_out_test: int


def fec_file_name(siren: str, year: int) -> str:
    """<SIREN>FEC<YYYYMMDD>.txt, the date being the closing date of the year."""
    return f"{siren}FEC{year:04d}1231.txt"


def build_fec(ws: Workspace, year: int) -> FecExport:
    """The FEC of a calendar year, from the journal."""
    from facturier.ops.state_access import reading_state

    siren = ws.config.issuer.siren
    if not siren:
        raise InputError("export fec: the FEC is named after the issuer's SIREN; set [issuer] siren in "
                         "facturier.toml")
    with reading_state(ws.root) as state:
        return fec_of_state(state, ws.root, ws.config.accounting, siren, year)


def fec_of_state(state: LedgerState, root: Path, config: AccountingConfig, siren: str, year: int) -> FecExport:
    """The FEC of a year from an open ledger state (see the module docstring)."""
    closing = date(year, 12, 31)
    issued = state.documents_of("issuer", year)
    docs = [d for d in issued if d.direct_live]
    payments = state.payments(state.index.payments_by_year.get(year, []))
    _check_rates(config, [d.currency for d in docs] + [p.currency for p in payments], year)
    letters = Lettering(state, closing)
    book = Booker(config, letters, root)
    sales = one_label_per_account([book.document(d) for d in docs])
    bank = [book.payment(p) for p in payments]
    rows: list[list[str]] = []
    counts: dict[str, int] = {}
    for journal, label, entries in ((config.sales_journal, config.sales_journal_label, sales),
                                    (config.bank_journal, config.bank_journal_label, bank)):
        ordered = sorted(entries, key=lambda e: (e.day, e.seq))
        counts[journal] = len(ordered)
        for num, entry in enumerate(ordered, start=1):
            rows.extend(fec_row(journal, label, num, entry, line) for line in entry.lines)
    return FecExport(fec_file_name(siren, year), fec_bytes(rows), counts, len(rows),
                     state.index.sold_by_batch_sellers(year), len(issued) - len(docs))


# The label of a revenue or VAT account that books several VAT rates in one file: an account
# has one label in a chart of accounts (and in the FEC an accountant loads into one).
_SHARED_LABELS = {"Prestations TVA": "Prestations de services", "TVA collectée": "TVA collectée"}


def one_label_per_account(entries: list[FecEntry]) -> list[FecEntry]:
    """The entries with one CompteLib per revenue or VAT account number.

    The label names the rate (`Prestations TVA 20 %`) when the account books one rate in the
    year, as each does with `revenue_by_rate` / `vat_by_rate`; the default 706000 and 445710
    booking 20 % and 5,5 % the same year are `Prestations de services` and `TVA collectée`.
    """
    labels: dict[str, set[str]] = {}
    for entry in entries:
        for ln in entry.lines[1:]:
            labels.setdefault(ln.account, set()).add(ln.account_label)
    shared = {account for account, names in labels.items() if len(names) > 1}
    if not shared:
        return entries
    return [replace(e, lines=(e.lines[0], *(replace(ln, account_label=_shared_label(ln.account_label))
                                            if ln.account in shared else ln for ln in e.lines[1:])))
            for e in entries]


def _shared_label(label: str) -> str:
    return next((plain for prefix, plain in _SHARED_LABELS.items() if label.startswith(prefix)), label)


def _check_rates(config: AccountingConfig, currencies: Iterable[str], year: int) -> None:
    missing = sorted({c for c in currencies if c != BOOK_CURRENCY and c not in config.exchange_rates})
    if missing:
        example = ", ".join(f'{c} = "<euros for 1 {c}>"' for c in missing)
        raise InputError(f"export fec: {year} has amounts in {', '.join(missing)}; the FEC is in euros: set "
                         f"[accounting] exchange_rates = {{ {example} }} in facturier.toml")


class Lettering:
    """Which invoices are fully settled at the closing date, and since when (cached per number)."""

    def __init__(self, state: LedgerState, closing: date) -> None:
        self.state = state
        self.closing = closing.isoformat()
        self._known: dict[str, date | None] = {}

    def settled_on(self, number: str) -> date | None:
        """The date the invoice was fully settled by allocations and credit notes, or None."""
        if number not in self._known:
            self._known[number] = self._settled_on(number)
        return self._known[number]

    def _settled_on(self, number: str) -> date | None:
        entries = self.state.entries_naming(number)
        invoice = next((e for e in entries
                        if e["type"] == T.INVOICE_ISSUED and e["number"] == number
                        and e["seller"] == "issuer" and e["mode"] == "live"), None)
        if invoice is None:
            return None
        settled, last = ZERO, ""
        for e in entries:
            if e.get("date", "9999") > self.closing:
                continue
            if e["type"] == T.PAYMENT_RECORDED:
                parts = [Decimal(a["amount"]) for a in e["allocation"] if a["number"] == number]
            elif (e["type"] == T.CREDIT_NOTE_ISSUED and e.get("refers_to") == number
                  and e["seller"] == "issuer" and e["mode"] == "live"):
                parts = [Decimal(e["total_incl_vat"])]
            else:
                continue
            if parts:
                settled += sum(parts, ZERO)
                last = max(last, e["date"])
        return date.fromisoformat(last) if last and settled >= Decimal(invoice["total_incl_vat"]) else None


class Booker:
    """Turns documents and payments into balanced entries with the configured accounts."""

    def __init__(self, config: AccountingConfig, letters: Lettering, root: Path) -> None:
        self.config = config
        self.letters = letters
        self.root = root
        self._account_of: dict[str, str] = {}  # client account number -> the client booked on it

    def euros(self, amount: Decimal, currency: str) -> Decimal:
        """An amount in euros, rounded half up to the cent."""
        if currency == BOOK_CURRENCY:
            return amount.quantize(CENT, rounding=ROUND_HALF_UP)
        return (amount * self.config.exchange_rates[currency]).quantize(CENT, rounding=ROUND_HALF_UP)

    def client(self, client: str, name: str) -> tuple[str, str, str, str]:
        """(account, account label, auxiliary number, auxiliary label) of a client."""
        if self.config.clients == "auxiliary":
            return self.config.client_account, "Clients", client, name
        account = self.config.client_account[:3] + "".join(ch for ch in client.upper() if ch.isalnum())
        other = self._account_of.setdefault(account, client)
        if other != client:  # `acme-sas` and `acme_sas` would share one receivable
            raise InputError(f"export fec: clients {other} and {client} would both be account {account} "
                             "([accounting] clients = \"accounts\" keeps the letters and digits of the id); "
                             "rename one client file, or use clients = \"auxiliary\"")
        return account, name, "", ""

    def line(self, account: tuple[str, str, str, str], label: str, credit_amount: Decimal, currency: str,
             foreign: Decimal, letter: str = "", letter_date: date | None = None) -> FecLine:
        """A line crediting `credit_amount` euros (debiting when negative)."""
        debit, credit = (-credit_amount, ZERO) if credit_amount < 0 else (ZERO, credit_amount)
        return FecLine(*account, label=label, debit=debit, credit=credit, letter=letter,
                       letter_date=letter_date, foreign=None if currency == BOOK_CURRENCY else abs(foreign),
                       currency="" if currency == BOOK_CURRENCY else currency)

    def document(self, d: DocumentIssued) -> FecEntry:
        """The sales entry of an invoice or credit note."""
        sign = Decimal(-1) if d.is_credit_note else Decimal(1)
        kind = "Avoir" if d.is_credit_note else "Facture"
        label = clean(f"{kind} {d.number} {d.client_name}")
        lines: list[FecLine] = []
        breakdown = vat_breakdown(d, self.root)
        for rate, base, vat in breakdown:
            shown = rate_text(rate)
            # A document of 0.00 (a 100 % discount) keeps its revenue line: an entry is never
            # one account alone, and every invoice number is in the file.
            if base or (not lines and not any(b or v for _, b, v in breakdown)):
                lines.append(self.line((self.config.revenue_account(rate), f"Prestations TVA {shown} %", "", ""),
                                       label, sign * self.euros(base, d.currency), d.currency, base))
            if vat:
                lines.append(self.line((self.config.vat_account(rate), f"TVA collectée {shown} %", "", ""),
                                       label, sign * self.euros(vat, d.currency), d.currency, vat))
        total = sum((ln.credit - ln.debit for ln in lines), ZERO)
        lettered = d.refers_to if d.is_credit_note else d.number
        settled = self.letters.settled_on(lettered) if lettered else None
        receivable = self.line(self.client(d.client, d.client_name), label, -total, d.currency,
                               d.total_incl_vat, (lettered or "") if settled else "", settled)
        return FecEntry("VT", d.date, d.seq, d.number, d.date, _valid_date(d.at, d.date),
                        (receivable, *lines))

    def payment(self, p: PaymentRecorded) -> FecEntry:
        """The bank entry of a payment: the bank debited, the client credited per invoice settled."""
        name = self.letters.state.index.client_names.get(p.client, p.client)
        label = clean(f"Règlement {name}" + (f" {p.reference}" if p.reference else ""))
        account = self.client(p.client, name)
        amount = self.euros(p.amount, p.currency)
        parts = [(a.number, a.amount) for a in p.allocation if a.amount]
        if p.unallocated:
            parts.append(("", p.unallocated))
        lines = [self.line((self.config.bank, "Banque", "", ""), label, -amount, p.currency, p.amount)]
        left = amount
        for i, (number, part) in enumerate(parts):
            euros = left if i == len(parts) - 1 else self.euros(part, p.currency)
            left -= euros
            settled = self.letters.settled_on(number) if number else None
            lines.append(self.line(account, label, euros, p.currency, part,
                                   number if settled else "", settled))
        piece = clean(p.reference) or f"J{p.seq}"
        return FecEntry("BQ", p.date, p.seq, piece, p.date, _valid_date(p.at, p.date), tuple(lines))


def vat_breakdown(d: DocumentIssued, root: Path) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(rate, base, VAT) per rate, from the document's JSON record; checked against its totals.

    A document whose entry names no record (imported history) is booked at the one rate its
    totals imply.
    """
    ref = d.file("json")
    if ref is None:
        rate = (d.total_vat / d.total_excl_vat * 100).quantize(CENT, rounding=ROUND_HALF_UP) \
            if d.total_excl_vat else ZERO
        return [(rate.normalize(), d.total_excl_vat, d.total_vat)]
    try:
        record: dict[str, Any] = json.loads((root / ref.path).read_bytes())
        rows = [(Decimal(r["rate"]), Decimal(r["base"]), Decimal(r["amount"])) for r in record["vat_breakdown"]]
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise FacturierError(f"{ref.path}: cannot read the VAT breakdown of {d.number} ({exc}); "
                             "run 'facturier verify'") from None
    if sum((r[1] for r in rows), ZERO) != d.total_excl_vat or sum((r[2] for r in rows), ZERO) != d.total_vat:
        raise FacturierError(f"{ref.path}: the VAT breakdown of {d.number} does not add up to its journalled "
                             "totals; run 'facturier verify'")
    return rows


def rate_text(rate: Decimal) -> str:
    """A rate as a French accountant reads it: 20, 5,5."""
    text = format(rate.normalize(), "f")
    return text.replace(".", ",")


def _valid_date(at: str, day: date) -> date:
    """The date the entry became irreversible: when it was journalled."""
    try:
        return date.fromisoformat(at[:10])
    except ValueError:
        return day


def clean(text: str) -> str:
    """Text for a FEC field: no tab, newline or control character (they would break the columns),
    and shown as text by a spreadsheet (a leading =, +, - or @ gets a `'`: accountants open
    the FEC in one, and a client name `=HYPERLINK(...)` must not run there)."""
    if not (text.isprintable() and "  " not in text and text.strip() == text):
        text = " ".join("".join(ch if ch.isprintable() or joins_letters(text, i) else " "
                                for i, ch in enumerate(text)).split())
    return spreadsheet_cell(text)


def ymd(day: date | None) -> str:
    """YYYYMMDD, or empty."""
    return "" if day is None else f"{day.year:04d}{day.month:02d}{day.day:02d}"


def amount_text(value: Decimal | None) -> str:
    """An amount with a decimal comma and two decimals, no thousands separator; a zero is
    0,00 whatever its sign (the zero of a credit note of 0.00 is a negated zero: '-0,00')."""
    if value is None:
        return ""
    return f"{abs(value) if value == 0 else value:.2f}".replace(".", ",")


def fec_row(journal: str, journal_label: str, num: int, entry: FecEntry, line: FecLine) -> list[str]:
    """The 18 fields of one line."""
    return [journal, journal_label, str(num), ymd(entry.day), line.account, clean(line.account_label),
            line.aux, clean(line.aux_label), clean(entry.piece), ymd(entry.piece_date), clean(line.label),
            amount_text(line.debit), amount_text(line.credit), clean(line.letter), ymd(line.letter_date),
            ymd(entry.valid_date), amount_text(line.foreign), line.currency]


def fec_bytes(rows: list[list[str]]) -> bytes:
    """The header line then one line per row, tab-separated, CRLF line ends, UTF-8."""
    lines = ["\t".join(FEC_COLUMNS), *("\t".join(r) for r in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


