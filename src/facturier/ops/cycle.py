"""`facturier run`: the monthly cycle, composed of independent steps."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.ops.report import Report
from facturier.ops.run import issue_monthly_invoices
from facturier.ops.views import refresh_views
from facturier.store.journal import read_entries
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace


def monthly_cycle(ws: Workspace, day: date, dry_run: bool) -> list[Report]:
    """Issue the due monthly invoices, refresh the views; a dry run writes nothing at all."""
    if dry_run:
        entries = read_entries(ws.root / "data" / "journal.jsonl")
        return [issue_monthly_invoices(ws, entries, day, ledger=None)]
    with Ledger(ws.root) as ledger:
        report = issue_monthly_invoices(ws, ledger.entries, day, ledger)
        refresh_views(ws, ledger.entries, {r["client"] for r in report.rows})
    return [report]
