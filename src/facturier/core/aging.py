"""Balances, invoice statuses, aging buckets and DSO at a given date: the rules and records.

The engine that applies them is `core.accounts.Account` (integer minor units, fact by fact);
a straightforward implementation of these rules is kept in the tests as its reference.

Per client and currency, at date D (only facts dated on or before D count):
- an invoice's open amount = its total incl. VAT - credit notes referring to it - payment
  allocations to it; what a credit note or allocation brings beyond that (an invoice already
  settled) joins the client's credit pool, like unallocated payments;
- the credit pool is then applied to the remaining open invoices oldest due first, with the
  same `allocate_payment` rule as a payment, so a client's credit settles later invoices;
- status: `paid` (open 0), `credited` (open 0 and fully credited), `overdue` (open > 0 and D
  after the due date), `partial` (something settled), else `unpaid`;
- a client's status (per currency, and over its currencies) is the first that holds, in
  the precedence `overdue` > `unpaid` > `credit` > `paid`: `overdue` when an invoice is
  overdue, `unpaid` when something is open but nothing is overdue (partly paid included),
  `credit` when nothing is open and the client has unapplied credit, else `paid`. What the
  client owes outranks what we owe it, and lateness outranks the rest, because that is
  the order in which someone has to act;
- aging buckets split the open amounts by days past due: current (not yet due), 1-30,
  31-60, 61-90, over 90;
- DSO (days sales outstanding), by the countback method (`countback_dso`): how many days of
  the most recent net sales (invoices less credit notes, by issue day), counted back from D,
  make up what is outstanding at D, to one decimal. An invoice issued on D and unpaid gives
  0, one issued 40 days before D and unpaid gives 40, whatever else was invoiced. (The
  average-balance formula, outstanding / net invoiced over 90 days x 90, gave 90.0 on the day
  an invoice was issued: it assumes sales spread evenly over the window, which monthly
  invoices never are.) Nothing outstanding gives 0, or none when nothing was invoiced in the
  90 days ending at D either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from facturier.core.money import ZERO

BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")
# Client statuses, strongest first (see the module docstring).
CLIENT_STATUSES = ("overdue", "unpaid", "credit", "paid")
DSO_WINDOW_DAYS = 90


@dataclass(frozen=True, slots=True)
class InvoiceStatus:
    """Where one invoice stands at the balance date."""

    number: str
    issued: date
    due: date
    total: Decimal
    credited: Decimal
    paid: Decimal
    open_amount: Decimal
    status: str
    days_past_due: int


@dataclass(frozen=True, slots=True)
class ClientBalance:
    """Invoiced vs credited vs paid for one client in one currency."""

    client: str
    currency: str
    invoiced: Decimal
    credited: Decimal
    paid: Decimal
    balance: Decimal
    unapplied_credit: Decimal
    invoices: tuple[InvoiceStatus, ...]
    aging: dict[str, Decimal]
    dso: Decimal | None

    @property
    def status(self) -> str:
        """`overdue`, `unpaid`, `credit` or `paid`, by the precedence of CLIENT_STATUSES.

        Read from the aging buckets, which hold exactly the open amounts by days past due,
        so a balance computed without its per-invoice list has its status too.
        """
        if any(amount > ZERO for bucket, amount in self.aging.items() if bucket != "current"):
            return "overdue"
        if self.aging.get("current", ZERO) > ZERO:
            return "unpaid"
        return "credit" if self.unapplied_credit > ZERO else "paid"


def strongest_status(statuses: Iterable[str]) -> str:
    """The strongest of several client statuses (e.g. over a client's currencies); `paid` if none."""
    found = set(statuses)
    return next((s for s in CLIENT_STATUSES if s in found), "paid")


def bucket_of(days_past_due: int) -> str:
    """The aging bucket of an open amount that many days past its due date."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1-30"
    if days_past_due <= 60:
        return "31-60"
    if days_past_due <= 90:
        return "61-90"
    return "over_90"


def countback_dso(as_of: int, outstanding: int, sales: Mapping[int, int]) -> Decimal | None:
    """DSO at day `as_of` (an ordinal) by the countback method, to one decimal.

    `sales` are the net amounts invoiced per issue day (ordinals; any unit, the same as
    `outstanding`). Walking back from `as_of`, the days' sales are added up until they reach
    the outstanding amount; the day that reaches it counts for the share of its sales still
    needed, spread over the days between it and the next sales day (or `as_of`). An unpaid
    invoice issued on `as_of` gives 0; all of history not reaching it, the age of the first sale.
    """
    days = sorted((day for day in sales if day <= as_of), reverse=True)
    if outstanding <= 0:
        recent = sum(sales[day] for day in days if day > as_of - DSO_WINDOW_DAYS)
        return Decimal("0.0") if recent > 0 else None
    covered, later = 0, as_of
    for day in days:
        amount = sales[day]
        if amount > 0 and covered + amount >= outstanding:
            share = Decimal(outstanding - covered) / Decimal(amount)
            return _days(Decimal(as_of - later) + share * (later - day))
        covered += amount
        later = day
    return _days(Decimal(as_of - later)) if days else None


def _days(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
