"""`LedgerState`: the sections over one SQLite connection, entries applied in transactions,
and journal lines read back by offset."""

from __future__ import annotations

import io
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import xxhash

from facturier.store.events import (
    ChargeAdded,
    DocumentIssued,
    Event,
    PaymentRecorded,
    UsageRecorded,
    parse_event,
)
from facturier.store.state.client_accounts import Accounts
from facturier.store.state.collections_tables import Collections, GmailThreads, Links, Reports
from facturier.store.state.documents import Core, Index, Names
from facturier.store.state.einvoicing_tables import EInvoicing
from facturier.store.state.schema import Stamp, StateError, quiet_gc, read_stamp
from facturier.store.state.usage_tables import Usage, UsageIds

# The events that change their client's views (and `UsageRecorded`, its rows' clients').
_CLIENT_EVENTS = (DocumentIssued, PaymentRecorded, ChargeAdded)


def prefix_hasher(path: Path, offset: int, start: Any = None) -> Any:
    """xxh3-128 over the journal's first `offset` bytes, continuing `start` = (its offset, a
    hasher) when given. A change detector for the prefix already proven (SHA-256 over the
    chain, `facturier verify`, is the proof), 0.05 s for 400 MB here."""
    begin, digest = (0, xxhash.xxh3_128()) if start is None else (start[0], start[1].copy())
    if offset <= begin:
        return digest
    # Read into one buffer, unbuffered: no new 1 MiB object per block, no second copy.
    block = memoryview(bytearray(min(offset - begin, READ_BLOCK)))
    with open(path, "rb", buffering=0) as fh:
        fh.seek(begin)
        remaining = offset - begin
        while remaining > 0:
            size = fh.readinto(block[:min(remaining, len(block))])
            if not size:
                break
            digest.update(block[:size])
            remaining -= size
    return digest


# Entries applied between two writes of the accounts' changed rows in one transaction (a long
# catch-up, a state built from scratch): the rows read for them are then dropped.
TRIM_EVERY = 20_000

# The folder of a dry run's private copy of the state file (`opening._snapshot`).
PRIVATE_PREFIX = "facturier-dry-run-"


def _private_copy(db: sqlite3.Connection) -> Path | None:
    """The temporary folder of the database when it is a dry run's private copy, else None."""
    try:
        file = next((row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"), "")
    except sqlite3.Error:
        return None
    folder = Path(file).parent if file else None
    return folder if folder is not None and folder.name.startswith(PRIVATE_PREFIX) else None


READ_BLOCK = 1 << 20  # bytes read at a time when reading entries back


def read_line(fh: io.BufferedReader, offset: int) -> bytes:
    """The journal line starting at `offset` (without its newline)."""
    fh.seek(offset)
    return fh.readline().rstrip(b"\n")


class LedgerState:
    """The state of one journal: its sections over one SQLite connection, the journal
    position it reflects, and the journal's lines read back by offset."""

    def __init__(self, journal: Path, db: sqlite3.Connection, position: Stamp,
                 prefix: tuple[int, Any] | None = None, durable: bool = True, track_years: bool = True) -> None:
        self.journal = journal
        # Whether each entry records the years of split views it changes (`views_pending_years`);
        # a state built from scratch records none: every year of its clients is then pending.
        self.track_years = track_years
        self.every_year = False  # views are built for every year (`verify`, `rebuild`)
        self._pending: set[str] = set()
        self._applied = 0
        self.db = db
        self._position = position
        self._last: tuple[dict[str, Any], int] | None = None  # the last entry applied, the offset after it
        self._prefix = prefix  # (offset, xxh3 of the journal before it)
        self._begun: Stamp | None = None  # the position the open transaction (`begin`) started at
        self._durable = durable  # False for a dry run: nothing is ever committed
        self._reader: io.BufferedReader | None = None
        # Statements of the indexes a state built from scratch creates once its rows are in
        # (`schema.INDEXES_AFTER_BUILD`), run by the commit that ends the build.
        self.indexes_after: list[str] = []
        self.core = Core(db)
        self.accounts = Accounts(db)
        self.accounts.track_years = track_years
        self.index = Index(db)
        self.names = Names(db)
        self.usage = Usage(db)
        self.usage_ids = UsageIds(db)
        self.collections = Collections(db)
        self.links = Links(db)
        self.gmail = GmailThreads(db)
        self.reports = Reports(db)
        self.einvoicing = EInvoicing(db)
        self._sections: list[Any] = [
            self.core, self.accounts, self.index, self.usage, self.usage_ids, self.collections, self.links,
            self.gmail, self.reports, self.einvoicing]
        # The `apply` of the sections that look at each type of event (their `EVENTS`), in order.
        self._appliers: dict[type, list[Callable[[Event, int], None]]] = {}

    @property
    def position(self) -> Stamp:
        """The journal position the tables reflect (with the entries applied in this transaction)."""
        if self._last is not None:
            entry, end = self._last
            self._position = Stamp(int(entry["seq"]), end, str(entry["hash"]))
            self._last = None
        return self._position

    @position.setter
    def position(self, stamp: Stamp) -> None:
        self._position, self._last = stamp, None

    # -- applying entries -----------------------------------------------------------------------

    def apply(self, entry: dict[str, Any], offset: int, length: int) -> Event:
        """An entry at `offset` (checked or just written): apply it inside the open transaction."""
        ev = parse_event(entry)
        kind = type(ev)
        appliers = self._appliers.get(kind)
        if appliers is None:
            appliers = self._appliers[kind] = [s.apply for s in self._sections if issubclass(kind, s.EVENTS)]
        for apply in appliers:
            apply(ev, offset)
        self._applied += 1
        if self._applied % TRIM_EVERY == 0:
            self.index.flush()
            self.core.flush()
            self.accounts.trim()
        if isinstance(ev, _CLIENT_EVENTS):  # into views_pending at commit: one statement, not one an entry
            self._pending.add(ev.client)
        elif isinstance(ev, UsageRecorded):
            self._pending.update(row[1] for row in ev.rows)
        if self.track_years:
            years = [(client, "balance", year) for client, year in self.accounts.years]
            if isinstance(ev, (DocumentIssued, PaymentRecorded)):
                years.append((ev.client, "payments" if isinstance(ev, PaymentRecorded) else "revenues", ev.date.year))
            if years:
                self._years_pending(years)
            self.accounts.years.clear()
        self._last = (entry, offset + length)
        return ev

    def begin(self) -> Stamp:
        """Start a write transaction; the position the tables are at (another process may have
        caught them up since this one last looked: what it read is then dropped)."""
        self.db.execute("BEGIN IMMEDIATE")
        stamp, _ = read_stamp(self.db)
        if stamp != self.position:
            self.accounts.forget()
            self.position = stamp
        self._begun = stamp
        return stamp

    def commit(self) -> None:
        """Write back the accounts and the position reached, then commit (a dry run never commits).

        A transaction that applied no entry writes nothing: rewriting the same position cost
        every command that found the state current a WAL frame, a checkpoint and four syncs."""
        begun, self._begun = self._begun, None
        if begun == self.position and self.track_years and not self._pending and not self.indexes_after:
            if self._durable:
                self.db.execute("COMMIT")
            return
        self.core.flush()
        self.accounts.flush()
        self.accounts.dropped.clear()  # (memory: a state built from scratch holds every number)
        self.reports.flush()
        self.index.flush()
        self.db.executemany("INSERT OR IGNORE INTO views_pending VALUES (?)", [(c,) for c in sorted(self._pending)])
        self._pending.clear()
        if not self.track_years:  # built from scratch: every year of the clients is pending
            self._years_pending(())
            self.db.execute("INSERT OR IGNORE INTO views_pending_years SELECT client, '*', 0 FROM views_pending")
            self.track_years = self.accounts.track_years = True
        for statement in self.indexes_after:
            self.db.execute(statement)
        self.indexes_after.clear()
        if self.position.offset != (self._prefix[0] if self._prefix else 0):
            self._prefix = (self.position.offset, prefix_hasher(self.journal, self.position.offset, self._prefix))
        digest = (self._prefix[1] if self._prefix else xxhash.xxh3_128()).hexdigest()
        p = self.position
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("seq", str(p.seq)), ("offset", str(p.offset)), ("hash", p.hash), ("prefix", digest)])
        if self._durable:
            self.db.execute("COMMIT")

    def rollback(self) -> None:
        """Abandon the open transaction (what was read of the accounts goes with it)."""
        self._begun = None
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self._pending.clear()
        self.indexes_after.clear()
        self.core.forget()
        self.reports.forget()
        self.index.forget()
        self.accounts.forget()

    def catch_up(self, end: int) -> None:
        """Apply the journal's lines from the position up to byte `end` (already chain-checked)."""
        if self.position.offset >= end:
            return
        with open(self.journal, "rb") as fh:
            fh.seek(self.position.offset)
            data = fh.read(end - self.position.offset)
        offset = self.position.offset
        with quiet_gc():
            for raw in data.splitlines(keepends=True):
                self.apply(orjson.loads(raw), offset, len(raw))
                offset += len(raw)

    def applied(self, entries: list[dict[str, Any]], offset: int, lengths: list[int]) -> None:
        """Entries this process just journalled from byte `offset`: applied in one transaction
        with the position they lead to (from the journal itself when another process moved the
        tables meanwhile)."""
        start = self.position
        stamp = self.begin()
        try:
            if stamp == start:
                for entry, length in zip(entries, lengths):
                    self.apply(entry, offset, length)
                    offset += length
            else:
                self.catch_up(offset + sum(lengths))
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def on_disk(self) -> bool:
        """Whether the state is a file (the workspace's, or a dry run's private copy), not memory."""
        try:
            return any(row[1] == "main" and row[2] for row in self.db.execute("PRAGMA database_list"))
        except sqlite3.Error:
            return False

    def hold_snapshot(self) -> None:
        """Read one consistent snapshot from now on (a read transaction), whatever writers commit."""
        if not self.db.in_transaction:
            self.db.execute("BEGIN")
            self.db.execute("SELECT 1 FROM meta").fetchone()

    # -- reading entries back ---------------------------------------------------------------

    def entry_at(self, offset: int) -> dict[str, Any]:
        """The raw entry of the journal line at `offset` (for views that copy its keys)."""
        if self._reader is None:
            self._reader = open(self.journal, "rb")  # noqa: SIM115 (closed by close())
        result: dict[str, Any] = orjson.loads(read_line(self._reader, offset))
        return result

    def entries_at(self, offsets: list[int]) -> list[dict[str, Any]]:
        """The raw entries at these offsets (best ascending)."""
        if len(offsets) < 16:
            return [self.entry_at(o) for o in offsets]
        with quiet_gc():
            return list(self.iter_entries_at(offsets))

    def iter_entries_at(self, offsets: list[int]) -> Iterator[dict[str, Any]]:
        """The raw entries at these offsets (best ascending), read in large sequential blocks."""
        loads = orjson.loads
        with open(self.journal, "rb") as fh:
            start, block = 0, b""
            for offset in offsets:
                at = offset - start
                end = block.find(b"\n", at) if 0 <= at < len(block) else -1
                if end < 0:
                    fh.seek(offset)
                    start, block = offset, fh.read(READ_BLOCK)
                    at, end = 0, block.find(b"\n")
                    while end < 0:  # a line longer than the block
                        more = fh.read(READ_BLOCK)
                        if not more:
                            raise StateError(f"the journal ends inside the entry at byte {offset}")
                        block += more
                        end = block.find(b"\n")
                yield loads(block[at:end])

    def documents(self, offsets: list[int]) -> list[DocumentIssued]:
        """The documents at these offsets (ascending)."""
        out = [parse_event(e) for e in self.entries_at(offsets)]
        assert all(isinstance(ev, DocumentIssued) for ev in out)
        return out  # type: ignore[return-value]

    def payments(self, offsets: list[int]) -> list[PaymentRecorded]:
        """The payments at these offsets (ascending)."""
        out = [parse_event(e) for e in self.entries_at(offsets)]
        assert all(isinstance(ev, PaymentRecorded) for ev in out)
        return out  # type: ignore[return-value]

    def document(self, number: str) -> DocumentIssued | None:
        """The first document issued with this number (any seller), or None."""
        offset = self.names.first(number)
        return None if offset is None else self.documents([offset])[0]

    def document_entry(self, number: str) -> dict[str, Any] | None:
        """The raw journal entry of the first document with this number, or None."""
        offset = self.names.first(number)
        return None if offset is None else self.entry_at(offset)

    def entries_naming(self, number: str) -> list[dict[str, Any]]:
        """The raw entries that name a document: its own, its sends, payments and credit notes."""
        offsets = self.names.mentions(number)
        own = self.names.first(number)
        if own is not None:
            offsets.append(own)
        return self.entries_at(sorted(set(offsets)))

    def documents_of(self, owner: str, year: int | None = None) -> list[DocumentIssued]:
        """Documents whose client or seller is `owner` (in a year), journal order."""
        return self.documents(self.index.offsets_of(owner, year))

    def all_documents(self) -> list[DocumentIssued]:
        """Every document, journal order."""
        return self.documents(self.index.documents)

    def named_files(self) -> dict[str, str]:
        """Every file the journal names (relative path -> SHA-256), later entries winning.

        Reads the entries that name files (documents, accepted batch files); used only to
        recover staged files after a crash, so its cost does not weigh on normal commands.
        """
        offsets = self.index.documents + self.core.batches.accepted_offsets()
        named: dict[str, str] = {}
        for offset in sorted(offsets):
            for item in self.entry_at(offset).get("files", {}).values():
                named[item["path"]] = item["sha256"]
        return named

    # -- views not yet written --------------------------------------------------------------

    def _years_pending(self, years: Iterable[tuple[str, str, int]]) -> None:
        """Record (client, view kind, year) of split views that entries changed (kind '*': every
        view, every year). Like `views_pending`, a record of work to do, which `verify` does
        not compare."""
        self.db.executemany("INSERT OR IGNORE INTO views_pending_years VALUES (?, ?, ?)", years)

    def years_pending(self, client: str, kind: str) -> set[int] | None:
        """The years of the client's split view of this kind ('revenues', 'payments', 'balance')
        that entries changed since the views were written; None: every year (`every_year`, a
        state built from scratch, or a record that cannot tell)."""
        if self.every_year:
            return None
        if self.db.execute("SELECT 1 FROM views_pending WHERE client = ?", (client,)).fetchone() is None:
            return set()
        try:
            rows = self.db.execute("SELECT kind, year FROM views_pending_years WHERE client = ? AND kind IN (?, '*')",
                                   (client, kind)).fetchall()
        except sqlite3.OperationalError:  # a state file written before the table existed
            return None
        if self.db.execute("SELECT 1 FROM views_pending_years WHERE client = ?", (client,)).fetchone() is None:
            return None  # pending, and nothing says which years
        return None if any(k == "*" for k, _ in rows) else {year for _, year in rows}

    def views_pending(self) -> set[str]:
        """Clients whose views entries changed and no command has written since: recorded in the
        transaction that applies the entries, so a command killed between its commit and its
        view writes leaves them to the next command that writes views."""
        return {r[0] for r in self.db.execute("SELECT client FROM views_pending")}

    def views_older_than_state(self) -> set[str]:
        """Clients whose views no command has written since this state was built from the journal
        (kind '*' of `views_pending_years`): their view files were written before it, by an
        earlier version or with a state file since lost, so the state cannot vouch for them."""
        return {r[0] for r in self.db.execute("SELECT client FROM views_pending_years WHERE kind = '*'")}

    def views_written(self, clients: set[str] | None) -> None:
        """These clients' views (None: every client's) are current with the state."""
        if not self._durable:
            return  # a dry run writes nothing
        if self.db.in_transaction:
            self.db.execute("COMMIT")  # the snapshot a reader held (`rebuild`) ends here
        self.db.execute("BEGIN IMMEDIATE")
        self._years_pending(())
        if clients is None:
            self.db.execute("DELETE FROM views_pending")
            self.db.execute("DELETE FROM views_pending_years")
        else:
            self.db.executemany("DELETE FROM views_pending WHERE client = ?", [(c,) for c in clients])
            self.db.executemany("DELETE FROM views_pending_years WHERE client = ?", [(c,) for c in clients])
        self.db.execute("COMMIT")

    def close(self) -> None:
        """Close the journal reader and the database (an uncommitted dry run is dropped)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        private = _private_copy(self.db)
        try:
            self.rollback()
        finally:
            self.db.close()
            if private is not None:
                shutil.rmtree(private, ignore_errors=True)
