"""Rendering over all cores while the caller numbers and commits in order.

Rendering is CPU-bound and independent per document, so a process pool scales it; numbering
and journal commits stay in the calling process. `render_ordered` yields results in input
order and keeps a bounded number of documents in flight, so memory does not grow with the
number of documents (a 10,000-row batch streams through). Consecutive documents that can
share a sheet (same seller; each PDF gets its own dates) travel and render together, up to
GROUP_SIZE documents and SHEET_LINES invoice lines at a time: one compile for all of them,
split into one PDF each.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from facturier.render.compile_groups import BUNDLED_TEMPLATES, compile_key, template_path

T = TypeVar("T")
INLINE_BELOW = 8  # below this, starting workers costs more than it saves
# Documents per compile (a sheet), and invoice lines per sheet. Most of a small compile is
# fixed cost (fonts subset, streams compressed, caches evicted): a one-line batch invoice
# costs 12.3 M instructions of Typst in sheets of 8, 9.0 M by 37, ~8.3 M by 64 (callgrind).
# A worker's memory grows with the sheet, by its documents and by their lines (Typst keeps
# the layouts of recent compiles): peaks measured over thousands of documents, one-line
# invoices 162 MiB by 8, 200 by 32, 306 by 64; ten-line invoices 298 MiB by 32, 447 by 64.
# Both caps keep every worker near ~310 MiB at most, within the 400 MB budget of the
# largest process (issue 27; docs/operations.md, Throughput).
GROUP_SIZE = 64
SHEET_LINES = 64


def render_records(records: list[dict[str, Any]], override_dir: str | None = None) -> list[bytes]:
    """`render.pdf.render_records`, imported where it runs: the pool's workers (or inline)."""
    from facturier.render.pdf import render_records as render

    return render(records, override_dir)


def watch_parent(parent: int) -> None:
    """Pool worker initializer: exit as soon as the parent is gone (killed, even by SIGKILL)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def start_worker(parent: int) -> None:
    """Pool worker initializer: watch the parent, and load the renderer's modules at once.

    The cyclic garbage collector is off while they load and what they loaded is then frozen
    (`gc.freeze`): its collections during the imports, and later over those long-lived
    objects, cost 5 % of a worker's start-up (callgrind: 79 M instructions of 1,740 M).
    """
    watch_parent(parent)
    gc.disable()
    try:
        # A module that cannot load fails the first render with its own error, as it did.
        with contextlib.suppress(ImportError):
            importlib.import_module("facturier.render.pdf")
    finally:
        gc.freeze()
        gc.enable()


def worker_count() -> int:
    """Cores available to this process (FACTURIER_WORKERS overrides)."""
    configured = os.environ.get("FACTURIER_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


def compile_groups(items: Iterable[tuple[T, dict[str, Any]]], size: int = GROUP_SIZE,
                   lines: int = SHEET_LINES) -> Iterator[list[tuple[T, dict[str, Any]]]]:
    """Consecutive items, in order, grouped while they share a sheet key: at most `size`
    documents and, past the first document, at most `lines` invoice lines in all."""
    group: list[tuple[T, dict[str, Any]]] = []
    group_lines = 0
    for item in items:
        item_lines = len(item[1]["lines"])
        if group and (len(group) >= size or group_lines + item_lines > lines
                      or compile_key(group[0][1]) != compile_key(item[1])):
            yield group
            group, group_lines = [], 0
        group.append(item)
        group_lines += item_lines
    if group:
        yield group


class _WorkerProcess(SpawnProcess):
    """A spawned render worker that does not re-import the parent's `__main__` module.

    multiprocessing's spawn runs the parent's main module again in each child (as
    `__mp_main__`), here the whole CLI (Typer, Rich, every command: ~0.06 s of CPU per
    worker). The pool's function and initializer live in this module, so the child needs
    none of it: the parent's `__main__` is hidden while the child's start-up data is taken.
    """

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Any:  # multiprocessing's name
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            return SpawnProcess._Popen(process_obj)
        finally:
            sys.modules["__main__"] = main


class _WorkerContext(SpawnContext):
    Process = _WorkerProcess


def render_ordered(
    items: Iterable[tuple[T, dict[str, Any]]], override_dir: Path | None, expected: int | None = None
) -> Iterator[tuple[T, bytes]]:
    """Render (tag, record) pairs; yield (tag, pdf) in the same order as the input."""
    # The same choice as the renderer's: a linked invoice.typ is an override, refused there.
    use_override = template_path(override_dir).parent != BUNDLED_TEMPLATES
    override = str(override_dir) if override_dir and use_override else None
    workers = worker_count()
    if workers == 1 or (expected is not None and expected < INLINE_BELOW):
        for group in compile_groups(items):
            yield from zip((tag for tag, _ in group), render_records([r for _, r in group], override), strict=True)
        return
    window = workers * 3  # sheets in flight: enough to keep every worker busy, memory bounded
    # spawn, not fork (Typst's process state does not survive fork) nor forkserver (its server
    # and workers outlive a SIGKILLed parent); each worker also watches its parent.
    ctx = _WorkerContext()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=start_worker,
                             initargs=(os.getpid(),)) as pool:
        pending: deque[tuple[list[T], Future[list[bytes]]]] = deque()
        for group in compile_groups(items):
            tags = [tag for tag, _ in group]
            pending.append((tags, pool.submit(render_records, [r for _, r in group], override)))
            if len(pending) >= window:
                done_tags, future = pending.popleft()
                yield from zip(done_tags, future.result(), strict=True)
        while pending:
            done_tags, future = pending.popleft()
            yield from zip(done_tags, future.result(), strict=True)
