"""The ledger state: every index the use cases need, built in one pass and checkpointed.

`LedgerState` is a pure function of the journal. It holds compact indexes (numbers, ints
and the byte offset of each journal line) rather than the entries themselves: a use case
that needs a whole entry reads that one line back from the journal (`event_at`), which the
state has proven unchanged. It is made of four sections, each applied fact by fact:

- `core`: the series and their next numbers, the months already invoiced, the state of
  every delivery, direct invoices not sent yet, each batch client's files and references,
  the bank ids and keys already imported;
- `accounts`: each direct client's running balance per currency (`core.accounts`);
- `index`: where each document and payment is, by number, by owner and year, by client;
- `collections`: reminders drafted and in flight, disputes, promises (issue 11).

The checkpoint (`data/state/<section>.pickle`) is a derived, deletable snapshot of each
section, stamped with the journal position it was built from (entry number, byte offset
and hash of that entry); `core` also carries a digest of the journal bytes up to that
position. A command loads only the sections it touches and applies the entries written
since their stamps. A checkpoint is never trusted blindly: missing, unreadable, from
another version, or not matching the journal at its stamp (or, for `core`, anywhere before
it), it is rebuilt from the journal with a one-line notice. Checkpoint files hold plain
containers only and are read by an unpickler that refuses every class, so a tampered
checkpoint cannot run code.
"""

from __future__ import annotations

import gc
import io
import pickle
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
import xxhash

from facturier.core.accounts import Account, to_minor
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
from facturier.store.files import atomic_write, ensure_dir

STATE_VERSION = 4  # 2: offset arrays, mentions split; 3: revenue totals, anchor; 4: aggregates, names
# A lagging section is saved again once it is this many entries behind the journal, so
# catching up never costs more than parsing that many lines.
SAVE_LAG = 2_000
# ... or once it lags this many bytes of journal (one usage import is few entries, many records).
SAVE_LAG_BYTES = 8 << 20
READ_BLOCK = 1 << 20  # bytes read at a time when reading entries back
DELIVERY_STATES = {T.INVOICE_SENDING: "sending", T.INVOICE_SENT: "sent", T.INVOICE_SEND_FAILED: "failed",
                   T.BATCH_SENDING: "sending", T.BATCH_DELIVERED: "sent", T.BATCH_SEND_FAILED: "failed"}


@dataclass(frozen=True, slots=True)
class Stamp:
    """A journal position: the last entry applied, the byte offset after it, its hash."""

    seq: int
    offset: int
    hash: str


GENESIS_STAMP = Stamp(0, 0, "0" * 64)


@dataclass(slots=True)
class BatchFiles:
    """What the journal says about one batch client's files and references."""

    accepted: dict[str, int] = field(default_factory=dict)  # sha256 -> offset of batch.accepted
    completed: set[str] = field(default_factory=set)
    invoiced: dict[str, str] = field(default_factory=dict)  # reference -> number
    issued_by_batch: dict[str, set[str]] = field(default_factory=dict)  # sha256 -> references


class Core:
    """Numbers, months, deliveries, unsent invoices, batch files and bank ids."""

    name = "core"

    def __init__(self) -> None:
        self.series: dict[str, tuple[int, int]] = {}  # series -> (last seq, date ordinal)
        self.months: set[tuple[str, str]] = set()  # (client, "YYYY-MM") with a monthly invoice
        self.deliveries: dict[str, tuple[str, int]] = {}  # key -> (state, offset of that entry)
        # Direct invoices no send was started for, or whose send failed, and those in flight:
        # number -> (offset, issue date ordinal).
        self.unsent: dict[str, tuple[int, int]] = {}
        self.in_flight: dict[str, tuple[int, int]] = {}
        self.batches: dict[str, BatchFiles] = {}
        self.bank_ids: set[str] = set()
        self.bank_keys: set[str] = set()  # every payment's bank key
        self.bank_keys_without_id: set[str] = set()

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            self.series[ev.series] = (ev.series_seq, ev.date.toordinal())
            if ev.type == T.INVOICE_ISSUED and ev.seller == "issuer":
                if ev.period:
                    self.months.add((ev.client, ev.period))
                if ev.number not in self.deliveries:
                    self.unsent[ev.number] = (offset, ev.date.toordinal())
            if ev.reference and ev.type == T.INVOICE_ISSUED and ev.seller != "issuer":
                files = self.batches.setdefault(ev.client, BatchFiles())
                files.invoiced[ev.reference] = ev.number
                files.issued_by_batch.setdefault(ev.batch or "", set()).add(ev.reference)
        elif isinstance(ev, DeliveryEvent):
            self._delivery(ev, offset)
        elif isinstance(ev, PaymentRecorded):
            if ev.bank_id:
                self.bank_ids.add(ev.bank_id)
            if ev.bank_key:
                self.bank_keys.add(ev.bank_key)
                if not ev.bank_id:
                    self.bank_keys_without_id.add(ev.bank_key)
        elif isinstance(ev, BatchAccepted):
            self.batches.setdefault(ev.client, BatchFiles()).accepted[ev.sha256] = offset
        elif isinstance(ev, BatchCompleted):
            self.batches.setdefault(ev.client, BatchFiles()).completed.add(ev.sha256)

    def _delivery(self, ev: DeliveryEvent, offset: int) -> None:
        key, state = ev.key, DELIVERY_STATES[ev.type]
        if self.deliveries.get(key, ("", 0))[0] == "sent":
            return  # sent is final
        self.deliveries[key] = (state, offset)
        if ev.number is None:
            return
        if state == "sending":
            moved = self.unsent.pop(key, None)
            if moved is not None:
                self.in_flight[key] = moved
        elif state == "failed":
            moved = self.in_flight.pop(key, None)
            if moved is not None:
                self.unsent[key] = moved
        else:
            self.unsent.pop(key, None)
            self.in_flight.pop(key, None)

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        batches = {k: (b.accepted, b.completed, b.invoiced, b.issued_by_batch) for k, b in self.batches.items()}
        return (self.series, self.months, self.deliveries, self.unsent, self.in_flight, batches,
                self.bank_ids, self.bank_keys, self.bank_keys_without_id)

    @classmethod
    def load(cls, data: Any) -> Core:
        """The section from its checkpoint containers."""
        core = cls()
        (core.series, core.months, core.deliveries, core.unsent, core.in_flight, batches,
         core.bank_ids, core.bank_keys, core.bank_keys_without_id) = data
        core.batches = {k: BatchFiles(*v) for k, v in batches.items()}
        return core

    def series_states(self) -> dict[str, SeriesState]:
        """Every series and where it stands, for numbering."""
        return {k: SeriesState(seq, date.fromordinal(day)) for k, (seq, day) in self.series.items()}


class Accounts:
    """Each direct client's running balance per currency (live documents of the issuer only),
    and its revenue totals (excl. VAT, VAT, incl. VAT, credit notes negative) for its view."""

    name = "accounts"

    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], Account] = {}
        self._of_client: dict[str, dict[str, Account]] = {}  # the same accounts, by client then currency
        self.revenue: dict[str, dict[str, list[int]]] = {}  # client -> currency -> [excl, vat, incl]
        self.last_currency: dict[str, str] = {}  # client -> currency of its latest document

    def get(self, client: str, currency: str) -> Account | None:
        """The account of a client in a currency, or None."""
        return self._accounts.get((client, currency))

    def account(self, client: str, currency: str) -> Account:
        """The account of a client in a currency, created empty when new."""
        key = (client, currency)
        found = self._accounts.get(key)
        if found is None:
            found = Account(client, currency, -minor_exponent(currency).as_tuple().exponent)
            self._add(found)
        return found

    def _add(self, account: Account) -> None:
        self._accounts[(account.client, account.currency)] = account
        self._of_client.setdefault(account.client, {})[account.currency] = account

    def pairs(self) -> list[tuple[str, str]]:
        """Every (client, currency) with an account, sorted."""
        return sorted(self._accounts)

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, PaymentRecorded):
            self.account(ev.client, ev.currency).add_payment(
                ev.date, ev.amount, [(a.number, a.amount) for a in ev.allocation], ev.unallocated)
        elif isinstance(ev, DocumentIssued) and ev.direct_live:
            account = self.account(ev.client, ev.currency)
            if ev.is_credit_note:
                account.add_credit(ev.date, ev.refers_to or "", ev.total_incl_vat)
            else:
                account.add_invoice(ev.number, ev.date, ev.due_date, ev.total_incl_vat)
            sign = -1 if ev.is_credit_note else 1
            totals = self.revenue.setdefault(ev.client, {}).setdefault(ev.currency, [0, 0, 0])
            for i, amount in enumerate((ev.total_excl_vat, ev.total_vat, ev.total_incl_vat)):
                totals[i] += sign * to_minor(amount, account.exponent)
            self.last_currency[ev.client] = ev.currency

    def of_client(self, client: str) -> list[Account]:
        """The client's accounts, by currency (1,000 clients' views no longer sort 1,000 accounts each)."""
        return [a for _, a in sorted(self._of_client.get(client, {}).items())]

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        rows = [(a.client, a.currency, a.exponent, pack_rows(a.invoices), a.invoiced, a.credited, a.paid,
                 a.unallocated, a.orphan, a.credit_dates, a.last_day, a.open_by_due, a.excess, a.invoiced_on)
                for a in self._accounts.values()]
        return rows, self.revenue, self.last_currency

    @classmethod
    def load(cls, data: Any) -> Accounts:
        """The section from its checkpoint containers (the rows stay packed until used: `PackedRows`)."""
        section = cls()
        rows, section.revenue, section.last_currency = data
        for row in rows:
            if len(row) != 14:
                raise ValueError("an account of another shape")
            invoices = row[3] if isinstance(row[3], dict) else PackedRows(row[3])
            section._add(Account(*row[:3], invoices, *row[4:]))
        return section


def pack_rows(invoices: dict[str, list[int]]) -> Any:
    """An account's invoice rows for the checkpoint: the numbers joined by NUL and five
    columns of int64 as bytes (a third faster to load than the dict of lists: 0.2 s, not
    0.33 s, for 250,000 rows). Numbers are validated text, never NUL; if one were, or a sum
    outgrew int64, the dict is kept as it is."""
    if isinstance(invoices, PackedRows) and (packed := invoices.packed()) is not None:
        return packed  # never unpacked, nothing asked for: as it was loaded
    try:
        if not invoices or any("\0" in number or not number for number in invoices):
            return invoices
        columns = [array("q", (row[k] for row in invoices.values())).tobytes() for k in range(5)]
    except OverflowError:
        return invoices
    return "\0".join(invoices), columns


class PackedRows(dict):  # type: ignore[type-arg]
    """An account's invoice rows as checkpointed (`pack_rows`), unpacked only when all are needed.

    A dict whose own entries are the rows already asked for by number, or added: looking a
    number up reads its row from the columns (and keeps it, so that changing it sticks).
    Anything that walks the rows (iteration, `len`, `items`, `values`, `pop`, copies...)
    first unpacks every row in account order, and from then on it is a plain dict. Catching
    up a few facts (a payment, an invoice) costs a few lookups instead of unpacking 250,000
    rows, and `balances`, which reads only the aggregates, reads no row at all.
    """

    __slots__ = ("_added", "_columns", "_count", "_joined", "_raw", "_sentinel")

    def __init__(self, packed: tuple[str, list[bytes]]) -> None:
        super().__init__()
        self._joined: str | None = packed[0]
        self._raw: list[bytes] | None = packed[1]
        self._columns: list[array[int]] | None = None
        self._sentinel: str | None = None
        self._count = packed[0].count("\0") + 1  # rows in the columns
        self._added: list[str] = []  # numbers added since, not in the columns, in order

    # -- reading rows from the columns ----------------------------------------------------

    @property
    def is_packed(self) -> bool:
        """Not unpacked yet: lookups and `rows_due` read the columns."""
        return self._raw is not None

    @property
    def pristine(self) -> bool:
        """Still packed, and no row asked for or added: the columns are the rows."""
        return self._raw is not None and dict.__len__(self) == 0

    def packed(self) -> tuple[str, list[bytes]] | None:
        """The checkpointed form, when nothing was asked for or added since (`pristine`)."""
        if not self.pristine or self._joined is None or self._raw is None:
            return None
        return self._joined, self._raw

    def columns(self) -> list[array[int]]:
        """The five int64 columns (issued, due, total, credited, allocated), account order."""
        if self._columns is None:
            self._columns = []
            for blob in self._raw or []:
                column = array("q")
                column.frombytes(blob)
                self._columns.append(column)
        return self._columns

    def numbers(self) -> list[str]:
        """The invoice numbers, account order (while packed)."""
        return self._joined.split("\0") if self._joined is not None else []

    def _index(self, number: str) -> int | None:
        """The position of a number in the columns (a search in the joined numbers: a few
        lookups cost less than splitting 250,000 of them into a dict)."""
        if "\0" in number:
            return None
        if self._sentinel is None:
            self._sentinel = "\0" + (self._joined or "") + "\0"
        at = self._sentinel.find("\0" + number + "\0")
        return None if at < 0 else self._sentinel.count("\0", 0, at)

    def _fetch(self, number: str) -> list[int] | None:
        if self._raw is None:
            return None
        i = self._index(number)
        if i is None:
            return None
        row = [column[i] for column in self.columns()]
        dict.__setitem__(self, number, row)
        return row

    def __getitem__(self, number: str) -> list[int]:
        try:
            return dict.__getitem__(self, number)
        except KeyError:
            row = self._fetch(number)
            if row is None:
                raise
            return row

    def get(self, number: str, default: Any = None) -> Any:
        """The row of a number, read from the columns if need be."""
        found = dict.get(self, number)
        if found is None:
            found = self._fetch(number)
        return default if found is None else found

    def __contains__(self, number: object) -> bool:
        return dict.__contains__(self, number) or (
            isinstance(number, str) and self._raw is not None and self._index(number) is not None)

    def __setitem__(self, number: str, row: list[int]) -> None:
        if self._raw is not None and not dict.__contains__(self, number) and self._index(number) is None:
            self._added.append(number)
        dict.__setitem__(self, number, row)

    # -- questions answered without unpacking (`core.accounts.rows_due`, `rows_from`) -------

    def _row(self, i: int, number: str, columns: list[array[int]]) -> list[int]:
        found = dict.get(self, number)
        return found if found is not None else [column[i] for column in columns]

    def rows_due(self, keep: Callable[[int], bool]) -> list[tuple[int, str, list[int]]]:
        """(position, number, row) of the rows whose due date `keep` accepts, account order.
        Rows read from the columns are not kept: they are for reading."""
        if self._raw is None:
            return [(i, n, row) for i, (n, row) in enumerate(dict.items(self)) if keep(row[1])]
        columns = self.columns()
        at = [i for i, due in enumerate(columns[1]) if keep(due)]
        names = self.numbers() if at or dict.__len__(self) else []
        out = {i: (i, names[i], self._row(i, names[i], columns)) for i in at}
        for number, row in dict.items(self):  # rows asked for or added: their own due date
            i = self.position(number)
            if i is not None and i not in out and keep(row[1]):
                out[i] = (i, number, row)
            elif i in out and not keep(row[1]):
                del out[i]
        return [out[i] for i in sorted(out)]

    def rows_from(self, start: int) -> list[tuple[str, list[int]]]:
        """(number, row) of the rows at positions `start` and after, account order (for reading)."""
        if self._raw is None:
            return list(islice(dict.items(self), start, None))
        out = []
        if start < self._count:
            columns = self.columns()
            names = self.numbers()
            out = [(names[i], self._row(i, names[i], columns)) for i in range(start, self._count)]
        return out + [(n, dict.__getitem__(self, n)) for n in self._added[max(0, start - self._count):]]

    def position(self, number: str) -> int | None:
        """Where a number is in account order, or None."""
        if self._raw is None:
            return next((i for i, n in enumerate(dict.__iter__(self)) if n == number), None)
        i = self._index(number)
        if i is None and number in self._added:
            i = self._count + self._added.index(number)
        return i

    # -- everything else sees every row ---------------------------------------------------

    def unpack(self) -> None:
        """Every row, account order (rows asked for or replaced in their place, added ones after)."""
        if self._raw is None:
            return
        with quiet_gc():
            asked = dict(dict.items(self))
            rows = dict(zip(self.numbers(), map(list, zip(*self.columns(), strict=True)), strict=True))
            for number, row in asked.items():
                rows[number] = row
            dict.clear(self)
            dict.update(self, rows)
        self._joined = self._raw = self._columns = self._sentinel = None
        self._added = []

    def __len__(self) -> int:
        return self._count + len(self._added) if self._raw is not None else dict.__len__(self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def copy(self) -> dict[str, list[int]]:  # type: ignore[override]
        self.unpack()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self.unpack()
        if isinstance(other, PackedRows):
            other.unpack()
        return dict.__eq__(self, other)

    def __copy__(self) -> dict[str, list[int]]:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, list[int]]:
        self.unpack()
        return {number: list(row) for number, row in dict.items(self)}

    def __reduce__(self) -> Any:
        return dict, (self.copy(),)


def _unpacking(name: str) -> Callable[..., Any]:
    """`dict.<name>` after unpacking every row: a method that walks the rows or moves them."""
    method = getattr(dict, name)

    def call(self: PackedRows, *args: Any, **kwargs: Any) -> Any:
        self.unpack()
        return method(self, *args, **kwargs)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"`dict.{name}`, every row unpacked first."
    return call


for _name in ("__iter__", "__reversed__", "__delitem__", "__repr__", "keys", "values", "items", "pop", "popitem",
              "setdefault", "update"):
    setattr(PackedRows, _name, _unpacking(_name))


Offsets = array  # array("q") of journal byte offsets: 8 bytes each instead of a 36-byte int in a list


def new_offsets() -> Offsets:
    """An empty list of offsets."""
    return array("q")


def pack(groups: dict[Any, Offsets]) -> dict[Any, bytes]:
    """Offset arrays as bytes, for the checkpoint (the unpickler refuses array objects)."""
    return {k: v.tobytes() for k, v in groups.items()}


def unpack(groups: dict[Any, bytes]) -> dict[Any, Offsets]:
    """The inverse of `pack`."""
    out = {}
    for k, blob in groups.items():
        out[k] = a = array("q")
        a.frombytes(blob)
    return out


class Index:
    """Where each document and payment is in the journal (line offsets), by owner and year,
    client and day; and each direct client's name. Small to load: offset lists are
    `array("q")` (at 1M entries the index took 300 MB as lists of ints) saved as bytes.
    What is looked up by document number is the `names` section.
    """

    name = "index"

    def __init__(self) -> None:
        self.documents: Offsets = new_offsets()  # every document, journal order
        self.by_owner_year: dict[tuple[str, int], Offsets] = {}  # (client or seller, year)
        self.payments_of: dict[str, Offsets] = {}
        self.payments_by_year: dict[int, Offsets] = {}
        self.payments_on: dict[int, Offsets] = {}  # date ordinal -> payments of that day
        self.client_names: dict[str, str] = {}  # direct client -> name on its latest live document

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            self.documents.append(offset)
            year = ev.date.year
            for owner in {ev.client, ev.seller}:
                self._add(self.by_owner_year, (owner, year), offset)
            if ev.direct_live:
                self.client_names[ev.client] = ev.client_name
        elif isinstance(ev, PaymentRecorded):
            self._add(self.payments_of, ev.client, offset)
            self._add(self.payments_by_year, ev.date.year, offset)
            self._add(self.payments_on, ev.date.toordinal(), offset)

    @staticmethod
    def _add(groups: dict[Any, Offsets], key: Any, offset: int) -> None:
        found = groups.get(key)
        if found is None:
            found = groups[key] = new_offsets()
        found.append(offset)

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return (self.documents.tobytes(), pack(self.by_owner_year), pack(self.payments_of),
                pack(self.payments_by_year), pack(self.payments_on), self.client_names)

    @classmethod
    def load(cls, data: Any) -> Index:
        """The section from its checkpoint containers."""
        index = cls()
        documents, by_owner_year, payments_of, payments_by_year, payments_on, index.client_names = data
        index.documents.frombytes(documents)
        index.by_owner_year, index.payments_of = unpack(by_owner_year), unpack(payments_of)
        index.payments_by_year, index.payments_on = unpack(payments_by_year), unpack(payments_on)
        return index


class Names:
    """Each document number: where its documents are, and which entries name it.

    Its own section (two dicts of every number ever issued, 0.7 s to load at 1M entries),
    loaded only by the commands that look a number up: `show`, `credit`, sends, collections.
    """

    name = "names"

    def __init__(self) -> None:
        self.by_number: dict[str, int] = {}  # the first document with each number
        self.same_number: dict[str, list[int]] = {}  # later documents reusing a number (other sellers)
        # number -> the first entry naming it (not its own); later ones in more_mentions
        self.first_mention: dict[str, int] = {}
        self.more_mentions: dict[str, list[int]] = {}

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            if self.by_number.setdefault(ev.number, offset) != offset:
                self.same_number.setdefault(ev.number, []).append(offset)
            if ev.refers_to:
                self._mention(ev.refers_to, offset)
        elif isinstance(ev, PaymentRecorded):
            for number in dict.fromkeys(a.number for a in ev.allocation):
                self._mention(number, offset)
        elif isinstance(ev, DeliveryEvent) and ev.number is not None:
            self._mention(ev.number, offset)

    def _mention(self, number: str, offset: int) -> None:
        if self.first_mention.setdefault(number, offset) != offset:
            self.more_mentions.setdefault(number, []).append(offset)

    def mentions(self, number: str) -> list[int]:
        """Offsets of the entries naming a document other than its own (sends, payments, credits)."""
        first = self.first_mention.get(number)
        return [] if first is None else [first, *self.more_mentions.get(number, ())]

    def documents_named(self, number: str) -> list[int]:
        """Offsets of every document with this number (several sellers may share one)."""
        first = self.by_number.get(number)
        if first is None:
            return []
        return [first, *self.same_number.get(number, ())]

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return self.by_number, self.same_number, self.first_mention, self.more_mentions

    @classmethod
    def load(cls, data: Any) -> Names:
        """The section from its checkpoint containers."""
        names = cls()
        names.by_number, names.same_number, names.first_mention, names.more_mentions = data
        return names


def previous_month(period: str) -> str:
    """'YYYY-MM' of the month before `period`."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


# An aggregate in the checkpoint: [sum, count, max, latest date, latest, distinct keys]
# (quantities in integer units of 1/10,000, see core.usage).
SUM, COUNT, MAX, LATEST_DAY, LATEST, KEYS = range(6)


class Usage:
    """Usage aggregated per client, metric and month; months billed; pending one-off charges.

    An issuer's monthly invoice for period P bills the usage of the month before P: when it
    is journalled, every month up to that one is marked billed, with the figures it had
    (`billed`). Usage recorded later for such a month goes on the next invoice as a
    correction (current figures minus billed ones). The invoice also bills every charge
    journalled before it. Duplicate ids never reach the journal (`UsageIds`, checked under
    the lock before writing), so every record here counts.
    """

    name = "usage"

    def __init__(self) -> None:
        # client -> (metric, "YYYY-MM") -> [sum, count, max, latest day, latest, keys]
        self.aggregates: dict[str, dict[tuple[str, str], list[Any]]] = {}
        # client -> (metric, month) -> (sum, count, max, latest, distinct) when last billed
        self.billed: dict[str, dict[tuple[str, str], tuple[int, int, int, int, int]]] = {}
        self.billed_through: dict[str, tuple[str, str]] = {}  # client -> (last month billed, number)
        # client -> charges not invoiced yet: (seq, amount, currency, description, date, vat_rate)
        self.charges: dict[str, list[tuple[int, str, str, str, str, str | None]]] = {}

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, UsageRecorded):
            self._records(ev.rows)
        elif isinstance(ev, ChargeAdded):
            self.charges.setdefault(ev.client, []).append(
                (ev.seq, str(ev.amount), ev.currency, ev.description, ev.date.isoformat(),
                 None if ev.vat_rate is None else str(ev.vat_rate)))
        elif (isinstance(ev, DocumentIssued) and ev.type == T.INVOICE_ISSUED and ev.seller == "issuer"
              and ev.period):
            self._billed(ev.client, previous_month(ev.period), ev.number)
            self.charges.pop(ev.client, None)

    def _records(self, rows: tuple[list[Any], ...]) -> None:
        from facturier.core.usage import to_units  # pure and light; kept local to the hot loop

        aggregates = self.aggregates
        for row in rows:
            client, metric, day = row[1], row[2], row[4]
            per_client = aggregates.get(client)
            if per_client is None:
                per_client = aggregates[client] = {}
            key = (metric, day[:7])
            agg = per_client.get(key)
            if agg is None:
                agg = per_client[key] = [0, 0, 0, "", 0, None]
            units = to_units(row[3])
            agg[SUM] += units
            agg[COUNT] += 1
            if units > agg[MAX]:
                agg[MAX] = units
            if day >= agg[LATEST_DAY]:
                agg[LATEST_DAY], agg[LATEST] = day, units
            if len(row) > 5 and row[5] is not None:
                if agg[KEYS] is None:
                    agg[KEYS] = set()
                agg[KEYS].add(row[5])

    def _billed(self, client: str, through: str, number: str) -> None:
        billed = self.billed.setdefault(client, {})
        for key, agg in self.aggregates.get(client, {}).items():
            if key[1] <= through:
                billed[key] = figures(agg)
        last = self.billed_through.get(client)
        if last is None or through >= last[0]:
            self.billed_through[client] = (through, number)

    def invoiced_by(self, client: str, month: str) -> str | None:
        """The number of the invoice that already billed `month`'s usage, or None."""
        through = self.billed_through.get(client)
        return through[1] if through is not None and month <= through[0] else None

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return (self.aggregates, self.billed, self.billed_through, self.charges)

    @classmethod
    def load(cls, data: Any) -> Usage:
        """The section from its checkpoint containers."""
        usage = cls()
        usage.aggregates, usage.billed, usage.billed_through, usage.charges = data
        return usage


def figures(agg: list[Any]) -> tuple[int, int, int, int, int]:
    """(sum, count, max, latest, distinct keys) of an aggregate."""
    return (agg[SUM], agg[COUNT], agg[MAX], agg[LATEST], len(agg[KEYS]) if agg[KEYS] else 0)


class UsageIds:
    """The id of every usage record ever journalled: a duplicate is never counted again.

    Its own section, so that only the commands that record usage load it.
    """

    name = "usage_ids"

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, UsageRecorded):
            self.ids.update(row[0] for row in ev.rows)

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return self.ids

    @classmethod
    def load(cls, data: Any) -> UsageIds:
        """The section from its checkpoint containers."""
        section = cls()
        section.ids = data
        return section


class Collections:
    """Reminders, disputes and promises of each invoice (issue 11), and the invoice emails'
    Message-IDs that reminders answer.

    `drafted[number]` is the last stage drafted and its run day (ordinal); `in_flight[number]`
    a `reminder.drafting` without its outcome: (offset, stage, day ordinal, message_id).
    A `reminder.draft_failed` clears the flight and leaves `drafted` as it was.
    """

    name = "collections"

    def __init__(self) -> None:
        self.drafted: dict[str, tuple[int, int]] = {}  # number -> (stage, day ordinal)
        self.in_flight: dict[str, tuple[int, int, int, str]] = {}
        self.history: list[int] = []  # offsets of every reminder.drafted, journal order
        self.mentions: dict[str, list[int]] = {}  # number -> offsets of its collections entries
        self.disputed: dict[str, int] = {}  # number -> offset of its open invoice.disputed
        self.promised: dict[str, int] = {}  # number -> promised date (ordinal), the latest promise
        self.sent_ids: dict[str, str] = {}  # number -> Message-ID of its invoice.sent

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, ReminderEvent):
            self._reminder(ev, offset)
        elif isinstance(ev, DisputeEvent):
            self.mentions.setdefault(ev.number, []).append(offset)
            if ev.type == T.INVOICE_DISPUTED:
                self.disputed[ev.number] = offset
            else:
                self.disputed.pop(ev.number, None)
        elif isinstance(ev, PromiseEvent):
            self.mentions.setdefault(ev.number, []).append(offset)
            self.promised[ev.number] = ev.until.toordinal()
        elif isinstance(ev, DeliveryEvent) and ev.type == T.INVOICE_SENT and ev.number is not None:
            self.sent_ids[ev.number] = ev.message_id

    def _reminder(self, ev: ReminderEvent, offset: int) -> None:
        self.mentions.setdefault(ev.number, []).append(offset)
        if ev.type == T.REMINDER_DRAFTING:
            self.in_flight[ev.number] = (offset, ev.stage, ev.date.toordinal(), ev.message_id)
            return
        self.in_flight.pop(ev.number, None)
        if ev.type == T.REMINDER_DRAFTED:
            self.history.append(offset)
            stage, _ = self.drafted.get(ev.number, (0, 0))
            self.drafted[ev.number] = (max(stage, ev.stage), ev.date.toordinal())

    def last(self, number: str) -> tuple[int | None, date | None]:
        """The last stage drafted (or in flight) for an invoice and the day it was."""
        stage, day = self.drafted.get(number, (0, 0))
        flight = self.in_flight.get(number)
        if flight is not None and flight[1] >= stage:
            stage, day = flight[1], max(day, flight[2])
        return (stage or None), (date.fromordinal(day) if day else None)

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return (self.drafted, self.in_flight, self.history, self.mentions, self.disputed, self.promised,
                self.sent_ids)

    @classmethod
    def load(cls, data: Any) -> Collections:
        """The section from its checkpoint containers."""
        section = cls()
        (section.drafted, section.in_flight, section.history, section.mentions, section.disputed,
         section.promised, section.sent_ids) = data
        return section


class Links:
    """The payment links of reminders: per invoice, each link made for an amount due, and
    whether it is still active (a link is reused for the same amount, deactivated once paid)."""

    name = "links"

    def __init__(self) -> None:
        # number -> [amount, currency, provider, link_id, url, active]
        self.links: dict[str, list[list[Any]]] = {}

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if not isinstance(ev, PaymentLinkEvent):
            return
        if ev.type == T.PAYMENT_LINK_CREATED:
            self.links.setdefault(ev.number, []).append([ev.amount, ev.currency, ev.provider, ev.link_id, ev.url, True])
            return
        for link in self.links.get(ev.number, []):
            if link[3] == ev.link_id and link[2] == ev.provider:
                link[5] = False

    def active(self, number: str) -> list[tuple[str, str, str, str, str]]:
        """The invoice's active links: (amount, currency, provider, link_id, url)."""
        return [(a, c, p, i, u) for a, c, p, i, u, on in self.links.get(number, []) if on]

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return self.links

    @classmethod
    def load(cls, data: Any) -> Links:
        """The section from its checkpoint containers."""
        section = cls()
        section.links = data
        return section


class GmailThreads:
    """The Gmail conversation of every email sent through Gmail, by its Message-ID: what a
    Gmail draft answering it needs (thread id, and the subject Gmail threads by)."""

    name = "gmail"

    def __init__(self) -> None:
        self.threads: dict[str, tuple[str, str]] = {}  # Message-ID -> (thread id, subject)

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DeliveryEvent) and ev.gmail_thread_id and ev.type in (T.INVOICE_SENT, T.BATCH_DELIVERED):
            self.threads[ev.message_id] = (ev.gmail_thread_id, ev.gmail_subject)

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return self.threads

    @classmethod
    def load(cls, data: Any) -> GmailThreads:
        """The section from its checkpoint containers."""
        section = cls()
        section.threads = data
        return section


class Reports:
    """What `report` and `export fec` read, kept small so they load fast on a long journal.

    Amounts are integers in the currency's minor unit, per day (date ordinal), of the
    issuer's live documents (credit notes negative) and of payments: `sales` (incl. VAT per
    currency), `sales_excl` and `sales_vat` (per currency and year), `received` (per
    currency), `flows` (per client and currency: documents minus payments, what moves its
    balance). Also the offsets of the issuer's live documents and of payments per year, of
    `reminder.drafted` entries, and the live invoices of each batch seller per month.
    `reminder.drafted` is matched on the entry type, whatever record it parses into.
    """

    name = "reports"

    def __init__(self) -> None:
        self.sales: dict[str, dict[int, int]] = {}
        self.sales_excl: dict[tuple[str, int], int] = {}
        self.sales_vat: dict[tuple[str, int], int] = {}
        self.received: dict[str, dict[int, int]] = {}
        self.flows: dict[tuple[str, str], dict[int, int]] = {}
        self.documents: dict[int, list[int]] = {}
        self.payments: dict[int, list[int]] = {}
        self.reminders: list[int] = []
        self.batch: dict[tuple[str, int, int], int] = {}  # (seller, year, month) -> live invoices
        self.names: dict[str, str] = {}  # direct client -> name on its latest live document

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        if isinstance(ev, DocumentIssued):
            if ev.direct_live:
                self._document(ev, offset)
            elif ev.seller != "issuer" and ev.mode == "live" and ev.type == T.INVOICE_ISSUED:
                key = (ev.seller, ev.date.year, ev.date.month)
                self.batch[key] = self.batch.get(key, 0) + 1
        elif isinstance(ev, PaymentRecorded):
            amount = _minor(ev.amount, ev.currency)
            day = ev.date.toordinal()
            _add(self.received.setdefault(ev.currency, {}), day, amount)
            _add(self.flows.setdefault((ev.client, ev.currency), {}), day, -amount)
            self.payments.setdefault(ev.date.year, []).append(offset)
        elif ev.type == T.REMINDER_DRAFTED:
            self.reminders.append(offset)

    def _document(self, ev: DocumentIssued, offset: int) -> None:
        sign = -1 if ev.is_credit_note else 1
        day, year = ev.date.toordinal(), ev.date.year
        incl = sign * _minor(ev.total_incl_vat, ev.currency)
        _add(self.sales.setdefault(ev.currency, {}), day, incl)
        _add(self.flows.setdefault((ev.client, ev.currency), {}), day, incl)
        _add(self.sales_excl, (ev.currency, year), sign * _minor(ev.total_excl_vat, ev.currency))
        _add(self.sales_vat, (ev.currency, year), sign * _minor(ev.total_vat, ev.currency))
        self.documents.setdefault(year, []).append(offset)
        self.names[ev.client] = ev.client_name

    def dump(self) -> Any:
        """Plain containers for the checkpoint."""
        return (self.sales, self.sales_excl, self.sales_vat, self.received, self.flows, self.documents,
                self.payments, self.reminders, self.batch, self.names)

    @classmethod
    def load(cls, data: Any) -> Reports:
        """The section from its checkpoint containers."""
        section = cls()
        (section.sales, section.sales_excl, section.sales_vat, section.received, section.flows,
         section.documents, section.payments, section.reminders, section.batch, section.names) = data
        return section


def _minor(amount: Decimal, currency: str) -> int:
    return to_minor(amount, -minor_exponent(currency).as_tuple().exponent)  # type: ignore[operator]


def _add(table: dict[Any, int], key: Any, value: int) -> None:
    table[key] = table.get(key, 0) + value


Section = Core | Accounts | Index | Usage | UsageIds | Collections | Links | GmailThreads | Reports
SECTIONS: dict[str, type[Section]] = {
    "core": Core, "accounts": Accounts, "index": Index, "names": Names, "usage": Usage, "usage_ids": UsageIds,
    "collections": Collections, "links": Links, "gmail": GmailThreads, "reports": Reports}


class _PlainUnpickler(pickle.Unpickler):
    """Refuses every class: a checkpoint holds only ints, strings, tuples, lists, dicts, sets."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}")


def prefix_hasher(path: Path, offset: int, start: Any = None) -> Any:
    """xxh3-128 over the journal's first `offset` bytes (0.08 s for 450 MB on this machine),
    continuing `start` = (its offset, a hasher) when given. Read 1 MiB at a time: a buffer
    that stays in the CPU cache (16 MiB reads took 0.2 s, most of it faulting fresh pages).

    A change detector, not a proof: SHA-256 over the chain (`facturier verify`) is the proof.
    """
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
    """Pause the cyclic GC while long-lived acyclic containers are built, then freeze them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class StateError(Exception):
    """A checkpoint that cannot be used (the state is then rebuilt from the journal)."""


@dataclass
class LoadedSection:
    section: Section
    saved: Stamp  # the position of its checkpoint file (GENESIS when none was usable)
    at: Stamp  # the position it is applied up to


class LedgerState:
    """The sections of the state, loaded on first use and kept current with the journal.

    `position` is where the journal ends (after the last complete entry the state knows);
    sections loaded lazily catch up to it by parsing only the lines after their stamps.
    """

    def __init__(self, journal: Path, state_dir: Path, position: Stamp,
                 notice: Callable[[str], None] | None = None) -> None:
        self.journal = journal
        self.dir = state_dir
        self.position = position
        self._loaded: dict[str, LoadedSection] = {}
        self._notice = notice or (lambda _: None)
        self._reader: io.BufferedReader | None = None
        self._anchor: Stamp | None = None  # the position the anchor file names
        self._prefix: tuple[int, Any] | None = None  # (offset, xxh3 of the journal before it)

    # -- sections ---------------------------------------------------------------------------

    @property
    def core(self) -> Core:
        """Numbers, months, deliveries, batch files, bank ids."""
        return self._section("core")  # type: ignore[return-value]

    @property
    def accounts(self) -> Accounts:
        """Running balances of the direct clients."""
        return self._section("accounts")  # type: ignore[return-value]

    @property
    def index(self) -> Index:
        """Where documents and payments are in the journal."""
        return self._section("index")  # type: ignore[return-value]

    @property
    def names(self) -> Names:
        """Where each document number is, and the entries naming it."""
        return self._section("names")  # type: ignore[return-value]

    @property
    def usage(self) -> Usage:
        """Usage aggregates, months billed, pending charges."""
        return self._section("usage")  # type: ignore[return-value]

    @property
    def usage_ids(self) -> UsageIds:
        """Every usage record id ever journalled."""
        return self._section("usage_ids")  # type: ignore[return-value]

    @property
    def collections(self) -> Collections:
        """Reminders, disputes, promises, and the Message-IDs of invoice emails."""
        return self._section("collections")  # type: ignore[return-value]

    @property
    def gmail(self) -> GmailThreads:
        """Gmail thread of each email sent through Gmail, by Message-ID."""
        return self._section("gmail")  # type: ignore[return-value]

    @property
    def links(self) -> Links:
        """Reminders' payment links, by invoice."""
        return self._section("links")  # type: ignore[return-value]

    @property
    def reports(self) -> Reports:
        """Daily sums and offsets by year, for `report` and `export fec`."""
        return self._section("reports")  # type: ignore[return-value]

    def _section(self, name: str) -> Section:
        loaded = self._loaded.get(name)
        if loaded is not None and loaded.at == self.position:
            return loaded.section
        # A section is hundreds of thousands of acyclic containers that live until the
        # command ends: the cyclic GC traversing them while they are built made loading
        # 3x slower (measured on the 1M-entry bench), so it is paused, then they are frozen.
        with quiet_gc():
            if loaded is None:
                loaded = self._load_section(name)
                self._loaded[name] = loaded
            if loaded.at != self.position:
                self._catch_up(loaded)
        return loaded.section

    def _load_section(self, name: str) -> LoadedSection:
        path = self.dir / f"{name}.pickle"
        if path.exists():
            try:
                stamp, data = self._read_checkpoint(path, name)
                section = SECTIONS[name].load(data)
                return LoadedSection(section, stamp, stamp)
            except (StateError, OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                    AttributeError, IndexError, KeyError) as exc:
                self._notice(f"state checkpoint data/state/{name}.pickle not used ({exc}); "
                             "rebuilding it from the journal")
        return LoadedSection(SECTIONS[name](), GENESIS_STAMP, GENESIS_STAMP)

    def _read_checkpoint(self, path: Path, name: str) -> tuple[Stamp, Any]:
        with open(path, "rb") as fh:
            payload = _PlainUnpickler(fh).load()
        if not (isinstance(payload, tuple) and len(payload) == 4 and payload[0] == STATE_VERSION):
            raise StateError("written by another version")
        _, (seq, offset, digest_hash), checksum, blob = payload
        stamp = Stamp(seq, offset, digest_hash)
        if offset > self.position.offset:
            raise StateError("it is ahead of the journal")
        if stamp != GENESIS_STAMP and self._hash_at(offset) != (seq, digest_hash):
            raise StateError(f"it does not match the journal at entry {seq}")
        # The section's own bytes are checksummed: a changed byte inside them could
        # otherwise still unpickle, as a wrong figure (2 ms for 18 MB).
        if not isinstance(blob, bytes) or xxhash.xxh3_128_hexdigest(blob) != checksum:
            raise StateError("its content is damaged")
        return stamp, _PlainUnpickler(io.BytesIO(blob)).load()

    def hash_at(self, end: int) -> str | None:
        """The hash of the journal entry ending at byte `end`, or None (no entry ends there)."""
        found = self._hash_at(end) if end > 0 else (0, GENESIS_STAMP.hash)
        return None if found is None else found[1]

    def _hash_at(self, end: int) -> tuple[int, str] | None:
        """(seq, hash) of the journal line ending at byte `end`."""
        size = 65536
        with open(self.journal, "rb") as fh:
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
        line = window[cut + 1:]
        try:
            entry = orjson.loads(line)
            return int(entry["seq"]), str(entry["hash"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def _catch_up(self, loaded: LoadedSection) -> None:
        """Apply the lines after the section's stamp (already chain-checked by whoever opened)."""
        with open(self.journal, "rb") as fh:
            fh.seek(loaded.at.offset)
            data = fh.read(self.position.offset - loaded.at.offset)
        offset = loaded.at.offset
        apply = loaded.section.apply
        for raw in data.splitlines(keepends=True):
            apply(parse_event(orjson.loads(raw)), offset)
            offset += len(raw)
        loaded.at = self.position

    def checkpoint_stamp(self) -> Stamp | None:
        """The anchor of the checkpoint if it matches the journal; its stamp, or None to rebuild.

        `data/state/anchor.pickle` names the journal position (seq, offset, hash) of the last
        save and the xxh3 digest of every byte before it: a match proves the journal's prefix
        unchanged (the chain after it is checked by the caller), so each section file is then
        trusted once its own stamp names an entry of that journal. No section is loaded here:
        `pay` never reads the numbering, `balances` never reads the index.
        """
        path = self.dir / "anchor.pickle"
        if not path.exists():
            return None
        try:
            with open(path, "rb") as fh:
                payload = _PlainUnpickler(fh).load()
            if not (isinstance(payload, tuple) and len(payload) == 3 and payload[0] == STATE_VERSION):
                raise StateError("written by another version")
            _, (seq, offset, digest_hash), digest = payload
            stamp = Stamp(int(seq), int(offset), str(digest_hash))
            if offset > self.position.offset:
                raise StateError("it is ahead of the journal")
            if stamp != GENESIS_STAMP and self._hash_at(offset) != (seq, digest_hash):
                raise StateError(f"it does not match the journal at entry {seq}")
            hasher = prefix_hasher(self.journal, offset)
            if digest != hasher.hexdigest():
                raise StateError(f"the journal changed before entry {seq}")
            self._prefix = (offset, hasher)
            self._anchor = stamp
            return stamp
        except (StateError, OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, IndexError, KeyError) as exc:
            self._notice(f"state checkpoint data/state/anchor.pickle not used ({exc}); "
                         "rebuilding the state from the journal")
            return None

    def begin(self, stamp: Stamp | None) -> None:
        """Start applying entries after `stamp` (the core checkpoint), or from scratch (None)."""
        if stamp is None:
            for name, kind in SECTIONS.items():
                self._loaded[name] = LoadedSection(kind(), GENESIS_STAMP, GENESIS_STAMP)
            self.position = GENESIS_STAMP
        else:
            self.position = stamp

    def apply(self, entry: dict[str, Any], offset: int, length: int) -> Event:
        """An entry at `offset` (checked or just written): apply it to every loaded section."""
        ev = parse_event(entry)
        for loaded in self._loaded.values():
            loaded.section.apply(ev, offset)
        self.position = Stamp(int(entry["seq"]), offset + length, str(entry["hash"]))
        for loaded in self._loaded.values():
            loaded.at = self.position
        return ev

    # -- reading entries back ---------------------------------------------------------------

    def event_at(self, offset: int) -> Event:
        """The typed event of the journal line at `offset`."""
        return parse_event(self.entry_at(offset))

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
        """The raw entries at these offsets (best ascending), read in large sequential blocks.

        One seek and readline per entry cost 14 us; reading the span in blocks and cutting
        the lines out costs the parse alone.
        """
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

    def entries_since(self, offset: int, marker: bytes = b"") -> Iterator[dict[str, Any]]:
        """The raw entries from byte `offset` to the end the state knows, those whose line holds
        `marker` (a cheap pre-filter; the caller still checks the parsed entry).

        What a view appends after its last write: the few lines since, without the index.
        """
        with open(self.journal, "rb") as fh:
            fh.seek(offset)
            data = fh.read(max(0, self.position.offset - offset))
        for raw in data.splitlines():
            if marker in raw:
                yield orjson.loads(raw)

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
        offset = self.names.by_number.get(number)
        return None if offset is None else self.documents([offset])[0]

    def document_entry(self, number: str) -> dict[str, Any] | None:
        """The raw journal entry of the first document with this number, or None."""
        offset = self.names.by_number.get(number)
        return None if offset is None else self.entry_at(offset)

    def entries_naming(self, number: str) -> list[dict[str, Any]]:
        """The raw entries that name a document: its own, its sends, payments and credit notes."""
        offsets = self.names.mentions(number)
        own = self.names.by_number.get(number)
        if own is not None:
            offsets.append(own)
        return self.entries_at(sorted(set(offsets)))

    def documents_of(self, owner: str, year: int | None = None) -> list[DocumentIssued]:
        """Documents whose client or seller is `owner` (in a year), journal order."""
        keys = sorted(k for k in self.index.by_owner_year if k[0] == owner and (year is None or k[1] == year))
        offsets = sorted(o for k in keys for o in self.index.by_owner_year[k])
        return self.documents(offsets)

    def all_documents(self) -> list[DocumentIssued]:
        """Every document, journal order."""
        return self.documents(self.index.documents)

    def named_files(self) -> dict[str, str]:
        """Every file the journal names (relative path -> SHA-256), later entries winning.

        Reads the entries that name files (documents, accepted batch files); used only to
        recover staged files after a crash, so its cost does not weigh on normal commands.
        """
        offsets = list(self.index.documents)
        offsets += [o for files in self.core.batches.values() for o in files.accepted.values()]
        named: dict[str, str] = {}
        for offset in sorted(offsets):
            for item in self.entry_at(offset).get("files", {}).values():
                named[item["path"]] = item["sha256"]
        return named

    def close(self) -> None:
        """Close the journal reader."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- checkpoint -------------------------------------------------------------------------

    def save(self, force: bool = False) -> None:
        """Write the checkpoint of every loaded section that lags its file (or all, `force`),
        and the anchor at the current position.

        A section is saved again once it lags by SAVE_LAG entries (or SAVE_LAG_BYTES): until
        then catching up costs little, and re-pickling it after every command cost seconds.
        """
        ensure_dir(self.dir)
        stamp = (self.position.seq, self.position.offset, self.position.hash)
        for name, loaded in self._loaded.items():
            behind = self.position.seq - loaded.saved.seq
            if not force and behind == 0:
                continue
            if (not force and loaded.saved.seq and behind < SAVE_LAG
                    and self.position.offset - loaded.saved.offset < SAVE_LAG_BYTES):
                continue
            blob = pickle.dumps(loaded.section.dump(), protocol=5)
            payload = (STATE_VERSION, stamp, xxhash.xxh3_128_hexdigest(blob), blob)
            # Not fsynced: a checkpoint lost in a crash is only rebuilt.
            atomic_write(self.dir / f"{name}.pickle", pickle.dumps(payload, protocol=5), durable=False)
            loaded.saved = self.position
        if force or self._anchor != self.position:
            self._prefix = (self.position.offset, prefix_hasher(self.journal, self.position.offset, self._prefix))
            digest = self._prefix[1].hexdigest()
            atomic_write(self.dir / "anchor.pickle", pickle.dumps((STATE_VERSION, stamp, digest), protocol=5),
                         durable=False)
            self._anchor = self.position

    def ensure(self, *names: str) -> None:
        """Load (and catch up) these sections now."""
        for name in names:
            self._section(name)
