"""Usage aggregated per client, metric and month, what each invoice billed, pending charges."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from facturier.core.text import nfc
from facturier.store.events import (
    ChargeAdded,
    DocumentIssued,
    Event,
    T,
    UsageRecorded,
)
from facturier.store.state.schema import ByClient, TableMap


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


AGGREGATES = ("SELECT a.metric, a.month, a.sum, a.count, a.max, a.latest_day, a.latest, "
              "(SELECT count(*) FROM usage_keys k WHERE k.client = a.client AND k.metric = a.metric "
              "AND k.month = a.month) FROM usage_agg a WHERE a.client = ? ORDER BY a.metric, a.month")


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
        # client -> (metric, "YYYY-MM") -> aggregate
        self.aggregates = ByClient(db, "usage_agg", AGGREGATES,
                                   lambda rows: {(r[0], r[1]): list(r[2:]) for r in rows})
        # client -> (metric, month) -> (sum, count, max, latest, distinct) when last billed
        self.billed = ByClient(db, "usage_billed", "SELECT metric, month, sum, count, max, latest, distinct_keys "
                               "FROM usage_billed WHERE client = ?", lambda rows: {(r[0], r[1]): r[2:] for r in rows})
        # client -> charges not invoiced yet: (seq, amount, currency, description, date, vat_rate)
        self.charges = ByClient(db, "charges", "SELECT seq, amount, currency, description, day, vat_rate "
                                "FROM charges WHERE client = ? ORDER BY rowid")

    EVENTS: ClassVar[tuple[type, ...]] = (UsageRecorded, ChargeAdded, DocumentIssued)  # what `apply` looks at

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
        self.db.execute("INSERT INTO usage_billings VALUES (?, ?, ?)", (client, through, number))

    def invoiced_by(self, client: str, month: str) -> str | None:
        """The number of the invoice that billed `month`'s usage (the first whose billing reached
        that month: a later invoice bills later months, and corrections, not that month), or None."""
        row = self.db.execute("SELECT number FROM usage_billings WHERE client = ? AND through >= ? "
                              "ORDER BY rowid LIMIT 1", (client, month)).fetchone()
        return None if row is None else str(row[0])


class UsageIds:
    """The id of every usage record ever journalled: a duplicate is never counted again."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.ids = TableMap(db, "usage_ids", ("id",), ("1",))

    EVENTS: ClassVar[tuple[type, ...]] = (UsageRecorded,)  # what `apply` looks at

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, UsageRecorded):
            # in the form new records are checked in (`nfc`): a record journalled before in another
            # Unicode form is still a duplicate of the same id typed today
            self.db.executemany("INSERT OR IGNORE INTO usage_ids VALUES (?)", [(nfc(row[0]),) for row in ev.rows])
