"""`facturier balances` and invoice statuses, from the client accounts of the ledger state."""

from __future__ import annotations

from datetime import date

from facturier.ops.accounts import BALANCE_COLUMNS, balance_clients, balance_row
from facturier.ops.report import Report
from facturier.ops.reports.figures import facts_after
from facturier.ops.reports.rewind import Balancer
from facturier.store.state import LedgerState


def balancer(state: LedgerState, as_of: date) -> Balancer:
    """The accounts as they stood at `as_of`: as they are, or rewound over the facts dated after
    it (a balance at a past date no longer recomputes 500,000 facts: 44 s measured at 1M entries)."""
    return Balancer(state, as_of, lambda: facts_after(state, as_of))


def balances_report(state: LedgerState, as_of: date) -> Report:
    """`facturier balances`: one row per client and currency."""
    report = Report(f"Balances at {as_of}", BALANCE_COLUMNS)
    at = balancer(state, as_of)
    report.rows = [balance_row(b) for client in balance_clients(state) for b in at.balances(client)]
    if not report.rows:
        report.notes.append("No live invoice or payment yet.")
    return report


def invoice_statuses(state: LedgerState, clients: set[str], as_of: date) -> dict[str, str]:
    """Status at a date of the live direct invoices of these clients (for `invoices --status`)."""
    known = set(balance_clients(state))
    at = balancer(state, as_of)
    out: dict[str, str] = {}
    for client in sorted(clients & known):
        for a in at.accounts(client):
            out.update(a.statuses(as_of))
    return out
