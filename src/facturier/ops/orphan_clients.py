"""`check`: a client the journal says still owes money whose `clients/<id>.toml` is gone.

Removing a client's file (instead of `active = false`) leaves its invoices in the journal and
the balances, but `pay` no longer knows the client and `remind` no longer drafts for it, both
without a word at the time. `check` says so while something is still owed.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import FacturierError
from facturier.core.money import ZERO, fmt_amount
from facturier.ops.balance_views import balance_clients, client_balances
from facturier.ops.state_access import read_state
from facturier.store.paths import WorkspacePaths
from facturier.store.state import state_path

if TYPE_CHECKING:
    from facturier.config import Workspace


def orphan_client_warnings(ws: Workspace, day: date) -> list[str]:
    """One warning per client with an open balance at `day` and no configuration file."""
    journal = WorkspacePaths(ws.root).journal
    if not journal.is_file() or not state_path(journal).is_file():
        return []  # no state to ask: check does not replay a whole journal for a warning
    try:
        state = read_state(ws.root, dry_run=True)
    except FacturierError:
        return []  # a journal that cannot be read is `verify`'s to report, not the configuration's
    try:
        warnings = []
        for client in balance_clients(state):
            if client in ws.clients or client in ws.batch_clients:
                continue
            owed = [f"{fmt_amount(b.balance, b.currency)} {b.currency}"
                    for b in client_balances(state, client, day, with_invoices=False) if b.balance > ZERO]
            if owed:
                warnings.append(f"clients/{client}.toml: (file): missing, but the journal shows {client} still owes "
                                f"{', '.join(owed)}: without the file, pay refuses its payments and remind drafts "
                                "nothing for it; restore the file (active = false stops its monthly invoices)")
        return warnings
    finally:
        state.close()
