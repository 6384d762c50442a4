"""The render pool's workers: what a spawned worker loads at start-up."""

from __future__ import annotations

import importlib.util
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
