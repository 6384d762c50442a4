"""State derived from the journal entries: series counters, issued documents, monthly coverage."""

from __future__ import annotations

from datetime import date
from typing import Any

from facturier.core.numbering import SeriesState, format_number, next_seq, series_key
from facturier.store.journal import Entry

ISSUED_TYPES = ("invoice.issued", "credit_note.issued")


def issued_documents(entries: list[Entry]) -> list[Entry]:
    """Every invoice and credit note entry, in journal order."""
    return [e for e in entries if e["type"] in ISSUED_TYPES]


def find_document(entries: list[Entry], number: str) -> Entry | None:
    """The issued document with this number (any seller), or None."""
    for entry in issued_documents(entries):
        if entry["number"] == number:
            return entry
    return None


def invoiced_months(entries: list[Entry]) -> set[tuple[str, str]]:
    """(client id, 'YYYY-MM') pairs that already have their monthly invoice."""
    return {
        (e["client"], e["period"])
        for e in entries
        if e["type"] == "invoice.issued" and e.get("seller") == "issuer" and e.get("period")
    }


class NumberAllocator:
    """Hands out the next number of each series; advanced only once a document is journalled."""

    def __init__(self, entries: list[Entry]) -> None:
        self.states: dict[str, SeriesState] = {}
        for entry in issued_documents(entries):
            self.record(entry)

    def peek(
        self, template: str, *, seller: str, client: str, issue_date: date, test: bool
    ) -> tuple[str, str, int]:
        """(number, series, seq) the next document of that series would get."""
        series = series_key(template, seller=seller, issue_date=issue_date, client=client, test=test)
        seq = next_seq(self.states.get(series), issue_date, series)
        number = format_number(template, issue_date=issue_date, client=client, seq=seq, test=test)
        return number, series, seq

    def record(self, entry: dict[str, Any]) -> None:
        """Advance a series after its document was journalled."""
        self.advance(entry["series"], entry["series_seq"], date.fromisoformat(entry["date"]))

    def advance(self, series: str, seq: int, issue_date: date) -> None:
        """Move a series forward (also used by dry runs to number what they would issue)."""
        self.states[series] = SeriesState(seq, issue_date)
