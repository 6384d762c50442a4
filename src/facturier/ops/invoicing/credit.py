"""`facturier credit`: a credit note (avoir) against an issued invoice, never an edit of it.

The credit note is built from the original's canonical JSON record, so seller, buyer, VAT
regime, language, currency and mentions are the original's. Amounts on a credit note are
positive: its kind makes it a credit, and every reader (revenues, balances, exports) counts
`credit_note.issued` negative. A full credit copies the original lines; a partial credit is
one line at the invoice's single VAT rate (a multi-rate invoice can only be credited in full,
since splitting an amount across rates would be a guess). Series: `[numbering] credit_note`
for the issuer; for a batch seller, "AV-" + that batch client's numbering, in its own series.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from facturier.core.errors import InputError
from facturier.core.invoice import Document, Line, Party
from facturier.core.money import ZERO, minor_exponent, quantize
from facturier.ops.documents import commit_document
from facturier.ops.logs import log
from facturier.ops.report import Report
from facturier.ops.state import NumberAllocator, find_document
from facturier.ops.views import refresh_views
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace

CREDIT_COLUMNS = ["number", "refers_to", "client", "date", "currency", "total_incl_vat", "mode"]
PARTIAL_LINE = {"fr": "Avoir partiel sur la facture {number}", "en": "Partial credit on invoice {number}"}


def creditable(entries: list[Entry], original: Entry) -> Decimal:
    """What remains creditable: the original total minus every earlier credit note on it."""
    done = sum((Decimal(e["total_incl_vat"]) for e in entries
                if e["type"] == "credit_note.issued" and e.get("refers_to") == original["number"]), ZERO)
    return Decimal(original["total_incl_vat"]) - done


def party(data: dict[str, Any]) -> Party:
    """A Party back from its JSON form."""
    return Party(**{**data, "address": tuple(data["address"])})


def record_lines(record: dict[str, Any]) -> tuple[Line, ...]:
    """The original's lines, exactly as issued."""
    return tuple(Line(l["description"], Decimal(l["quantity"]), Decimal(l["unit_price"]),
                      Decimal(l["vat_rate"])) for l in record["lines"])


def partial_line(record: dict[str, Any], amount: Decimal) -> Line:
    """One line whose total incl. VAT is exactly `amount`, at the invoice's single VAT rate."""
    rates = {Decimal(l["vat_rate"]) for l in record["lines"]}
    vat_applies = record["vat_regime"] == "standard"
    if vat_applies and len(rates) > 1:
        raise InputError(f"invoice {record['number']} has several VAT rates: credit it in full "
                         "(without --amount) and issue a new invoice")
    rate = min(rates)
    cur = record["currency"]
    words = PARTIAL_LINE.get(record["language"], PARTIAL_LINE["en"]).format(number=record["number"])
    if not vat_applies:
        return Line(words, Decimal(1), amount, rate)
    return Line(words, Decimal(1), excl_for_incl(amount, rate, cur), rate)


def excl_for_incl(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The base whose base + rounded VAT is `amount`; some amounts have none at a given rate."""
    unit = minor_exponent(currency)
    guess = quantize(amount * 100 / (100 + rate), currency)
    for step in (0, -1, 1, -2, 2):
        base = guess + step * unit
        if base + quantize(base * rate / 100, currency) == amount:
            return base
    lower = guess - unit
    raise InputError(f"{amount} cannot be split exactly into a base and {rate}% VAT; try "
                     f"{lower + quantize(lower * rate / 100, currency)} or "
                     f"{guess + unit + quantize((guess + unit) * rate / 100, currency)}")


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
    ws: Workspace, entries: list[Entry], original: Entry, amount: Decimal | None, reason: str | None, day: date
) -> Document:
    """The numbered credit note for `amount` (default: all that remains creditable)."""
    record = json.loads((ws.root / original["files"]["json"]["path"]).read_text(encoding="utf-8"))
    remaining = creditable(entries, original)
    amount = remaining if amount is None else amount
    check_credit_amount(original, amount, remaining, day)
    full = amount == Decimal(original["total_incl_vat"])
    lines = record_lines(record) if full else (partial_line(record, amount),)
    number, series, seq = NumberAllocator(entries).peek(
        series_template(ws, original), seller=original["seller"], client=original["client"],
        issue_date=day, test=original["mode"] == "test",
    )
    return Document(
        kind="credit_note", number=number, series=series, seq=seq, mode=record["mode"],
        seller_id=record["seller_id"], client_id=record["client_id"], language=record["language"],
        currency=record["currency"], issue_date=day, due_date=day, period_start=None,
        period_end=None, seller=party(record["seller"]), buyer=party(record["buyer"]),
        buyer_is_business=record["buyer_is_business"], vat_regime=record["vat_regime"],
        lines=lines, payment_days=record["payment_days"], late_penalty=record["late_penalty"],
        reference=record.get("reference"),
        refers_to={"number": record["number"], "date": record["issue_date"]}, reason=reason,
        # Records issued before these mentions existed have none: the defaults.
        operation_category=record.get("operation_category", "services"),
        vat_on_debits=record.get("vat_on_debits", False),
        delivery_address=tuple(record["delivery_address"]) if record.get("delivery_address") else None,
    )


def check_credit_amount(original: Entry, amount: Decimal, remaining: Decimal, day: date) -> None:
    """Never credit nothing, a negative amount, or more than remains creditable."""
    cur = original["currency"]
    if amount <= ZERO:
        if remaining <= ZERO:
            raise InputError(f"invoice {original['number']} is already fully credited")
        raise InputError(f"the credit amount must be positive, not {amount}")
    if quantize(amount, cur) != amount:
        raise InputError(f"{amount} has more decimals than {cur} allows")
    if amount > remaining:
        raise InputError(f"only {remaining} {cur} of invoice {original['number']} remains creditable, "
                         f"not {amount}")
    if day < date.fromisoformat(original["date"]):
        raise InputError(f"a credit note cannot be dated {day}, before invoice {original['number']} "
                         f"of {original['date']}")


def issue_credit_note(ws: Workspace, number: str, amount: Decimal | None, reason: str | None, day: date) -> Report:
    """Build, render and commit a credit note; refresh the client's views."""
    from facturier.render.pdf import PdfRenderer

    with Ledger(ws.root) as ledger:
        original = find_document(ledger.entries, number)
        if original is None or original["type"] != "invoice.issued":
            raise InputError(f"no invoice numbered {number!r}")
        doc = credit_document(ws, ledger.entries, original, amount, reason, day)
        record = doc.to_record()
        pdf = PdfRenderer(ws.root / "templates").render(record)
        commit_document(ledger, doc, record, pdf, {"refers_to": number, "reason": reason or ""})
        refresh_views(ws, ledger.entries, {doc.client_id})
    log(ws.root, f"credit note {doc.number} on {number}: {doc.currency} {record['total_incl_vat']}", doc.client_id)
    report = Report("Credit note issued", CREDIT_COLUMNS)
    report.rows.append({"number": doc.number, "refers_to": number, "client": doc.client_id,
                        "date": day.isoformat(), "currency": doc.currency,
                        "total_incl_vat": record["total_incl_vat"], "mode": doc.mode})
    return report
