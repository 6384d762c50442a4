"""`facturier balances` and invoice statuses, from the client accounts of the ledger state."""

from __future__ import annotations

from datetime import date

from facturier.ops.accounts import BALANCE_COLUMNS, balance_clients, balance_row, client_balances
from facturier.ops.report import Report
from facturier.store.state import LedgerState


def balances_report(state: LedgerState, as_of: date) -> Report:
    """`facturier balances`: one row per client and currency."""
    report = Report(f"Balances at {as_of}", BALANCE_COLUMNS)
    report.rows = [balance_row(b) for client in balance_clients(state)
                   for b in client_balances(state, client, as_of, with_invoices=False)]
    if not report.rows:
        report.notes.append("No live invoice or payment yet.")
    return report


def invoice_statuses(state: LedgerState, clients: set[str], as_of: date) -> dict[str, str]:
    """Status at a date of the live direct invoices of these clients (for `invoices --status`)."""
    known = set(balance_clients(state))
    out: dict[str, str] = {}
    for client in sorted(clients & known):
        accounts = [a for a in state.accounts.of_client(client) if a.last_day]
        if all(a.covers(as_of) for a in accounts):
            for a in accounts:
                out.update(a.statuses(as_of))
        else:
            out.update({st.number: st.status for b in client_balances(state, client, as_of) for st in b.invoices})
    return out
