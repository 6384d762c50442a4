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
