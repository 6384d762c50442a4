"""Refreshing and rebuilding the derived views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from facturier.store.journal import Entry, read_entries
from facturier.store.views import write_views

if TYPE_CHECKING:
    from facturier.config import Workspace


def refresh_views(ws: Workspace, entries: list[Entry], clients: set[str]) -> None:
    """Rewrite the views of the clients a command touched."""
    if clients:
        write_views(ws.root, entries, clients)


def rebuild_views(ws: Workspace) -> int:
    """Regenerate every view from the journal; returns the number of view files."""
    return write_views(ws.root, read_entries(ws.root / "data" / "journal.jsonl"))

# Registers the payment and balance views before any write_views call.
from facturier.ops.reports import balances as _balances  # noqa: E402,F401
