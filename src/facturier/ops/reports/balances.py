"""`facturier balances` and invoice statuses, from the client accounts of the ledger state."""

from __future__ import annotations

from datetime import date

from facturier.core.accounts import Account
from facturier.core.aging import ClientBalance
from facturier.ops.balance_views import BALANCE_COLUMNS, balance_clients, balance_row
from facturier.ops.outcome import Report
from facturier.store.state import LedgerState


class Balancer:
    """Each client's accounts as they stood at one date (`state.accounts.at`), read once."""

    def __init__(self, state: LedgerState, as_of: date) -> None:
        self.state = state
        self.as_of = as_of
        self._accounts: dict[str, list[Account]] = {}

    def accounts(self, client: str) -> list[Account]:
        """The client's accounts at the date, by currency."""
        found = self._accounts.get(client)
        if found is None:
            found = self._accounts[client] = self.state.accounts.at(client, self.as_of)
        return found

    def balances(self, client: str) -> list[ClientBalance]:
        """The client's balances at the date (without the per-invoice list), as `balances` prints:
        from the accounts' aggregates, their rows not read unless a past date replays them."""
        accounts = self._accounts.get(client) or self.state.accounts.at(client, self.as_of, rows=False)
        return [a.balance(self.as_of, with_invoices=False) for a in accounts]

    def release(self, client: str) -> None:
        """Drop the client's accounts read at the date (a report reads one client's 250,000
        rows at a time, not every client's at once)."""
        self._accounts.pop(client, None)
        self.state.accounts.release(client)

    def settled(self, client: str, currency: str) -> tuple[Account | None, dict[str, tuple[int, int, int]]]:
        """The account and each invoice's (credited, paid, open) at the date, pool applied."""
        acc = next((a for a in self.accounts(client) if a.currency == currency), None)
        return acc, acc.settled()[0] if acc else {}


def balances_report(state: LedgerState, as_of: date) -> Report:
    """`facturier balances`: one row per client and currency."""
    report = Report(f"Balances at {as_of}", BALANCE_COLUMNS)
    at = Balancer(state, as_of)
    report.rows = [balance_row(b) for client in balance_clients(state) for b in at.balances(client)]
    if not report.rows:
        report.notes.append("No live invoice or payment yet.")
    return report


def invoice_statuses(state: LedgerState, clients: set[str], as_of: date) -> dict[str, str]:
    """Status at a date of the live direct invoices of these clients (for `invoices --status`)."""
    known = set(balance_clients(state))
    at = Balancer(state, as_of)
    out: dict[str, str] = {}
    for client in sorted(clients & known):
        for a in at.accounts(client):
            out.update(a.statuses(as_of))
    return out
