"""Reminders, disputes, promises, payment links, Gmail threads, and the daily sums of reports."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import ClassVar

from facturier.core.accounts import minor_units
from facturier.store.events import (
    DeliveryEvent,
    DisputeEvent,
    DocumentIssued,
    Event,
    PaymentLinkEvent,
    PaymentRecorded,
    PromiseEvent,
    ReminderEvent,
    T,
)
from facturier.store.state.schema import Offsets, TableMap


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

    # what `apply` looks at
    EVENTS: ClassVar[tuple[type, ...]] = (ReminderEvent, DisputeEvent, PromiseEvent, DeliveryEvent)

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

    EVENTS: ClassVar[tuple[type, ...]] = (PaymentLinkEvent,)  # what `apply` looks at

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

    EVENTS: ClassVar[tuple[type, ...]] = (DeliveryEvent,)  # what `apply` looks at

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
    what moves its balance), and the live invoices of each batch seller per month. Offsets
    and names are the index's (`state.index`, `state.collections.history`).
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        # Sums the events add, written at `flush` (with the commit): sums commute, and no use
        # case reads them in between; three statements a commit, not four an entry.
        self._day_sums: dict[tuple[str, str, str, int], int] = {}
        self._year_sums: dict[tuple[str, str, int], int] = {}
        self._batch_counts: dict[tuple[str, int, int], int] = {}

    def flush(self) -> None:
        """Add the sums gathered since the last flush to the tables."""
        self.db.executemany("INSERT INTO day_sums VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                            "amount = amount + excluded.amount", [(*k, v) for k, v in self._day_sums.items()])
        self.db.executemany("INSERT INTO year_sums VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                            "amount = amount + excluded.amount", [(*k, v) for k, v in self._year_sums.items()])
        self.db.executemany("INSERT INTO batch_counts VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                            "count = count + excluded.count", [(*k, v) for k, v in self._batch_counts.items()])
        self.forget()

    def forget(self) -> None:
        """Drop the sums gathered (the transaction they belong to is abandoned)."""
        self._day_sums.clear()
        self._year_sums.clear()
        self._batch_counts.clear()

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
                "SELECT client, currency, day, amount FROM day_sums WHERE kind = 'flows' "
                "ORDER BY client, currency, day"):
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
    def batch(self) -> dict[tuple[str, int, int], int]:
        """(seller, year, month) -> live invoices of a batch seller."""
        return {(s, y, m): c for s, y, m, c in self.db.execute("SELECT seller, year, month, count FROM batch_counts")}

    EVENTS: ClassVar[tuple[type, ...]] = (DocumentIssued, PaymentRecorded)  # what `apply` looks at

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            if ev.direct_live:
                self._document(ev)
            elif ev.seller != "issuer" and ev.mode == "live" and ev.type == T.INVOICE_ISSUED:
                key = (ev.seller, ev.date.year, ev.date.month)
                self._batch_counts[key] = self._batch_counts.get(key, 0) + 1
        elif isinstance(ev, PaymentRecorded):
            amount, day, sums = minor_units(ev.amount, ev.currency), ev.date.toordinal(), self._day_sums
            received, flows = ("received", ev.currency, "", day), ("flows", ev.currency, ev.client, day)
            sums[received] = sums.get(received, 0) + amount
            sums[flows] = sums.get(flows, 0) - amount

    def _document(self, ev: DocumentIssued) -> None:
        sign, currency = (-1 if ev.is_credit_note else 1), ev.currency
        day, year, days, sums = ev.date.toordinal(), ev.date.year, self._day_sums, self._year_sums
        incl = sign * minor_units(ev.total_incl_vat, currency)
        for key in (("sales", currency, "", day), ("flows", currency, ev.client, day)):
            days[key] = days.get(key, 0) + incl
        for kind, amount in (("excl", ev.total_excl_vat), ("vat", ev.total_vat)):
            year_key = (kind, currency, year)
            sums[year_key] = sums.get(year_key, 0) + sign * minor_units(amount, currency)
