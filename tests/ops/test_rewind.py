"""The report's balances at a past date (an account rewound by the later facts) against `balances`'s
exact recomputation from every fact, over generated ledgers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facturier.ops.accounts import Facts
from facturier.ops.reports.rewind import balances_at
from facturier.store.journal import open_state
from tests.ledger_gen import FACTS, Fact, entries_for, write_journal


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800))
def test_a_rewound_account_gives_the_balance_balances_recomputes(tmp_path: Path, facts: list[Fact],
                                                                 offset: int) -> None:
    """The report's fast path for a past date equals the exact recomputation from every fact."""
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    state = open_state(path)
    as_of = date(2025, 1, 1) + timedelta(days=offset)
    later = [*state.all_documents(), *state.payments([o for v in state.index.payments_by_year.values() for o in v])]
    for client in sorted({c for c, _ in state.accounts.pairs()}):
        fast = balances_at(state.accounts.of_client(client), as_of, later)  # type: ignore[arg-type]
        assert fast == Facts(state, client).balances(as_of)
    state.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS, offset=st.integers(0, 800))
def test_every_way_the_report_finds_past_accounts_gives_balances_figures(tmp_path: Path, facts: list[Fact],
                                                                          offset: int) -> None:
    """The Balancer the report uses (accounts as they are, or rewound): the balances `balances` prints."""
    from facturier.ops.reports.rewind import Balancer

    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    state = open_state(path)
    as_of = date(2025, 1, 1) + timedelta(days=offset)
    later = [*state.all_documents(), *state.payments([o for v in state.index.payments_by_year.values() for o in v])]
    for balancer in (Balancer(state, as_of, lambda: later),):  # type: ignore[arg-type, return-value]
        for client in sorted({c for c, _ in state.accounts.pairs()}):
            exact = Facts(state, client).balances(as_of)
            assert balancer.balances(client) == [
                type(b)(b.client, b.currency, b.invoiced, b.credited, b.paid, b.balance, b.unapplied_credit, (),
                        b.aging, b.dso) for b in exact]
    state.close()
