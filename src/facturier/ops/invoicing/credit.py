"""`facturier credit`: a credit note (avoir) against an issued invoice, never an edit of it.

The credit note is built from the original's canonical JSON record, so seller, buyer, VAT
regime, language, currency and mentions are the original's. Amounts on a credit note are
positive: its kind makes it a credit, and every reader (revenues, balances, exports) counts
`credit_note.issued` negative. A full credit copies the original lines; `--line N` copies
the given lines; a partial credit of an amount is one line per VAT rate, the amount spread
over the rates pro rata to their bases (`facturier.core.credit.split_credit`). What remains
creditable is counted per rate from the VAT breakdown of the earlier credit notes' records.
Series: `[numbering] credit_note` for the issuer; for a batch seller, "AV-" + that batch
client's numbering, in its own series. `--dry-run` builds the same document and writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from facturier.core.credit import (
    RateAmounts,
    clearing_amount,
    clears,
    credit_lines,
    remaining_by_rate,
    split_credit,
)
from facturier.core.errors import InputError
from facturier.core.invoice import Document, Line, Party, vat_mention
from facturier.core.money import ZERO, fmt_amount, quantize
from facturier.ops.issuing import DocumentDraft, issue_documents
from facturier.ops.outcome import ProgressHook, Report
from facturier.ops.plan import carry_out
from facturier.ops.state_access import NumberAllocator
from facturier.ops.views import refresh_views
from facturier.store.events import T
from facturier.store.files import named_file
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

CREDIT_COLUMNS = ["number", "refers_to", "client", "date", "currency", "vat_rate", "total_excl_vat",
                  "total_vat", "total_incl_vat", "mode"]
PARTIAL_LINE = {"fr": "Avoir partiel sur la facture {number}", "en": "Partial credit on invoice {number}"}


def creditable(state: LedgerState, original: Entry) -> Decimal:
    """What remains creditable: the original total minus every earlier credit note on it."""
    done = sum((Decimal(e["total_incl_vat"]) for e in state.entries_naming(original["number"])
                if e["type"] == T.CREDIT_NOTE_ISSUED and e.get("refers_to") == original["number"]), ZERO)
    return Decimal(original["total_incl_vat"]) - done


def party(data: dict[str, Any]) -> Party:
    """A Party back from its JSON form."""
    return Party(**{**data, "address": tuple(data["address"])})


def record_lines(record: dict[str, Any]) -> tuple[Line, ...]:
    """The original's lines, exactly as issued."""
    return tuple(Line(l["description"], Decimal(l["quantity"]), Decimal(l["unit_price"]),
                      Decimal(l["vat_rate"]), _line_period(l)) for l in record["lines"])


def _line_period(line: dict[str, Any]) -> tuple[date, date] | None:
    """A recorded line's own period (metered or prorated lines), None when it has none."""
    period = line.get("period")
    return (date.fromisoformat(period["start"]), date.fromisoformat(period["end"])) if period else None


def original_record(ws: Workspace, entry: Entry) -> dict[str, Any]:
    """The canonical JSON record of an issued document."""
    data: dict[str, Any] = json.loads((ws.root / named_file(entry, "json")["path"]).read_text(encoding="utf-8"))
    return data


def rate_amounts(record: dict[str, Any]) -> list[RateAmounts]:
    """A document's base and VAT per rate, as it was rounded and printed."""
    return [RateAmounts(Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["amount"]))
            for v in record["vat_breakdown"]]


def earlier_credits(
    ws: Workspace, state: LedgerState, original: Entry
) -> tuple[list[RateAmounts], set[int]]:
    """Per-rate amounts and credited line numbers of every credit note already on the original."""
    amounts: list[RateAmounts] = []
    lines: set[int] = set()
    for e in state.entries_naming(original["number"]):
        if e["type"] == T.CREDIT_NOTE_ISSUED and e.get("refers_to") == original["number"]:
            amounts += rate_amounts(original_record(ws, e))
            lines.update(e.get("credited_lines", ()))
    return amounts, lines


def partial_lines(record: dict[str, Any], parts: tuple[RateAmounts, ...]) -> tuple[Line, ...]:
    """One line per rate whose base + VAT is that rate's part of the credit."""
    words = PARTIAL_LINE.get(record["language"], PARTIAL_LINE["en"]).format(number=record["number"])
    if record["vat_regime"] != "standard":
        # No VAT applies: the parts are keyed by rate 0; print the line at the original's rate.
        rate = min(Decimal(l["vat_rate"]) for l in record["lines"])
        return tuple(Line(words, Decimal(1), part.base, rate) for part in parts)
    return tuple(Line(words, Decimal(1), part.base, part.rate) for part in parts)


def series_template(ws: Workspace, original: Entry) -> str:
    """The credit-note numbering of the original's seller."""
    seller = original["seller"]
    if seller == "issuer":
        return str(ws.config.numbering.credit_note)
    if seller not in ws.batch_clients:
        raise InputError(f"invoice {original['number']} was issued for batch client {seller!r}, "
                         "which is no longer configured")
    return "AV-" + str(ws.batch_clients[seller].numbering)


def credit_document(
    ws: Workspace, state: LedgerState, original: Entry, amount: Decimal | None, reason: str | None,
    day: date, lines: tuple[int, ...] = (),
) -> Document:
    """The credit note for `amount` or `lines` (default: all that remains creditable), numbered
    from the state's series."""
    record = original_record(ws, original)
    remaining = creditable(state, original)
    credited, credited_lines = earlier_credits(ws, state, original)
    by_rate = remaining_by_rate(rate_amounts(record), credited)
    if lines:
        if amount is not None:
            raise InputError("give either --amount or --line, not both")
        check_creditable(original, remaining, day)
        doc_lines = credit_lines(record_lines(record), lines, credited_lines, by_rate, record["currency"],
                                 record["vat_regime"] == "standard")
    else:
        asked = remaining if amount is None else amount
        check_credit_amount(original, asked, remaining, day)
        full = asked == Decimal(original["total_incl_vat"])
        doc_lines = record_lines(record) if full else partial_lines(record, split_rest(by_rate, asked, record, amount))
    return credit_note(ws, state, original, record, doc_lines, reason, day)


def split_rest(by_rate: tuple[RateAmounts, ...], asked: Decimal, record: dict[str, Any],
               given: Decimal | None) -> tuple[RateAmounts, ...]:
    """`split_credit`; for the rest (no --amount), only a split that clears every rate's base
    and VAT exactly, else a way out in two notes."""
    cur = record["currency"]
    if given is not None:
        return split_credit(by_rate, asked, cur)
    try:
        parts: tuple[RateAmounts, ...] | None = split_credit(by_rate, asked, cur)
    except InputError:
        parts = None
    if parts is not None and clears(by_rate, parts):
        return parts
    # Earlier partial credits rounded their VAT per rate, so what remains at a rate can be a
    # base and VAT no single note gives (its VAT is that of its base); two notes always clear it.
    first = clearing_amount(by_rate, cur)
    hint = f"; credit {first} with --amount, then the rest" if first is not None else ""
    raise InputError(f"what remains of invoice {record['number']} ({asked} {cur}) cannot be credited "
                     f"in one credit note, since VAT is rounded per rate on each note{hint}")


def credit_note(
    ws: Workspace, state: LedgerState, original: Entry, record: dict[str, Any],
    lines: tuple[Line, ...], reason: str | None, day: date,
) -> Document:
    """The next credit note of the original's seller with these lines."""
    number, series, seq = NumberAllocator(state).peek(
        series_template(ws, original), seller=original["seller"], client=original["client"],
        issue_date=day, test=original["mode"] == "test",
    )
    start, end = credited_period(record)
    return Document(
        kind="credit_note", number=number, series=series, seq=seq, mode=record["mode"],
        seller_id=record["seller_id"], client_id=record["client_id"], language=record["language"],
        currency=record["currency"], issue_date=day, due_date=day, period_start=start, period_end=end,
        seller=party(record["seller"]), buyer=party(record["buyer"]),
        buyer_is_business=record["buyer_is_business"], vat_regime=record["vat_regime"],
        lines=lines, payment_days=record["payment_days"], late_penalty=record["late_penalty"],
        reference=record.get("reference"),
        refers_to={"number": record["number"], "date": record["issue_date"]}, reason=reason,
        # Records issued before these mentions existed have none: the defaults.
        operation_category=record.get("operation_category", "services"),
        vat_on_debits=record.get("vat_on_debits", False),
        delivery_address=tuple(record["delivery_address"]) if record.get("delivery_address") else None,
        eur_rate=credit_eur_rate(ws, record),
    )


def credited_period(record: dict[str, Any]) -> tuple[date | None, date | None]:
    """A credit note carries no service period, but that of an intra-community supply of
    goods: its Factur-X must date the supply (EN 16931 BR-IC-11), the credited invoice's."""
    period = record.get("service_period")
    mention = vat_mention(record["vat_regime"], record.get("operation_category", "services"),
                          record["seller"]["country"], record["buyer"]["country"])
    if mention != "vat_intra_eu" or not period:
        return None, None
    return date.fromisoformat(period["start"]), date.fromisoformat(period["end"])


def credit_eur_rate(ws: Workspace, record: dict[str, Any]) -> Decimal | None:
    """The rate the invoice stated its VAT in euros at (a credit note undoes that VAT at the
    same rate), else today's [accounting] rate for an invoice that stated none."""
    stated = (record.get("vat_accounting") or {}).get("rate")
    if stated:
        return Decimal(stated)
    return ws.config.accounting.exchange_rates.get(record["currency"])


def check_credit_amount(original: Entry, amount: Decimal, remaining: Decimal, day: date) -> None:
    """Never credit nothing, a negative amount, or more than remains creditable."""
    cur = original["currency"]
    check_creditable(original, remaining, day)
    if amount <= ZERO:
        raise InputError(f"the credit amount must be positive, not {amount}")
    if quantize(amount, cur) != amount:
        raise InputError(f"{amount} has more decimals than {cur} allows")
    if amount > remaining:
        raise InputError(f"only {remaining} {cur} of invoice {original['number']} remains creditable, "
                         f"not {amount}")


def check_creditable(original: Entry, remaining: Decimal, day: date) -> None:
    """Something must remain to credit, and a credit note never predates its invoice."""
    if remaining <= ZERO:
        raise InputError(f"invoice {original['number']} is already fully credited")
    if day < date.fromisoformat(original["date"]):
        raise InputError(f"a credit note cannot be dated {day}, before invoice {original['number']} "
                         f"of {original['date']}")


@dataclass(frozen=True, slots=True)
class CreditPlan:
    """`credit`'s plan (`ops.plan.Plan`): the credit note, built and numbered from the state.

    Applying it issues exactly this document through the issuing pipeline (its number is the
    next of its series in the same state) and refreshes the client's views.
    """

    ws: Workspace
    number: str  # the invoice credited
    doc: Document
    extra: dict[str, Any]

    def report(self) -> Report:
        """The credit note a real run would issue now."""
        return credit_report(self.doc, self.number, "Credit note (dry run: nothing issued)")

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Render and commit the credit note, log it, refresh its client's views."""
        (issued,) = issue_documents(ledger, lambda numbers: [DocumentDraft(self.doc, self.extra)],
                                    templates=self.ws.root / "templates", expected=1,
                                    log=lambda i: f"credit note {i.doc.number} on {self.number}: "
                                                  f"{i.doc.currency} {i.record['total_incl_vat']}")
        refresh_views(self.ws, ledger.state, {issued.doc.client_id})
        return credit_report(issued.doc, self.number, "Credit note issued")


def plan_credit_note(
    ws: Workspace, state: LedgerState, number: str, amount: Decimal | None, reason: str | None, day: date,
    lines: tuple[int, ...] = (),
) -> CreditPlan:
    """The credit note against invoice `number` for `amount` or `lines`; InputError when it cannot be."""
    original = original_invoice(state, number)
    if amount is not None:
        check_not_issued(state, number, amount, reason, day)
    doc = credit_document(ws, state, original, amount, reason, day, lines)
    extra: dict[str, Any] = {"refers_to": number, "reason": reason or ""}
    if lines:
        extra["credited_lines"] = tuple(sorted(set(lines)))  # so a line is never credited twice
    return CreditPlan(ws, number, doc, extra)


def check_not_issued(state: LedgerState, number: str, amount: Decimal, reason: str | None, day: date) -> None:
    """Refuse the same `credit --amount` typed twice: a credit note of this amount on the same
    invoice, dated the same day with the same reason. A credit note is never withdrawn (its
    number is in a gapless series), so the copy would stay in the books."""
    for e in state.entries_naming(number):
        if (e["type"] == T.CREDIT_NOTE_ISSUED and e.get("refers_to") == number and not e.get("credited_lines")
                and e["date"] == day.isoformat() and Decimal(e["total_incl_vat"]) == amount
                and (e.get("reason") or "") == (reason or "")):
            raise InputError(f"{e['number']} already credits {e['total_incl_vat']} {e['currency']} on invoice "
                             f"{number}, dated {day} with the same reason: not issued twice (a credit note is "
                             "never withdrawn). A second credit of that amount needs its own --reason")


def issue_credit_note(
    ws: Workspace, number: str, amount: Decimal | None, reason: str | None, day: date,
    lines: tuple[int, ...] = (), dry_run: bool = False,
) -> Report:
    """Issue a credit note and refresh the client's views; a dry run reports it (no lock taken)."""
    return carry_out(ws.root, lambda state: plan_credit_note(ws, state, number, amount, reason, day, lines),
                     dry_run=dry_run)


def original_invoice(state: LedgerState, number: str) -> Entry:
    """The invoice entry a credit note refers to."""
    original = state.document_entry(number)
    if original is None or original["type"] != T.INVOICE_ISSUED:
        raise InputError(f"no invoice numbered {number!r}")
    return original


def credit_report(doc: Document, number: str, title: str) -> Report:
    """One row per VAT rate of the credit note (its split), and its total when there are several."""
    totals, cur = doc.totals(), doc.currency
    report = Report(title, CREDIT_COLUMNS)
    for row in totals.vat:
        report.rows.append({
            "number": doc.number, "refers_to": number, "client": doc.client_id,
            "date": doc.issue_date.isoformat(), "currency": cur, "vat_rate": str(row.rate),
            "total_excl_vat": fmt_amount(row.base, cur), "total_vat": fmt_amount(row.amount, cur),
            "total_incl_vat": fmt_amount(row.base + row.amount, cur), "mode": doc.mode,
        })
    if len(totals.vat) > 1:
        report.notes.append(f"{doc.number}: {cur} {fmt_amount(totals.incl_vat, cur)} in all, over "
                            f"{len(totals.vat)} VAT rates.")
    return report
