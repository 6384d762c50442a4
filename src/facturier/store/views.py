"""Derived views: plain JSON files regenerated from the journal, never edited by hand.

Each builder maps the journal entries to {relative path: bytes}. Views are written after each
command that changes their inputs and by `facturier rebuild`, which gives byte-identical files
because a view is a pure function of the journal.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from facturier.core.accounts import from_minor
from facturier.store.events import ISSUED_TYPES, DocumentIssued, T
from facturier.store.files import atomic_write
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

VIEW_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
ViewBuilder = Callable[["LedgerState", set[str] | None], "Mapping[str, bytes | GrowingView | PatchedView]"]


def view_bytes(obj: Any) -> bytes:
    """Stable JSON for a view file: keys sorted, two-space indent, UTF-8.

    Defined as `json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\\n"`;
    orjson gives the same bytes for views (strings, integers, lists, objects) far faster.
    """
    return orjson.dumps(obj, option=VIEW_OPTIONS) + b"\n"


def list_slot(name: str) -> str:
    """The placeholder of a streamed list (a NUL-framed name no validated text can hold)."""
    return f"\x00{name}\x00"


def _item_bytes(item: Any) -> bytes:
    """A list item as `view_bytes` writes it at depth 0 (bytes are taken as already written so)."""
    return item if isinstance(item, bytes) else orjson.dumps(item, option=VIEW_OPTIONS)


def _slot_at(out: bytes, name: str) -> tuple[int, int, int]:
    """(start, end, indent) of the placeholder of list `name` in `out`."""
    token = orjson.dumps(list_slot(name))
    at = out.index(token)
    line = out[out.rindex(b"\n", 0, at) + 1:at]
    return at, at + len(token), len(line) - len(line.lstrip(b" "))


# A list given as a function of the indent of its items gives them already placed there.
PlacedItems = Callable[[int], Iterable[bytes]]


def list_framing(indent: int) -> tuple[bytes, bytes]:
    """(what precedes each item, what closes the list) of a list at `indent`, as `view_bytes` writes it."""
    return b"\n" + b" " * (indent + 2), b"\n" + b" " * indent + b"]"


def _placed(items: Iterable[Any], indent: int) -> list[bytes]:
    """Items serialised and shifted to the depth of a list at `indent`."""
    inner, _ = list_framing(indent)
    return [_item_bytes(item).replace(b"\n", inner) for item in items]


def _list_body(items: Iterable[Any] | PlacedItems, indent: int) -> bytes:
    inner, close = list_framing(indent)
    parts = list(items(indent + 2)) if callable(items) else _placed(items, indent)
    return b"[" + inner + (b"," + inner).join(parts) + close if parts else b"[]"


def streamed_view_bytes(obj: Any, lists: dict[str, Iterable[Any] | PlacedItems]) -> bytes:
    """`view_bytes` of `obj` in which each value `list_slot(name)` stands for the list `lists[name]`.

    The same bytes as `view_bytes` of the object with the lists in place, but each item is
    serialised as it comes and dropped: the payments view of a client with 250,000 payments
    no longer holds 250,000 parsed entries at once (430 MB measured), only its bytes.
    Indentation is by depth alone in `view_bytes`, so an item serialised on its own is
    placed by shifting its lines to the depth of the list. An item given as bytes is taken
    as already serialised (at depth 0) the way `view_bytes` would; a list given as a
    function of the items' indent (`PlacedItems`) yields them already placed.
    """
    return streamed_view_spans(obj, lists)[0]


def streamed_view_spans(obj: Any, lists: Mapping[str, Iterable[Any] | PlacedItems | ListBody]
                        ) -> tuple[bytes, list[tuple[int, int]]]:
    """`streamed_view_bytes`, and where each list's body ("[" to "]") ended up, in the order of `lists`.

    A list may also be given as its whole body (`ListBody`, a function of the list's indent).
    """
    out = view_bytes(obj)
    slots = {name: _slot_at(out, name) for name in lists}
    parts: list[bytes | memoryview] = []
    spans, at, size = {}, 0, 0
    for name in sorted(slots, key=lambda n: slots[n][0]):  # in the order the slots appear
        start, end, indent = slots[name]
        items = lists[name]
        body = items.make(indent) if isinstance(items, ListBody) else [_list_body(items, indent)]
        length = sum(len(part) for part in body)
        parts += [out[at:start], *body]
        size += start - at
        spans[name] = (size, size + length)
        size += length
        at = end
    parts.append(out[at:])
    return b"".join(parts), [spans[name] for name in lists]


@dataclass(frozen=True)
class ListBody:
    """A list of a streamed view given as its whole body: `make(indent)` of the list, in parts
    joined once with the rest of the view (parts may be memoryviews of a file read: a 67 MB
    list is then copied once, not once per slice)."""

    make: Callable[[int], list[bytes | memoryview]]


class PatchedView(ABC):
    """A view that writes itself, patching the file it last wrote where it can (the balance view)."""

    @abstractmethod
    def write_to(self, path: Path, stamp: list[int] | None) -> list[int] | None:
        """Write the view at `path` (`stamp`: what the last write kept); the stamp to keep, or None."""


GROWING = "items"


@dataclass(frozen=True)
class GrowingView:
    """A view with one list that only grows, as the journal does (payments, revenue history).

    `obj` is the view with `list_slot(GROWING)` where the list goes (the rest is small and
    rewritten every time); `items(offset)` gives the list's items from the journal entries
    at byte offsets >= `offset` (0: all of them). When the file on disk is the one last
    written (its size and mtime as recorded in `data/state/views.json`, its head unchanged),
    only the new items are appended and the part after the list rewritten: recording one
    payment no longer re-reads and re-serialises the 250,000 before it. The bytes are those
    of the whole view, always (a property test holds it).
    """

    obj: Any
    items: Callable[[int], Iterable[Any]]


class ViewStamps:
    """data/state/views.json: for each growing view, what was last written (derived, deletable).

    views: rel -> [size, mtime_ns, journal offset covered, item count, head length, list end]
    for a growing view, or what a `PatchedView` keeps;
    anchor: the journal's end (offset, hash) when they were saved. Stamps whose anchor is not
    in the journal any more (a journal restored or replaced) are all dropped.
    """

    def __init__(self, path: Path, stamps: dict[str, list[int]] | None = None) -> None:
        self.path = path
        self.stamps: dict[str, list[int]] = stamps or {}
        self.changed = False

    @classmethod
    def load(cls, path: Path, state: LedgerState) -> ViewStamps:
        """The stamps saved at `path`, none if unreadable or if their anchor is not in this journal."""
        try:
            data = orjson.loads(path.read_bytes())
            offset, digest = data["anchor"]
            if state.hash_at(offset) == digest:
                return cls(path, {k: v for k, v in data["views"].items()
                                  if isinstance(v, list) and all(type(x) is int for x in v)})
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            pass
        return cls(path)

    def save(self, state: LedgerState) -> None:
        """Write the stamps if any changed (not fsynced: lost stamps only mean whole rewrites)."""
        if self.changed:
            anchor = [state.position.offset, state.position.hash]
            atomic_write(self.path, orjson.dumps({"anchor": anchor, "views": self.stamps},
                                                 option=orjson.OPT_SORT_KEYS), durable=False)


def open_in_place(path: Path) -> BinaryIO:
    """A view file opened for reading and writing in place; OSError if it is a symbolic link
    (a view is then replaced, never written through the link)."""
    return os.fdopen(os.open(path, os.O_RDWR | os.O_NOFOLLOW), "r+b")


def _append(path: Path, stamp: list[int], head: bytes, tail: bytes, view: GrowingView, indent: int) -> list[int] | None:
    """Append the new items of `view` to the file last written as `stamp`; None when it is not."""
    size, mtime, upto, count, head_len, list_end = stamp
    try:
        st = path.stat()
        if st.st_size != size or st.st_mtime_ns != mtime or count == 0 or head_len != len(head):
            return None
        with open_in_place(path) as fh:
            if fh.read(len(head)) != head:
                return None
            inner, close = list_framing(indent)
            new = _placed(view.items(upto), indent)
            body = b"".join(b"," + inner + part for part in new)
            close += tail
            fh.seek(list_end)
            if not new and fh.read() == close:
                return [size, mtime, -1, count, head_len, list_end]  # unchanged: the caller sets upto
            fh.seek(list_end)
            fh.write(body + close)
            fh.truncate()
        st = path.stat()
        return [st.st_size, st.st_mtime_ns, -1, count + len(new), head_len, list_end + len(body)]
    except OSError:
        return None


def write_growing(path: Path, rel: str, view: GrowingView, stamps: ViewStamps, position: int) -> bool:
    """Write a growing view, appending when possible; whether the file changed."""
    out = view_bytes(view.obj)
    start, end, indent = _slot_at(out, GROWING)
    head, tail = out[:start], out[end:]
    stamp = stamps.stamps.get(rel)
    appended = None if stamp is None or len(stamp) != 6 else _append(path, stamp, head, tail, view, indent)
    if appended is not None:
        changed = appended[0] != stamp[0] or appended[1] != stamp[1]  # type: ignore[index]
        appended[2] = position
        stamps.stamps[rel] = appended
        stamps.changed = True
        return changed
    items = list(view.items(0))
    body = _list_body(items, indent)
    changed = write_view(path, head + body + tail)
    st = path.stat()
    stamps.stamps[rel] = [st.st_size, st.st_mtime_ns, position, len(items), len(head),
                          len(head) + len(body) - len(list_framing(indent)[1]) if items else 0]
    stamps.changed = True
    return changed


def signed(doc: DocumentIssued, amount: Decimal) -> Decimal:
    """An amount of a document, negative for a credit note."""
    return -amount if doc.is_credit_note else amount


def revenue_views(state: LedgerState, clients: set[str] | None) -> dict[str, bytes | GrowingView]:
    """data/revenues/<client>.json: cumulative totals per currency and the history.

    The totals come from the accounts section; the history only grows (`GrowingView`), its
    items built from the raw entries (their amounts are already the plain strings the view
    prints): typed events and Decimals for every document made this view cost seconds for
    a client with 250,000 documents.
    """
    accounts = state.accounts
    owners = sorted(accounts.last_currency if clients is None else clients & accounts.last_currency.keys())
    out: dict[str, bytes | GrowingView] = {}
    for client in owners:
        exponents = {a.currency: a.exponent for a in accounts.of_client(client)}
        totals = {
            cur: {name: str(from_minor(value, exponents[cur]))
                  for name, value in zip(("amount_excl_vat", "vat_amount", "amount_incl_vat"), sums, strict=True)}
            for cur, sums in sorted(accounts.revenue[client].items())
        }
        obj = {"client": client, "currency": accounts.last_currency[client], "totals": totals,
               "history": list_slot(GROWING)}
        out[f"data/revenues/{client}.json"] = GrowingView(obj, partial(revenue_items, state, client))
    return out


def revenue_items(state: LedgerState, client: str, since: int) -> Iterator[dict[str, str]]:
    """The client's live documents journalled at byte `since` or later, as its revenue history lists them."""
    if since:  # the few entries since the view was written: read them, not the whole index
        docs = state.entries_since(since, b".issued")
    else:
        by_owner_year = state.index.by_owner_year
        docs = state.iter_entries_at(sorted(o for k in by_owner_year if k[0] == client for o in by_owner_year[k]))
    for d in docs:
        if (d["type"] not in ISSUED_TYPES or d["client"] != client or d["seller"] != "issuer"
                or d["mode"] != "live"):
            continue
        excl, vat, incl = d["total_excl_vat"], d["total_vat"], d["total_incl_vat"]
        if d["type"] == T.CREDIT_NOTE_ISSUED:
            excl, vat, incl = (str(-Decimal(x)) for x in (excl, vat, incl))
        yield {"number": d["number"], "kind": d["kind"], "date": d["date"], "currency": d["currency"],
               "amount_excl_vat": excl, "vat_amount": vat, "amount_incl_vat": incl}


PATCH_SIZE = 4 << 20  # a view this big is patched in place where it changed
VIEW_WRITERS = 8
BIG_VIEW = 1 << 20  # bytes
PATCH_BLOCK = 1 << 16


def write_view(path: Path, content: bytes, old: bytes | None = None) -> bool:
    """Write a view unless it already holds `content`; whether it changed.

    Not fsynced (an fsync per view file cost 3.3 s for the 3,000 views of a 1,000-client
    run): `UnsyncedViews` covers a system crash. A small view is replaced atomically (temp
    file and rename). A big one (the balance view of a client with 250,000 invoices is
    67 MB) is patched in place: only the 64 KiB blocks that differ are written. `old`: the
    file's content, when the caller has just read it.
    """
    try:
        with open_in_place(path) as fh:
            if old is None:  # else: what the caller just read from it
                old = fh.read()
            if old == content:
                return False
            if len(old) < PATCH_SIZE:
                raise FileNotFoundError  # replaced whole, below
            common = min(len(old), len(content))
            at = 0
            while at < common:  # contiguous runs of differing blocks, one write each
                if old[at:at + PATCH_BLOCK] == content[at:at + PATCH_BLOCK]:
                    at += PATCH_BLOCK
                    continue
                end = at + PATCH_BLOCK
                while end < common and old[end:end + PATCH_BLOCK] != content[end:end + PATCH_BLOCK]:
                    end += PATCH_BLOCK
                fh.seek(at)
                fh.write(content[at:min(end, common)])
                at = end
            if len(content) > common:
                fh.seek(common)
                fh.write(content[common:])
            fh.truncate(len(content))
        return True
    except OSError:  # missing, or a link (never written through)
        atomic_write(path, content, durable=False)
        return True


def boot_id() -> str | None:
    """This boot of the system (Linux's random boot id), or None where the system gives none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


FLUSHED_AFTER_NS = 10 * 60 * 10**9  # the kernel writes dirty pages back within ~30 s by default


class UnsyncedViews:
    """data/state/views.unsynced: the clients whose views were written and not yet synced, and the boot.

    Views are not synced by each command (syncing the 67 MB balance view of a client with
    250,000 invoices cost 1.7 s of a payment). A write is in the page cache at once, visible
    to every process, and survives the process being killed: only a crash of the system
    itself, before the kernel writes the pages back, can lose it. So before views are written
    the clients they belong to are recorded here with the boot id, durably (one small fsync,
    only when the record gains a client). A record of another boot names the views such a
    crash may have torn: the next command that writes views rewrites them whole first. A
    record older than FLUSHED_AFTER_NS is synced (cheap by then) and started afresh. Where
    the system gives no boot id, each command syncs its views as before. Derived and
    deletable like the rest of data/state/: deleted, nothing is pending.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.boot = boot_id()
        self.clients: set[str] = set()
        self.every = False  # every client's views (a rebuild, or an unreadable record)
        self.since = 0
        self.lost: set[str] | None = None  # None: nothing lost; empty: every view may be
        try:
            data = orjson.loads(path.read_bytes())
            boot, clients, every, since = data["boot"], data["clients"], data["every"], data["since"]
            if not (isinstance(clients, list) and all(isinstance(c, str) for c in clients)
                    and type(every) is bool and type(since) is int):
                raise TypeError
        except FileNotFoundError:
            return
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            self.lost = set()
            return
        if boot != self.boot or self.boot is None:
            self.lost = set() if every else set(clients)
        else:
            self.clients, self.every, self.since = set(clients), every, since

    def mark(self, clients: set[str] | None) -> None:
        """Record durably that the views of `clients` (None: all) are about to be written."""
        now = time.time_ns()
        if self.since and now - self.since > FLUSHED_AFTER_NS:
            os.sync()
            self.clients, self.every, self.since = set(), False, 0
        if clients is None:
            grown = not self.every
            self.every = True
        else:
            grown = not self.every and not clients <= self.clients
            self.clients |= clients
        if grown or self.lost is not None:
            self.since = self.since or now
            self.lost = None
            atomic_write(self.path, orjson.dumps({"boot": self.boot, "clients": sorted(self.clients),
                                                  "every": self.every, "since": self.since}))

    def synced(self) -> None:
        """Everything written is on disk: nothing is pending."""
        self.path.unlink(missing_ok=True)


def view_client(rel: str) -> str:
    """The client a view belongs to (data/<kind>/<client>.json or data/usage/<client>/<month>.json)."""
    return Path(rel).parts[2].removesuffix(".json")


def _was_big(path: Path) -> bool:
    """Whether the view's file, as last written, is over a MiB (its rewrite is formatted inline)."""
    try:
        return path.stat().st_size > BIG_VIEW
    except OSError:
        return False


def write_views(root: Path, state: LedgerState, builders: list[ViewBuilder], clients: set[str] | None = None,
                every: list[ViewBuilder] | None = None) -> int:
    """Write the views of these builders (for the given clients, or all); return the file count.

    Views a system crash may have lost (`UnsyncedViews`) are rewritten whole first, with
    every builder (`every`, default `builders`).
    """
    paths = WorkspacePaths(root)
    stamps = ViewStamps.load(paths.view_stamps, state)
    unsynced = UnsyncedViews(paths.unsynced_views)
    if unsynced.lost is not None:
        lost = unsynced.lost
        stamps.stamps = {} if not lost else {rel: v for rel, v in stamps.stamps.items() if view_client(rel) not in lost}
        stamps.changed = True
        builders = every or builders
        clients = None if clients is None or not lost else clients | lost
    unsynced.mark(clients)
    jobs: list[tuple[str, bool, Any]] = []  # (rel, patched, result or Future of it)
    # Each view is a new file renamed into place, and creating a file can block for 0.3-2.5 ms
    # on a journal-less ext4 (see Ledger.commit_group): a 1,000-client run writes 3,000 views,
    # 1.5-4 s one after the other. From several threads those waits overlap. Each view has its
    # own path and stamp key, so the writes are independent; stamps of patched views are
    # recorded here, in order, once each write is done. Every view (`rebuild`) and a view that
    # was big when last written are written here, one at a time, as before: formatting several
    # 67 MB views at once nearly doubled the peak memory of `rebuild` (1.0 -> 1.7-1.9 GB) and `run`.
    with ThreadPoolExecutor(VIEW_WRITERS) as writers:
        for builder in builders:
            for rel, content in builder(state, clients).items():
                path = root / rel
                if isinstance(content, GrowingView):
                    write = partial(write_growing, path, rel, content, stamps, state.position.offset)
                elif isinstance(content, PatchedView):
                    write = partial(content.write_to, path, stamps.stamps.get(rel))
                else:
                    write = partial(write_view, path, content)
                inline = clients is None or _was_big(path)
                jobs.append((rel, isinstance(content, PatchedView), write() if inline else writers.submit(write)))
    for rel, patched, job in jobs:
        result = job.result() if isinstance(job, Future) else job  # a failed write raises here
        if patched:
            if result is None:
                stamps.stamps.pop(rel, None)
            else:
                stamps.stamps[rel] = result
            stamps.changed = True
    stamps.save(state)
    if clients is None or unsynced.boot is None:
        os.sync()
        unsynced.synced()
    return len(jobs)
