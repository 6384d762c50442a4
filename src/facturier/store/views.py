"""Derived views: plain JSON files regenerated from the journal, never edited by hand.

Each builder maps the ledger state to {relative path: bytes}, for the clients a command
touched (or all). Every view is built whole and written whole, atomically, one after the
other: `rebuild` gives byte-identical files because a view is a pure function of the
journal, and `verify` compares every view file with what the builders give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from facturier.core.errors import UnsafeFileError
from facturier.core.money import from_minor
from facturier.store.events import ISSUED_TYPES, DocumentIssued, T
from facturier.store.files import atomic_write, open_regular
from facturier.store.state import LedgerState

VIEW_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
ViewBuilder = Callable[[LedgerState, set[str] | None], Mapping[str, bytes]]

# Where view files live (PRODUCT.md §2): anything else there that matches is not a view of
# the journal, and `verify` names it.
VIEW_GLOBS = ("data/revenues/*.json", "data/payments/*.json", "data/balance/*.json",
              "data/usage/*/*.json")


def view_bytes(obj: Any) -> bytes:
    """Stable JSON for a view file: keys sorted, two-space indent, UTF-8.

    Defined as `json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\\n"`;
    orjson gives the same bytes for views (strings, integers, lists, objects) far faster.
    """
    return orjson.dumps(obj, option=VIEW_OPTIONS) + b"\n"


def signed(doc: DocumentIssued, amount: Decimal) -> Decimal:
    """An amount of a document, negative for a credit note."""
    return -amount if doc.is_credit_note else amount


def revenue_views(state: LedgerState, clients: set[str] | None) -> dict[str, bytes]:
    """data/revenues/<client>.json: cumulative totals per currency and the history."""
    known = state.accounts.last_currency  # every client with a live document of the issuer
    owners = sorted(known) if clients is None else sorted(c for c in clients if c in known)
    out = {}
    for client in owners:
        offsets = state.index.offsets_of(client)
        out[f"data/revenues/{client}.json"] = view_bytes(revenue_view(state, client, offsets))
    return out


def revenue_view(state: LedgerState, client: str, offsets: list[int]) -> dict[str, Any]:
    """The content of data/revenues/<client>.json: totals from the accounts, and the history
    from the client's documents at these journal offsets."""
    accounts = state.accounts
    names = ("amount_excl_vat", "vat_amount", "amount_incl_vat")
    totals = {cur: {name: str(from_minor(value, cur))
                    for name, value in zip(names, sums, strict=True)}
              for cur, sums in sorted(accounts.revenue[client].items())}
    return {"client": client, "currency": accounts.last_currency[client], "totals": totals,
            "history": revenue_history(state, client, offsets)}


def revenue_history(state: LedgerState, client: str, offsets: list[int]) -> list[dict[str, str]]:
    """The client's live documents of the issuer among these, as its revenue view lists them.

    Built from the raw entries, whose amounts are already the plain strings the view prints:
    typed events and Decimals for each of 250,000 documents cost seconds.
    """
    history = []
    for d in state.iter_entries_at(offsets):
        if (d["type"] not in ISSUED_TYPES or d["client"] != client or d["seller"] != "issuer"
                or d["mode"] != "live"):
            continue
        excl, vat, incl = d["total_excl_vat"], d["total_vat"], d["total_incl_vat"]
        if d["type"] == T.CREDIT_NOTE_ISSUED:
            excl, vat, incl = (str(-Decimal(x)) for x in (excl, vat, incl))
        history.append({"number": d["number"], "kind": d["kind"], "date": d["date"],
                        "currency": d["currency"], "amount_excl_vat": excl, "vat_amount": vat,
                        "amount_incl_vat": incl})
    return history


def read_view(path: Path) -> bytes | None:
    """The bytes of the view file at `path`; None when it is missing, a link (never followed) or
    not a regular file."""
    try:
        with open_regular(path) as fh:
            return fh.read()
    except (OSError, UnsafeFileError):
        return None


def write_view(path: Path, content: bytes) -> bool:
    """Replace the view at `path` with `content` unless it holds exactly that; whether it changed.

    Atomic (temp file and rename: a reader sees the old view or the new one, and a link at
    `path` is replaced, never written through) but not fsynced: an fsync per view cost 3.3 s
    for the 3,000 views of a 1,000-client run, and a view lost in a system crash is derived
    (`verify` names it, `rebuild` writes it again).
    """
    if read_view(path) == content:
        return False
    atomic_write(path, content, durable=False)
    return True


def write_views(root: Path, state: LedgerState, builders: list[ViewBuilder],
                clients: set[str] | None = None) -> set[str]:
    """Write the views of these builders for the given clients (None: all); the paths of the views.

    One view after the other, in the calling thread: views are written after the journal
    commit they reflect, so no view ever runs ahead of the journal.
    """
    written: set[str] = set()
    for builder in builders:
        for rel, content in builder(state, clients).items():
            write_view(root / rel, content)
            written.add(rel)
    return written


def view_files(root: Path) -> set[str]:
    """The relative paths of every file in the view folders that has a view's name."""
    return {p.relative_to(root).as_posix() for pattern in VIEW_GLOBS for p in root.glob(pattern)}

