"""The Gmail thread of a sent invoice email, from the ledger state, for Gmail drafts.

`gmail_threads(state)` is the lookup `GmailDrafts` takes (`DraftStoreOptions.gmail_threads`):
given the Message-ID a reminder answers (its `In-Reply-To`), the thread id and subject that
`[mail] transport = "gmail"` journalled when it sent that email, or None.
"""

from __future__ import annotations

from collections.abc import Callable

from facturier.adapters.drafts.gmail import GmailThread
from facturier.store.state import LedgerState


def gmail_threads(state: LedgerState) -> Callable[[str], GmailThread | None]:
    """Message-ID -> its Gmail thread, read from the state's `gmail` section when first asked."""
    def lookup(message_id: str) -> GmailThread | None:
        found = state.gmail.threads.get(message_id.strip())
        return GmailThread(*found) if found else None
    return lookup
