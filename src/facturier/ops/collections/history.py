"""`facturier reminders`: what was drafted, per invoice and stage (and what is in flight)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from facturier.core.errors import InputError
from facturier.core.text import printable
from facturier.ops.outcome import Report
from facturier.ops.state_access import reading_state
from facturier.store.events import T
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

COLUMNS = ["date", "invoice", "client", "stage", "store", "draft", "message_id", "status"]


def list_reminders(ws: Workspace, client: str | None, since: date | None) -> Report:
    """Every reminder drafted (and every hand-over in flight), oldest first. With a sheet or
    QuickBooks source, whose rows have no client id, `--client` takes the email address the
    listing shows in its `client` column (any case)."""
    if client is not None and ws.config.collections.external_source:
        client = client.strip().casefold()  # the journal keeps a sheet row's first address, lower-cased
    elif client is not None and client not in ws.clients:
        raise InputError(f"--client: unknown client {client!r} (no clients/{client}.toml)")
    with reading_state(ws.root) as state:
        rows = reminder_rows(state, client, since)
    report = Report("Reminders drafted", COLUMNS, rows)
    if not rows:
        report.notes.append("No reminder drafted" + (f" for {printable(client)!r}" if client else "")
                            + (f" since {since}" if since else "") + ".")
    return report


def reminder_rows(state: LedgerState, client: str | None, since: date | None) -> list[dict[str, Any]]:
    """The rows of `reminders`."""
    section = state.collections
    offsets = section.history + [flight[0] for flight in section.in_flight.values()]
    rows = []
    for offset in sorted(offsets):
        entry = state.entry_at(offset)
        if client is not None and entry.get("client") != client:
            continue
        if since is not None and date.fromisoformat(entry["date"]) < since:
            continue
        rows.append({"date": entry["date"], "invoice": entry["number"], "client": entry.get("client", ""),
                     "stage": entry["stage"], "store": entry.get("store", ""), "draft": entry.get("draft_id", ""),
                     "message_id": entry.get("message_id", ""),
                     "status": "drafted" if entry["type"] == T.REMINDER_DRAFTED else "in flight"})
    return rows
