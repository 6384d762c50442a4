"""Allocation and aging: pure core rules, and property tests that money is never created or lost."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from facturier.core.aging import bucket_of
from facturier.core.payments import Allocation, OpenInvoice, allocate_payment
from tests.balance_reference import CreditFact, InvoiceFact, PaymentFact
from tests.balance_reference import engine_balances as compute_balances

D = Decimal
cents = st.integers(min_value=1, max_value=10_000_00).map(lambda c: D(c) / 100)
open_invoice = st.builds(
    OpenInvoice,
    number=st.text(alphabet="0123456789", min_size=4, max_size=4),
    due_date=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    open_amount=cents,
)


def test_oldest_due_first_then_number() -> None:
    invoices = [OpenInvoice("B", date(2026, 2, 1), D("100")), OpenInvoice("A", date(2026, 3, 1), D("50")),
                OpenInvoice("C", date(2026, 2, 1), D("100"))]
    result = allocate_payment(invoices, D("150"))
    assert result.allocations == (Allocation("B", D("100")), Allocation("C", D("50")))
    assert result.unallocated == 0


def test_named_invoice_excess_stays_unallocated() -> None:
    invoices = [OpenInvoice("A", date(2026, 1, 1), D("100")), OpenInvoice("B", date(2026, 2, 1), D("80"))]
    result = allocate_payment(invoices, D("100"), invoice="B")
    assert result.allocations == (Allocation("B", D("80")),)
    assert result.unallocated == D("20")


@given(st.lists(open_invoice, max_size=20), cents, st.booleans())
def test_allocation_never_creates_or_loses_money(invoices: list[OpenInvoice], amount: Decimal, named: bool) -> None:
    target = invoices[0].number if named and invoices else None
    result = allocate_payment(invoices, amount, target)
    assert sum((a.amount for a in result.allocations), D(0)) + result.unallocated == amount
    assert result.unallocated >= 0
    assert all(a.amount > 0 for a in result.allocations)


@given(st.lists(open_invoice, max_size=20, unique_by=lambda i: i.number), st.lists(cents, max_size=10))
def test_balances_conserve_money(invoices: list[OpenInvoice], paid: list[Decimal]) -> None:
    facts = [InvoiceFact(i.number, "c", "EUR", i.due_date - timedelta(days=30), i.due_date, i.open_amount)
             for i in invoices]
    payments = []
    for n, amount in enumerate(paid):
        opened = [OpenInvoice(f.number, f.due, f.total) for f in facts]  # allocation as if first
        result = allocate_payment(opened, amount)
        payments.append(PaymentFact("c", "EUR", date(2026, 6, 1) + timedelta(days=n), amount,
                                    result.allocations, result.unallocated))
    for b in compute_balances(facts, [], payments, date(2027, 1, 1)):
        outstanding = sum((s.open_amount for s in b.invoices), D(0))
        assert outstanding - b.unapplied_credit == b.balance
        assert sum(b.aging.values(), D(0)) == outstanding
        assert all(s.open_amount >= 0 for s in b.invoices)


def test_aging_buckets_and_credit_notes() -> None:
    assert [bucket_of(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current", "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "over_90"]
    inv = InvoiceFact("1", "c", "EUR", date(2026, 1, 1), date(2026, 1, 31), D("100"))
    credit = CreditFact("AV-1", "c", "EUR", date(2026, 1, 5), "1", D("100"))
    (b,) = compute_balances([inv], [credit], [], date(2026, 6, 1))
    assert b.invoices[0].status == "credited" and b.balance == 0 and b.dso is None
