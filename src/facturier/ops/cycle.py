"""`facturier run`: the monthly cycle, composed of independent steps."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.ops.report import ProgressHook, Report
from facturier.ops.invoicing.monthly import issue_monthly_invoices
from facturier.ops.delivery.send import send_deliveries
from facturier.ops.views import refresh_views
from facturier.store.journal import read_entries
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace


def monthly_cycle(ws: Workspace, day: date, dry_run: bool, progress: ProgressHook | None = None) -> list[Report]:
    """Issue the due monthly invoices, refresh the views, then send what the rules allow.

    A dry run writes and sends nothing; it lists what would be sent among the invoices that
    already exist (those it would issue today are not emails yet).
    """
    if dry_run:
        entries = read_entries(ws.root / "data" / "journal.jsonl")
        return [issue_monthly_invoices(ws, entries, day, ledger=None),
                send_deliveries(ws, entries, day, ledger=None)]
    with Ledger(ws.root) as ledger:
        report = issue_monthly_invoices(ws, ledger.entries, day, ledger, progress)
        refresh_views(ws, ledger.entries, {r["client"] for r in report.rows})
        # Same lock session: no other process can send between issuing and sending.
        sent = send_deliveries(ws, ledger.entries, day, ledger)
    return [report, sent]
