"""Refreshing, rebuilding and checking the derived views, and the explicit list of view builders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from facturier.ops.balance_views import payment_and_balance_views
from facturier.ops.state_access import read_state
from facturier.ops.usage.views import usage_views
from facturier.store.state import LedgerState
from facturier.store.views import (
    SPLIT_AT,
    ViewBuilder,
    built,
    read_view,
    revenue_views,
    view_files,
    view_items,
    write_views,
)

if TYPE_CHECKING:
    from facturier.config import Workspace

# Every derived view, in the order they are written (PRODUCT.md §2).
VIEWS: list[ViewBuilder] = [revenue_views, payment_and_balance_views, usage_views]


# A payment changes the payment and balance views of its client, never its revenues.
PAYMENT_VIEWS: list[ViewBuilder] = [payment_and_balance_views]

# How what a view shows changes for real: through the commands that journal facts.
FACT_COMMANDS = {
    "revenues": "issue invoices with 'facturier run' or credit notes with "
                "'facturier credit NUMBER'",
    "payments": "record a payment with 'facturier pay CLIENT AMOUNT --date D' "
                "(or 'facturier import-bank FILE')",
    "balance": "record a payment with 'facturier pay CLIENT AMOUNT --date D' "
               "(or 'facturier import-bank FILE') or a credit note with 'facturier credit NUMBER'",
    "usage": "record usage with 'facturier usage record CLIENT METRIC QUANTITY --date D' "
             "(or 'facturier usage import FILE')",
}


def refresh_views(ws: Workspace, state: LedgerState, clients: set[str],
                  views: list[ViewBuilder] | None = None) -> None:
    """Rewrite the views (all, or those named) of the clients a command touched, and every view
    of the clients an earlier command journalled for and was stopped before writing."""
    pending = state.views_pending()
    if pending:
        write_views(ws.root, state, VIEWS, pending)
    if clients - pending:
        write_views(ws.root, state, VIEWS if views is None else views, clients - pending)
    state.views_written(pending | clients)


def rebuild_views(ws: Workspace) -> int:
    """Rebuild the ledger state from the journal, then every view; the number of view files.

    View files the journal gives no view for (copied in by hand, a client's leftovers) are
    removed, so that `verify` finds the view folders as the journal makes them.
    """
    state = read_state(ws.root, fresh=True)
    state.every_year = True
    try:
        written = write_views(ws.root, state, VIEWS)
        state.views_written(None)
    finally:
        state.close()
    for rel in view_files(ws.root) - written:
        if not (ws.root / rel).is_dir():
            (ws.root / rel).unlink(missing_ok=True)
    os.sync()  # views are written without an fsync each: once rebuilt, they are on disk
    return len(written)


def view_problems(root: Path, state: LedgerState | None) -> tuple[int, list[str], list[str]]:
    """(views that match, problems, notes): every view file against the bytes the builders give
    from the state (None: a workspace without a journal, which has no view).

    A view that differs, one missing and a view file for which the journal gives no view
    are each a problem, with what to do about it; but a view of a client no command has
    written views for since the state was built from the journal (a workspace of an earlier
    version: views in an earlier layout; a state file deleted) is not: one note per such
    client says the next writing command rewrites them. Built one file at a time: only one view file (and one client's
    invoice rows) is held at once.
    """
    on_disk = view_files(root)
    problems: list[str] = []
    count = 0
    unwritten: dict[str, list[str]] = {}  # client -> its views older than the state that differ
    unsplit: set[str] = set()  # views of a long history still in one file: their years are not named
    older = state.views_older_than_state() if state is not None else set()
    if state is not None:
        state.every_year = True
    for builder in VIEWS:
        for rel, content in view_items(builder(state, None)) if state is not None else ():
            on_disk.discard(rel)
            expected, found = built(content), read_view(root / rel)
            if found == expected or rel.rsplit("/", 1)[0] in unsplit:
                count += found == expected
                continue
            if _view_client(rel) in older:
                unwritten.setdefault(_view_client(rel), []).append(rel)
            elif found is not None and _in_one_file(expected, found):
                unsplit.add(rel.removesuffix(".json"))
                problems.append(f"{rel} lists the whole history in one file: views of a history over "
                                f"{SPLIT_AT:,} items are split per year (an earlier version wrote one file); "
                                "the next command that writes this client's views, or 'facturier rebuild', "
                                "splits it")
            else:
                problems.append(_differs(root, rel))
    problems += [f"{rel} is not a view the journal gives (copied or renamed by hand?): views are "
                 "derived from the journal; 'facturier rebuild' removes it" for rel in on_disk]
    return count, sorted(problems), [_older_than_state(client, rels) for client, rels in sorted(unwritten.items())]


def _view_client(rel: str) -> str:
    """The client of a view file: data/<kind>/<client>.json or data/<kind>/<client>/<part>.json."""
    return Path(rel).parts[2].removesuffix(".json")


def _older_than_state(client: str, rels: list[str]) -> str:
    """The note for the views of a client written before the state was built from the journal
    (an earlier version's layout, or a view kind it did not write)."""
    named = ", ".join(rels[:3]) + (f" and {len(rels) - 3} more" if len(rels) > 3 else "")
    return (f"{named}: not what this version writes from the journal: {client}'s views were written "
            "before data/state.sqlite was built from the journal (by an earlier version, or by hand); the "
            "next writing command (run, pay, batch, ...) or 'facturier rebuild' rewrites them")


def _in_one_file(expected: bytes, found: bytes) -> bool:
    """Whether a view file is written whole where the journal gives a split view's summary."""
    return expected.startswith(b"{") and b'\n  "years": [' in expected and b'\n  "years": [' not in found


def _differs(root: Path, rel: str) -> str:
    """The problem of a view whose file is not what the journal gives, and what to do."""
    kind, path = Path(rel).parts[1], root / rel
    if path.is_symlink():
        return f"{rel} is a symbolic link, never followed: 'facturier rebuild' replaces it"
    if path.exists() and not path.is_file():
        return f"{rel} is not a regular file: remove it, then 'facturier rebuild' writes the view"
    if not path.exists():
        return f"{rel} is missing: views are derived; 'facturier rebuild' writes it again"
    return (f"{rel} differs from the journal (edited by hand, or left behind by an interrupted "
            "command?): views are derived and rewritten by every command; to change what it "
            f"shows, {FACT_COMMANDS[kind]}; 'facturier rebuild' rewrites the views")
