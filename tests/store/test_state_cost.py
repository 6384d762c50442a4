"""What the state costs a command that finds it current: nothing written, and the split
views' thresholds asked without counting a long history."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facturier.ops.state_access import read_state
from tests.conftest import DEMO, journal, run_cli


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """The demo after a run and two payments of acme."""
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "pay", "acme", "10.00", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "pay", "acme", "20.00", "--date", "2026-11-21").code == 0
    return ws


def _files(ws: Path) -> dict[str, tuple[int, bytes]]:
    data = ws / "data"
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in data.glob("state.sqlite*")}


@pytest.mark.parametrize("args", [("balances", "--date", "2026-12-31"), ("invoices", "--client", "acme"),
                                  ("show", "2026-0001")])
def test_a_read_only_command_on_a_current_state_writes_nothing_to_it(ws: Path, args: tuple[str, ...]) -> None:
    before = _files(ws)
    result = run_cli(ws, *args)
    assert result.code == 0, result.text
    assert _files(ws) == before  # not even the same position written again (a checkpoint and four syncs)


def test_a_state_behind_the_journal_is_still_caught_up_and_saved(ws: Path) -> None:
    state = ws / "data" / "state.sqlite"
    saved = state.read_bytes()
    assert run_cli(ws, "pay", "acme", "5.00", "--date", "2026-11-22").code == 0
    state.write_bytes(saved)  # the state as it was before the last payment
    assert run_cli(ws, "balances", "--date", "2026-12-31").code == 0
    opened = read_state(ws)
    try:
        assert opened.position.seq == journal(ws)[-1]["seq"]
    finally:
        opened.close()
    before = _files(ws)
    assert run_cli(ws, "balances", "--date", "2026-12-31").code == 0
    assert _files(ws) == before


def test_the_split_thresholds_say_whether_there_are_more_than_so_many(ws: Path) -> None:
    state = read_state(ws)
    try:
        documents = len(state.index.offsets_of("acme"))
        payments = len(state.index.payments_of.get("acme", []))
        rows = sum(len(a.invoices) for a in state.accounts.of_client("acme"))
        assert (documents, payments) == (1, 2) and rows == 1
        for count in range(4):
            assert state.index.documents_over("acme", count) is (documents > count)
            assert state.index.payments_over("acme", count) is (payments > count)
            assert state.accounts.rows_over("acme", count) is (rows > count)
        assert not state.index.documents_over("nobody", 0)
        assert not state.index.payments_over("nobody", 0)
        assert not state.accounts.rows_over("nobody", 0)
    finally:
        state.close()
