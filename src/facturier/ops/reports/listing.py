"""`facturier invoices` and `facturier show`: reading documents back from the journal."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from facturier.core.errors import InputError
from facturier.ops.outcome import Report
from facturier.ops.state_access import reading_state
from facturier.store.events import DocumentIssued, T, parse_event
from facturier.store.files import named_file
from facturier.store.journal import Entry
from facturier.store.state import LedgerState
from facturier.store.state.schema import quiet_gc

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.store.state.einvoicing_tables import EInvoicingView

LIST_COLUMNS = ["number", "kind", "seller", "client", "date", "due_date", "currency", "total_incl_vat", "mode"]


def list_documents(
    ws: Workspace, client: str | None, year: int | None, status: str | None, today: date
) -> Report:
    """Issued documents, filtered, in journal (= issuance) order."""
    with reading_state(ws.root) as state:
        return _list(ws, state, client, year, status, today)


def _list(ws: Workspace, state: LedgerState, client: str | None, year: int | None, status: str | None,
          today: date) -> Report:
    docs: list[DocumentIssued] = []  # typed records only for --status, which needs more than the row
    with quiet_gc():  # thousands of rows, no cycle among them: the cyclic GC only costs here
        entries = _entries(state, client, year)
        if status is None:
            rows = [entry_row(e) for e in entries]
        else:
            docs = [_document(e) for e in entries]
            rows = [doc_row(d) for d in docs]
    if client is not None and not entries and client not in ws.clients and client not in ws.batch_clients \
            and not state.index.offsets_of(client):
        raise InputError(f"unknown client {client!r}: no clients/{client}.toml, no batch_clients/{client}.toml, "
                         "and no document in the journal")
    report = Report("Documents", LIST_COLUMNS)
    if status is not None:
        rows = with_status(state, docs, rows, status, today)
        report.columns = [*LIST_COLUMNS, "status"]
    if _einvoicing_on(ws):  # the latest lifecycle status from the platform (PRODUCT §13)
        report.columns = [*report.columns, "einvoice"]
        from facturier.ops.einvoicing.accounts import platform_mode

        modes = {seller: platform_mode(ws, seller) for seller in {row["seller"] for row in rows}}
        rows = [{**row, "einvoice": einvoice_status(state.einvoicing.in_mode(modes[row["seller"]]), row["seller"],
                                                    row["number"])} for row in rows]
    report.rows = rows
    if not rows:
        report.notes.append("No document matches.")
    return report


def _einvoicing_on(ws: Workspace) -> bool:
    """Whether any seller transmits (the listing then shows each document's platform status)."""
    return ws.config.einvoicing.on or any(b.einvoicing is not None and b.einvoicing.on
                                          for b in ws.batch_clients.values())


def einvoice_status(section: EInvoicingView, seller: str, number: str) -> str:
    """`212 Encaissée`, `transmitted`, `sending` or "" for a document, from the state's facts of
    the seller's platform mode."""
    latest = section.latest(seller, number)
    if latest is not None:
        return f"{latest['code']} {latest['label']}"
    flow = section.flows.get((seller, number))
    return "" if flow is None else "transmitted" if flow[0] == "transmitted" else "sending"


def _entries(state: LedgerState, client: str | None, year: int | None) -> list[Entry]:
    """The raw journal entries of the documents listed (of a client, of a year), journal order."""
    if client is not None:
        return state.entries_at(state.index.offsets_of(client, year))
    return [e for e in state.entries_at(state.index.documents)
            if year is None or date.fromisoformat(e["date"]).year == year]


def _document(e: Entry) -> DocumentIssued:
    doc = parse_event(e)
    assert isinstance(doc, DocumentIssued)
    return doc


def entry_row(e: Entry) -> dict[str, Any]:
    """`doc_row` of the document a raw journal entry records, the same text, without building its
    typed record: its Decimals, dates and file references cost 6 µs a document (0.04 s of CPU
    for the 6,800 documents a client's year holds in a long history)."""
    return {"number": e["number"], "kind": e["kind"], "seller": e["seller"], "client": e["client"],
            "date": _iso_day(e["date"]), "due_date": _iso_day(e["due_date"]),
            "currency": e["currency"], "total_incl_vat": _amount(e["total_incl_vat"]), "mode": e["mode"]}


@lru_cache(maxsize=4096)
def _iso_day(text: str) -> str:
    """A journal date as the typed record prints it (memoised: a ledger has few distinct days)."""
    return date.fromisoformat(text).isoformat()


@lru_cache(maxsize=4096)
def _amount(text: str) -> str:
    """A journal amount as the typed record prints it (memoised: amounts repeat)."""
    return str(Decimal(text))


def doc_row(d: DocumentIssued) -> dict[str, Any]:
    """A listing row (the journal's own spelling of each field)."""
    return {"number": d.number, "kind": d.kind, "seller": d.seller, "client": d.client,
            "date": d.date.isoformat(), "due_date": d.due_date.isoformat(), "currency": d.currency,
            "total_incl_vat": str(d.total_incl_vat), "mode": d.mode}


STATUSES = ("paid", "partial", "unpaid", "overdue", "credited", "disputed")


def with_status(state: LedgerState, docs: list[DocumentIssued], rows: list[dict[str, Any]], status: str,
                today: date) -> list[dict[str, Any]]:
    """Live direct invoices whose payment status at `today` is `status` (credit notes have none)."""
    from facturier.ops.reports.balances import invoice_statuses

    if status not in STATUSES:
        raise InputError(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    if status == "disputed":  # a collections fact (`facturier dispute`), not a payment status
        disputed = state.collections.disputed
        return [{**row, "status": "disputed"} for row in rows if row["number"] in disputed]
    statuses = invoice_statuses(state, {d.client for d in docs if d.direct_live}, today)
    return [{**row, "status": statuses[row["number"]]} for row in rows
            if statuses.get(row["number"]) == status]


def document_events(ws: Workspace, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The document's canonical record and every journal entry that names it."""
    with reading_state(ws.root) as state:
        entry = state.document_entry(number)
        if entry is None:
            raise InputError(f"no invoice or credit note numbered {number!r}")
        record = json.loads((ws.root / named_file(entry, "json")["path"]).read_text(encoding="utf-8"))
        named = state.entries_naming(number)
        seqs = {e["seq"] for e in named}
        # Reminders, disputes and promises are indexed by the collections section of the state.
        named += [e for e in (state.entry_at(o) for o in state.collections.mentions.get(number, []))
                  if e["seq"] not in seqs]
        events = [{"seq": e["seq"], "at": e["at"], "type": e["type"], "detail": _detail(e)}
                  for e in sorted(named, key=lambda e: e["seq"])]
    return record, events


def collections_summary(ws: Workspace, number: str) -> dict[str, Any]:
    """What `show` says of an invoice's collections: reminders, dispute, promise."""
    with reading_state(ws.root) as state:
        section = state.collections
        offsets = [o for o in section.mentions.get(number, [])
                   if state.entry_at(o)["type"] == T.REMINDER_DRAFTED]
        if number in section.in_flight:
            offsets.append(section.in_flight[number][0])
        reminders = []
        for offset in sorted(offsets):
            e = state.entry_at(offset)
            drafted = e["type"] == T.REMINDER_DRAFTED
            reminders.append({"date": e["date"], "stage": e["stage"], "store": e.get("store", ""),
                              "draft": e.get("draft_id", ""),
                              "status": "drafted" if drafted else "in flight"})
        dispute = None
        if number in section.disputed:
            e = state.entry_at(section.disputed[number])
            dispute = {"since": e["date"], "reason": e.get("reason", "")}
        until = section.promised.get(number)
        promised = date.fromordinal(until).isoformat() if until else None
    return {"reminders": reminders, "disputed": dispute, "promised_until": promised}


def _detail(entry: Entry) -> str:
    keys = ("date", "amount", "currency", "message_id", "method", "reference", "stage", "store", "draft_id",
            "until", "code", "label", "reason", "error", "flow_id", "tracking_id")
    return " ".join(f"{k}={entry[k]}" for k in keys if k in entry)
