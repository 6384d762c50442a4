"""Refreshing and rebuilding the derived views, and the explicit list of view builders."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from facturier.ops.accounts import payment_and_balance_views
from facturier.ops.state import read_state
from facturier.ops.usage.views import usage_views
from facturier.store.state import LedgerState
from facturier.store.views import ViewBuilder, revenue_views, write_views

if TYPE_CHECKING:
    from facturier.config import Workspace

# Every derived view, in the order they are written (PRODUCT.md §2).
VIEWS: list[ViewBuilder] = [revenue_views, payment_and_balance_views, usage_views]


# A payment changes the payment and balance views of its client, never its revenues.
PAYMENT_VIEWS: list[ViewBuilder] = [payment_and_balance_views]


def refresh_views(ws: Workspace, state: LedgerState, clients: set[str],
                  views: list[ViewBuilder] | None = None) -> None:
    """Rewrite the views (all, or those named) of the clients a command touched."""
    if clients:
        write_views(ws.root, state, VIEWS if views is None else views, clients)


def rebuild_views(ws: Workspace) -> int:
    """Rebuild the ledger state from the journal, then every view; the number of view files."""
    state = read_state(ws.root, fresh=True)
    try:
        written = write_views(ws.root, state, VIEWS)
    finally:
        state.close()
    os.sync()  # views are written without an fsync each: once rebuilt, they are on disk
    return len(written)
