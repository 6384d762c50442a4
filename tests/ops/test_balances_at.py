"""Balances at any date come from one engine: the state's accounts as they stood then
(`state.accounts.at`), against the plain implementation of the rules over every fact of the
journal, over generated ledgers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from facturier.core.payments import Allocation
from facturier.ops.reports.balances import Balancer
from facturier.store.journal import open_state
from facturier.store.state import LedgerState
from tests.balance_reference import CreditFact, InvoiceFact, PaymentFact, compute_balances
from tests.ledger_gen import FACTS, Fact, entries_for, write_journal


def reference(state: LedgerState, client: str, as_of: date) -> list:  # type: ignore[type-arg]
    """The client's balances by the reference, from every document and payment of the journal."""
    invoices, credits = [], []
    for doc in state.documents_of(client):
        if doc.client != client or not doc.direct_live:
            continue
        if doc.is_credit_note:
            credits.append(CreditFact(doc.number, client, doc.currency, doc.date, doc.refers_to or "",
                                      doc.total_incl_vat))
        else:
            invoices.append(InvoiceFact(doc.number, client, doc.currency, doc.date, doc.due_date, doc.total_incl_vat))
    payments = [PaymentFact(p.client, p.currency, p.date, p.amount,
                            tuple(Allocation(a.number, a.amount) for a in p.allocation), p.unallocated)
                for p in state.payments(state.index.payments_of.get(client, []))]
    return compute_balances(invoices, credits, payments, as_of)


def ledger_at(tmp_path: Path, facts: list[Fact], offset: int) -> tuple[LedgerState, date]:
    """The state of a generated ledger of 2025, and a date `offset` days into it."""
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    return open_state(path), date(2025, 1, 1) + timedelta(days=offset)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800))
def test_accounts_at_a_past_date_give_the_balances_of_the_rules(tmp_path: Path, facts: list[Fact],
                                                               offset: int) -> None:
    state, as_of = ledger_at(tmp_path, facts, offset)
    for client in sorted({c for c, _ in state.accounts.pairs()}):
        at = [a.balance(as_of) for a in state.accounts.at(client, as_of)]
        assert at == reference(state, client, as_of)
    state.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800))
def test_the_report_balancer_gives_the_balances_balances_prints(tmp_path: Path, facts: list[Fact],
                                                                offset: int) -> None:
    state, as_of = ledger_at(tmp_path, facts, offset)
    balancer = Balancer(state, as_of)
    for client in sorted({c for c, _ in state.accounts.pairs()}):
        exact = reference(state, client, as_of)
        assert balancer.balances(client) == [
            type(b)(b.client, b.currency, b.invoiced, b.credited, b.paid, b.balance, b.unapplied_credit, (),
                    b.aging, b.dso) for b in exact]
    state.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, cents=st.integers(1, 5_000_000))
@example(facts=[Fact(0, 0, 10_000, 0, (120,), 0, False), Fact(0, 40, 5_000, 0, (), 0, False),
                Fact(0, 80, 7_000, 0, (50,), 0, False)], cents=3_000)  # a pool of 20.00, reaching past it
@example(facts=[Fact(0, 0, 10_000, 0, (), 100, False), Fact(0, 1, 10_000, 0, (30,), 0, False)],
         cents=500)  # credited whole, then paid: the pool is an excess, not an unallocated payment
def test_a_payment_reads_only_the_rows_it_reaches_and_allocates_as_the_whole_account(
        tmp_path: Path, facts: list[Fact], cents: int) -> None:
    """`pay` on a long history reads the open invoices its amount and the credit pool reach
    (`open_reaching`), with or without a pool; what it allocates to is what the whole account
    gives, oldest due first."""
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    as_of, enough = date(2027, 6, 30), Decimal(cents) / 100
    first = open_state(path)
    pairs = sorted(first.accounts.pairs())
    first.close()
    for client, currency in pairs:
        few, whole = open_state(path), open_state(path)
        reaching = few.accounts.open_reaching(client, currency, as_of, enough)
        account = whole.accounts.get(client, currency)
        assert account is not None and reaching is not None
        assert reaching.pool == account.pool
        assert reaching.open_items(as_of, enough) == account.open_items(as_of, enough)
        assert all(row[3] + row[4] < row[2] for row in reaching.invoices.values())  # open rows only
        few.close()
        whole.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800), cents=st.integers(1, 5_000_000), pick=st.integers(0, 10_000))
@example(facts=[Fact(0, 0, 10_000, 0, (120,), 0, False), Fact(0, 40, 5_000, 0, (), 0, False),
                Fact(0, 80, 7_000, 0, (50,), 0, False)], offset=60, cents=3_000, pick=1)
def test_a_payment_dated_back_or_naming_an_invoice_reads_only_the_rows_it_reaches(
        tmp_path: Path, facts: list[Fact], offset: int, cents: int, pick: int) -> None:
    """A payment dated before the client's latest fact (recorded late) is allocated as the
    account stood at its date; `pay --invoice` pays what that invoice has left once the credit
    pool is spent. Both read the rows they reach (`open_reaching`, the later facts taken back),
    not the client's whole history, and give what the whole account at that date gives."""
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    as_of, enough = date(2025, 1, 1) + timedelta(days=offset), Decimal(cents) / 100
    first = open_state(path)
    pairs = sorted(first.accounts.pairs())
    first.close()
    for client, currency in pairs:
        whole = open_state(path)
        exact = [a for a in whole.accounts.at(client, as_of) if a.currency == currency]
        whole.close()
        if not exact:  # no fact of the account by then: nothing to allocate to, no row read
            few = open_state(path)
            reaching = few.accounts.open_reaching(client, currency, as_of, enough)
            assert reaching is not None and reaching.open_items(as_of, enough) == []
            few.close()
            continue
        if exact[0].pool < 0:
            continue
        every = exact[0].open_items(as_of)
        named = sorted(exact[0].invoices)[pick % len(exact[0].invoices)] if exact[0].invoices else None
        for want, name in ((enough, None), (Decimal(0), named)):
            few = open_state(path)
            reaching = few.accounts.open_reaching(client, currency, as_of, want, name)
            assert reaching is not None  # a journal in date order: the later facts are taken back
            assert reaching.pool == exact[0].pool
            if name is None:
                assert reaching.open_items(as_of, want) == exact[0].open_items(as_of, want)
            else:
                assert [i for i in reaching.open_items(as_of) if i[0] == name] == [i for i in every if i[0] == name]
            assert all(row[3] + row[4] < row[2] for row in reaching.invoices.values())  # open rows only
            few.close()


def accounts_at_each_way(state: LedgerState, client: str, as_of: date) -> tuple[list, list, list | None, list | None]:  # type: ignore[type-arg]
    """(at, replayed, rewound with rows, rewound without rows) of one client at one date (`at`
    last: when the running accounts cover the date it keeps them, and `rewound` then declines)."""
    rewound, light = state.accounts.rewound(client, as_of), state.accounts.rewound(client, as_of, rows=False)
    return state.accounts.at(client, as_of), state.accounts.replayed(client, as_of), rewound, light


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800))
def test_taking_later_facts_back_gives_the_replayed_accounts(tmp_path: Path, facts: list[Fact],
                                                             offset: int) -> None:
    """A past date takes the later facts back off the running accounts (`rewound`, what a
    report of last year reads): the very accounts a replay of the facts up to then gives, rows,
    aggregates and balances; without rows, the same balances from the aggregates."""
    state, as_of = ledger_at(tmp_path, facts, offset)
    for client in sorted({c for c, _ in state.accounts.pairs()}):
        at, replayed, rewound, light = accounts_at_each_way(state, client, as_of)
        assert rewound is not None and light is not None  # a journal in date order: always taken back
        assert rewound == replayed
        assert [a.balance(as_of) for a in at] == [a.balance(as_of) for a in replayed]
        assert [a.balance(as_of, with_invoices=False) for a in light] == [
            a.balance(as_of, with_invoices=False) for a in replayed]
    state.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800), order=st.randoms(use_true_random=False),
       twice=st.booleans())
def test_a_journal_out_of_date_order_or_a_number_issued_twice_is_replayed_exactly(
        tmp_path: Path, facts: list[Fact], offset: int, order: object, twice: bool) -> None:
    """Entries out of date order (a payment dated after the date written before an invoice
    dated up to it, a payment or credit written before the invoice it names) are taken back
    exactly; an invoice number issued twice cannot be: `rewound` then declines (None) or gives
    the replayed accounts, and `at` always gives the replayed ones."""
    entries = entries_for(facts, 2025)
    order.shuffle(entries)  # type: ignore[attr-defined]
    if twice:
        first = next((e for e in entries if e["type"] == "invoice.issued" and e["kind"] == "invoice"), None)
        if first is not None:
            entries.append({**first, "series_seq": 10_000})
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries)
    state, as_of = open_state(path), date(2025, 1, 1) + timedelta(days=offset)
    for client in sorted({c for c, _ in state.accounts.pairs()}):
        at, replayed, rewound, light = accounts_at_each_way(state, client, as_of)
        assert at == replayed if not all(a.covers(as_of) for a in state.accounts.of_client(client)) else True
        assert rewound == replayed if not twice else rewound in (None, replayed)
        assert (light is None) == (rewound is None)
        assert light is None or [a.balance(as_of, with_invoices=False) for a in light] == [
            a.balance(as_of, with_invoices=False) for a in replayed]


def settled_years(state: LedgerState) -> dict[tuple[str, str], tuple[int, tuple[int, int, int]]]:
    """(client, number) -> (issue year, settled (credited, paid, open)) of every invoice."""
    out = {}
    for client, currency in state.accounts.pairs():
        account = state.accounts.get(client, currency)
        assert account is not None
        amounts, _ = account.settled()
        for number, row in account.invoices.items():
            out[(client, number)] = (date.fromordinal(row[0]).year, amounts[number])
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, last=st.integers(1, 4))
@example(facts=[Fact(0, 0, 10_000, 0, (), 0, False), Fact(0, 400, 10_000, 0, (120,), 0, False),
                Fact(0, 420, 5_000, 0, (), 0, False)], last=2)  # a pool reaching back to the previous year
def test_the_balance_years_an_entry_records_hold_every_invoice_whose_share_of_the_pool_moved(
        tmp_path: Path, facts: list[Fact], last: int) -> None:
    """A split balance view rewrites the years the entries record: with a credit pool, those
    must hold every invoice whose settled figures the entries changed, however far the pool
    reaches (the rest of the years are not rewritten)."""
    entries = entries_for(facts, 2025)
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries[:-last])
    state = open_state(path)
    before = settled_years(state)
    state.views_written(None)
    state.close()
    write_journal(path, entries)
    state = open_state(path)  # catches up the last entries, recording their years
    after = settled_years(state)
    for (client, number), (year, amounts) in after.items():
        if before.get((client, number), (year, None))[1] != amounts:
            pending = state.years_pending(client, "balance")
            assert pending is None or year in pending, (client, number, year)
    state.close()
