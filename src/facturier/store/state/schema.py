"""The state file's schema: its tables, the journal position it reflects, and the read-only
mappings through which the sections read their tables."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from facturier.store.files import FILE_MODE

# 2: usage_billings replaces usage_through; 3: the e-invoicing tables (pa_*), split views' years;
# 4: the index of open invoice rows by due date (`pay`, the split balance views);
# 5: the e-invoicing tables keyed by platform mode ("test" | "live")
SCHEMA_VERSION = "6"

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE series(series TEXT PRIMARY KEY, seq INTEGER NOT NULL, day INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE months(client TEXT, period TEXT, day INTEGER NOT NULL, PRIMARY KEY(client, period)) WITHOUT ROWID;
CREATE TABLE deliveries(key TEXT PRIMARY KEY, state TEXT NOT NULL, offset INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE unsent(number TEXT PRIMARY KEY, offset INTEGER NOT NULL, day INTEGER NOT NULL,
                    in_flight INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE batch_accepted(client TEXT, sha256 TEXT, offset INTEGER NOT NULL,
                            PRIMARY KEY(client, sha256)) WITHOUT ROWID;
CREATE TABLE batch_completed(client TEXT, sha256 TEXT, PRIMARY KEY(client, sha256)) WITHOUT ROWID;
CREATE TABLE batch_refs(client TEXT, reference TEXT, number TEXT NOT NULL,
                        PRIMARY KEY(client, reference)) WITHOUT ROWID;
CREATE TABLE batch_issued(client TEXT, batch TEXT, reference TEXT,
                          PRIMARY KEY(client, batch, reference)) WITHOUT ROWID;
CREATE TABLE bank(kind TEXT, key TEXT, PRIMARY KEY(kind, key)) WITHOUT ROWID;
CREATE TABLE accounts(client TEXT, currency TEXT, exponent INTEGER, invoiced INTEGER, credited INTEGER,
                      paid INTEGER, unallocated INTEGER, orphan INTEGER, excess INTEGER, last_day INTEGER,
                      credit_dates TEXT, open_by_due TEXT, invoiced_on TEXT,
                      PRIMARY KEY(client, currency)) WITHOUT ROWID;
CREATE TABLE invoice_rows(client TEXT, currency TEXT, number TEXT, pos INTEGER NOT NULL, issued INTEGER,
                          due INTEGER, total INTEGER, credit_sum INTEGER, alloc_sum INTEGER,
                          PRIMARY KEY(client, currency, number)) WITHOUT ROWID;
CREATE INDEX invoice_rows_pos ON invoice_rows(client, currency, pos);
CREATE INDEX invoice_rows_issued ON invoice_rows(client, currency, issued);
CREATE INDEX invoice_rows_open ON invoice_rows(client, currency, due) WHERE total > credit_sum + alloc_sum;
CREATE TABLE facts(offset INTEGER PRIMARY KEY, client TEXT NOT NULL, currency TEXT NOT NULL, kind TEXT NOT NULL,
                   day INTEGER NOT NULL, number TEXT, due INTEGER, amount TEXT NOT NULL, unallocated TEXT,
                   parts TEXT);
CREATE INDEX facts_client ON facts(client, day);
CREATE TABLE revenue(client TEXT, currency TEXT, excl INTEGER, vat INTEGER, incl INTEGER,
                     PRIMARY KEY(client, currency)) WITHOUT ROWID;
CREATE TABLE last_currency(client TEXT PRIMARY KEY, currency TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE client_names(client TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents(offset INTEGER PRIMARY KEY, number TEXT NOT NULL, type TEXT NOT NULL,
                       client TEXT NOT NULL, seller TEXT NOT NULL, year INTEGER NOT NULL,
                       live_direct INTEGER NOT NULL);
CREATE INDEX documents_number ON documents(number);
CREATE INDEX documents_live_year ON documents(live_direct, year);
CREATE TABLE owners(owner TEXT, year INTEGER, offset INTEGER, PRIMARY KEY(owner, year, offset)) WITHOUT ROWID;
CREATE TABLE payments(offset INTEGER PRIMARY KEY, client TEXT NOT NULL, year INTEGER NOT NULL,
                      day INTEGER NOT NULL);
CREATE INDEX payments_client_year ON payments(client, year);
CREATE INDEX payments_year ON payments(year);
CREATE INDEX payments_day ON payments(day);
CREATE TABLE mentions(number TEXT, offset INTEGER, PRIMARY KEY(number, offset)) WITHOUT ROWID;
CREATE TABLE usage_agg(client TEXT, metric TEXT, month TEXT, sum INTEGER, count INTEGER, max INTEGER,
                       latest_day TEXT, latest INTEGER, PRIMARY KEY(client, metric, month)) WITHOUT ROWID;
CREATE TABLE usage_keys(client TEXT, metric TEXT, month TEXT, key TEXT,
                        PRIMARY KEY(client, metric, month, key)) WITHOUT ROWID;
CREATE TABLE usage_billed(client TEXT, metric TEXT, month TEXT, sum INTEGER, count INTEGER, max INTEGER,
                          latest INTEGER, distinct_keys INTEGER, PRIMARY KEY(client, metric, month)) WITHOUT ROWID;
CREATE TABLE usage_billings(client TEXT NOT NULL, through TEXT NOT NULL, number TEXT NOT NULL);
CREATE INDEX usage_billings_client ON usage_billings(client, through);
CREATE TABLE charges(client TEXT NOT NULL, seq INTEGER, amount TEXT, currency TEXT, description TEXT,
                     day TEXT, vat_rate TEXT);
CREATE INDEX charges_client ON charges(client);
CREATE TABLE usage_ids(id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE reminders(number TEXT PRIMARY KEY, stage INTEGER NOT NULL, day INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE reminders_in_flight(number TEXT PRIMARY KEY, offset INTEGER NOT NULL, stage INTEGER NOT NULL,
                                 day INTEGER NOT NULL, message_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE reminders_drafted(offset INTEGER PRIMARY KEY);
CREATE TABLE collection_mentions(number TEXT, offset INTEGER, PRIMARY KEY(number, offset)) WITHOUT ROWID;
CREATE TABLE disputes(number TEXT PRIMARY KEY, offset INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE promises(number TEXT PRIMARY KEY, day INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE sent_ids(number TEXT PRIMARY KEY, message_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE links(number TEXT NOT NULL, amount TEXT, currency TEXT, provider TEXT, link_id TEXT, url TEXT,
                   active INTEGER NOT NULL);
CREATE INDEX links_number ON links(number);
CREATE TABLE gmail_threads(message_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, subject TEXT NOT NULL)
    WITHOUT ROWID;
CREATE TABLE day_sums(kind TEXT, currency TEXT, client TEXT, day INTEGER, amount INTEGER,
                      PRIMARY KEY(kind, currency, client, day)) WITHOUT ROWID;
CREATE TABLE year_sums(kind TEXT, currency TEXT, year INTEGER, amount INTEGER,
                       PRIMARY KEY(kind, currency, year)) WITHOUT ROWID;
CREATE TABLE views_pending(client TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE views_pending_years(client TEXT, kind TEXT, year INTEGER,
                                 PRIMARY KEY(client, kind, year)) WITHOUT ROWID;
CREATE TABLE batch_counts(seller TEXT, year INTEGER, month INTEGER, count INTEGER,
                          PRIMARY KEY(seller, year, month)) WITHOUT ROWID;
CREATE TABLE pa_directory(siren TEXT, mode TEXT, receives INTEGER NOT NULL, platform TEXT NOT NULL,
                          day TEXT NOT NULL, PRIMARY KEY(siren, mode)) WITHOUT ROWID;
CREATE TABLE pa_flows(seller TEXT, number TEXT, mode TEXT, state TEXT NOT NULL, tracking_id TEXT NOT NULL,
                      flow_id TEXT NOT NULL, sha256 TEXT NOT NULL, made TEXT NOT NULL,
                      PRIMARY KEY(seller, number, mode)) WITHOUT ROWID;
CREATE TABLE pa_status(seller TEXT, number TEXT, mode TEXT, code TEXT NOT NULL, label TEXT NOT NULL,
                       status_at TEXT NOT NULL, reason TEXT, offset INTEGER NOT NULL,
                       PRIMARY KEY(seller, number, mode)) WITHOUT ROWID;
CREATE TABLE pa_cdar(flow_id TEXT, mode TEXT, seller TEXT NOT NULL, status_at TEXT NOT NULL,
                     PRIMARY KEY(flow_id, mode)) WITHOUT ROWID;
CREATE TABLE pa_paid(seller TEXT, number TEXT, payment INTEGER, mode TEXT, flow_id TEXT NOT NULL,
                     PRIMARY KEY(seller, number, payment, mode)) WITHOUT ROWID;
CREATE TABLE pa_ereports(seller TEXT, kind TEXT, period TEXT, mode TEXT, flow_id TEXT NOT NULL,
                         PRIMARY KEY(seller, kind, period, mode)) WITHOUT ROWID;
"""
TABLES = [line.split("(")[0].split()[-1] for line in SCHEMA.splitlines() if line.startswith("CREATE TABLE")]


@dataclass(frozen=True, slots=True)
class Stamp:
    """A journal position: the last entry applied, the byte offset after it, its hash."""

    seq: int
    offset: int
    hash: str


GENESIS_STAMP = Stamp(0, 0, "0" * 64)


class StateError(Exception):
    """A state file that cannot be used (it is then rebuilt from the journal)."""


# -- read adapters: a table seen as the mapping the use cases ask for ------------------------


def _one(row: tuple[Any, ...]) -> Any:
    return row[0] if len(row) == 1 else tuple(row)


class TableMap(Mapping[Any, Any]):
    """Rows of a table as a read-only mapping: key columns to value columns (a scalar when
    there is one column, else a tuple), optionally restricted by a fixed condition."""

    def __init__(self, db: sqlite3.Connection, table: str, keys: tuple[str, ...], values: tuple[str, ...],
                 where: str = "1") -> None:
        self.db, self.keys_, self.values_ = db, keys, values
        match = " AND ".join(f"{k} = ?" for k in keys)
        self._get = f"SELECT {', '.join(values)} FROM {table} WHERE {where} AND {match}"
        self._all = f"SELECT {', '.join(keys + values)} FROM {table} WHERE {where} ORDER BY {', '.join(keys)}"
        self._count = f"SELECT count(*) FROM {table} WHERE {where}"

    def _args(self, key: Any) -> tuple[Any, ...]:
        return tuple(key) if len(self.keys_) > 1 else (key,)

    def __getitem__(self, key: Any) -> Any:
        if len(self.keys_) > 1 and not (isinstance(key, tuple) and len(key) == len(self.keys_)):
            raise KeyError(key)
        row = self.db.execute(self._get, self._args(key)).fetchone()
        if row is None:
            raise KeyError(key)
        return _one(row)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        n = len(self.keys_)
        return (_one(row[:n]) for row in self.db.execute(self._all))

    def __len__(self) -> int:
        return int(self.db.execute(self._count).fetchone()[0])

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        n = len(self.keys_)
        return [(_one(row[:n]), _one(row[n:])) for row in self.db.execute(self._all)]

    def values(self) -> list[Any]:  # type: ignore[override]
        n = len(self.keys_)
        return [_one(row[n:]) for row in self.db.execute(self._all)]


class Offsets(Mapping[Any, list[int]]):
    """Journal offsets grouped by key columns, in journal order: `get(key, [])`."""

    def __init__(self, db: sqlite3.Connection, table: str, keys: tuple[str, ...], where: str = "1") -> None:
        self.db, self.keys_ = db, keys
        match = " AND ".join(f"{k} = ?" for k in keys)
        self._get = f"SELECT offset FROM {table} WHERE {where} AND {match} ORDER BY offset"
        self._keys = f"SELECT DISTINCT {', '.join(keys)} FROM {table} WHERE {where} ORDER BY {', '.join(keys)}"

    def __getitem__(self, key: Any) -> list[int]:
        args = tuple(key) if len(self.keys_) > 1 else (key,)
        found = [row[0] for row in self.db.execute(self._get, args)]
        if not found:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[Any]:
        return (_one(row) for row in self.db.execute(self._keys).fetchall())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class ByClient(Mapping[str, Any]):
    """A table's rows grouped by client: `query` selects one client's rows (its one parameter),
    `build` makes of them what the client maps to (a dict or a list)."""

    def __init__(self, db: sqlite3.Connection, table: str, query: str,
                 build: Callable[[list[Any]], Any] = list) -> None:
        self.db, self._query, self._build = db, query, build
        self._clients = f"SELECT DISTINCT client FROM {table} ORDER BY client"

    def __getitem__(self, client: str) -> Any:
        rows = self.db.execute(self._query, (client,)).fetchall()
        if not rows:
            raise KeyError(client)
        return self._build(rows)

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute(self._clients).fetchall())

    def __len__(self) -> int:
        return sum(1 for _ in self)


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Pause the cyclic GC while many acyclic containers are built (3x faster loads)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, waiting for writers.

    A new state file is created 0640 like every file of the workspace (SQLite gives its -wal
    and -shm files the same mode).
    """
    if path != ":memory:":
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE))
            os.chmod(path, FILE_MODE)  # whatever the umask
    db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # derived: a state lost in a power cut is caught up
    return db


def read_stamp(db: sqlite3.Connection) -> tuple[Stamp, str]:
    """The journal position the state reflects and the digest of the bytes before it."""
    try:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError as exc:
        raise StateError(f"not a state file ({exc})") from exc
    if meta.get("schema") != SCHEMA_VERSION:
        raise StateError(f"schema {meta.get('schema')!r}, this version reads {SCHEMA_VERSION}")
    try:
        return Stamp(int(meta["seq"]), int(meta["offset"]), str(meta["hash"])), str(meta["prefix"])
    except (KeyError, ValueError) as exc:
        raise StateError("its position record is damaged") from exc


_OBJECTS = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!'"


@functools.cache
def _schema_objects() -> frozenset[tuple[str, str, str, str]]:
    """The tables and indexes (with their SQL) of a state file of this version."""
    db = sqlite3.connect(":memory:")
    try:
        for statement in reset_tables(db):  # with the indexes a build from scratch creates last
            db.execute(statement)
        return frozenset(db.execute(_OBJECTS).fetchall())
    finally:
        db.close()


def check_tables(db: sqlite3.Connection) -> None:
    """Raise StateError unless the file holds every table and index of this version as it is
    written, and no trigger: one dropped or altered by hand (its `meta` intact) would fail a query
    in mid-command, a trigger would change what is written. Another table is left alone."""
    found = frozenset(db.execute(_OBJECTS).fetchall())
    expected = _schema_objects()
    wrong = sorted({row[1] for row in expected - found} | {row[1] for row in found if row[0] == "trigger"})
    if wrong:
        raise StateError(f"its tables are not this version's ({', '.join(wrong[:3])}"
                         f"{', ...' if len(wrong) > 3 else ''} missing or altered)")


# Indexes no entry's applying reads: a state built from scratch creates them once its rows
# are in (one sort each, not one B-tree insertion a row; `reset_tables`).
INDEXES_AFTER_BUILD = frozenset({
    "invoice_rows_pos", "invoice_rows_issued", "invoice_rows_open", "facts_client", "documents_number",
    "documents_live_year", "payments_client_year", "payments_year", "payments_day"})


def reset_tables(db: sqlite3.Connection) -> list[str]:
    """Empty the state in the open transaction: every table dropped and created again. Returns
    the statements of `INDEXES_AFTER_BUILD`, left for the caller to run once the rows are in."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for name in names:
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
    later = []
    for statement in filter(str.strip, SCHEMA.split(";")):
        words = statement.split()
        if words[:2] == ["CREATE", "INDEX"] and words[2] in INDEXES_AFTER_BUILD:
            later.append(statement)
        else:
            db.execute(statement)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("schema", SCHEMA_VERSION), ("seq", "0"), ("offset", "0"), ("hash", GENESIS_STAMP.hash),
        ("prefix", xxhash.xxh3_128().hexdigest())])
    return later
