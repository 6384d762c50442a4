"""The ledger state: one SQLite file derived from the journal (PRODUCT.md §11).

`data/state.sqlite` holds, as tables with the indexes their questions need, everything the
use cases ask of the journal: series and next numbers, months invoiced, deliveries, batch
files and references, bank ids, client accounts, where each document and payment is in the
journal, usage, reminders, disputes, promises, payment links, Gmail threads and the daily
sums of the report. It is a pure function of the journal: every entry is applied in the same
SQLite transaction that records the journal position the state then reflects (`meta`: seq,
byte offset and hash of the last entry applied, and an xxh3 digest of the journal bytes
before it). SQLite gives the transactions, the crash safety and the readers beside a writer
(WAL mode); nothing here is hand-made storage.

The state is never trusted blindly (`open_state` in `store/journal.py` checks the stamp
against the journal) and keeps byte offsets, not entries: a use case that needs a whole
entry reads that line back from the journal (`entry_at`), which the stamp proves unchanged.
No pickle is ever loaded: an old `data/state/` folder of pickled sections is removed.
"""

from facturier.store.state.client_accounts import Accounts
from facturier.store.state.collections_tables import Collections, GmailThreads, Links, Reports
from facturier.store.state.documents import BatchFiles, Core, Index, Names
from facturier.store.state.ledger_state import LedgerState, prefix_hasher
from facturier.store.state.opening import open_db, rebuilt_in, state_path, table_differences
from facturier.store.state.schema import GENESIS_STAMP, Stamp, StateError, quiet_gc
from facturier.store.state.usage_tables import Usage, UsageIds, figures

__all__ = [
    "GENESIS_STAMP", "Accounts", "BatchFiles", "Collections", "Core", "GmailThreads", "Index", "LedgerState",
    "Links", "Names", "Reports", "Stamp", "StateError", "Usage", "UsageIds", "figures", "open_db",
    "prefix_hasher", "quiet_gc", "rebuilt_in", "state_path", "table_differences",
]
