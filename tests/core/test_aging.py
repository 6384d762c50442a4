"""Client status: the precedence overdue > unpaid > credit > paid, and its agreement with aging."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.core.aging import CLIENT_STATUSES, strongest_status
from tests.balance_reference import CreditFact, InvoiceFact, PaymentFact
from tests.balance_reference import engine_balances as compute_balances

D = Decimal
AS_OF = date(2026, 6, 1)


def inv(number: str, due: date, total: str = "100") -> InvoiceFact:
    return InvoiceFact(number, "c", "EUR", due - timedelta(days=30), due, D(total))


def pay(amount: str, unallocated: str = "0") -> PaymentFact:
    return PaymentFact("c", "EUR", date(2026, 1, 2), D(amount), (), D(unallocated))


@pytest.mark.parametrize("invoices, credits, payments, status", [
    ([inv("1", date(2026, 7, 1))], [], [], "unpaid"),
    ([inv("1", date(2026, 7, 1))], [], [pay("40", "40")], "unpaid"),  # partly paid, not due
    ([inv("1", date(2026, 5, 1)), inv("2", date(2026, 7, 1))], [], [], "overdue"),
    ([inv("1", date(2026, 5, 1))], [], [pay("100", "100")], "paid"),
    ([inv("1", date(2026, 5, 1))], [], [pay("130", "130")], "credit"),
    ([], [], [pay("10", "10")], "credit"),  # a payment before any invoice
    ([inv("1", date(2026, 5, 1))], [CreditFact("AV-1", "c", "EUR", date(2026, 4, 2), "1", D("100"))], [], "paid"),
    ([inv("1", date(2026, 5, 1))], [CreditFact("AV-1", "c", "EUR", date(2026, 4, 2), "1", D("60"))], [], "overdue"),
])
def test_client_status(invoices: list[InvoiceFact], credits: list[CreditFact], payments: list[PaymentFact],
                       status: str) -> None:
    (b,) = compute_balances(invoices, credits, payments, AS_OF)
    assert b.status == status


def test_strongest_status_over_currencies() -> None:
    assert strongest_status(["paid", "credit", "unpaid"]) == "unpaid"
    assert strongest_status(["credit", "overdue"]) == "overdue"
    assert strongest_status(["credit", "paid"]) == "credit"
    assert strongest_status([]) == "paid"


amounts = st.integers(min_value=1, max_value=100_000).map(lambda c: D(c) / 100)
invoice_facts = st.lists(
    st.builds(lambda n, due, total: InvoiceFact(str(n), "c", "EUR", due - timedelta(days=30), due, total),
              st.integers(0, 10**6), st.dates(date(2026, 1, 1), date(2026, 12, 31)), amounts),
    max_size=8, unique_by=lambda f: f.number)


@given(invoice_facts, st.lists(amounts, max_size=5), st.dates(date(2026, 1, 1), date(2027, 6, 1)))
def test_status_agrees_with_aging_and_credit(invoices: list[InvoiceFact], paid: list[Decimal], as_of: date) -> None:
    payments = [PaymentFact("c", "EUR", date(2025, 12, 31), a, (), a) for a in paid]
    for b in compute_balances(invoices, [], payments, as_of):
        late = sum((v for k, v in b.aging.items() if k != "current"), D(0))
        expected = ("overdue" if late > 0 else "unpaid" if b.aging["current"] > 0
                    else "credit" if b.unapplied_credit > 0 else "paid")
        assert b.status == expected and b.status in CLIENT_STATUSES
