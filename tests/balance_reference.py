"""The balance rules of `core.aging`, implemented the plain way (Decimal, every fact at once):
the reference the one engine (`core.accounts.Account`) is held to by property tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from facturier.core.aging import BUCKETS, DSO_WINDOW_DAYS, ClientBalance, InvoiceStatus, bucket_of
from facturier.core.money import ZERO
from facturier.core.payments import Allocation, OpenInvoice, allocate_payment


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


@dataclass
class _Group:
    invoices: list[InvoiceFact] = field(default_factory=list)
    credits: list[CreditFact] = field(default_factory=list)
    payments: list[PaymentFact] = field(default_factory=list)


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
    """Countback DSO: the days of most recent net sales that make up the outstanding amount,
    the day reaching it counted for the share of it still needed over the days to the next
    later sale (or as_of). Nothing outstanding: 0, or None without sales in the last 90 days."""
    net: dict[date, Decimal] = {}
    for inv in group.invoices:
        net[inv.issued] = net.get(inv.issued, ZERO) + inv.total
    for cn in group.credits:
        net[cn.issued] = net.get(cn.issued, ZERO) - cn.amount
    outstanding = sum((st.open_amount for st in statuses), ZERO)
    if outstanding <= ZERO:
        start = as_of - timedelta(days=DSO_WINDOW_DAYS)
        return Decimal("0.0") if sum((v for d, v in net.items() if start < d <= as_of), ZERO) > ZERO else None
    later, left = as_of, outstanding
    past = sorted((d for d in net if d <= as_of), reverse=True)
    for day in past:
        if ZERO < net[day] >= left:
            days = (as_of - later).days + left / net[day] * (later - day).days
            return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        left -= net[day]
        later = day
    return Decimal((as_of - later).days).quantize(Decimal("0.1")) if past else None


def engine_balances(invoices: list[InvoiceFact], credits: list[CreditFact], payments: list[PaymentFact],
                    as_of: date) -> list[ClientBalance]:
    """What the product's one engine gives for these facts: each (client, currency) account fed
    the facts dated up to `as_of` (invoices, then credit notes, then payments, as a journal
    holds them), then `Account.balance`."""
    from facturier.core.accounts import Account
    from facturier.core.money import minor_digits

    accounts: dict[tuple[str, str], Account] = {}

    def account(client: str, currency: str) -> Account:
        key = (client, currency)
        if key not in accounts:
            accounts[key] = Account(client, currency, minor_digits(currency))
        return accounts[key]

    for inv in invoices:
        if inv.issued <= as_of:
            account(inv.client, inv.currency).add_invoice(inv.number, inv.issued, inv.due, inv.total)
    for cn in credits:
        if cn.issued <= as_of:
            account(cn.client, cn.currency).add_credit(cn.issued, cn.refers_to, cn.amount)
    for pay in payments:
        if pay.paid_on <= as_of:
            account(pay.client, pay.currency).add_payment(
                pay.paid_on, pay.amount, [(a.number, a.amount) for a in pay.allocations], pay.unallocated)
    return [accounts[key].balance(as_of) for key in sorted(accounts)]
