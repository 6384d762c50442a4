"""Balances, invoice statuses, aging buckets and DSO at a given date: pure computations.

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
- DSO (days sales outstanding) = outstanding / net invoiced over the 90 days ending at D
  x 90, to one decimal; none when nothing was invoiced in that window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from facturier.core.money import ZERO
from facturier.core.payments import Allocation, OpenInvoice, allocate_payment

BUCKETS = ("current", "1-30", "31-60", "61-90", "over_90")
# Client statuses, strongest first (see the module docstring).
CLIENT_STATUSES = ("overdue", "unpaid", "credit", "paid")
DSO_WINDOW_DAYS = 90


@dataclass(frozen=True, slots=True)
class InvoiceFact:
    """An issued invoice, as balances need it."""

    number: str
    client: str
    currency: str
    issued: date
    due: date
    total: Decimal


@dataclass(frozen=True, slots=True)
class CreditFact:
    """A credit note: an amount taken off the invoice it refers to."""

    number: str
    client: str
    currency: str
    issued: date
    refers_to: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """A recorded payment and its allocation."""

    client: str
    currency: str
    paid_on: date
    amount: Decimal
    allocations: tuple[Allocation, ...]
    unallocated: Decimal


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
        """`overdue`, `unpaid`, `credit` or `paid` (see `client_status`).

        Read from the aging buckets, which hold exactly the open amounts by days past due,
        so a balance computed without its per-invoice list has its status too.
        """
        if any(amount > ZERO for bucket, amount in self.aging.items() if bucket != "current"):
            return "overdue"
        if self.aging.get("current", ZERO) > ZERO:
            return "unpaid"
        return "credit" if self.unapplied_credit > ZERO else "paid"


def client_status(invoices: Iterable[InvoiceStatus], unapplied_credit: Decimal) -> str:
    """A client's status from its invoices and credit, by the precedence of CLIENT_STATUSES."""
    still_open = [st for st in invoices if st.open_amount > ZERO]
    if any(st.status == "overdue" for st in still_open):
        return "overdue"
    if still_open:
        return "unpaid"
    return "credit" if unapplied_credit > ZERO else "paid"


def strongest_status(statuses: Iterable[str]) -> str:
    """The strongest of several client statuses (e.g. over a client's currencies); `paid` if none."""
    found = set(statuses)
    return next((s for s in CLIENT_STATUSES if s in found), "paid")


@dataclass
class _Group:
    invoices: list[InvoiceFact] = field(default_factory=list)
    credits: list[CreditFact] = field(default_factory=list)
    payments: list[PaymentFact] = field(default_factory=list)


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


def compute_balances(
    invoices: list[InvoiceFact], credits: list[CreditFact], payments: list[PaymentFact], as_of: date
) -> list[ClientBalance]:
    """Every (client, currency) balance at `as_of`, sorted by client then currency."""
    groups: dict[tuple[str, str], _Group] = {}
    for inv in invoices:
        if inv.issued <= as_of:
            groups.setdefault((inv.client, inv.currency), _Group()).invoices.append(inv)
    for cn in credits:
        if cn.issued <= as_of:
            groups.setdefault((cn.client, cn.currency), _Group()).credits.append(cn)
    for pay in payments:
        if pay.paid_on <= as_of:
            groups.setdefault((pay.client, pay.currency), _Group()).payments.append(pay)
    return [client_balance(key[0], key[1], groups[key], as_of) for key in sorted(groups)]


def client_balance(client: str, currency: str, group: _Group, as_of: date) -> ClientBalance:
    """One client's balance in one currency (see the module docstring for the rules)."""
    open_amounts = {inv.number: inv.total for inv in group.invoices}
    credited: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    pool = ZERO
    for cn in group.credits:
        pool += _settle(open_amounts, credited, cn.refers_to, cn.amount)
    for pay in group.payments:
        pool += pay.unallocated
        for alloc in pay.allocations:
            pool += _settle(open_amounts, paid, alloc.number, alloc.amount)
    pool = _apply_pool(group.invoices, open_amounts, paid, pool)
    statuses = tuple(_status(inv, credited, paid, open_amounts, as_of) for inv in group.invoices)
    invoiced = sum((inv.total for inv in group.invoices), ZERO)
    total_credited = sum((cn.amount for cn in group.credits), ZERO)
    total_paid = sum((pay.amount for pay in group.payments), ZERO)
    return ClientBalance(
        client=client, currency=currency, invoiced=invoiced, credited=total_credited,
        paid=total_paid, balance=invoiced - total_credited - total_paid, unapplied_credit=pool,
        invoices=statuses, aging=_aging(statuses), dso=_dso(group, statuses, as_of),
    )


def _settle(open_amounts: dict[str, Decimal], settled: dict[str, Decimal], number: str, amount: Decimal) -> Decimal:
    """Take `amount` off an invoice's open amount; return the excess it could not absorb."""
    part = min(amount, open_amounts.get(number, ZERO))
    if part > ZERO:
        open_amounts[number] -= part
        settled[number] = settled.get(number, ZERO) + part
    return amount - max(part, ZERO)


def _apply_pool(
    invoices: list[InvoiceFact], open_amounts: dict[str, Decimal], paid: dict[str, Decimal], pool: Decimal
) -> Decimal:
    """Spend the client's credit pool on open invoices, oldest due first; return what is left."""
    if pool <= ZERO:
        return pool
    still_open = [OpenInvoice(inv.number, inv.due, open_amounts[inv.number]) for inv in invoices]
    result = allocate_payment(still_open, pool)
    for alloc in result.allocations:
        open_amounts[alloc.number] -= alloc.amount
        paid[alloc.number] = paid.get(alloc.number, ZERO) + alloc.amount
    return result.unallocated


def _status(
    inv: InvoiceFact, credited: dict[str, Decimal], paid: dict[str, Decimal],
    open_amounts: dict[str, Decimal], as_of: date,
) -> InvoiceStatus:
    open_amount = open_amounts[inv.number]
    cred, pay = credited.get(inv.number, ZERO), paid.get(inv.number, ZERO)
    days = (as_of - inv.due).days
    if open_amount <= ZERO:
        status = "credited" if cred >= inv.total else "paid"
    elif days > 0:
        status = "overdue"
    elif open_amount < inv.total:
        status = "partial"
    else:
        status = "unpaid"
    return InvoiceStatus(inv.number, inv.issued, inv.due, inv.total, cred, pay, open_amount, status, days)


def _aging(statuses: tuple[InvoiceStatus, ...]) -> dict[str, Decimal]:
    aging = {name: ZERO for name in BUCKETS}
    for st in statuses:
        if st.open_amount > ZERO:
            aging[bucket_of(st.days_past_due)] += st.open_amount
    return aging


def _dso(group: _Group, statuses: tuple[InvoiceStatus, ...], as_of: date) -> Decimal | None:
    """Outstanding / net invoiced over the last 90 days x 90 (None without recent sales)."""
    start = as_of - timedelta(days=DSO_WINDOW_DAYS)
    recent = sum((inv.total for inv in group.invoices if inv.issued > start), ZERO)
    recent -= sum((cn.amount for cn in group.credits if cn.issued > start), ZERO)
    if recent <= ZERO:
        return None
    outstanding = sum((st.open_amount for st in statuses), ZERO)
    return (outstanding / recent * DSO_WINDOW_DAYS).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
