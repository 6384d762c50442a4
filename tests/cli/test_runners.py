"""The in-process runner answers as a real process does: same exit codes and output, a crash
shows its traceback, and nothing of one call (environment, argv, hooks) outlives it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_demo, run_cli, run_cli_process


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo after November's run, made by a real process."""
    ws = copy_demo(tmp_path_factory.mktemp("runners") / "ws")
    assert run_cli_process(ws, "run", "--date", "2026-11-15").code == 0
    # Whatever a first read does once after a run (today: a note that data/state/ was removed)
    # is done here, so both runners then read the same workspace.
    assert run_cli_process(ws, "invoices").code == 0
    return ws


@pytest.mark.parametrize("args", [
    ("invoices", "--client", "nobody"),  # Error: ... from main's FacturierError handler, exit 1
    ("invoices", "--date", "2026-02-30"),  # a usage error from Click, exit 2, naming the program
    ("balances", "--json"),
    ("show", "2026-0001"),  # Rich output, 200 columns
    ("check",),
])
def test_in_process_and_real_process_print_the_same(issued: Path, args: tuple[str, ...]) -> None:
    inside, outside = run_cli(issued, *args), run_cli_process(issued, *args)
    assert (inside.code, inside.out, inside.err) == (outside.code, outside.out, outside.err)


def test_an_uncaught_exception_is_a_traceback_and_exit_code_1(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facturier.ops.reports import listing

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(listing, "list_documents", broken)
    r = run_cli(ws, "invoices")
    assert r.code == 1 and r.out == ""
    assert r.err.startswith("Traceback (most recent call last):")
    assert r.err.endswith("RuntimeError: a bug\n")


def test_the_environment_and_the_process_state_are_restored(ws: Path) -> None:
    from facturier.store import notices

    def process_state() -> tuple[object, ...]:
        return (dict(os.environ), list(sys.argv), sys.modules["__main__"], notices.sink,
                sys.excepthook)

    before = process_state()
    env = {"FACTURIER_TODAY": "2026-11-01", "EXTRA": "1"}
    r = run_cli(ws, "run", "--date", "2026-11-15", env=env)
    assert r.code == 1 and "is after today (2026-11-01)" in r.err  # the variable applied
    assert process_state() == before


def test_a_variable_read_at_import_is_refused_in_process(ws: Path) -> None:
    with pytest.raises(AssertionError, match="run_cli_process"):
        run_cli(ws, "run", env={"FACTURIER_LOCK_WAIT": "0.5"})
