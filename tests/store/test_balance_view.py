"""The balance view patched where it changed is byte for byte the view written whole."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.ops.accounts import client_balance_view
from facturier.ops.views import PAYMENT_VIEWS
from facturier.store.events import (
    ISSUED_TYPE_OF_KIND,
    AllocationPart,
    DocumentIssued,
    PaymentRecorded,
)
from facturier.store.ledger import Ledger
from facturier.store.paths import WorkspacePaths
from facturier.store.views import write_views

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


@settings(max_examples=100, deadline=None)
@given(steps, st.lists(st.booleans(), min_size=14, max_size=14))
def test_a_balance_view_written_step_by_step_equals_the_whole_view(tmp_path_factory: object, plan: list,
                                                                   reloads: list[bool]) -> None:
    """`reloads`: after a step, the accounts as a later command finds them (loaded from the
    checkpoint, their rows packed: the view is then patched without unpacking them)."""
    from facturier.store.state import Accounts

    root = tmp_path_factory.mktemp("balance")  # type: ignore[attr-defined]
    numbers: list[tuple[str, str]] = []
    with Ledger(root) as ledger:
        for i, step in enumerate(plan):
            apply(ledger, step, i, numbers)
            loaded = ledger.state._loaded.get("accounts")
            if reloads[i] and loaded is not None:
                loaded.section = Accounts.load(loaded.section.dump())
            write_views(root, ledger.state, PAYMENT_VIEWS, {"acme"})
            view = root / "data" / "balance" / "acme.json"
            assert view.read_bytes() == client_balance_view(ledger.state, "acme", as_of(ledger))


def test_a_payment_patches_the_rows_it_changed_and_keeps_the_others(tmp_path: Path) -> None:
    """Proof that the patch path runs: a row edited on disk (its stamp made to match) survives a
    payment of another invoice; a row edited without its stamp matching is written whole."""
    with Ledger(tmp_path) as ledger:
        for i in range(3):
            ledger.append(invoice(f"2026-{i:04d}", START, START + timedelta(days=30), 10000, "EUR"))
        write_views(tmp_path, ledger.state, PAYMENT_VIEWS, {"acme"})
        view = tmp_path / "data" / "balance" / "acme.json"
        stamps_path = WorkspacePaths(tmp_path).view_stamps
        whole = view.read_bytes()
        at = whole.index(b'"open": "100.00"', whole.index(b'"2026-0002"'))
        edited = whole[:at] + b'"open": "999.99"' + whole[at + 16:]
        view.write_bytes(edited)
        stamps = orjson.loads(stamps_path.read_bytes())
        st = view.stat()
        stamps["views"]["data/balance/acme.json"][:3] = [st.st_size, st.st_mtime_ns, xxhash.xxh3_64_intdigest(edited)]
        stamps_path.write_bytes(orjson.dumps(stamps))

        def pay(number: str) -> None:
            ten = Decimal("10.00")
            ledger.append(payment(date(2026, 1, 5), ten, "EUR", [(number, ten)], Decimal("0.00")))
            write_views(tmp_path, ledger.state, PAYMENT_VIEWS, {"acme"})

        pay("2026-0000")
        patched = view.read_bytes()
        assert b'"open": "999.99"' in patched and b'"open": "90.00"' in patched
        view.write_bytes(patched.replace(b'"999.99"', b'"888.88"'))  # the stamp no longer matches
        pay("2026-0001")
        assert view.read_bytes() == client_balance_view(ledger.state, "acme", as_of(ledger))
