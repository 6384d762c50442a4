"""The ledger state: one SQLite file derived from the journal (PRODUCT.md §11).

`data/state.sqlite` holds, as tables with the indexes their questions need, everything the
use cases ask of the journal: series and next numbers, months invoiced, deliveries, batch
files and references, bank ids, client accounts, where each document and payment is in the
journal, usage, reminders, disputes, promises, payment links, Gmail threads and the daily
sums of the report. It is a pure function of the journal: every entry is applied in the same
SQLite transaction that records the journal position the state then reflects (`meta`: seq,
byte offset and hash of the last entry applied, and an xxh3 digest of the journal bytes
before it). SQLite gives the transactions, the crash safety and the readers beside a writer
(WAL mode); nothing here is hand-made storage.

The state is never trusted blindly (`open_state` in `store/journal.py` checks the stamp
against the journal) and keeps byte offsets, not entries: a use case that needs a whole
entry reads that line back from the journal (`entry_at`), which the stamp proves unchanged.
No pickle is ever loaded: an old `data/state/` folder of pickled sections is removed.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import xxhash

from facturier.core.accounts import Account, to_minor
from facturier.core.errors import IntegrityError
from facturier.core.money import minor_exponent
from facturier.core.numbering import SeriesState
from facturier.store.events import (
    BatchAccepted,
    BatchCompleted,
    ChargeAdded,
    DeliveryEvent,
    DisputeEvent,
    DocumentIssued,
    Event,
    PaymentLinkEvent,
    PaymentRecorded,
    PromiseEvent,
    ReminderEvent,
    T,
    UsageRecorded,
    parse_event,
)

SCHEMA_VERSION = "1"
READ_BLOCK = 1 << 20  # bytes read at a time when reading entries back
DELIVERY_STATES = {T.INVOICE_SENDING: "sending", T.INVOICE_SENT: "sent", T.INVOICE_SEND_FAILED: "failed",
                   T.BATCH_SENDING: "sending", T.BATCH_DELIVERED: "sent", T.BATCH_SEND_FAILED: "failed"}

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE series(series TEXT PRIMARY KEY, seq INTEGER NOT NULL, day INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE months(client TEXT, period TEXT, PRIMARY KEY(client, period)) WITHOUT ROWID;
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
CREATE INDEX payments_client ON payments(client);
CREATE INDEX payments_year ON payments(year);
CREATE INDEX payments_day ON payments(day);
CREATE TABLE mentions(number TEXT, offset INTEGER, PRIMARY KEY(number, offset)) WITHOUT ROWID;
CREATE TABLE usage_agg(client TEXT, metric TEXT, month TEXT, sum INTEGER, count INTEGER, max INTEGER,
                       latest_day TEXT, latest INTEGER, PRIMARY KEY(client, metric, month)) WITHOUT ROWID;
CREATE TABLE usage_keys(client TEXT, metric TEXT, month TEXT, key TEXT,
                        PRIMARY KEY(client, metric, month, key)) WITHOUT ROWID;
CREATE TABLE usage_billed(client TEXT, metric TEXT, month TEXT, sum INTEGER, count INTEGER, max INTEGER,
                          latest INTEGER, distinct_keys INTEGER, PRIMARY KEY(client, metric, month)) WITHOUT ROWID;
CREATE TABLE usage_through(client TEXT PRIMARY KEY, month TEXT NOT NULL, number TEXT NOT NULL) WITHOUT ROWID;
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
CREATE TABLE batch_counts(seller TEXT, year INTEGER, month INTEGER, count INTEGER,
                          PRIMARY KEY(seller, year, month)) WITHOUT ROWID;
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


# -- the sections: what each group of tables answers, and how an event changes it --------------


@dataclass(slots=True)
class BatchFiles:
    """What the journal says about one batch client's files and references."""

    accepted: dict[str, int] = field(default_factory=dict)  # sha256 -> offset of batch.accepted
    completed: set[str] = field(default_factory=set)
    invoiced: dict[str, str] = field(default_factory=dict)  # reference -> number
    issued_by_batch: dict[str, set[str]] = field(default_factory=dict)  # sha256 -> references


class Batches:
    """Each batch client's files and references, read per client."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def get(self, client: str, default: BatchFiles | None = None) -> BatchFiles | None:
        """What the journal says of this batch client, or `default` when nothing."""
        db, files = self.db, BatchFiles()
        files.accepted = dict(db.execute("SELECT sha256, offset FROM batch_accepted WHERE client = ? "
                                         "ORDER BY offset", (client,)).fetchall())
        files.completed = {r[0] for r in db.execute("SELECT sha256 FROM batch_completed WHERE client = ?", (client,))}
        files.invoiced = dict(db.execute("SELECT reference, number FROM batch_refs WHERE client = ?", (client,)))
        for batch, reference in db.execute("SELECT batch, reference FROM batch_issued WHERE client = ?", (client,)):
            files.issued_by_batch.setdefault(batch, set()).add(reference)
        if not (files.accepted or files.completed or files.invoiced or files.issued_by_batch):
            return default
        return files

    def accepted_offsets(self) -> list[int]:
        """Offsets of every `batch.accepted` entry."""
        return [r[0] for r in self.db.execute("SELECT offset FROM batch_accepted ORDER BY offset")]


class Core:
    """Numbers, months, deliveries, unsent invoices, batch files and bank ids."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.months = TableMap(db, "months", ("client", "period"), ("1",))
        self.deliveries = TableMap(db, "deliveries", ("key",), ("state", "offset"))
        # Direct invoices no send was started for, or whose send failed, and those in flight:
        # number -> (offset, issue date ordinal).
        self.unsent = TableMap(db, "unsent", ("number",), ("offset", "day"), "in_flight = 0")
        self.in_flight = TableMap(db, "unsent", ("number",), ("offset", "day"), "in_flight = 1")
        self.batches = Batches(db)
        self.bank_ids = TableMap(db, "bank", ("key",), ("1",), "kind = 'id'")
        self.bank_keys = TableMap(db, "bank", ("key",), ("1",), "kind = 'key'")  # every payment's bank key
        self.bank_keys_without_id = TableMap(db, "bank", ("key",), ("1",), "kind = 'key_without_id'")

    def series_states(self) -> dict[str, SeriesState]:
        """Every series and where it stands, for numbering."""
        return {k: SeriesState(seq, date.fromordinal(day))
                for k, seq, day in self.db.execute("SELECT series, seq, day FROM series")}

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        db = self.db
        if isinstance(ev, DocumentIssued):
            db.execute("INSERT OR REPLACE INTO series VALUES (?, ?, ?)", (ev.series, ev.series_seq, ev.date.toordinal()))
            if ev.type == T.INVOICE_ISSUED and ev.seller == "issuer":
                if ev.period:
                    db.execute("INSERT OR IGNORE INTO months VALUES (?, ?)", (ev.client, ev.period))
                if ev.number not in self.deliveries:
                    db.execute("INSERT OR REPLACE INTO unsent VALUES (?, ?, ?, 0)",
                               (ev.number, offset, ev.date.toordinal()))
            if ev.reference and ev.type == T.INVOICE_ISSUED and ev.seller != "issuer":
                db.execute("INSERT OR REPLACE INTO batch_refs VALUES (?, ?, ?)", (ev.client, ev.reference, ev.number))
                db.execute("INSERT OR IGNORE INTO batch_issued VALUES (?, ?, ?)",
                           (ev.client, ev.batch or "", ev.reference))
        elif isinstance(ev, DeliveryEvent):
            self._delivery(ev, offset)
        elif isinstance(ev, PaymentRecorded):
            if ev.bank_id:
                db.execute("INSERT OR IGNORE INTO bank VALUES ('id', ?)", (ev.bank_id,))
            if ev.bank_key:
                db.execute("INSERT OR IGNORE INTO bank VALUES ('key', ?)", (ev.bank_key,))
                if not ev.bank_id:
                    db.execute("INSERT OR IGNORE INTO bank VALUES ('key_without_id', ?)", (ev.bank_key,))
        elif isinstance(ev, BatchAccepted):
            db.execute("INSERT OR REPLACE INTO batch_accepted VALUES (?, ?, ?)", (ev.client, ev.sha256, offset))
        elif isinstance(ev, BatchCompleted):
            db.execute("INSERT OR IGNORE INTO batch_completed VALUES (?, ?)", (ev.client, ev.sha256))

    def _delivery(self, ev: DeliveryEvent, offset: int) -> None:
        key, status = ev.key, DELIVERY_STATES[ev.type]
        if self.deliveries.get(key, ("", 0))[0] == "sent":
            return  # sent is final
        db = self.db
        db.execute("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?)", (key, status, offset))
        if ev.number is None:
            return
        if status == "sending":
            db.execute("UPDATE unsent SET in_flight = 1 WHERE number = ?", (key,))
        elif status == "failed":
            db.execute("UPDATE unsent SET in_flight = 0 WHERE number = ?", (key,))
        else:
            db.execute("DELETE FROM unsent WHERE number = ?", (key,))


class Revenue(Mapping[str, dict[str, list[int]]]):
    """client -> currency -> [excl, vat, incl] in minor units (credit notes negative)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getitem__(self, client: str) -> dict[str, list[int]]:
        found = {cur: [excl, vat, incl] for cur, excl, vat, incl in self.db.execute(
            "SELECT currency, excl, vat, incl FROM revenue WHERE client = ? ORDER BY currency", (client,))}
        if not found:
            raise KeyError(client)
        return found

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute("SELECT DISTINCT client FROM revenue ORDER BY client").fetchall())

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(DISTINCT client) FROM revenue").fetchone()[0])


class Accounts:
    """Each direct client's running balance per currency (live documents of the issuer only),
    and its revenue totals (excl. VAT, VAT, incl. VAT, credit notes negative) for its view.

    An account is read from its tables when first asked for, kept for the command (its
    invoice rows are what `core.accounts.Account` computes on), and the rows an event
    touched are written back with the position they lead to (`flush`).
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._cache: dict[tuple[str, str], Account] = {}
        self._dirty: dict[tuple[str, str], set[str]] = {}
        self._next_pos: dict[tuple[str, str], int] = {}
        self._new: dict[tuple[str, str], dict[str, int]] = {}
        self.revenue = Revenue(db)
        self.last_currency = TableMap(db, "last_currency", ("client",), ("currency",))

    def forget(self) -> None:
        """Drop what was read (the tables moved on without this process)."""
        self._cache.clear()
        self._dirty.clear()
        self._next_pos.clear()
        self._new.clear()

    def get(self, client: str, currency: str) -> Account | None:
        """The account of a client in a currency, or None."""
        key = (client, currency)
        found = self._cache.get(key)
        if found is None:
            found = self._load(client, currency)
            if found is not None:
                self._cache[key] = found
        return found

    def _load(self, client: str, currency: str) -> Account | None:
        row = self.db.execute("SELECT exponent, invoiced, credited, paid, unallocated, orphan, excess, last_day, "
                              "credit_dates, open_by_due, invoiced_on FROM accounts WHERE client = ? AND currency = ?",
                              (client, currency)).fetchone()
        if row is None:
            return None
        with quiet_gc():
            invoices = {number: [issued, due, total, credit_sum, alloc_sum]
                        for number, issued, due, total, credit_sum, alloc_sum in self.db.execute(
                            "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows "
                            "WHERE client = ? AND currency = ? ORDER BY pos", (client, currency))}
        exponent, invoiced, credited, paid, unallocated, orphan, excess, last_day, credits, opened, on = row
        self._next_pos[(client, currency)] = len(invoices)
        return Account(client, currency, exponent, invoices, invoiced, credited, paid, unallocated, orphan,
                       [(day, amount) for day, amount in json.loads(credits)],
                       last_day, {int(k): v for k, v in json.loads(opened).items()}, excess,
                       {int(k): v for k, v in json.loads(on).items()})

    def account(self, client: str, currency: str) -> Account:
        """The account of a client in a currency, created empty when new."""
        found = self.get(client, currency)
        if found is None:
            found = Account(client, currency, -minor_exponent(currency).as_tuple().exponent)  # type: ignore[operator]
            self._cache[(client, currency)] = found
            self._next_pos[(client, currency)] = 0
            self._dirty.setdefault((client, currency), set())
        return found

    def pairs(self) -> list[tuple[str, str]]:
        """Every (client, currency) with an account, sorted."""
        return [(c, cur) for c, cur in self.db.execute("SELECT client, currency FROM accounts ORDER BY client, currency")]

    def of_client(self, client: str) -> list[Account]:
        """The client's accounts, by currency."""
        currencies = {cur for (c, cur) in self._cache if c == client}
        currencies.update(r[0] for r in self.db.execute("SELECT currency FROM accounts WHERE client = ?", (client,)))
        return [a for cur in sorted(currencies) if (a := self.get(client, cur)) is not None]

    def at(self, client: str, as_of: date) -> list[Account]:
        """The client's accounts as they stood at `as_of`, by currency: the running accounts when
        no fact of theirs is dated later, else replayed from the client's facts dated up to then
        (journal order, as the running account took them). The one balance engine: every
        balance, at any date, is `Account.balance` over these."""
        current = self.of_client(client)
        if all(a.covers(as_of) for a in current):
            return [a for a in current if a.last_day]
        replayed: dict[str, Account] = {}
        for kind, currency, day, number, due, amount, unallocated, parts in self.db.execute(
                "SELECT kind, currency, day, number, due, amount, unallocated, parts FROM facts "
                "WHERE client = ? AND day <= ? ORDER BY offset", (client, as_of.toordinal())):
            acc = replayed.get(currency)
            if acc is None:
                acc = replayed[currency] = Account(client, currency, -minor_exponent(currency).as_tuple().exponent)  # type: ignore[operator]
            issued = date.fromordinal(day)
            if kind == "invoice":
                acc.add_invoice(number, issued, date.fromordinal(due), Decimal(amount))
            elif kind == "credit":
                acc.add_credit(issued, number, Decimal(amount))
            else:
                acc.add_payment(issued, Decimal(amount), [(n, Decimal(a)) for n, a in json.loads(parts)],
                                Decimal(unallocated))
        return [replayed[c] for c in sorted(replayed)]

    def _touch(self, account: Account, number: str, new: bool = False) -> None:
        """Mark a row to write back; a new row takes the next position (account order)."""
        key = (account.client, account.currency)
        self._dirty.setdefault(key, set()).add(number)
        if new:
            self._new.setdefault(key, {})[number] = self._next_pos[key]
            self._next_pos[key] += 1

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, PaymentRecorded):
            account = self.account(ev.client, ev.currency)
            account.add_payment(ev.date, ev.amount, [(a.number, a.amount) for a in ev.allocation], ev.unallocated)
            self.db.execute("INSERT INTO facts VALUES (?, ?, ?, 'payment', ?, NULL, NULL, ?, ?, ?)",
                            (offset, ev.client, ev.currency, ev.date.toordinal(), str(ev.amount), str(ev.unallocated),
                             json.dumps([[a.number, str(a.amount)] for a in ev.allocation])))
            for a in ev.allocation:
                self._touch(account, a.number)
            self._dirty.setdefault((ev.client, ev.currency), set())
        elif isinstance(ev, DocumentIssued) and ev.direct_live:
            account = self.account(ev.client, ev.currency)
            self.db.execute("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                            (offset, ev.client, ev.currency, "credit" if ev.is_credit_note else "invoice",
                             ev.date.toordinal(), (ev.refers_to or "") if ev.is_credit_note else ev.number,
                             ev.due_date.toordinal(), str(ev.total_incl_vat)))
            if ev.is_credit_note:
                account.add_credit(ev.date, ev.refers_to or "", ev.total_incl_vat)
                self._touch(account, ev.refers_to or "")
            else:
                new = ev.number not in account.invoices
                account.add_invoice(ev.number, ev.date, ev.due_date, ev.total_incl_vat)
                self._touch(account, ev.number, new)
            sign = -1 if ev.is_credit_note else 1
            excl, vat, incl = (sign * to_minor(v, account.exponent)
                               for v in (ev.total_excl_vat, ev.total_vat, ev.total_incl_vat))
            self.db.execute("INSERT INTO revenue VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                            "excl = excl + excluded.excl, vat = vat + excluded.vat, incl = incl + excluded.incl",
                            (ev.client, ev.currency, excl, vat, incl))
            self.db.execute("INSERT OR REPLACE INTO last_currency VALUES (?, ?)", (ev.client, ev.currency))

    def flush(self) -> None:
        """Write back the accounts and rows changed since the last flush."""
        db = self.db
        for key, numbers in self._dirty.items():
            a = self._cache[key]
            db.execute("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (a.client, a.currency, a.exponent, a.invoiced, a.credited, a.paid, a.unallocated, a.orphan,
                        a.excess, a.last_day, json.dumps(a.credit_dates), json.dumps(a.open_by_due, sort_keys=True),
                        json.dumps(a.invoiced_on, sort_keys=True)))
            new = self._new.get(key, {})
            db.executemany(
                "INSERT INTO invoice_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                "issued = excluded.issued, due = excluded.due, total = excluded.total, "
                "credit_sum = excluded.credit_sum, alloc_sum = excluded.alloc_sum",
                [(a.client, a.currency, n, new.get(n, 0), *a.invoices[n]) for n in numbers if n in a.invoices])
        self._dirty.clear()
        self._new.clear()


class Index:
    """Where each document and payment is in the journal (line offsets), by owner and year,
    client and day; and each direct client's name on its latest live document."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.by_owner_year = Offsets(db, "owners", ("owner", "year"))  # (client or seller, year)
        self.payments_of = Offsets(db, "payments", ("client",))
        self.payments_by_year = Offsets(db, "payments", ("year",))
        self.payments_on = Offsets(db, "payments", ("day",))  # date ordinal -> payments of that day
        self.client_names = TableMap(db, "client_names", ("client",), ("name",))

    @property
    def documents(self) -> list[int]:
        """Every document, journal order."""
        return [r[0] for r in self.db.execute("SELECT offset FROM documents ORDER BY offset")]

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        db = self.db
        if isinstance(ev, DocumentIssued):
            year = ev.date.year
            db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (offset, ev.number, ev.type, ev.client, ev.seller, year, int(ev.direct_live)))
            db.executemany("INSERT OR IGNORE INTO owners VALUES (?, ?, ?)",
                           [(owner, year, offset) for owner in {ev.client, ev.seller}])
            if ev.direct_live:
                db.execute("INSERT OR REPLACE INTO client_names VALUES (?, ?)", (ev.client, ev.client_name))
            if ev.refers_to:
                db.execute("INSERT OR IGNORE INTO mentions VALUES (?, ?)", (ev.refers_to, offset))
        elif isinstance(ev, PaymentRecorded):
            db.execute("INSERT INTO payments VALUES (?, ?, ?, ?)", (offset, ev.client, ev.date.year, ev.date.toordinal()))
            db.executemany("INSERT OR IGNORE INTO mentions VALUES (?, ?)",
                           [(n, offset) for n in dict.fromkeys(a.number for a in ev.allocation)])
        elif isinstance(ev, DeliveryEvent) and ev.number is not None:
            db.execute("INSERT OR IGNORE INTO mentions VALUES (?, ?)", (ev.number, offset))


class Names:
    """Each document number: where its documents are, and which entries name it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def mentions(self, number: str) -> list[int]:
        """Offsets of the entries naming a document other than its own (sends, payments, credits)."""
        return [r[0] for r in self.db.execute("SELECT offset FROM mentions WHERE number = ? ORDER BY offset", (number,))]

    def documents_named(self, number: str) -> list[int]:
        """Offsets of every document with this number (several sellers may share one)."""
        return [r[0] for r in self.db.execute("SELECT offset FROM documents WHERE number = ? ORDER BY offset",
                                              (number,))]

    def first(self, number: str) -> int | None:
        """Offset of the first document issued with this number, or None."""
        row = self.db.execute("SELECT min(offset) FROM documents WHERE number = ?", (number,)).fetchone()
        return None if row[0] is None else int(row[0])


def previous_month(period: str) -> str:
    """'YYYY-MM' of the month before `period`."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


# An aggregate as the use cases read it: [sum, count, max, latest date, latest, distinct keys]
# (quantities in integer units of 1/10,000, see core.usage).
SUM, COUNT, MAX, LATEST_DAY, LATEST, KEYS = range(6)


def figures(agg: list[Any]) -> tuple[int, int, int, int, int]:
    """(sum, count, max, latest, distinct keys) of an aggregate."""
    return (agg[SUM], agg[COUNT], agg[MAX], agg[LATEST], agg[KEYS])


class UsageAggregates(Mapping[str, dict[tuple[str, str], list[Any]]]):
    """client -> (metric, "YYYY-MM") -> aggregate, read per client."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getitem__(self, client: str) -> dict[tuple[str, str], list[Any]]:
        found = {(metric, month): [s, c, m, day, latest, keys] for metric, month, s, c, m, day, latest, keys in
                 self.db.execute(
                     "SELECT a.metric, a.month, a.sum, a.count, a.max, a.latest_day, a.latest, "
                     "(SELECT count(*) FROM usage_keys k WHERE k.client = a.client AND k.metric = a.metric "
                     "AND k.month = a.month) FROM usage_agg a WHERE a.client = ? ORDER BY a.metric, a.month",
                     (client,))}
        if not found:
            raise KeyError(client)
        return found

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute("SELECT DISTINCT client FROM usage_agg ORDER BY client").fetchall())

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(DISTINCT client) FROM usage_agg").fetchone()[0])


class UsageBilled(Mapping[str, dict[tuple[str, str], tuple[int, int, int, int, int]]]):
    """client -> (metric, month) -> (sum, count, max, latest, distinct) when last billed."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getitem__(self, client: str) -> dict[tuple[str, str], tuple[int, int, int, int, int]]:
        found = {(metric, month): (s, c, m, latest, keys) for metric, month, s, c, m, latest, keys in self.db.execute(
            "SELECT metric, month, sum, count, max, latest, distinct_keys FROM usage_billed WHERE client = ?",
            (client,))}
        if not found:
            raise KeyError(client)
        return found

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute("SELECT DISTINCT client FROM usage_billed ORDER BY client").fetchall())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Charges(Mapping[str, list[tuple[int, str, str, str, str, str | None]]]):
    """client -> charges not invoiced yet: (seq, amount, currency, description, date, vat_rate)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __getitem__(self, client: str) -> list[tuple[int, str, str, str, str, str | None]]:
        found = self.db.execute("SELECT seq, amount, currency, description, day, vat_rate FROM charges "
                                "WHERE client = ? ORDER BY rowid", (client,)).fetchall()
        if not found:
            raise KeyError(client)
        return found

    def __iter__(self) -> Iterator[str]:
        return (r[0] for r in self.db.execute("SELECT DISTINCT client FROM charges ORDER BY client").fetchall())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Usage:
    """Usage aggregated per client, metric and month; months billed; pending one-off charges.

    An issuer's monthly invoice for period P bills the usage of the month before P: when it
    is journalled, every month up to that one is marked billed, with the figures it had
    (`billed`). Usage recorded later for such a month goes on the next invoice as a
    correction (current figures minus billed ones). The invoice also bills every charge
    journalled before it. Duplicate ids never reach the journal (`UsageIds`, checked under
    the lock before writing), so every record here counts.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.aggregates = UsageAggregates(db)
        self.billed = UsageBilled(db)
        self.charges = Charges(db)

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, UsageRecorded):
            self._records(ev.rows)
        elif isinstance(ev, ChargeAdded):
            self.db.execute("INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (ev.client, ev.seq, str(ev.amount), ev.currency, ev.description, ev.date.isoformat(),
                             None if ev.vat_rate is None else str(ev.vat_rate)))
        elif (isinstance(ev, DocumentIssued) and ev.type == T.INVOICE_ISSUED and ev.seller == "issuer"
              and ev.period):
            self._billed(ev.client, previous_month(ev.period), ev.number)
            self.db.execute("DELETE FROM charges WHERE client = ?", (ev.client,))

    def _records(self, rows: tuple[list[Any], ...]) -> None:
        from facturier.core.usage import to_units  # pure and light; kept local to the hot loop

        aggregates, keys = [], []
        for row in rows:
            client, metric, day = row[1], row[2], row[4]
            units = to_units(row[3])
            aggregates.append((client, metric, day[:7], units, max(units, 0), day, units))
            if len(row) > 5 and row[5] is not None:
                keys.append((client, metric, day[:7], row[5]))
        self.db.executemany(
            "INSERT INTO usage_agg VALUES (?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO UPDATE SET "
            "sum = sum + excluded.sum, count = count + 1, max = max(max, excluded.max), "
            "latest = CASE WHEN excluded.latest_day >= latest_day THEN excluded.latest ELSE latest END, "
            "latest_day = max(latest_day, excluded.latest_day)", aggregates)
        self.db.executemany("INSERT OR IGNORE INTO usage_keys VALUES (?, ?, ?, ?)", keys)

    def _billed(self, client: str, through: str, number: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO usage_billed SELECT a.client, a.metric, a.month, a.sum, a.count, a.max, "
            "a.latest, (SELECT count(*) FROM usage_keys k WHERE k.client = a.client AND k.metric = a.metric "
            "AND k.month = a.month) FROM usage_agg a WHERE a.client = ? AND a.month <= ?", (client, through))
        self.db.execute("INSERT INTO usage_through VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                        "month = excluded.month, number = excluded.number WHERE excluded.month >= month",
                        (client, through, number))

    def invoiced_by(self, client: str, month: str) -> str | None:
        """The number of the invoice that already billed `month`'s usage, or None."""
        row = self.db.execute("SELECT month, number FROM usage_through WHERE client = ?", (client,)).fetchone()
        return row[1] if row is not None and month <= row[0] else None


class UsageIds:
    """The id of every usage record ever journalled: a duplicate is never counted again."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.ids = TableMap(db, "usage_ids", ("id",), ("1",))

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, UsageRecorded):
            self.db.executemany("INSERT OR IGNORE INTO usage_ids VALUES (?)", [(row[0],) for row in ev.rows])


class Collections:
    """Reminders, disputes and promises of each invoice, and the invoice emails' Message-IDs
    that reminders answer.

    `drafted` is the last stage drafted and its run day (ordinal); `in_flight[number]` a
    `reminder.drafting` without its outcome: (offset, stage, day ordinal, message_id).
    A `reminder.draft_failed` clears the flight and leaves `drafted` as it was.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.drafted = TableMap(db, "reminders", ("number",), ("stage", "day"))
        self.in_flight = TableMap(db, "reminders_in_flight", ("number",), ("offset", "stage", "day", "message_id"))
        self.mentions = Offsets(db, "collection_mentions", ("number",))
        self.disputed = TableMap(db, "disputes", ("number",), ("offset",))
        self.promised = TableMap(db, "promises", ("number",), ("day",))
        self.sent_ids = TableMap(db, "sent_ids", ("number",), ("message_id",))

    @property
    def history(self) -> list[int]:
        """Offsets of every `reminder.drafted` entry, journal order."""
        return [r[0] for r in self.db.execute("SELECT offset FROM reminders_drafted ORDER BY offset")]

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        db = self.db
        if ev.type == T.REMINDER_DRAFTED:
            db.execute("INSERT OR IGNORE INTO reminders_drafted VALUES (?)", (offset,))
        if isinstance(ev, ReminderEvent):
            self._reminder(ev, offset)
        elif isinstance(ev, DisputeEvent):
            db.execute("INSERT OR IGNORE INTO collection_mentions VALUES (?, ?)", (ev.number, offset))
            if ev.type == T.INVOICE_DISPUTED:
                db.execute("INSERT OR REPLACE INTO disputes VALUES (?, ?)", (ev.number, offset))
            else:
                db.execute("DELETE FROM disputes WHERE number = ?", (ev.number,))
        elif isinstance(ev, PromiseEvent):
            db.execute("INSERT OR IGNORE INTO collection_mentions VALUES (?, ?)", (ev.number, offset))
            db.execute("INSERT OR REPLACE INTO promises VALUES (?, ?)", (ev.number, ev.until.toordinal()))
        elif isinstance(ev, DeliveryEvent) and ev.type == T.INVOICE_SENT and ev.number is not None:
            db.execute("INSERT OR REPLACE INTO sent_ids VALUES (?, ?)", (ev.number, ev.message_id))

    def _reminder(self, ev: ReminderEvent, offset: int) -> None:
        db = self.db
        db.execute("INSERT OR IGNORE INTO collection_mentions VALUES (?, ?)", (ev.number, offset))
        if ev.type == T.REMINDER_DRAFTING:
            db.execute("INSERT OR REPLACE INTO reminders_in_flight VALUES (?, ?, ?, ?, ?)",
                       (ev.number, offset, ev.stage, ev.date.toordinal(), ev.message_id))
            return
        db.execute("DELETE FROM reminders_in_flight WHERE number = ?", (ev.number,))
        if ev.type == T.REMINDER_DRAFTED:
            db.execute("INSERT INTO reminders VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET "
                       "stage = max(stage, excluded.stage), day = excluded.day",
                       (ev.number, ev.stage, ev.date.toordinal()))

    def last(self, number: str) -> tuple[int | None, date | None]:
        """The last stage drafted (or in flight) for an invoice and the day it was."""
        stage, day = self.drafted.get(number, (0, 0))
        flight = self.in_flight.get(number)
        if flight is not None and flight[1] >= stage:
            stage, day = flight[1], max(day, flight[2])
        return (stage or None), (date.fromordinal(day) if day else None)


class Links:
    """The payment links of reminders: per invoice, each link made for an amount due, and
    whether it is still active (a link is reused for the same amount, deactivated once paid)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @property
    def links(self) -> list[str]:
        """Every invoice number with a link."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT number FROM links ORDER BY number")]

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if not isinstance(ev, PaymentLinkEvent):
            return
        if ev.type == T.PAYMENT_LINK_CREATED:
            self.db.execute("INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, 1)",
                            (ev.number, ev.amount, ev.currency, ev.provider, ev.link_id, ev.url))
        else:
            self.db.execute("UPDATE links SET active = 0 WHERE number = ? AND link_id = ? AND provider = ?",
                            (ev.number, ev.link_id, ev.provider))

    def active(self, number: str) -> list[tuple[str, str, str, str, str]]:
        """The invoice's active links: (amount, currency, provider, link_id, url)."""
        return self.db.execute("SELECT amount, currency, provider, link_id, url FROM links "
                               "WHERE number = ? AND active = 1 ORDER BY rowid", (number,)).fetchall()


class GmailThreads:
    """The Gmail conversation of every email sent through Gmail, by its Message-ID: what a
    Gmail draft answering it needs (thread id, and the subject Gmail threads by)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.threads = TableMap(db, "gmail_threads", ("message_id",), ("thread_id", "subject"))

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DeliveryEvent) and ev.gmail_thread_id and ev.type in (T.INVOICE_SENT, T.BATCH_DELIVERED):
            self.db.execute("INSERT OR REPLACE INTO gmail_threads VALUES (?, ?, ?)",
                            (ev.message_id, ev.gmail_thread_id, ev.gmail_subject))


class Reports:
    """What `report` and `export fec` read: sums per day in minor units, of the issuer's live
    documents (credit notes negative) and of payments.

    `sales` (incl. VAT per currency), `sales_excl` and `sales_vat` (per currency and year),
    `received` (per currency), `flows` (per client and currency: documents minus payments,
    what moves its balance); the offsets of the issuer's live documents and of payments per
    year, of `reminder.drafted` entries, and the live invoices of each batch seller per month.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.names = TableMap(db, "client_names", ("client",), ("name",))

    def _days(self, kind: str) -> dict[str, dict[int, int]]:
        out: dict[str, dict[int, int]] = {}
        for currency, day, amount in self.db.execute(
                "SELECT currency, day, amount FROM day_sums WHERE kind = ? ORDER BY currency, day", (kind,)):
            out.setdefault(currency, {})[day] = amount
        return out

    @property
    def sales(self) -> dict[str, dict[int, int]]:
        """currency -> day -> live documents incl. VAT."""
        return self._days("sales")

    @property
    def received(self) -> dict[str, dict[int, int]]:
        """currency -> day -> payments."""
        return self._days("received")

    @property
    def flows(self) -> dict[tuple[str, str], dict[int, int]]:
        """(client, currency) -> day -> documents minus payments."""
        out: dict[tuple[str, str], dict[int, int]] = {}
        for client, currency, day, amount in self.db.execute(
                "SELECT client, currency, day, amount FROM day_sums WHERE kind = 'flows' ORDER BY client, currency, day"):
            out.setdefault((client, currency), {})[day] = amount
        return out

    def _years(self, kind: str) -> dict[tuple[str, int], int]:
        return {(c, y): a for c, y, a in self.db.execute(
            "SELECT currency, year, amount FROM year_sums WHERE kind = ?", (kind,))}

    @property
    def sales_excl(self) -> dict[tuple[str, int], int]:
        """(currency, year) -> live documents excl. VAT."""
        return self._years("excl")

    @property
    def sales_vat(self) -> dict[tuple[str, int], int]:
        """(currency, year) -> VAT of live documents."""
        return self._years("vat")

    @property
    def documents(self) -> Offsets:
        """year -> offsets of the issuer's live documents."""
        return Offsets(self.db, "documents", ("year",), "live_direct = 1")

    @property
    def payments(self) -> Offsets:
        """year -> offsets of payments."""
        return Offsets(self.db, "payments", ("year",))

    @property
    def reminders(self) -> list[int]:
        """Offsets of every `reminder.drafted` entry."""
        return [r[0] for r in self.db.execute("SELECT offset FROM reminders_drafted ORDER BY offset")]

    @property
    def batch(self) -> dict[tuple[str, int, int], int]:
        """(seller, year, month) -> live invoices of a batch seller."""
        return {(s, y, m): c for s, y, m, c in self.db.execute("SELECT seller, year, month, count FROM batch_counts")}

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            if ev.direct_live:
                self._document(ev)
            elif ev.seller != "issuer" and ev.mode == "live" and ev.type == T.INVOICE_ISSUED:
                self.db.execute("INSERT INTO batch_counts VALUES (?, ?, ?, 1) ON CONFLICT DO UPDATE SET "
                                "count = count + 1", (ev.seller, ev.date.year, ev.date.month))
        elif isinstance(ev, PaymentRecorded):
            amount, day = minor(ev.amount, ev.currency), ev.date.toordinal()
            self._add_day("received", ev.currency, "", day, amount)
            self._add_day("flows", ev.currency, ev.client, day, -amount)

    def _document(self, ev: DocumentIssued) -> None:
        sign = -1 if ev.is_credit_note else 1
        day, year = ev.date.toordinal(), ev.date.year
        incl = sign * minor(ev.total_incl_vat, ev.currency)
        self._add_day("sales", ev.currency, "", day, incl)
        self._add_day("flows", ev.currency, ev.client, day, incl)
        for kind, amount in (("excl", ev.total_excl_vat), ("vat", ev.total_vat)):
            self.db.execute("INSERT INTO year_sums VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                            "amount = amount + excluded.amount", (kind, ev.currency, year,
                                                                  sign * minor(amount, ev.currency)))

    def _add_day(self, kind: str, currency: str, client: str, day: int, amount: int) -> None:
        self.db.execute("INSERT INTO day_sums VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                        "amount = amount + excluded.amount", (kind, currency, client, day, amount))


def minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor units (the one conversion: `core.accounts.to_minor`)."""
    return to_minor(amount, -minor_exponent(currency).as_tuple().exponent)  # type: ignore[operator]


# -- the state file --------------------------------------------------------------------------


def prefix_hasher(path: Path, offset: int, start: Any = None) -> Any:
    """xxh3-128 over the journal's first `offset` bytes, continuing `start` = (its offset, a
    hasher) when given. A change detector for the prefix already proven (SHA-256 over the
    chain, `facturier verify`, is the proof), 0.05 s for 400 MB here."""
    begin, digest = (0, xxhash.xxh3_128()) if start is None else (start[0], start[1].copy())
    with open(path, "rb") as fh:
        fh.seek(begin)
        remaining = offset - begin
        while remaining > 0:
            chunk = fh.read(min(remaining, READ_BLOCK))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest


def read_line(fh: io.BufferedReader, offset: int) -> bytes:
    """The journal line starting at `offset` (without its newline)."""
    fh.seek(offset)
    return fh.readline().rstrip(b"\n")


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
    """A connection in autocommit mode (transactions are explicit), WAL, waiting for writers."""
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


class LedgerState:
    """The state of one journal: its sections over one SQLite connection, the journal
    position it reflects, and the journal's lines read back by offset."""

    def __init__(self, journal: Path, db: sqlite3.Connection, position: Stamp,
                 prefix: tuple[int, Any] | None = None, durable: bool = True) -> None:
        self.journal = journal
        self.db = db
        self.position = position
        self._prefix = prefix  # (offset, xxh3 of the journal before it)
        self._durable = durable  # False for a dry run: nothing is ever committed
        self._reader: io.BufferedReader | None = None
        self._pending: list[tuple[Event, int]] = []
        self.core = Core(db)
        self.accounts = Accounts(db)
        self.index = Index(db)
        self.names = Names(db)
        self.usage = Usage(db)
        self.usage_ids = UsageIds(db)
        self.collections = Collections(db)
        self.links = Links(db)
        self.gmail = GmailThreads(db)
        self.reports = Reports(db)
        self._appliers: list[Callable[[Event, int], None]] = [
            self.core.apply, self.accounts.apply, self.index.apply, self.usage.apply, self.usage_ids.apply,
            self.collections.apply, self.links.apply, self.gmail.apply, self.reports.apply]

    # -- applying entries -----------------------------------------------------------------------

    def apply(self, entry: dict[str, Any], offset: int, length: int) -> Event:
        """An entry at `offset` (checked or just written): apply it inside the open transaction."""
        ev = parse_event(entry)
        for apply in self._appliers:
            apply(ev, offset)
        self.position = Stamp(int(entry["seq"]), offset + length, str(entry["hash"]))
        return ev

    def begin(self) -> Stamp:
        """Start a write transaction; the position the tables are at (another process may have
        caught them up since this one last looked: what it read is then dropped)."""
        self.db.execute("BEGIN IMMEDIATE")
        stamp, _ = read_stamp(self.db)
        if stamp != self.position:
            self.accounts.forget()
            self.position = stamp
        return stamp

    def commit(self) -> None:
        """Write back the accounts and the position reached, then commit (a dry run never commits)."""
        self.accounts.flush()
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
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
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
        sql, args = "SELECT offset FROM owners WHERE owner = ?", [owner]
        if year is not None:
            sql += " AND year = ?"
            args.append(str(year))  # compared as a number (the column's affinity)
        return self.documents([r[0] for r in self.db.execute(sql + " ORDER BY offset", args)])

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

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted: what `verify` compares with a state rebuilt from the journal."""
        return {t: sorted(self.db.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in TABLES if t != "meta"}

    def close(self) -> None:
        """Close the journal reader and the database (an uncommitted dry run is dropped)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        try:
            self.rollback()
        finally:
            self.db.close()


# -- opening the state file --------------------------------------------------------------------


def state_path(journal: Path) -> Path:
    """data/state.sqlite, beside the journal."""
    return journal.parent / "state.sqlite"


def _regular_or_absent(path: Path) -> bool:
    """Whether `path` is a regular file (False when absent); anything else is refused at once:
    a FIFO would block every command, a link could point anywhere."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(mode):
        raise IntegrityError(f"{path} is not a regular file; remove it (the state is rebuilt from the journal)")
    return True


def _drop_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _reset(db: sqlite3.Connection) -> None:
    """Empty the state in the open transaction: every table dropped and created again."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for name in names:
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [
        ("schema", SCHEMA_VERSION), ("seq", "0"), ("offset", "0"), ("hash", GENESIS_STAMP.hash),
        ("prefix", xxhash.xxh3_128().hexdigest())])


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
    """A private in-memory copy of the state file for a dry run, which must write nothing (not
    even SQLite's -wal and -shm files); None while another process has it open in WAL."""
    if Path(f"{path}-wal").exists():
        return None
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        db.deserialize(path.read_bytes())
    except (sqlite3.DatabaseError, OSError):
        db.close()
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    return db


def open_db(journal: Path, end: int, notice: Callable[[str], None], dry_run: bool = False,
            fresh: bool = False) -> LedgerState:
    """The state of `journal` (whose complete lines end at byte `end`), in a write transaction
    at the position its tables reflect, checked against the journal: a state that is missing,
    torn, garbage, of another schema, ahead of the journal or from another journal is emptied
    (with a notice) to be rebuilt; `fresh` empties it (`rebuild`). A dry run gets a private
    copy and writes nothing."""
    path = state_path(journal)
    old = journal.parent / "state"
    if old.is_dir() and not dry_run:
        shutil.rmtree(old, ignore_errors=True)
        notice("the ledger state moved to data/state.sqlite; the old data/state/ folder was removed "
               "(it is rebuilt from the journal, nothing of it was read)")
    exists = _regular_or_absent(path)
    durable = True
    if dry_run:
        db = (_snapshot(path) if exists else None)
        if db is None and exists:
            db, durable = connect(path), False
        elif db is None:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    else:
        try:
            db = connect(path)
        except sqlite3.DatabaseError as exc:
            notice(f"state file data/state.sqlite not used ({exc}); rebuilding it from the journal")
            _drop_files(path)
            db, exists = connect(path), False
    state = LedgerState(journal, db, GENESIS_STAMP, durable=durable)
    try:
        stamp, prefix = state.begin(), read_stamp(db)[1]
        if fresh:
            raise StateError("rebuilt on request")
        state._prefix = _matches(journal, stamp, prefix, end)
    except (StateError, sqlite3.DatabaseError) as exc:
        if exists and end and not fresh:
            notice(f"state file data/state.sqlite not used ({exc}); rebuilding it from the journal")
        try:
            if not db.in_transaction:
                db.execute("BEGIN IMMEDIATE")
            _reset(db)
        except sqlite3.DatabaseError:
            db.close()
            if dry_run:
                db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            else:
                _drop_files(path)
                db = connect(path)
            db.execute("BEGIN IMMEDIATE")
            _reset(db)
            state = LedgerState(journal, db, GENESIS_STAMP, durable=durable)
        state.position, state._prefix = GENESIS_STAMP, None
        state.accounts.forget()
    return state


def rebuilt_in_memory(journal: Path) -> LedgerState:
    """An empty state in memory, in its write transaction, for `verify` to rebuild and compare."""
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    state = LedgerState(journal, db, GENESIS_STAMP)
    db.execute("BEGIN IMMEDIATE")
    _reset(db)
    return state
