"""Documents, deliveries, batch files, bank ids: where each document and payment is in the
journal, by number, owner and year, client and day."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from facturier.core.numbering import SeriesState
from facturier.store.events import (
    BatchAccepted,
    BatchCompleted,
    DeliveryEvent,
    DocumentIssued,
    Event,
    PaymentRecorded,
    T,
)
from facturier.store.state.schema import Offsets, TableMap

DELIVERY_STATES = {T.INVOICE_SENDING: "sending", T.INVOICE_SENT: "sent", T.INVOICE_SEND_FAILED: "failed",
                   T.BATCH_SENDING: "sending", T.BATCH_DELIVERED: "sent", T.BATCH_SEND_FAILED: "failed"}

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
        # series -> (seq, day) of the documents applied since the last flush, the latest winning:
        # written at `flush` (one statement a commit, not one a document).
        self._series: dict[str, tuple[int, int]] = {}
        # (number, offset, day, number) of the direct invoices applied since the last flush, unsent
        # unless a delivery of that number came before: written at `flush`, or before the next
        # delivery changes what `deliveries` says.
        self._unsent: list[tuple[str, int, int, str]] = []

    def flush(self) -> None:
        """Write the series and unsent invoices the documents applied since the last flush gave."""
        self._write_unsent()
        if self._series:
            self.db.executemany("INSERT OR REPLACE INTO series VALUES (?, ?, ?)",
                                [(series, *where) for series, where in self._series.items()])
            self._series.clear()

    def forget(self) -> None:
        """Drop the series gathered (the transaction they belong to is abandoned)."""
        self._series.clear()
        self._unsent.clear()

    def _write_unsent(self) -> None:
        if self._unsent:
            self.db.executemany("INSERT OR REPLACE INTO unsent SELECT ?, ?, ?, 0 WHERE NOT EXISTS "
                                "(SELECT 1 FROM deliveries WHERE key = ?)", self._unsent)
            self._unsent.clear()

    def last_period(self, client: str) -> str | None:
        """The latest month ('YYYY-MM') a monthly invoice of this client was issued for, or None."""
        row = self.db.execute("SELECT max(period) FROM months WHERE client = ?", (client,)).fetchone()
        return None if row[0] is None else str(row[0])

    def invoiced_for(self, period: str) -> dict[str, int]:
        """client -> the issue day (ordinal) of its first monthly invoice for this month ('YYYY-MM')."""
        return dict(self.db.execute("SELECT client, day FROM months WHERE period = ?", (period,)).fetchall())

    def unsent_days(self) -> list[int]:
        """The issue days (ordinals) of the direct invoices no send was started for."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT day FROM unsent WHERE in_flight = 0")]

    def unsent_on(self, days: list[int]) -> list[int]:
        """Offsets of the unsent direct invoices issued on these days."""
        found: list[int] = []
        for start in range(0, len(days), 500):  # SQLite's bound on parameters per statement
            chunk = days[start:start + 500]
            found += [r[0] for r in self.db.execute(
                f"SELECT offset FROM unsent WHERE in_flight = 0 AND day IN ({', '.join('?' * len(chunk))})", chunk)]
        return found

    def series_states(self) -> dict[str, SeriesState]:
        """Every series and where it stands, for numbering."""
        self.flush()
        return {k: SeriesState(seq, date.fromordinal(day))
                for k, seq, day in self.db.execute("SELECT series, seq, day FROM series")}

    # what `apply` looks at
    EVENTS: ClassVar[tuple[type, ...]] = (DocumentIssued, DeliveryEvent, PaymentRecorded, BatchAccepted, BatchCompleted)

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        db = self.db
        if isinstance(ev, DocumentIssued):
            self._series[ev.series] = (ev.series_seq, ev.date.toordinal())
            if ev.type == T.INVOICE_ISSUED and ev.seller == "issuer":
                if ev.period:
                    db.execute("INSERT OR IGNORE INTO months VALUES (?, ?, ?)",
                               (ev.client, ev.period, ev.date.toordinal()))
                self._unsent.append((ev.number, offset, ev.date.toordinal(), ev.number))
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
        self._write_unsent()  # the invoices before this delivery, as `deliveries` stood for them
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

INDEX_INSERTS = {
    "documents": "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
    "owners": "INSERT OR IGNORE INTO owners VALUES (?, ?, ?)",
    "client_names": "INSERT OR REPLACE INTO client_names VALUES (?, ?)",
    "mentions": "INSERT OR IGNORE INTO mentions VALUES (?, ?)",
    "payments": "INSERT INTO payments VALUES (?, ?, ?, ?)",
}


class Index:
    """Where each document and payment is in the journal (line offsets), by owner (client or
    seller) and year,
    client and day; and each direct client's name on its latest live document."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.payments_of = Offsets(db, "payments", ("client",))
        self.payments_by_year = Offsets(db, "payments", ("year",))
        self.payments_on = Offsets(db, "payments", ("day",))  # date ordinal -> payments of that day
        self.client_names = TableMap(db, "client_names", ("client",), ("name",))
        # Rows the events give, by statement, written at `flush` (with the commit, or every few
        # thousand entries of a long catch-up): no event's applying reads these tables.
        self._rows: dict[str, list[tuple[Any, ...]]] = {sql: [] for sql in INDEX_INSERTS.values()}
        self._documents, self._owners, self._mentions, self._payments = (
            self._rows[INDEX_INSERTS[table]] for table in ("documents", "owners", "mentions", "payments"))
        self._names: dict[str, str] = {}  # client -> name on its latest live document (one row a client)

    def flush(self) -> None:
        """Write the rows gathered since the last flush, in the order the events gave them."""
        self._rows[INDEX_INSERTS["client_names"]].extend(self._names.items())
        self._names.clear()
        for sql, rows in self._rows.items():
            if rows:
                self.db.executemany(sql, rows)
                rows.clear()

    def forget(self) -> None:
        """Drop the rows gathered (the transaction they belong to is abandoned)."""
        self._names.clear()
        for rows in self._rows.values():
            rows.clear()

    def offsets_of(self, owner: str, year: int | None = None) -> list[int]:
        """Offsets of the documents whose client or seller is `owner` (in a year), journal order."""
        if year is None:
            rows = self.db.execute("SELECT offset FROM owners WHERE owner = ? ORDER BY offset", (owner,))
        else:
            rows = self.db.execute("SELECT offset FROM owners WHERE owner = ? AND year = ? ORDER BY offset",
                                   (owner, year))
        return [r[0] for r in rows]

    def documents_over(self, owner: str, count: int) -> bool:
        """Whether more than `count` documents name `owner` as client or seller: reads `count` + 1
        index entries at most, not the 250,000 of a long history a count(*) reads."""
        return self.db.execute("SELECT 1 FROM owners WHERE owner = ? LIMIT 1 OFFSET ?", (owner, count)).fetchone() \
            is not None

    def years_of(self, owner: str) -> list[int]:
        """The years of the documents naming `owner`, ascending."""
        return self._years("SELECT min(year) FROM owners WHERE owner = ? AND year > ?", owner)

    def _years(self, query: str, key: str) -> list[int]:
        """The distinct years `query` (the smallest year of `key` above a year) gives, one index
        seek a year: not one row read per document or payment of a long history."""
        years: list[int] = []
        while (row := self.db.execute(query, (key, years[-1] if years else -1)).fetchone())[0] is not None:
            years.append(int(row[0]))
        return years

    def payments_over(self, client: str, count: int) -> bool:
        """Whether the client has more than `count` payments (`count` + 1 index entries read at most)."""
        return self.db.execute("SELECT 1 FROM payments WHERE client = ? LIMIT 1 OFFSET ?",
                               (client, count)).fetchone() is not None

    def payment_years(self, client: str) -> list[int]:
        """The years of the client's payments, ascending."""
        return self._years("SELECT min(year) FROM payments WHERE client = ? AND year > ?", client)

    def payments_in(self, client: str, year: int) -> list[int]:
        """Offsets of the client's payments dated in `year`, journal order."""
        return [r[0] for r in self.db.execute("SELECT offset FROM payments WHERE client = ? AND year = ? "
                                              "ORDER BY offset", (client, year))]

    def sold_by_batch_sellers(self, year: int) -> int:
        """How many documents of the year were issued in a batch seller's name."""
        return int(self.db.execute("SELECT count(*) FROM documents WHERE year = ? AND seller != 'issuer'",
                                   (year,)).fetchone()[0])

    @property
    def documents(self) -> list[int]:
        """Every document, journal order."""
        return [r[0] for r in self.db.execute("SELECT offset FROM documents ORDER BY offset")]

    EVENTS: ClassVar[tuple[type, ...]] = (DocumentIssued, PaymentRecorded, DeliveryEvent)  # what `apply` looks at

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        mentions = self._mentions
        if isinstance(ev, DocumentIssued):
            year, live = ev.date.year, ev.direct_live
            self._documents.append((offset, ev.number, ev.type, ev.client, ev.seller, year, int(live)))
            self._owners.append((ev.client, year, offset))
            if ev.seller != ev.client:
                self._owners.append((ev.seller, year, offset))
            if live:
                self._names[ev.client] = ev.client_name
            if ev.refers_to:
                mentions.append((ev.refers_to, offset))
        elif isinstance(ev, PaymentRecorded):
            self._payments.append((offset, ev.client, ev.date.year, ev.date.toordinal()))
            mentions.extend((n, offset) for n in dict.fromkeys(a.number for a in ev.allocation))
        elif isinstance(ev, DeliveryEvent) and ev.number is not None:
            mentions.append((ev.number, offset))


class Names:
    """Each document number: where its documents are, and which entries name it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def mentions(self, number: str) -> list[int]:
        """Offsets of the entries naming a document other than its own (sends, payments, credits)."""
        return [r[0]
                for r in self.db.execute("SELECT offset FROM mentions WHERE number = ? ORDER BY offset", (number,))]

    def documents_named(self, number: str) -> list[int]:
        """Offsets of every document with this number (several sellers may share one)."""
        return [r[0] for r in self.db.execute("SELECT offset FROM documents WHERE number = ? ORDER BY offset",
                                              (number,))]

    def first(self, number: str) -> int | None:
        """Offset of the first document issued with this number, or None."""
        row = self.db.execute("SELECT min(offset) FROM documents WHERE number = ?", (number,)).fetchone()
        return None if row[0] is None else int(row[0])
