"""The render pool's workers: what a spawned worker loads at start-up."""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor

import pytest


def loaded_main() -> str | None:
    """In a pool worker: the name of the parent's main module that spawn re-imported, if any."""
    mp_main = sys.modules.get("__mp_main__")
    spec = getattr(mp_main, "__spec__", None)
    return getattr(spec, "name", None)


def test_a_worker_does_not_import_the_parents_main_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker needs only the render module: the CLI (the parent's `__main__`) costs ~0.06 s of CPU each."""
    from facturier.render.pool import _WorkerContext

    # The parent runs as `python -m <module>`, as `facturier` does (here a light module).
    fake_main = types.ModuleType("__main__")
    fake_main.__spec__ = importlib.util.find_spec("textwrap")
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    with ProcessPoolExecutor(1, mp_context=_WorkerContext()) as pool:
        assert pool.submit(loaded_main).result() is None
    assert sys.modules["__main__"] is fake_main  # put back after the worker started


def worker_state() -> tuple[bool, bool, bool]:
    """In a pool worker: (GC enabled, objects frozen, renderer loaded)."""
    return gc.isenabled(), gc.get_freeze_count() > 0, "facturier.render.pdf" in sys.modules


def test_a_worker_loads_the_renderer_at_start_with_its_objects_frozen() -> None:
    """The renderer's modules load once, before the first sheet, and the GC never scans them again."""
    from facturier.render.pool import _WorkerContext, start_worker

    with ProcessPoolExecutor(1, mp_context=_WorkerContext(), initializer=start_worker,
                             initargs=(os.getpid(),)) as pool:
        assert pool.submit(worker_state).result() == (True, True, True)


def test_a_sheet_holds_many_one_line_invoices_but_few_long_ones() -> None:
    """A worker's memory grows with a sheet's lines too: ten-line invoices by 64 took 447 MiB."""
    from facturier.render.pool import GROUP_SIZE, SHEET_LINES, compile_groups

    def record(lines: int) -> dict[str, object]:
        return {"issue_date": "2026-11-10", "seller": {"name": "S"}, "lines": [{}] * lines}

    one_line = [len(g) for g in compile_groups(enumerate([record(1)] * 100))]
    assert one_line == [GROUP_SIZE, 100 - GROUP_SIZE]
    ten_lines = [len(g) for g in compile_groups(enumerate([record(10)] * 20))]
    assert ten_lines == [SHEET_LINES // 10] * 3 + [20 - 3 * (SHEET_LINES // 10)]
    # A document longer than the cap still renders, alone.
    assert [len(g) for g in compile_groups(enumerate([record(1), record(100), record(1)]))] == [1, 1, 1]
