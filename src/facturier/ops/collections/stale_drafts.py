"""Reminder drafts still waiting in `data/drafts/` for an invoice that no longer needs one.

A draft is made on one day and sent by a human on a later one (seed 003: "the human sends").
When the invoice is paid, credited, disputed or promised in between, the draft still asks for
the money: `remind` names each such draft so the owner deletes it instead of sending it.
Only the outbox store can be checked without a connection (the file is there or not); a
draft deleted or sent from the folder stops the warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facturier.core.dunning import Receivable
from facturier.core.text import printable
from facturier.ops.outcome import Alert
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.ops.collections.plan import RemindPlan


def stale_draft_alerts(ws: Workspace, state: LedgerState, plan: RemindPlan, client: str | None) -> list[Alert]:
    """A warning per outbox draft on disk whose invoice is, on the plan's day, paid, credited,
    disputed or promised (ledger source only: a sheet's rows are not the ledger's invoices)."""
    if ws.config.collections.drafts != "outbox" or plan.sheet is not None:
        return []
    folder = WorkspacePaths(ws.root).drafts
    try:
        on_disk = {p.name for p in folder.iterdir() if p.name.endswith(".eml")}
    except OSError:  # no drafts folder yet (or unreadable: the store reports that itself)
        return []
    if not on_disk:
        return []
    open_now = {r.number: r for r in plan.receivables}
    alerts = []
    for entry in state.entries_at(state.collections.history):
        name = str(entry.get("draft_id", ""))
        if entry.get("store") != "outbox" or name not in on_disk or entry["date"] > plan.day.isoformat():
            continue
        number, owner = str(entry["number"]), str(entry.get("client", ""))
        if owner not in ws.clients or (client is not None and owner != client):
            continue  # a client whose file is gone, or not looked at by this --client run
        why = _no_longer_due(open_now.get(number), plan)
        if why:
            alerts.append(Alert("warning", f"do not send data/drafts/{printable(name)} (the stage {entry['stage']} "
                                           f"reminder of {printable(number)}, drafted on {entry['date']}): "
                                           f"{printable(number)} {why} now; delete the draft"))
    return alerts


def _no_longer_due(receivable: Receivable | None, plan: RemindPlan) -> str:
    """Why the invoice needs no reminder on the plan's day ("" when it still does)."""
    if receivable is None or receivable.remaining <= 0:
        return "is paid or credited"
    if receivable.disputed:
        return "is disputed"
    if receivable.promised_until is not None and receivable.promised_until > plan.day:
        return f"has a payment promised by {receivable.promised_until}"
    return ""
