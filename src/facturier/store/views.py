"""Derived views: plain JSON files regenerated from the journal, never edited by hand.

Each builder gives the ledger state's view files as (relative path, content), for the clients
a command touched (or all). Every file is built whole and written whole, atomically, one
after the other: `rebuild` gives byte-identical files because a view is a pure function of
the journal, and `verify` compares every view file with what the builders give.

A client whose view would list more than `SPLIT_AT` items (documents, payments or invoices)
has that view split per year: `data/<kind>/<client>.json` keeps the summary and names the
years, `data/<kind>/<client>/<year>.json` lists that year's items. A command then writes the
summary and the years its facts changed; the other years come as a `Later` content, built
only when the file is missing (or by `verify` and `rebuild`, which build every file).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from facturier.core.errors import UnsafeFileError
from facturier.core.money import from_minor
from facturier.store.events import ISSUED_TYPES, DocumentIssued, T
from facturier.store.files import atomic_write, open_regular
from facturier.store.state import LedgerState

VIEW_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS

# A view file's content: its bytes, or a `Later` one that is built only when the file is missing
# or every file is checked (a year of a split view that the command's facts did not change).
Later = Callable[[], bytes]
ViewContent = bytes | Later
ViewFiles = Mapping[str, bytes] | Iterable[tuple[str, ViewContent]]
ViewBuilder = Callable[[LedgerState, set[str] | None], ViewFiles]

# A view listing more items than this is split per year (see the module's docstring): a
# client invoiced monthly never reaches it; one with a long history (250,000 invoices) writes
# about 2 MB a command instead of 70 MB.
SPLIT_AT = 10_000

# Where view files live (PRODUCT.md §2): anything else there that matches is not a view of
# the journal, and `verify` names it.
VIEW_GLOBS = ("data/revenues/*.json", "data/payments/*.json", "data/balance/*.json",
              "data/usage/*/*.json", "data/revenues/*/*.json", "data/payments/*/*.json",
              "data/balance/*/*.json")


def view_items(files: ViewFiles) -> Iterable[tuple[str, ViewContent]]:
    """A builder's files as (relative path, content) pairs."""
    return files.items() if isinstance(files, Mapping) else files


def built(content: ViewContent) -> bytes:
    """The bytes of a view file's content (a `Later` one built now)."""
    return content if isinstance(content, bytes) else content()


def year_files(client: str, kind: str, years: list[int],
               changed: set[int] | None, build: Callable[[int], bytes]) -> Iterator[tuple[str, ViewContent]]:
    """data/<kind>/<client>/<year>.json of each year: built now when `changed` (None: all) has
    it, else `Later`."""
    for year in years:
        later = partial(build, year)
        yield f"data/{kind}/{client}/{year}.json", later() if changed is None or year in changed else later


def view_bytes(obj: Any) -> bytes:
    """Stable JSON for a view file: keys sorted, two-space indent, UTF-8.

    Defined as `json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\\n"`;
    orjson gives the same bytes for views (strings, integers, lists, objects) far faster.
    """
    return orjson.dumps(obj, option=VIEW_OPTIONS) + b"\n"


def signed(doc: DocumentIssued, amount: Decimal) -> Decimal:
    """An amount of a document, negative for a credit note."""
    return -amount if doc.is_credit_note else amount


def revenue_views(state: LedgerState, clients: set[str] | None) -> Iterator[tuple[str, ViewContent]]:
    """data/revenues/<client>.json: cumulative totals per currency and the history (per year
    in data/revenues/<client>/<year>.json for a long history)."""
    known = state.accounts.last_currency  # every client with a live document of the issuer
    owners = sorted(known) if clients is None else sorted(c for c in clients if c in known)
    for client in owners:
        if not state.index.documents_over(client, SPLIT_AT):
            offsets = state.index.offsets_of(client)
            yield f"data/revenues/{client}.json", view_bytes(
                {**revenue_summary(state, client), "history": revenue_history(state, client, offsets)})
            continue
        years = state.index.years_of(client)
        yield f"data/revenues/{client}.json", view_bytes(
            {**revenue_summary(state, client), "years": [str(y) for y in years]})
        yield from year_files(client, "revenues", years, state.years_pending(client, "revenues"),
                              partial(revenue_year_bytes, state, client))


def revenue_summary(state: LedgerState, client: str) -> dict[str, Any]:
    """The client, its latest currency and its totals from the accounts (a revenue view's head)."""
    accounts = state.accounts
    names = ("amount_excl_vat", "vat_amount", "amount_incl_vat")
    totals = {cur: {name: str(from_minor(value, cur))
                    for name, value in zip(names, sums, strict=True)}
              for cur, sums in sorted(accounts.revenue[client].items())}
    return {"client": client, "currency": accounts.last_currency[client], "totals": totals}


def revenue_year_bytes(state: LedgerState, client: str, year: int) -> bytes:
    """data/revenues/<client>/<year>.json: the history of the client's documents of that year."""
    history = revenue_history(state, client, state.index.offsets_of(client, year))
    return view_bytes({"client": client, "year": str(year), "history": history})


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


def _regular(path: Path) -> bool:
    """Whether a regular file is at `path` (a link is not)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


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
    commit they reflect, so no view ever runs ahead of the journal. A `Later` file (a year of a
    split view no fact changed) is written only when it is missing.
    """
    written: set[str] = set()
    for builder in builders:
        for rel, content in view_items(builder(state, clients)):
            if isinstance(content, bytes) or not _regular(root / rel):
                write_view(root / rel, built(content))
            written.add(rel)
    return written


def view_files(root: Path) -> set[str]:
    """The relative paths of every file in the view folders that has a view's name."""
    return {p.relative_to(root).as_posix() for pattern in VIEW_GLOBS for p in root.glob(pattern)}

