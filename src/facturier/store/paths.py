"""Where everything lives in a workspace (PRODUCT.md §2), named once.

Every module asks `WorkspacePaths(root)` for a folder or file instead of spelling
`root / "data" / "journal.jsonl"` out; the layout users and scripts rely on is here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class WorkspacePaths:
    """The folders and files of the workspace at `root`."""

    root: Path

    @property
    def data(self) -> Path:
        """data/: the journal, documents, derived views, state, logs, outboxes."""
        return self.root / "data"

    @property
    def journal(self) -> Path:
        """data/journal.jsonl: the hash-chained journal (its head record sits beside it)."""
        return self.data / "journal.jsonl"

    @property
    def staging(self) -> Path:
        """data/staging/: files of a commit before they are moved into place."""
        return self.data / "staging"

    @property
    def logs(self) -> Path:
        """data/logs/: per-client logs, facturier.log, reminders.csv (deletable)."""
        return self.data / "logs"

    @property
    def outbox(self) -> Path:
        """data/outbox/: the "outbox" mail transport's .eml files."""
        return self.data / "outbox"

    @property
    def drafts(self) -> Path:
        """data/drafts/: the "outbox" draft store's reminder drafts."""
        return self.data / "drafts"

    @property
    def inboxes(self) -> Path:
        """data/inbox_batch/: one folder per batch client."""
        return self.data / "inbox_batch"

    def inbox(self, batch_id: str) -> Path:
        """data/inbox_batch/<batch_id>/: where a batch client drops its CSV files."""
        return self.inboxes / batch_id

    @property
    def downloads(self) -> Path:
        """downloads/: the batch clients' monthly ZIPs."""
        return self.root / "downloads"

    def batch_sent(self, batch_id: str) -> Path:
        """data/batch_sent/<batch_id>/: the exact ZIPs delivered to a batch client, kept."""
        return self.data / "batch_sent" / batch_id

    @property
    def exports(self) -> Path:
        """exports/: generated CSV, FEC and report files (deletable)."""
        return self.root / "exports"
