"""The balance view, written from the running accounts, says what the plain rules say."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.aging import ClientBalance, strongest_status
from facturier.core.money import fmt_amount
from facturier.core.payments import Allocation
from facturier.ops import balance_views
from facturier.ops.balance_views import balance_row
from facturier.ops.views import PAYMENT_VIEWS
from facturier.store import views
from facturier.store.events import (
    ISSUED_TYPE_OF_KIND,
    AllocationPart,
    DocumentIssued,
    PaymentRecorded,
    T,
)
from facturier.store.ledger import Ledger
from facturier.store.views import view_bytes, write_views
from tests.balance_reference import CreditFact, InvoiceFact, PaymentFact, compute_balances
from tests.conftest import journal

START = date(2026, 1, 1)
cents = st.integers(min_value=1, max_value=30_000)
steps = st.lists(st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 90), st.integers(0, 45), cents, st.sampled_from(["EUR", "GBP"])),
    st.tuples(st.just("pay"), st.integers(0, 90), st.lists(st.tuples(st.integers(0, 30), cents), max_size=3),
              st.sampled_from([0, 0, 0, 500])),
    st.tuples(st.just("credit"), st.integers(0, 90), st.integers(0, 30), cents),
), min_size=1, max_size=14)


def money(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def invoice(number: str, day: date, due: date, total: int, currency: str, kind: str = "invoice",
            refers_to: str | None = None) -> DocumentIssued:
    return DocumentIssued(
        type=ISSUED_TYPE_OF_KIND[kind], kind=kind, number=number, series="s", series_seq=1,
        seller="issuer", client="acme", client_name="Acme", mode="live", date=day, due_date=due,
        currency=currency, total_excl_vat=money(total), total_vat=Decimal("0.00"),
        total_incl_vat=money(total), refers_to=refers_to)


def payment(day: date, amount: Decimal, currency: str, parts: list[tuple[str, Decimal]],
            unallocated: Decimal) -> PaymentRecorded:
    return PaymentRecorded(client="acme", date=day, amount=amount, currency=currency,
                           method="transfer", reference="", source="manual",
                           allocation=tuple(AllocationPart(n, a) for n, a in parts),
                           unallocated=unallocated)


def apply(ledger: Ledger, step: tuple, i: int, numbers: list[tuple[str, str]]) -> None:
    """Journal one step: an invoice, a payment allocated to earlier invoices, or a credit note."""
    day = START + timedelta(days=step[1])
    if step[0] == "invoice" or not numbers:
        total, currency = (step[3], step[4]) if step[0] == "invoice" else (1000, "EUR")
        number = f"2026-{i:04d}"
        numbers.append((number, currency))
        due = day + timedelta(days=step[2] if step[0] == "invoice" else 30)
        ledger.append(invoice(number, day, due, total, currency))
    elif step[0] == "pay":
        parts = [(numbers[k % len(numbers)], amount) for k, amount in step[2]]
        currency = parts[0][0][1] if parts else "EUR"
        parts = [((n, c), a) for (n, c), a in parts if c == currency]
        amount = sum(a for _, a in parts) + step[3]
        if amount:
            allocated = [(n, money(a)) for (n, _), a in parts]
            ledger.append(payment(day, money(amount), currency, allocated, money(step[3])))
    else:
        number, currency = numbers[step[2] % len(numbers)]
        ledger.append(invoice(f"AV-{i:04d}", day, day, step[3], currency, "credit_note", number))


def as_of(ledger: Ledger) -> date:
    return date.fromordinal(max(a.last_day for a in ledger.state.accounts.of_client("acme")))


def facts(root: Path) -> tuple[list[InvoiceFact], list[CreditFact], list[PaymentFact]]:
    """The client's facts as journalled, read back from the journal's lines."""
    invoices, credits, payments = [], [], []
    for e in journal(root):
        day = date.fromisoformat(e["date"])
        if e["type"] == T.INVOICE_ISSUED:
            due = date.fromisoformat(e["due_date"])
            invoices.append(InvoiceFact(e["number"], e["client"], e["currency"], day, due,
                                        Decimal(e["total_incl_vat"])))
        elif e["type"] == T.CREDIT_NOTE_ISSUED:
            credits.append(CreditFact(e["number"], e["client"], e["currency"], day, e["refers_to"],
                                      Decimal(e["total_incl_vat"])))
        elif e["type"] == T.PAYMENT_RECORDED:
            payments.append(PaymentFact(e["client"], e["currency"], day, Decimal(e["amount"]),
                                        tuple(Allocation(a["number"], Decimal(a["amount"]))
                                              for a in e["allocation"]), Decimal(e["unallocated"])))
    return invoices, credits, payments


def expected_view(root: Path, as_of: date) -> bytes:
    """The balance view as the plain implementation of the rules gives it over every fact
    (its amounts are plain Decimals: printed in the currency's minor unit, as the view does)."""
    def rows(b: ClientBalance) -> list[dict[str, str]]:
        def fmt(value: Decimal) -> str:
            return fmt_amount(value, b.currency)
        return [{"number": s.number, "date": s.issued.isoformat(), "due_date": s.due.isoformat(),
                 "total": fmt(s.total), "credited": fmt(s.credited), "paid": fmt(s.paid),
                 "open": fmt(s.open_amount), "status": s.status} for s in b.invoices]

    balances = compute_balances(*facts(root), as_of)
    return view_bytes({"client": "acme", "as_of": as_of.isoformat(),
                       "status": strongest_status(b.status for b in balances),
                       "currencies": [{**balance_row(b), "invoices": rows(b)} for b in balances]})


@settings(max_examples=100, deadline=None)
@given(steps, st.lists(st.booleans(), min_size=14, max_size=14))
def test_the_balance_view_after_each_fact_says_what_the_rules_say(
        tmp_path_factory: object, plan: list, reloads: list[bool]) -> None:
    """`reloads`: after a step, the accounts as a later command finds them (read back from the
    state file's tables)."""
    root = tmp_path_factory.mktemp("balance")  # type: ignore[attr-defined]
    numbers: list[tuple[str, str]] = []
    with Ledger(root) as ledger:
        for i, step in enumerate(plan):
            apply(ledger, step, i, numbers)
            if reloads[i]:
                ledger.state.accounts.forget()
            write_views(root, ledger.state, PAYMENT_VIEWS, {"acme"})
            view = root / "data" / "balance" / "acme.json"
            assert view.read_bytes() == expected_view(root, as_of(ledger))


split_steps = st.lists(st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 900), st.integers(0, 400), cents, st.sampled_from(["EUR", "GBP"])),
    st.tuples(st.just("pay"), st.integers(0, 900), st.lists(st.tuples(st.integers(0, 30), cents), max_size=3),
              st.sampled_from([0, 0, 0, 500])),
    st.tuples(st.just("credit"), st.integers(0, 900), st.integers(0, 30), cents),
), min_size=1, max_size=14)


def split_view(root: Path) -> dict:
    """The split balance view put back in one object (each currency's invoices by number)."""
    base = root / "data" / "balance"
    head = json.loads((base / "acme.json").read_text())
    rows: dict[str, list] = {}
    for year in head.pop("years"):
        for c in json.loads((base / "acme" / f"{year}.json").read_text())["currencies"]:
            rows.setdefault(c["currency"], []).extend(c["invoices"])
    for c in head["currencies"]:
        c["invoices"] = sorted(rows.pop(c["currency"], []), key=lambda i: i["number"])
    assert not rows
    return head


@settings(max_examples=60, deadline=None)
@given(split_steps)
def test_a_balance_view_split_per_year_says_what_the_one_file_says_after_each_fact(
        tmp_path_factory: object, plan: list) -> None:
    """Each command rewrites only the years its facts change (and those whose invoices fall due
    as the as_of moves): put back together, the years say what the whole view says."""
    root = tmp_path_factory.mktemp("split")  # type: ignore[attr-defined]
    numbers: list[tuple[str, str]] = []
    with patch.object(views, "SPLIT_AT", 0), patch.object(balance_views, "SPLIT_AT", 0), Ledger(root) as ledger:
        for i, step in enumerate(plan):
            apply(ledger, step, i, numbers)
            write_views(root, ledger.state, PAYMENT_VIEWS, {"acme"})
            ledger.state.views_written({"acme"})
            expected = json.loads(expected_view(root, as_of(ledger)))
            for c in expected["currencies"]:
                c["invoices"].sort(key=lambda i: i["number"])
            assert split_view(root) == expected
