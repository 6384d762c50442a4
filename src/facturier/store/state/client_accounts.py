"""Each direct client's running accounts and revenue totals, and the facts taken back (or
replayed) for a balance at a past date (the one balance engine)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from facturier.core.accounts import Account, minor_units
from facturier.core.money import minor_digits, to_minor
from facturier.store.events import (
    DocumentIssued,
    Event,
    PaymentRecorded,
)
from facturier.store.state.schema import ByClient, TableMap, quiet_gc

FACTS_BATCH = 2000
# The invoice numbers `Accounts.dropped` holds at most (about 30 MB), whatever the history.
DROPPED_MAX = 300_000


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
        # Accounts the events of this command changed, read without their rows: only the rows
        # the events name (a payment's invoices), not 250,000 (`_event_account`).
        self._partial: dict[tuple[str, str], Account] = {}
        self._dirty: dict[tuple[str, str], set[str]] = {}
        self._next_pos: dict[tuple[str, str], int] = {}
        self._new: dict[tuple[str, str], dict[str, int]] = {}
        # Rows of `facts`, `revenue` and `last_currency` the events gave, written at `flush`
        # (three statements a commit, not three an entry: no use case reads them in between).
        self._facts: list[tuple[Any, ...]] = []
        self._revenue: dict[tuple[str, str], list[int]] = {}
        self._currency: dict[str, str] = {}
        # The numbers of the rows written back and dropped (`trim`) of each account this command
        # created: a number outside them has no row on disk, nothing to read (an entry of a state
        # built from scratch reads no row). Optional: an account without it reads its rows.
        self.dropped: dict[tuple[str, str], set[str]] = {}
        # (client, issue year) of the invoice rows the last events changed (split balance views),
        # the pool's reach included (`_pool_moved`); not looked for in a state built from scratch
        self.years: set[tuple[str, int]] = set()
        self.track_years = True
        # client -> currency -> [excl, vat, incl] in minor units (credit notes negative)
        self.revenue = ByClient(db, "revenue", "SELECT currency, excl, vat, incl FROM revenue WHERE client = ? "
                                "ORDER BY currency", lambda rows: {r[0]: list(r[1:]) for r in rows})
        self.last_currency = TableMap(db, "last_currency", ("client",), ("currency",))

    def forget(self) -> None:
        """Drop what was read (the tables moved on without this process)."""
        self._cache.clear()
        self._partial.clear()
        self._dirty.clear()
        self._next_pos.clear()
        self._new.clear()
        self._facts.clear()
        self._revenue.clear()
        self._currency.clear()
        self.dropped.clear()

    def release(self, client: str) -> None:
        """Drop the client's accounts read for this command, unless changed and not yet written back."""
        for cache in (self._cache, self._partial):
            for key in [k for k in cache if k[0] == client and k not in self._dirty]:
                del cache[key]
                self._next_pos.pop(key, None)
                self.dropped.pop(key, None)

    def get(self, client: str, currency: str, rows: bool = True) -> Account | None:
        """The account of a client in a currency, or None. Without `rows`, its aggregates alone
        (what a balance without its invoice list reads: 250,000 rows are not loaded), never kept."""
        key = (client, currency)
        if key in self._partial:  # changed by events without its rows: written back, then read whole
            if self._dirty.get(key):
                self.flush()
            del self._partial[key]
            self._next_pos.pop(key, None)
            self.dropped.pop(key, None)
        found = self._cache.get(key)
        if found is None:
            found = self._load(client, currency, rows)
            if found is not None and rows:
                self._cache[key] = found
        return found

    def open_reaching(self, client: str, currency: str, as_of: date, enough: Decimal,
                      named: str | None = None) -> Account | None:
        """The account with only the rows a payment of `enough` can be allocated to: its open
        invoices due by the day the oldest open amounts reach the credit pool and `enough`
        (`Account.reach`: the pool settles the oldest first, the payment goes to the oldest
        left open), so `pay` on a client with 250,000 invoices reads a few rows, not all, pool
        or not; with `named`, that invoice's row too (`pay --invoice`: the pool settles the rows
        it reaches before it, the payment goes to it). At a date before the account's latest
        fact (a payment recorded late), the aggregates and the rows the later facts name are
        taken back first (`_rewound_reaching`).
        None when the aggregates cannot tell: the account is already read here, or taking back
        cannot be exact (`rewound`). Never kept: nothing is written through it."""
        key = (client, currency)
        if key in self._cache or key in self._partial:
            return None
        account = self._load(client, currency, rows=False)
        if account is None or not account.covers(as_of):
            return None if account is None else self._rewound_reaching(client, currency, as_of, enough, named)
        if account.pool < 0:
            return None
        reach = account.reach(account.pool + to_minor(enough, currency))
        account.invoices = self.open_rows_due(client, currency, reach)
        if named is not None and named not in account.invoices:
            account.invoices.update(self.open_rows_named(client, currency, [named]))
        return account

    def _rewound_reaching(self, client: str, currency: str, as_of: date, enough: Decimal,
                          named: str | None) -> Account | None:
        """`open_reaching` at a date before the account's latest fact: the account's aggregates
        with the facts dated after `as_of` taken back (`_rewound_account` without rows: only the
        rows those facts name are read, and taken back), then the open rows due by the reach
        of the pool and `enough` at that date: the rows those facts name as taken back, the
        others as the table holds them (no later fact changed them). A pay dated a few days back
        on a client with 250,000 invoices reads a few rows, not all of them twice."""
        if self._facts or any(key[0] == client for key in self._dirty):
            return None
        day = as_of.toordinal()
        later = self.db.execute("SELECT offset, kind, number, day, due, amount, unallocated, parts FROM facts "
                                "WHERE client = ? AND day > ? AND currency = ? ORDER BY offset DESC",
                                (client, day, currency)).fetchall()
        last_day = self.db.execute("SELECT day FROM facts WHERE client = ? AND day <= ? AND currency = ? "
                                   "ORDER BY day DESC LIMIT 1", (client, day, currency)).fetchone()
        if last_day is None:  # no fact of the account by then: nothing open, no credit pool
            return Account(client, currency, minor_digits(currency))
        account = self._rewound_account(client, currency, later, day, rows=False)
        if account is None or account.pool < 0:
            return None
        account.last_day = last_day[0]
        later_named = {n for _, kind, number, *_, parts in later
                       for n in ([number] if kind == "invoice" else _named(kind, number, parts))}
        reach = account.reach(account.pool + to_minor(enough, currency))
        taken_back = {number: row for number, row in account.invoices.items() if row[2] > row[3] + row[4]
                      and (number == named or (reach is not None and row[1] <= reach))}
        rows = {number: row for number, row in self.open_rows_due(client, currency, reach).items()
                if number not in later_named}
        if named is not None and named not in later_named:
            rows.update(self.open_rows_named(client, currency, [named]))
        account.invoices = {**rows, **taken_back}
        return account

    def open_rows_named(self, client: str, currency: str, numbers: list[str]) -> dict[str, list[int]]:
        """The rows of these invoices of the account, those open before the credit pool."""
        return {number: row for number, row in self._rows_named(client, currency, numbers).items()
                if row[2] > row[3] + row[4]}

    def open_rows_due(self, client: str, currency: str, cutoff: int | None) -> dict[str, list[int]]:
        """The rows of the account's invoices open before the credit pool (credited and
        allocated less than their total) and due by `cutoff` (an ordinal; None: none), account order."""
        if cutoff is None:
            return {}
        with quiet_gc():
            return {number: [issued, due, total, credit_sum, alloc_sum]
                    for number, issued, due, total, credit_sum, alloc_sum in self.db.execute(
                        "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows "
                        "WHERE client = ? AND currency = ? AND due <= ? "
                        "AND total > credit_sum + alloc_sum ORDER BY pos", (client, currency, cutoff))}

    def open_only(self, client: str, as_of: date) -> list[Account] | None:
        """The client's accounts, by currency, with only the rows `Account.open_rows` keeps
        without a credit pool: the open ones (`open_rows_due`; `remind` over 250,000
        settled invoices reads the few open ones, not all). None when the aggregates cannot
        tell: an account already read here, a credit pool to spread, or a fact after `as_of`.
        Never kept: nothing is written through them."""
        if any(c == client for c, _ in [*self._cache, *self._partial]):
            return None
        out = []
        for (currency,) in self.db.execute("SELECT currency FROM accounts WHERE client = ? ORDER BY currency",
                                           (client,)).fetchall():
            account = self._load(client, currency, rows=False)
            if account is None or account.pool != 0 or not account.covers(as_of):
                return None
            # Without a pool an invoice's figures are its own: the open rows are those open before it.
            account.invoices = self.open_rows_due(client, currency, max(
                (due for due, left in account.open_by_due.items() if left > 0), default=None))
            out.append(account)
        return out

    def _load(self, client: str, currency: str, rows: bool = True) -> Account | None:
        row = self.db.execute("SELECT exponent, invoiced, credited, paid, unallocated, orphan, excess, last_day, "
                              "credit_dates, open_by_due, invoiced_on FROM accounts WHERE client = ? AND currency = ?",
                              (client, currency)).fetchone()
        if row is None:
            return None
        invoices: dict[str, list[int]] = {}
        if rows:
            with quiet_gc():
                invoices = {number: [issued, due, total, credit_sum, alloc_sum]
                            for number, issued, due, total, credit_sum, alloc_sum in self.db.execute(
                                "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows "
                                "WHERE client = ? AND currency = ? ORDER BY pos", (client, currency))}
            self._next_pos[(client, currency)] = len(invoices)
        exponent, invoiced, credited, paid, unallocated, orphan, excess, last_day, credits, opened, on = row
        return Account(client, currency, exponent, invoices, invoiced, credited, paid, unallocated, orphan,
                       [(day, amount) for day, amount in json.loads(credits)],
                       last_day, {int(k): v for k, v in json.loads(opened).items()}, excess,
                       {int(k): v for k, v in json.loads(on).items()})

    def _event_account(self, client: str, currency: str, numbers: list[str]) -> Account:
        """The account an event changes, created empty when new: the one read whole when this
        command has it, else its aggregates with only the rows of these numbers (an event's
        changes to an `Account` read and write those rows alone)."""
        key = (client, currency)
        found = self._cache.get(key) or self._partial.get(key)
        if found is None:
            found = self._load(client, currency, rows=False)
            if found is None:
                found = Account(client, currency, minor_digits(currency))
                self._dirty.setdefault(key, set())
                self.dropped[key] = set()
            self._partial[key] = found
            last = self.db.execute("SELECT max(pos) FROM invoice_rows WHERE client = ? AND currency = ?",
                                   key).fetchone()[0]
            self._next_pos[key] = 0 if last is None else last + 1
        if key in self._partial:
            dropped = self.dropped.get(key)
            wanted = [n for n in dict.fromkeys(numbers)
                      if n and n not in found.invoices and (dropped is None or n in dropped)]
            for start in range(0, len(wanted), 500):  # SQLite's bound on parameters per statement
                chunk = wanted[start:start + 500]
                for number, *row in self.db.execute(
                        "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows WHERE client = ? "
                        f"AND currency = ? AND number IN ({', '.join('?' * len(chunk))})", (*key, *chunk)):
                    found.invoices[number] = row
        return found

    def trim(self) -> None:
        """Write back what the events changed and drop the rows read for them (a long catch-up
        or a state built from scratch holds a few thousand entries' rows, not every client's)."""
        self.flush()
        for key, account in self._partial.items():
            if key in self.dropped:
                self.dropped[key].update(account.invoices)
            account.invoices.clear()
        if sum(map(len, self.dropped.values())) > DROPPED_MAX:
            self.dropped.clear()  # memory stays bounded: the rows of later entries are looked for

    def issue_years(self, client: str, currency: str) -> list[int]:
        """The issue years of the account's invoice rows, ascending: one index seek a year."""
        years: list[int] = []
        after = 0
        while (found := self.db.execute("SELECT min(issued) FROM invoice_rows WHERE client = ? AND currency = ? "
                                        "AND issued > ?", (client, currency, after)).fetchone()[0]) is not None:
            years.append(date.fromordinal(found).year)
            after = date(years[-1], 12, 31).toordinal()
        return years

    def issue_years_due(self, client: str, currency: str, low: int, high: int) -> set[int]:
        """The issue years of the account's invoices open before the credit pool and due on a
        day in [low, high) (ordinals): an invoice settled on its own is paid or credited
        whatever the date, the pool only settles more (index `invoice_rows_open`)."""
        return {date.fromordinal(r[0]).year for r in self.db.execute(
            "SELECT DISTINCT issued FROM invoice_rows WHERE client = ? AND currency = ? "
            "AND due >= ? AND due < ? AND total > credit_sum + alloc_sum", (client, currency, low, high))}

    def rows_issued(self, client: str, currency: str, first: int, last: int) -> list[tuple[str, list[int]]]:
        """(number, row) of the account's invoices issued between two ordinals, account order
        (the rows as written back: the accounts read for this command must be flushed)."""
        return [(number, row) for number, *row in self.db.execute(
            "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows WHERE client = ? "
            "AND currency = ? AND issued BETWEEN ? AND ? ORDER BY pos", (client, currency, first, last))]

    def rows_over(self, client: str, count: int) -> bool:
        """Whether the client's accounts hold more than `count` invoice rows (all currencies; as
        written back): reads `count` + 1 index entries at most, not every row a count(*) reads."""
        return self.db.execute("SELECT 1 FROM invoice_rows WHERE client = ? LIMIT 1 OFFSET ?",
                               (client, count)).fetchone() is not None

    def pairs(self) -> list[tuple[str, str]]:
        """Every (client, currency) with an account, sorted."""
        return [(c, cur)
                for c, cur in self.db.execute("SELECT client, currency FROM accounts ORDER BY client, currency")]

    def of_client(self, client: str, rows: bool = True) -> list[Account]:
        """The client's accounts, by currency (without `rows`: see `get`)."""
        currencies = {cur for (c, cur) in [*self._cache, *self._partial] if c == client}
        currencies.update(r[0] for r in self.db.execute("SELECT currency FROM accounts WHERE client = ?", (client,)))
        return [a for cur in sorted(currencies) if (a := self.get(client, cur, rows)) is not None]

    def at(self, client: str, as_of: date, rows: bool = True) -> list[Account]:
        """The client's accounts as they stood at `as_of`, by currency: the running accounts when
        no fact of theirs is dated later, else the running accounts with the later facts taken
        back (`rewound`), or when that cannot be exact, replayed from the client's facts dated up
        to then (`replayed`). The one balance engine: every balance, at any date, is
        `Account.balance` over these. Without `rows`, the accounts come without their invoice
        rows: only for `balance(with_invoices=False)`."""
        if all(a.covers(as_of) for a in self.of_client(client, rows=False)):
            return [a for a in self.of_client(client, rows) if a.last_day]
        rewound = self.rewound(client, as_of, rows)
        return rewound if rewound is not None else self.replayed(client, as_of)

    def replayed(self, client: str, as_of: date) -> list[Account]:
        """The client's accounts at `as_of` replayed from every fact of theirs dated up to then
        (journal order, as the running account took them), by currency."""
        replayed: dict[str, Account] = {}
        for kind, currency, day, number, due, amount, unallocated, parts in self.db.execute(
                "SELECT kind, currency, day, number, due, amount, unallocated, parts FROM facts "
                "WHERE client = ? AND day <= ? ORDER BY offset", (client, as_of.toordinal())):
            acc = replayed.get(currency)
            if acc is None:
                acc = replayed[currency] = Account(client, currency, minor_digits(currency))
            issued = date.fromordinal(day)
            if kind == "invoice":
                acc.add_invoice(number, issued, date.fromordinal(due), Decimal(amount))
            elif kind == "credit":
                acc.add_credit(issued, number, Decimal(amount))
            else:
                acc.add_payment(issued, Decimal(amount), [(n, Decimal(a)) for n, a in json.loads(parts)],
                                Decimal(unallocated))
        return [replayed[c] for c in sorted(replayed)]

    def rewound(self, client: str, as_of: date, rows: bool = True) -> list[Account] | None:
        """The client's accounts at `as_of` as `replayed` gives them, from the running accounts
        with the facts dated after `as_of` taken back, latest first (a report of last year reads
        a year of facts, not 250,000). Without `rows`, only the rows those facts name are read,
        and dropped after. None when taking back cannot be exact: an account of the client was
        changed by this command and not yet written back, or an invoice number was issued twice
        (then only a replay is exact)."""
        if self._facts or any(key[0] == client for key in self._dirty):
            return None
        day = as_of.toordinal()
        later = self.db.execute("SELECT offset, currency, kind, number, day, due, amount, unallocated, parts "
                                "FROM facts WHERE client = ? AND day > ? ORDER BY offset DESC",
                                (client, day)).fetchall()
        out = []
        for (currency,) in self.db.execute("SELECT currency FROM accounts WHERE client = ? ORDER BY currency",
                                           (client,)).fetchall():
            last_day = self.db.execute("SELECT day FROM facts WHERE client = ? AND day <= ? AND currency = ? "
                                       "ORDER BY day DESC LIMIT 1", (client, day, currency)).fetchone()
            if last_day is None:  # no fact of the account by then: no account
                continue
            account = self._rewound_account(client, currency, [(f[0], *f[2:]) for f in later if f[1] == currency],
                                            day, rows)
            if account is None:
                return None
            account.last_day = last_day[0]
            if not rows:
                account.invoices = {}
            out.append(account)
        return out

    def _rewound_account(self, client: str, currency: str, facts: list[tuple[Any, ...]], day: int,
                         rows: bool) -> Account | None:
        """The running account with these facts dated after `day` (latest first) taken back
        (without `rows`, only the rows the facts name are read). None when a fact does not take
        back exactly: a number it names was issued twice."""
        next_pos = self._next_pos.get((client, currency))
        account = self._load(client, currency, rows)
        if next_pos is None:  # `_load` sets it for the accounts this command writes: not for this copy
            self._next_pos.pop((client, currency), None)
        else:
            self._next_pos[(client, currency)] = next_pos
        if account is None:
            return None
        later = {number: offset for offset, kind, number, *_ in facts if kind == "invoice"}
        named = [n for _, kind, number, *_, parts in facts if kind != "invoice" for n in _named(kind, number, parts)]
        issues = self._issues(client, currency, [*named, *later])
        if any(count > 1 for _, count in issues.values()) or not later.keys() <= issues.keys():
            return None
        issued_at = {number: offset for number, (offset, _) in issues.items()}
        if not rows:
            account.invoices = self._rows_named(client, currency, [*named, *later])
        if later:  # facts dated up to `day` that reached a later-dated invoice written before them: orphans then
            for offset, kind, number, amount, parts in self.db.execute(
                    "SELECT offset, kind, number, amount, parts FROM facts WHERE client = ? AND currency = ? "
                    "AND day <= ? AND offset > ? AND kind != 'invoice'", (client, currency, day, min(later.values()))):
                for part, value in _parts(kind, number, amount, parts):
                    if later.get(part, offset) < offset:
                        account.change_row(account.invoices[part], 3 if kind == "credit" else 4,
                                        -to_minor(value, currency))
                        account.orphan += to_minor(value, currency)
        for offset, kind, number, day_, due, amount, unallocated, parts in facts:
            if not take_back(account, offset, issued_at, (kind, number, day_, due, amount, unallocated, parts)):
                return None
        return account

    def _issues(self, client: str, currency: str, numbers: list[str]) -> dict[str, tuple[int, int]]:
        """(journal offset of the first, count) of the invoice facts of each of these numbers in
        the account (by the documents' number index, not the client's 250,000 facts)."""
        found: dict[str, tuple[int, int]] = {}
        wanted = list(dict.fromkeys(n for n in numbers if n))
        for start in range(0, len(wanted), 500):  # SQLite's bound on parameters per statement
            chunk = wanted[start:start + 500]  # CROSS JOIN: documents first, by their number index
            found.update((number, (first, count)) for number, first, count in self.db.execute(
                "SELECT f.number, min(f.offset), count(*) FROM documents d CROSS JOIN facts f ON f.offset = d.offset "
                f"WHERE d.number IN ({', '.join('?' * len(chunk))}) AND f.client = ? AND f.currency = ? "
                "AND f.kind = 'invoice' GROUP BY f.number", (*chunk, client, currency)))
        return found

    def _rows_named(self, client: str, currency: str, numbers: list[str]) -> dict[str, list[int]]:
        """The account's invoice rows of these numbers (those it holds)."""
        found: dict[str, list[int]] = {}
        wanted = list(dict.fromkeys(n for n in numbers if n))
        for start in range(0, len(wanted), 500):  # SQLite's bound on parameters per statement
            chunk = wanted[start:start + 500]
            for number, *row in self.db.execute(
                    "SELECT number, issued, due, total, credit_sum, alloc_sum FROM invoice_rows WHERE client = ? "
                    f"AND currency = ? AND number IN ({', '.join('?' * len(chunk))})", (client, currency, *chunk)):
                found[number] = row
        return found

    def _touch(self, account: Account, number: str, new: bool = False) -> None:
        """Mark a row to write back; a new row takes the next position (account order)."""
        key = (account.client, account.currency)
        dirty = self._dirty.get(key)
        if dirty is None:
            dirty = self._dirty[key] = set()
        dirty.add(number)
        row = account.invoices.get(number)
        if row is not None and self.track_years:
            self.years.add((account.client, date.fromordinal(row[0]).year))
        if new:
            self._new.setdefault(key, {})[number] = self._next_pos[key]
            self._next_pos[key] += 1

    EVENTS: ClassVar[tuple[type, ...]] = (PaymentRecorded, DocumentIssued)  # what `apply` looks at

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, PaymentRecorded):
            parts = [(a.number, a.amount) for a in ev.allocation]
            account = self._event_account(ev.client, ev.currency, [n for n, _ in parts])
            before = self._pool_reach(account)
            account.add_payment(ev.date, ev.amount, parts, ev.unallocated)
            self._fact((offset, ev.client, ev.currency, "payment", ev.date.toordinal(), None, None,
                                str(ev.amount), str(ev.unallocated), _parts_json([(n, str(a)) for n, a in parts])))
            for number, _ in parts:
                self._touch(account, number)
            if (ev.client, ev.currency) not in self._dirty:
                self._dirty[(ev.client, ev.currency)] = set()
            self._pool_moved(account, before)
        elif isinstance(ev, DocumentIssued) and ev.direct_live:
            self._document(ev, offset)

    def _document(self, ev: DocumentIssued, offset: int) -> None:
        credit, currency = ev.is_credit_note, ev.currency
        number = (ev.refers_to or "") if credit else ev.number
        account = self._event_account(ev.client, currency, [number])
        before = self._pool_reach(account)
        self._fact((offset, ev.client, currency, "credit" if credit else "invoice", ev.date.toordinal(), number,
                    ev.due_date.toordinal(), str(ev.total_incl_vat), None, None))
        if credit:
            account.add_credit(ev.date, number, ev.total_incl_vat)
            self._touch(account, number)
        else:
            new = number not in account.invoices
            account.add_invoice(number, ev.date, ev.due_date, ev.total_incl_vat)
            self._touch(account, number, new)
        self._pool_moved(account, before)
        sign = -1 if credit else 1
        sums = self._revenue.get((ev.client, currency))
        if sums is None:
            sums = self._revenue[(ev.client, currency)] = [0, 0, 0]
        sums[0] += sign * minor_units(ev.total_excl_vat, currency)
        sums[1] += sign * minor_units(ev.total_vat, currency)
        sums[2] += sign * minor_units(ev.total_incl_vat, currency)
        self._currency[ev.client] = currency

    def _pool_reach(self, account: Account) -> tuple[int, int | None] | None:
        """(credit pool, the due day it reaches: `Account.reach`) of an account, before an event."""
        if not self.track_years or not account.pool:
            return None
        return account.pool, account.reach(account.pool) if account.pool > 0 else None

    def _pool_moved(self, account: Account, before: tuple[int, int | None] | None) -> None:
        """Add the years of the invoices whose share of the credit pool an event may have moved.

        The pool settles the open invoices oldest due first up to the day it reaches; an
        invoice due before the reach of the pool both before and after the event is settled
        whole both times, one due after it not at all: only those due between the two reaches
        can change (from the first open one when the pool appears or vanishes). Their issue
        years join the event's own, so a split balance view rewrites those years, not all."""
        if not self.track_years or (before is None and not account.pool):
            return
        ends = [before[1] if before is not None and before[0] > 0 else None,
                account.reach(account.pool) if account.pool > 0 else None]
        reached = [end for end in ends if end is not None]
        if not reached:
            return
        low = 0 if None in ends else min(reached)
        for year in self.issue_years_due(account.client, account.currency, low, max(reached) + 1):
            self.years.add((account.client, year))

    def _fact(self, row: tuple[Any, ...]) -> None:
        """A row of `facts`, written with the next ones (a few thousand at a time: a state built
        from scratch does not hold them all)."""
        self._facts.append(row)
        if len(self._facts) >= FACTS_BATCH:
            self.db.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._facts)
            self._facts.clear()

    def flush(self) -> None:
        """Write back the accounts and rows changed since the last flush."""
        db = self.db
        for key, numbers in self._dirty.items():
            a = self._cache[key] if key in self._cache else self._partial[key]
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
        db.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._facts)
        db.executemany("INSERT INTO revenue VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET excl = excl + "
                       "excluded.excl, vat = vat + excluded.vat, incl = incl + excluded.incl",
                       [(*key, *sums) for key, sums in self._revenue.items()])
        db.executemany("INSERT OR REPLACE INTO last_currency VALUES (?, ?)", list(self._currency.items()))
        self._facts.clear()
        self._revenue.clear()
        self._currency.clear()


def _parts_json(parts: list[tuple[str, str]]) -> str:
    """`json.dumps` of the [number, amount] pairs of a payment fact, the same text, built directly
    when no character needs escaping (the usual number and amount)."""
    if all(n.isascii() and n.isprintable() and '"' not in n and "\\" not in n for n, _ in parts):
        return "[" + ", ".join(f'["{n}", "{a}"]' for n, a in parts) + "]"
    return json.dumps([[n, a] for n, a in parts])


def _parts(kind: str, number: str | None, amount: str, parts: str | None) -> list[tuple[str, Decimal]]:
    """(invoice number, amount) of what a credit or payment fact takes off invoices."""
    if kind == "credit":
        return [(number or "", Decimal(amount))]
    return [(n, Decimal(a)) for n, a in json.loads(parts or "[]")]


def _named(kind: str, number: str | None, parts: str | None) -> list[str]:
    """The invoice numbers a credit or payment fact names."""
    return [number or ""] if kind == "credit" else [n for n, _ in json.loads(parts or "[]")]


def take_back(account: Account, offset: int, issued_at: dict[str, int], fact: tuple[Any, ...]) -> bool:
    """Undo one fact of `facts` (at `offset` in the journal) on the account, the facts after it
    already undone: the exact inverse of `add_invoice`, `add_credit` or `add_payment`, a part
    taken off the orphan sum when its invoice was not written before the fact (`issued_at`: the
    offset of each named invoice). False when it cannot be exact (the invoice row is not the
    one that fact created: its number was issued twice)."""
    kind, number, day, due, amount, unallocated, parts = fact
    value = to_minor(Decimal(amount), account.currency)
    if kind == "invoice":
        row = account.invoices.get(number or "")
        if row != [day, due, value, 0, 0]:
            return False
        account.count_row(row, -1)
        del account.invoices[number or ""]
        account.invoiced -= value
        return True
    if kind == "credit":
        if (day, value) not in account.credit_dates:
            return False
        account.credit_dates.reverse()  # the latest such credit goes (equal pairs: either)
        account.credit_dates.remove((day, value))
        account.credit_dates.reverse()
        account.credited -= value
    else:
        account.paid -= value
        account.unallocated -= to_minor(Decimal(unallocated or "0"), account.currency)
    for part, share in _parts(kind, number, amount, parts):
        minor = to_minor(share, account.currency)
        row, written = account.invoices.get(part), issued_at.get(part)
        if row is not None and written is None:
            return False
        if row is None or (written or 0) > offset:
            account.orphan -= minor
        else:
            account.change_row(row, 3 if kind == "credit" else 4, -minor)
    return True
