"""`facturier invoices` and `facturier show`: reading documents back from the journal."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from facturier.core.errors import InputError
from facturier.ops.report import Report
from facturier.ops.state import find_document, issued_documents
from facturier.store.files import named_file
from facturier.store.journal import Entry, read_entries

if TYPE_CHECKING:
    from facturier.config import Workspace

LIST_COLUMNS = ["number", "kind", "seller", "client", "date", "due_date", "currency", "total_incl_vat", "mode"]


def journal_of(ws: Workspace) -> list[Entry]:
    """All journal entries, read without the lock (read-only commands)."""
    return read_entries(ws.root / "data" / "journal.jsonl")


def list_documents(
    ws: Workspace, client: str | None, year: int | None, status: str | None, today: date
) -> Report:
    """Issued documents, filtered, in journal (= issuance) order."""
    entries = journal_of(ws)
    docs = [
        e for e in issued_documents(entries)
        if (client is None or client in (e["client"], e["seller"]))
        and (year is None or e["date"].startswith(f"{year:04d}"))
    ]
    if client is not None and not docs and client not in ws.clients and client not in ws.batch_clients \
            and not any(client in (e["client"], e["seller"]) for e in issued_documents(entries)):
        raise InputError(f"unknown client {client!r}: no clients/{client}.toml, no batch_clients/{client}.toml, "
                         "and no document in the journal")
    report = Report("Documents", LIST_COLUMNS)
    if status is not None:
        docs = with_status(entries, docs, status, today)
        report.columns = [*LIST_COLUMNS, "status"]
    report.rows = [{c: e.get(c, "") for c in report.columns} for e in docs]
    if not docs:
        report.notes.append("No document matches.")
    return report


STATUSES = ("paid", "partial", "unpaid", "overdue", "credited")


def with_status(entries: list[Entry], docs: list[Entry], status: str, today: date) -> list[Entry]:
    """Live direct invoices whose payment status at `today` is `status` (credit notes have none)."""
    from facturier.ops.reports.balances import invoice_statuses

    if status not in STATUSES:
        raise InputError(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    statuses = invoice_statuses(entries, today)
    return [{**e, "status": statuses[e["number"]]} for e in docs
            if statuses.get(e["number"]) == status]


def _mentions(value: Any, number: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, number) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, number) for v in value)
    return bool(value == number)


def document_events(ws: Workspace, number: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The document's canonical record and every journal entry that names it."""
    entries = journal_of(ws)
    entry = find_document(entries, number)
    if entry is None:
        raise InputError(f"no invoice or credit note numbered {number!r}")
    record = json.loads((ws.root / named_file(entry, "json")["path"]).read_text(encoding="utf-8"))
    events = [
        {"seq": e["seq"], "at": e["at"], "type": e["type"], "detail": _detail(e)}
        for e in entries
        if _mentions({k: v for k, v in e.items() if k not in ("hash", "prev")}, number)
    ]
    return record, events


def _detail(entry: Entry) -> str:
    keys = ("date", "amount", "currency", "message_id", "method", "reference", "stage")
    return " ".join(f"{k}={entry[k]}" for k in keys if k in entry)
