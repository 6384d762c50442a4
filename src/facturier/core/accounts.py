"""Client accounts kept up to date fact by fact, so a balance costs no journal re-read.

The one balance engine. An `Account` holds, for one client and currency, what a balance
needs, in integer minor units (cents for EUR): each invoice's total and the sums credited to
it and allocated to it, the unallocated payments and what was credited or allocated to
numbers outside the account. Applying a fact is O(1). At a date on or after the account's
latest fact, `balance()` gives exactly what the rules of `core.aging` give over the same
facts (a property test holds it to the plain implementation kept in the tests): the credits
and allocations an invoice can absorb are min(credited, total) then min(allocated, total -
credited) whatever their order, and the excess joins the credit pool. For an earlier date
the state takes the facts dated after it back off the running account (`count_row` and
`change_row` undone, `store.state.Accounts.rewound`), or replays the client's facts dated
up to it into a new account when a number was issued twice (`store.state.Accounts.at`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache

from facturier.core.aging import BUCKETS, ClientBalance, InvoiceStatus, bucket_of, countback_dso
from facturier.core.money import from_minor, minor_digits, to_minor

# invoice number -> [issued ordinal, due ordinal, total, credited sum, allocated sum]
InvoiceRow = list[int]


def minor_units(amount: Decimal, currency: str) -> int:
    """`money.to_minor` (the one conversion), a third of its cost for an amount already at the
    currency's minor unit, as every journalled amount is: scaled, it is its integer part,
    nothing to round. Any other amount goes through `to_minor` and its rounding."""
    scaled = amount.scaleb(minor_digits(currency))
    try:
        whole = int(scaled)
    except (OverflowError, ValueError):  # infinite, NaN: `to_minor` says what is wrong
        return to_minor(amount, currency)
    return whole if whole == scaled and -_PRECISION < whole < _PRECISION else to_minor(amount, currency)


_PRECISION = 10 ** 28  # beyond the decimal context's 28 digits `to_minor` refuses the amount


def status_name(total: int, credited: int, left: int, days_past_due: int) -> str:
    """An invoice's status from its integer sums (the names of `aging.InvoiceStatus`)."""
    if left <= 0:
        return "credited" if credited >= total else "paid"
    if days_past_due > 0:
        return "overdue"
    return "partial" if left < total else "unpaid"


@lru_cache(maxsize=8)
def minor_formatter(exponent: int) -> Callable[[int], str]:
    """Minor units to the plain string of `from_minor` (2000 -> '20.00', -5 -> '-0.05').

    Memoised: the amounts of one client repeat (every invoice of a plan has one total).
    """
    if exponent == 0:
        return str
    scale = 10 ** exponent

    @cache
    def fmt(value: int) -> str:
        units, rest = divmod(abs(value), scale)
        return f"{'-' if value < 0 else ''}{units}.{rest:0{exponent}d}"
    return fmt


@lru_cache(maxsize=1)
def iso_days() -> Callable[[int], str]:
    """Date ordinal to ISO text, memoised (a ledger has few distinct days)."""
    @lru_cache(maxsize=65536)
    def iso(ordinal: int) -> str:
        return date.fromordinal(ordinal).isoformat()
    return iso


def absorbed(row: InvoiceRow) -> tuple[int, int, int, int]:
    """(credited, paid, open, excess) of an invoice row before the credit pool: it absorbs
    min(credited, total) then min(allocated, total - credited); the excess joins the pool."""
    _, _, total, credit_sum, alloc_sum = row
    credited = min(credit_sum, total)
    paid = min(alloc_sum, total - credited)
    return credited, paid, total - credited - paid, credit_sum - credited + alloc_sum - paid


def rows_due(invoices: dict[str, InvoiceRow], keep: Callable[[int], bool]) -> list[tuple[int, str, InvoiceRow]]:
    """(position, number, row) of the invoice rows whose due date `keep` accepts, account order."""
    return [(i, number, row) for i, (number, row) in enumerate(invoices.items()) if keep(row[1])]


@dataclass(slots=True)
class Account:
    """One client's invoices, credits and payments in one currency, as running sums."""

    client: str
    currency: str
    exponent: int
    invoices: dict[str, InvoiceRow] = field(default_factory=dict)
    invoiced: int = 0
    credited: int = 0
    paid: int = 0
    unallocated: int = 0
    orphan: int = 0  # credited or allocated to a number this account does not hold
    credit_dates: list[tuple[int, int]] = field(default_factory=list)  # (issued ordinal, amount)
    last_day: int = 0
    # Running aggregates for a balance without its invoice list (`balance(with_invoices=False)`
    # reads these, not the 250,000 rows): each invoice's open amount before the credit pool,
    # summed by due date; the sum of what invoices were credited or allocated beyond their
    # total (it joins the pool); invoice totals by issue day (for DSO).
    open_by_due: dict[int, int] = field(default_factory=dict)
    excess: int = 0
    invoiced_on: dict[int, int] = field(default_factory=dict)
    # settled() of the facts applied so far, computed once per command (not checkpointed)
    _settled: tuple[dict[str, tuple[int, int, int]], int] | None = field(default=None, repr=False, compare=False)
    _no_pool: bool = field(default=False, repr=False, compare=False)  # _settled had no credit pool to spread

    def add_invoice(self, number: str, issued: date, due: date, total: Decimal) -> None:
        """An issued live invoice."""
        amount = minor_units(total, self.currency)
        replaced = self.invoices.get(number)
        if replaced is not None:  # a number issued twice: the later row stands (as it always did)
            self.count_row(replaced, -1)
        row = self.invoices[number] = [issued.toordinal(), due.toordinal(), amount, 0, 0]
        self.count_row(row, 1)
        self.invoiced += amount
        self._seen(issued)

    def count_row(self, row: InvoiceRow, sign: int) -> None:
        """Add (1) or take out (-1) a row's share of the aggregates."""
        _, _, left, excess = absorbed(row)
        self._add_open(row[1], sign * left)
        self.excess += sign * excess
        self.invoiced_on[row[0]] = self.invoiced_on.get(row[0], 0) + sign * row[2]
        if not self.invoiced_on[row[0]]:
            del self.invoiced_on[row[0]]

    def _add_open(self, due: int, delta: int) -> None:
        if delta:
            value = self.open_by_due.get(due, 0) + delta
            if value:
                self.open_by_due[due] = value
            else:
                del self.open_by_due[due]

    def change_row(self, row: InvoiceRow, column: int, value: int) -> None:
        """Add `value` to a row's credited (3) or allocated (4) sum, keeping the aggregates."""
        _, _, left, excess = absorbed(row)
        row[column] += value
        _, _, new_left, new_excess = absorbed(row)
        self._add_open(row[1], new_left - left)
        self.excess += new_excess - excess

    def add_credit(self, issued: date, refers_to: str, amount: Decimal) -> None:
        """A credit note taking `amount` off the invoice it refers to."""
        value = minor_units(amount, self.currency)
        self.credited += value
        self.credit_dates.append((issued.toordinal(), value))
        row = self.invoices.get(refers_to)
        if row is None:
            self.orphan += value
        else:
            self.change_row(row, 3, value)
        self._seen(issued)

    def add_payment(self, paid_on: date, amount: Decimal, allocation: list[tuple[str, Decimal]],
                    unallocated: Decimal) -> None:
        """A payment and its allocation.

        When the settled amounts are known and had no credit pool to spread, a payment that
        adds none (no unallocated part, nothing beyond an invoice's open amount) patches the
        invoices it names instead of dropping them: `pay` then settles 250,000 invoices once,
        not twice. A property test reads them after every fact.
        """
        self.paid += minor_units(amount, self.currency)
        extra = minor_units(unallocated, self.currency)
        self.unallocated += extra
        touched = []
        for number, part in allocation:
            value = minor_units(part, self.currency)
            row = self.invoices.get(number)
            if row is None:
                self.orphan += value
                extra += value
            else:
                self.change_row(row, 4, value)
                touched.append(number)
        settled = self._settled if self._no_pool and extra == 0 else None
        if settled is not None:
            amounts = settled[0]
            for number in touched:
                credited, paid, left, excess = absorbed(self.invoices[number])
                if excess:
                    break  # this invoice is overpaid: the excess joins the pool
                amounts[number] = (credited, paid, left)
            else:
                self.last_day = max(self.last_day, paid_on.toordinal())
                return
        self._seen(paid_on)

    def _seen(self, day: date) -> None:
        self.last_day = max(self.last_day, day.toordinal())
        self._settled = None

    def covers(self, as_of: date) -> bool:
        """Whether `balance(as_of)` is exact: no fact of the account is dated after `as_of`."""
        return as_of.toordinal() >= self.last_day

    def open_amounts(self) -> tuple[dict[str, tuple[int, int, int]], int]:
        """Each invoice's (credited, paid, open) before the pool, and the credit pool.

        The pool is the aggregate (`pool`: the rows' excess is kept in `excess` fact by fact),
        so an account holding only some rows (`store.state.Accounts.open_reaching`: the open
        rows the pool and a payment reach) spreads the same pool as the whole account."""
        out: dict[str, tuple[int, int, int]] = {}
        for number, row in self.invoices.items():
            total, credit_sum, alloc_sum = row[2], row[3], row[4]
            if credit_sum == 0 and alloc_sum <= total:  # the usual case, without min()
                out[number] = (0, alloc_sum, total - alloc_sum)
                continue
            out[number] = absorbed(row)[:3]
        return out, self.pool

    def reach(self, amount: int) -> int | None:
        """The due day (ordinal) by which the open amounts before the pool, oldest due first,
        add up to `amount` (the last due day with an open amount when they never do; None when
        nothing is open). The pool settles open invoices oldest due first (`_settle`), so the
        invoices due by `reach(pool + x)` hold all the pool settles and the oldest items open
        after it that add up to x: what a payment of x is allocated to."""
        total, cutoff = 0, None
        for due in sorted(self.open_by_due):
            if self.open_by_due[due] <= 0:
                continue
            total += self.open_by_due[due]
            cutoff = due
            if total >= amount:
                break
        return cutoff

    def settled(self) -> tuple[dict[str, tuple[int, int, int]], int]:
        """(credited, paid, open) of every invoice once the credit pool is spent, and the pool left.

        The pool settles open invoices oldest due date first, then by number: the rule of
        `payments.allocate_payment`. Computed once until the next fact is applied.
        """
        if self._settled is None:
            self._settled = self._settle()
        return self._settled

    def _settle(self) -> tuple[dict[str, tuple[int, int, int]], int]:
        amounts, pool = self.open_amounts()
        self._no_pool = pool == 0
        if pool > 0:
            waiting = sorted((self.invoices[n][1], n) for n, (_, _, left) in amounts.items() if left > 0)
            for _, number in waiting:
                if pool <= 0:
                    break
                credited, paid, left = amounts[number]
                part = min(pool, left)
                amounts[number] = (credited, paid + part, left - part)
                pool -= part
        return amounts, pool

    def balance(self, as_of: date, with_invoices: bool = True) -> ClientBalance:
        """The balance at `as_of` (which `covers` must allow), as `aging.client_balance` gives it.

        Without the invoice list, from the aggregates: the open amounts by due date, the pool
        spent on the oldest due dates first (as `settled` spends it on the oldest invoices),
        in as many steps as there are due dates, not invoices.
        """
        if not with_invoices:
            return self._summary(as_of)
        amounts, pool = self.settled()
        day = as_of.toordinal()
        statuses = tuple(self._status(number, issued, due, total, *amounts[number], day)
                         for number, (issued, due, total, _, _) in self.invoices.items())
        opens = [(row[1], amounts[number][2]) for number, row in self.invoices.items()]
        return self._client_balance(as_of, pool, opens, statuses)

    @property
    def pool(self) -> int:
        """The credit pool before it is spent on open invoices: unallocated payments, what was
        credited or allocated to numbers outside the account or beyond an invoice's total.
        Zero, an invoice's figures are its own (`absorbed`): the fast paths read rows alone."""
        return self.unallocated + self.orphan + self.excess

    def _summary(self, as_of: date) -> ClientBalance:
        pool = self.pool
        opens = []
        for due in sorted(self.open_by_due):
            left = self.open_by_due[due]
            if pool > 0 and left > 0:
                part = min(pool, left)
                left -= part
                pool -= part
            opens.append((due, left))
        return self._client_balance(as_of, pool, opens, ())

    def _client_balance(self, as_of: date, pool: int, opens: list[tuple[int, int]],
                        statuses: tuple[InvoiceStatus, ...]) -> ClientBalance:
        """The balance from the open amounts by due date (ordinal, minor units) and the pool left."""
        day = as_of.toordinal()
        aging = {name: 0 for name in BUCKETS}
        outstanding = 0
        for due, left in opens:
            if left > 0:
                outstanding += left
                aging[bucket_of(day - due)] += left
        dec = self._dec
        return ClientBalance(
            client=self.client, currency=self.currency, invoiced=dec(self.invoiced),
            credited=dec(self.credited), paid=dec(self.paid),
            balance=dec(self.invoiced - self.credited - self.paid), unapplied_credit=dec(pool),
            invoices=statuses, aging={k: dec(v) for k, v in aging.items()},
            dso=self._dso(as_of, outstanding),
        )

    def _dec(self, value: int) -> Decimal:
        return from_minor(value, self.currency)

    def open_rows(self) -> list[tuple[str, InvoiceRow, int, int, int]]:
        """(number, row, credited, paid, open) of each invoice with something left to pay once
        the credit pool is spent, in account order.

        Without a credit pool an invoice's figures are its own (`absorbed`), and only the
        invoices due on a day with an open amount (`open_by_due`) can be open: 250,000
        settled invoices are then read, not settled.
        """
        if self.pool == 0:
            dues = {due for due, left in self.open_by_due.items() if left > 0}
            return [(number, row, credited, paid, left) for _, number, row in rows_due(self.invoices, dues.__contains__)
                    for credited, paid, left, _ in (absorbed(row),) if left > 0]
        amounts, _ = self.settled()
        return [(number, self.invoices[number], credited, paid, left)
                for number, (credited, paid, left) in amounts.items() if left > 0]

    def statuses(self, as_of: date) -> dict[str, str]:
        """Each invoice's status at `as_of` (which `covers` must allow), as `balance()` names it."""
        amounts, _ = self.settled()
        day = as_of.toordinal()
        out = {}
        for number, (_, due, total, _, _) in self.invoices.items():
            credited, _, left = amounts[number]
            out[number] = status_name(total, credited, left, day - due)
        return out

    def _status(self, number: str, issued: int, due: int, total: int, credited: int, paid: int,
                left: int, day: int) -> InvoiceStatus:
        days = day - due
        dec = self._dec
        return InvoiceStatus(number, date.fromordinal(issued), date.fromordinal(due), dec(total),
                             dec(credited), dec(paid), dec(left), status_name(total, credited, left, days), days)

    def _dso(self, as_of: date, outstanding: int) -> Decimal | None:
        sales = dict(self.invoiced_on)  # net of credit notes, by issue day (core.aging)
        for issued, amount in self.credit_dates:
            sales[issued] = sales.get(issued, 0) - amount
        return countback_dso(as_of.toordinal(), outstanding, sales)

    def open_items(self, as_of: date, enough: Decimal | None = None) -> list[tuple[str, date, Decimal]]:
        """(number, due date, open amount) of every invoice still open, oldest due first.

        With `enough`, only the oldest items whose open amounts first reach it: all that
        allocating a payment of that amount can touch.
        """
        invoices = self.invoices
        target = None if enough is None else to_minor(enough, self.currency)
        if target is not None and self.pool == 0:
            # No credit pool: the aggregates say by which due date the oldest open amounts
            # reach `enough`; only the invoices due by then are read, none is settled.
            cutoff = self.reach(target)
            rows = [(row[1], n, left) for _, n, row in rows_due(invoices, lambda due: cutoff is None or due <= cutoff)
                    for left in (absorbed(row)[2],) if left > 0]
        else:
            amounts, _ = self.settled()
            rows = [(invoices[n][1], n, left) for n, (_, _, left) in amounts.items() if left > 0]
        if target is None:
            rows.sort()
        else:  # a heap: the few oldest items, without sorting 250,000 of them
            heapq.heapify(rows)
            total, oldest = 0, []
            while rows:
                oldest.append(heapq.heappop(rows))
                total += oldest[-1][2]
                if total >= target:
                    break
            rows = oldest
        return [(n, date.fromordinal(due), self._dec(left)) for due, n, left in rows]
