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
from facturier.store.events import T
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


def money(value: int) -> str:
    return str(Decimal(value).scaleb(-2))


def invoice(number: str, day: date, due: date, total: int, currency: str, kind: str = "invoice",
            refers_to: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": kind, "number": number, "series": "s", "series_seq": 1, "seller": "issuer", "client": "acme",
        "client_name": "Acme", "mode": "live", "date": day.isoformat(), "due_date": due.isoformat(),
        "currency": currency, "total_excl_vat": money(total), "total_vat": "0.00", "total_incl_vat": money(total),
        "files": {}}
    if refers_to is not None:
        data["refers_to"] = refers_to
    return data


def apply(ledger: Ledger, step: tuple, i: int, numbers: list[tuple[str, str]]) -> None:
    """Journal one step: an invoice, a payment allocated to earlier invoices, or a credit note."""
    day = START + timedelta(days=step[1])
    if step[0] == "invoice" or not numbers:
        total, currency = (step[3], step[4]) if step[0] == "invoice" else (1000, "EUR")
        number = f"2026-{i:04d}"
        numbers.append((number, currency))
        ledger.append(T.INVOICE_ISSUED, invoice(number, day, day + timedelta(days=step[2] if step[0] == "invoice"
                                                                             else 30), total, currency))
    elif step[0] == "pay":
        parts = [(numbers[k % len(numbers)], amount) for k, amount in step[2]]
        currency = parts[0][0][1] if parts else "EUR"
        parts = [((n, c), a) for (n, c), a in parts if c == currency]
        amount = sum(a for _, a in parts) + step[3]
        if amount:
            ledger.append(T.PAYMENT_RECORDED, {
                "client": "acme", "date": day.isoformat(), "amount": money(amount), "currency": currency,
                "method": "transfer", "reference": "", "source": "manual",
                "allocation": [{"number": n, "amount": money(a)} for (n, _), a in parts],
                "unallocated": money(step[3])})
    else:
        number, currency = numbers[step[2] % len(numbers)]
        ledger.append(T.CREDIT_NOTE_ISSUED, invoice(f"AV-{i:04d}", day, day, step[3], currency,
                                                    "credit_note", number))


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
            ledger.append(T.INVOICE_ISSUED, invoice(f"2026-{i:04d}", START, START + timedelta(days=30), 10000, "EUR"))
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
            ledger.append(T.PAYMENT_RECORDED, {
                "client": "acme", "date": "2026-01-05", "amount": "10.00", "currency": "EUR", "method": "transfer",
                "reference": "", "source": "manual", "allocation": [{"number": number, "amount": "10.00"}],
                "unallocated": "0.00"})
            write_views(tmp_path, ledger.state, PAYMENT_VIEWS, {"acme"})

        pay("2026-0000")
        patched = view.read_bytes()
        assert b'"open": "999.99"' in patched and b'"open": "90.00"' in patched
        view.write_bytes(patched.replace(b'"999.99"', b'"888.88"'))  # the stamp no longer matches
        pay("2026-0001")
        assert view.read_bytes() == client_balance_view(ledger.state, "acme", as_of(ledger))
