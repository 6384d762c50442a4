"""Opening the state file: checked against the journal, rebuilt when it cannot be used."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from facturier.core.errors import IntegrityError
from facturier.store.state.ledger_state import PRIVATE_PREFIX, LedgerState, prefix_hasher
from facturier.store.state.schema import (
    GENESIS_STAMP,
    TABLES,
    Stamp,
    StateError,
    check_tables,
    connect,
    read_stamp,
    reset_tables,
)


def state_path(journal: Path) -> Path:
    """data/state.sqlite, beside the journal."""
    return journal.parent / "state.sqlite"


def _regular_or_absent(path: Path) -> bool:
    """Whether `path` is a regular file (False when absent); anything else there, or at its
    `-wal` and `-shm` files, which SQLite opens by name, is refused at once: a FIFO would block
    every command, a link could point anywhere (SQLite would write through it)."""
    found = False
    for suffix in ("", "-wal", "-shm"):
        try:
            mode = os.lstat(f"{path}{suffix}").st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise IntegrityError(f"{path}{suffix} is not a regular file; remove it (the state is rebuilt from the "
                                 "journal)")
        found = found or not suffix
    return found


def _drop_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

def _matches(journal: Path, stamp: Stamp, prefix: str, end: int) -> tuple[int, Any]:
    """The prefix hasher when the stamp names this journal's entry at its offset and the bytes
    before it are unchanged; raises StateError why not."""
    if stamp.offset > end:
        raise StateError("it is ahead of the journal")
    if stamp.seq and entry_ending_at(journal, stamp.offset) != (stamp.seq, stamp.hash):
        raise StateError(f"it does not match the journal at entry {stamp.seq}")
    hasher = prefix_hasher(journal, stamp.offset)
    if hasher.hexdigest() != prefix:
        raise StateError(f"the journal changed before entry {stamp.seq}")
    return stamp.offset, hasher


def entry_ending_at(journal: Path, end: int) -> tuple[int, str] | None:
    """(seq, hash) of the journal line ending at byte `end`, or None."""
    size = 65536
    with open(journal, "rb") as fh:
        while True:  # a line longer than the window (a usage import's entry): widen it
            start = max(0, end - size)
            fh.seek(start)
            window = fh.read(end - start)
            cut = window.rfind(b"\n", 0, len(window) - 1)
            if cut >= 0 or start == 0:
                break
            size *= 4
    if not window.endswith(b"\n"):
        return None
    try:
        entry = orjson.loads(window[cut + 1:])
        return int(entry["seq"]), str(entry["hash"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _snapshot(path: Path) -> sqlite3.Connection | None:
    """A private copy of the state file for a dry run, which must write nothing in the workspace
    (not even SQLite's -wal and -shm files); None while another process has it open in WAL, or
    when the temporary folder has no room for it.

    The copy is a temporary file (removed by `LedgerState.close`), not memory: a copy held in
    memory cost the size of the state file (831 MiB for `remind --dry-run` at 1M entries).
    """
    if Path(f"{path}-wal").exists():
        return None
    _drop_orphan_copies()
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))
        copy = folder / "state.sqlite"
    except OSError:
        return None
    try:
        shutil.copyfile(path, copy)
        with open(copy, "r+b") as fh:
            # Made a rollback-journal database (header bytes 18 and 19: 1, 1 instead of WAL's
            # 2, 2), its journal in memory: nothing but the copy itself is ever on disk.
            if fh.read(20)[18:20] == b"\x02\x02":
                fh.seek(18)
                fh.write(b"\x01\x01")
    except OSError:  # no room for a copy: the file itself is read, in a transaction never committed
        shutil.rmtree(folder, ignore_errors=True)
        return None
    db = sqlite3.connect(copy, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = MEMORY")
    except sqlite3.DatabaseError:  # not a database: this dry run builds its state in memory
        db.close()
        shutil.rmtree(folder, ignore_errors=True)
        return _memory()
    return db


def _drop_orphan_copies(prefix: str = PRIVATE_PREFIX) -> None:
    """Remove the private copies of dry runs (or, with VERIFY_PREFIX, the states `verify` rebuilds)
    whose process was killed (it is gone): a copy is as large as the state file."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name.removeprefix(prefix).split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # alive (another user's process): left alone


def _memory() -> sqlite3.Connection:
    return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)


def _in_memory(journal: Path, notice: Callable[[str], None], why: BaseException) -> LedgerState:
    """A state built in memory for this command: the file cannot be used now (locked past the
    wait, read-only, an I/O error), through no fault of its own, so it is left as it is."""
    notice(f"data/state.sqlite cannot be used now ({why}); the state is built from the journal in memory "
           "for this command")
    return _empty(journal, _memory())


def in_memory(journal: Path, notice: Callable[[str], None], why: BaseException) -> LedgerState:
    """A state built in memory for this command, the file left as it is (see `_in_memory`)."""
    return _in_memory(journal, notice, why)


def _empty(journal: Path, db: sqlite3.Connection, durable: bool = True) -> LedgerState:
    """A state with every table empty, at the journal's beginning, in its write transaction."""
    if not db.in_transaction:
        db.execute("BEGIN IMMEDIATE")
    state = LedgerState(journal, db, GENESIS_STAMP, durable=durable, track_years=False)
    state.indexes_after = reset_tables(db)
    return state


def _connection(path: Path, exists: bool, dry_run: bool, data_dir: bool) -> tuple[sqlite3.Connection, bool]:
    """(connection, durable): the file, a private copy of it for a dry run, or memory."""
    if not data_dir:  # no data/ yet: nothing to keep, and nothing written
        return _memory(), True
    if dry_run:
        copy = _snapshot(path) if exists else None
        if copy is not None:
            return copy, True
        return (connect(path), False) if exists else (_memory(), True)
    return connect(path), True


def _drop_old_state(old: Path, notice: Callable[[str], None]) -> None:
    """Remove the data/state/ folder of an earlier version (never read); a link there is removed,
    never followed (its target is left alone), and a folder that cannot be removed is said so,
    not claimed removed. Several commands may remove it at once: what one removed is no error
    to another."""
    if old.is_symlink():
        with contextlib.suppress(OSError):
            old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)
    if old.is_symlink() or old.exists():
        notice("the ledger state moved to data/state.sqlite; the old data/state/ folder could not be removed: "
               "remove it (nothing of it is read)")
        return
    notice("the ledger state moved to data/state.sqlite; the old data/state/ folder was removed "
           "(it is rebuilt from the journal, nothing of it was read)")


def open_db(journal: Path, end: int, notice: Callable[[str], None], dry_run: bool = False,
            fresh: bool = False) -> LedgerState:
    """The state of `journal` (whose complete lines end at byte `end`), in a write transaction
    at the position its tables reflect, checked against the journal: a state that is missing,
    torn, garbage, of another schema, ahead of the journal or from another journal is emptied
    (with a notice) to be rebuilt; `fresh` empties it (`rebuild`). A dry run gets a private
    copy and writes nothing. A file that cannot be used now (locked, read-only) is never
    deleted: this command builds its state in memory."""
    path = state_path(journal)
    old = journal.parent / "state"
    moved = old.is_dir() and not dry_run
    if moved:
        _drop_old_state(old, notice)
    exists = _regular_or_absent(path)
    if not exists and end and not fresh and not moved and journal.parent.is_dir():
        notice("data/state.sqlite is missing; building it from the journal")
    if exists and not dry_run and not os.access(path, os.W_OK):  # read-only, immutable, a read-only mount
        return _in_memory(journal, notice, PermissionError("it is read-only"))
    try:
        db, durable = _connection(path, exists, dry_run, journal.parent.is_dir())
    except sqlite3.OperationalError as exc:
        return _in_memory(journal, notice, exc)
    except sqlite3.DatabaseError as exc:  # not a database: garbage where the state should be
        notice(f"state file data/state.sqlite not used ({exc}); rebuilding it from the journal")
        _drop_files(path)
        db, durable, exists = connect(path), True, False
    state = LedgerState(journal, db, GENESIS_STAMP, durable=durable)
    try:
        stamp, prefix = state.begin(), read_stamp(db)[1]
        if fresh:
            raise StateError("rebuilt on request")
        check_tables(db)
        state._prefix = _matches(journal, stamp, prefix, end)
    except sqlite3.OperationalError as exc:
        db.close()
        return _in_memory(journal, notice, exc)
    except (StateError, sqlite3.DatabaseError) as exc:
        if exists and end and not fresh:
            notice(f"state file data/state.sqlite not used ({exc}); rebuilding it from the journal")
        state = _emptied(journal, state, path, dry_run, durable, notice)
    return state


def _emptied(journal: Path, state: LedgerState, path: Path, dry_run: bool, durable: bool,
             notice: Callable[[str], None]) -> LedgerState:
    """The state emptied in place to be rebuilt; a file too damaged for that is replaced."""
    db = state.db
    try:
        return _empty(journal, db, durable)
    except sqlite3.OperationalError as exc:
        db.close()
        return _in_memory(journal, notice, exc)
    except sqlite3.DatabaseError:
        db.close()
        if not dry_run:
            _drop_files(path)
        return _empty(journal, _memory() if dry_run else connect(path), durable)


# The folder of the state `verify` rebuilds to compare (`verify_folder`), named after its process.
VERIFY_PREFIX = "facturier-verify-"


def verify_folder() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for the state `verify` rebuilds, outside the workspace; those of
    verifications killed before they removed theirs are removed first."""
    _drop_orphan_copies(VERIFY_PREFIX)
    return tempfile.TemporaryDirectory(prefix=f"{VERIFY_PREFIX}{os.getpid()}-")


def rebuilt_in(journal: Path, path: Path) -> LedgerState:
    """An empty state in a new file at `path`, in its write transaction, for `verify` to
    rebuild from the journal and compare with the saved one.

    Only its tables are compared, row by row in primary-key order: the secondary indexes a build
    creates at its end (`INDEXES_AFTER_BUILD`, 2 s at 1M entries) are left out."""
    state = _empty(journal, connect(path))
    state.indexes_after = []
    return state


def table_differences(db: sqlite3.Connection, other: Path) -> list[str]:
    """A problem per table of `db` whose rows differ from those of the state file `other`
    (`views_pending` and `views_pending_years`, records of work to do, and `meta` aside).

    Each table is compared with `EXCEPT` both ways and the row counts. A table with a primary
    key is compared in its order: both sides are read as they are stored and merged, where an
    unordered `EXCEPT` sorted each side into a temporary B-tree first (1.9 s instead of 5.3 s
    at 1M entries). Whatever the order the saved file yields, a row of one side that the
    other lacks is counted: a merge passes over a row only when it meets an equal one."""
    db.execute("ATTACH DATABASE ? AS fresh", (str(other),))
    try:
        problems = []
        for table in TABLES:
            if table in ("meta", "views_pending", "views_pending_years"):
                continue
            order = _key_order(db, table)
            differing = sum(db.execute(f"SELECT count(*) FROM (SELECT * FROM {a}.{table} EXCEPT "
                                       f"SELECT * FROM {b}.{table}{order})").fetchone()[0]
                            for a, b in (("main", "fresh"), ("fresh", "main")))
            counts = [db.execute(f"SELECT count(*) FROM {n}.{table}").fetchone()[0] for n in ("main", "fresh")]
            if differing or counts[0] != counts[1]:
                problems.append(f"data/state.sqlite: table {table} differs from the state rebuilt from the "
                                f"journal ({max(differing, abs(counts[0] - counts[1]))} row(s)); "
                                "run 'facturier rebuild'")
        return problems
    finally:
        if db.in_transaction:
            db.execute("COMMIT")
        db.execute("DETACH DATABASE fresh")


def _key_order(db: sqlite3.Connection, table: str) -> str:
    """` ORDER BY` the primary key of `table` as the rebuilt state (attached as `fresh`, made by
    this version) declares it; empty for a table without one."""
    columns = db.execute(f"PRAGMA fresh.table_info({table})").fetchall()  # (cid, name, type, notnull, default, pk)
    key = [row[1] for row in sorted(columns, key=lambda row: row[5]) if row[5]]
    return f" ORDER BY {', '.join(key)}" if key else ""
