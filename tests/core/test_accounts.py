"""Running accounts give exactly what the full balance computation gives, fact by fact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.accounts import Account
from facturier.core.payments import Allocation
from facturier.ops.balance_views import invoice_rows
from tests.balance_reference import CreditFact, InvoiceFact, PaymentFact, compute_balances

START = date(2026, 1, 1)
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def histories(draw: st.DrawFn, unallocated: bool = True) -> list[tuple[str, object]]:
    """Invoices, credit notes and payments in journal order, with plausible references
    (without `unallocated`, every payment is allocated whole: often no credit pool at all)."""
    facts: list[tuple[str, object]] = []
    numbers: list[str] = []
    for i in range(draw(st.integers(min_value=0, max_value=25))):
        kind = draw(st.sampled_from(["invoice", "invoice", "credit", "payment", "payment"]))
        day = START + timedelta(days=draw(st.integers(min_value=0, max_value=200)))
        if kind == "invoice" or not numbers:
            number = f"2026-{i:04d}"
            numbers.append(number)
            due = day + timedelta(days=draw(st.integers(min_value=0, max_value=60)))
            facts.append(("invoice", InvoiceFact(number, "acme", "EUR", day, due, draw(cents))))
        elif kind == "credit":
            facts.append(("credit", CreditFact(f"AV-{i}", "acme", "EUR", day, draw(st.sampled_from(numbers)),
                                               draw(cents))))
        else:
            parts = draw(st.lists(st.tuples(st.sampled_from(numbers), cents), max_size=3))
            extra = draw(st.sampled_from([Decimal("0.00"), Decimal("12.34")] if unallocated else [Decimal("0.00")]))
            amount = sum((a for _, a in parts), Decimal("0.00")) + extra
            if amount == 0:
                continue
            facts.append(("payment", PaymentFact("acme", "EUR", day, amount,
                                                 tuple(Allocation(n, a) for n, a in parts), extra)))
    return facts


@settings(max_examples=400, deadline=None)
@given(histories() | histories(unallocated=False), st.integers(min_value=0, max_value=120), st.booleans())
def test_account_balance_equals_the_full_computation(facts: list[tuple[str, object]], later: int,
                                                     peek: bool) -> None:
    """`peek` reads the settled amounts after every fact: payments then patch them in place."""
    account = Account("acme", "EUR", 2)
    invoices, credits, payments = [], [], []
    for kind, fact in facts:
        if peek:
            account.settled()
        if isinstance(fact, InvoiceFact):
            account.add_invoice(fact.number, fact.issued, fact.due, fact.total)
            invoices.append(fact)
        elif isinstance(fact, CreditFact):
            account.add_credit(fact.issued, fact.refers_to, fact.amount)
            credits.append(fact)
        elif isinstance(fact, PaymentFact):
            account.add_payment(fact.paid_on, fact.amount, [(a.number, a.amount) for a in fact.allocations],
                                fact.unallocated)
            payments.append(fact)
    if not facts:
        return
    as_of = date.fromordinal(account.last_day) + timedelta(days=later)
    assert account.covers(as_of)
    expected = compute_balances(invoices, credits, payments, as_of)
    assert [account.balance(as_of)] == expected
    # Without the invoice list, from the aggregates kept fact by fact: the same balance.
    assert account.balance(as_of, with_invoices=False) == replace(expected[0], invoices=())
    # The balance view's rows say what `balance()` says, in the same text.
    full = account.balance(as_of).invoices
    assert invoice_rows(account, as_of) == [
        {"number": s.number, "date": s.issued.isoformat(), "due_date": s.due.isoformat(),
         "total": str(s.total), "credited": str(s.credited), "paid": str(s.paid),
         "open": str(s.open_amount), "status": s.status} for s in full]
    assert account.statuses(as_of) == {s.number: s.status for s in full}
    amounts, _ = account.settled()
    assert [(n, c, p, left) for n, _, c, p, left in account.open_rows()] == [
        (n, c, p, left) for n, (c, p, left) in amounts.items() if left > 0]


@settings(max_examples=300, deadline=None)
@given(histories() | histories(unallocated=False), cents)
def test_the_open_items_a_payment_needs_are_the_oldest_of_all_open_items(
        facts: list[tuple[str, object]], amount: Decimal) -> None:
    from facturier.core.payments import OpenInvoice, allocate_payment

    account = Account("acme", "EUR", 2)
    for _, fact in facts:
        if isinstance(fact, InvoiceFact):
            account.add_invoice(fact.number, fact.issued, fact.due, fact.total)
        elif isinstance(fact, CreditFact):
            account.add_credit(fact.issued, fact.refers_to, fact.amount)
        elif isinstance(fact, PaymentFact):
            account.add_payment(fact.paid_on, fact.amount, [(a.number, a.amount) for a in fact.allocations],
                                fact.unallocated)
    day = date.fromordinal(max(account.last_day, START.toordinal()))
    every = account.open_items(day)
    enough = account.open_items(day, enough=amount)
    assert enough == every[:len(enough)]

    def allocate(items: list[tuple[str, date, Decimal]]) -> object:
        return allocate_payment([OpenInvoice(n, d, a) for n, d, a in items], amount)
    assert allocate(enough) == allocate(every)
