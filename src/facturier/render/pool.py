"""Rendering over all cores while the caller numbers and commits in order.

Rendering is CPU-bound and independent per document, so a process pool scales it; numbering
and journal commits stay in the calling process. `render_ordered` yields results in input
order and keeps a bounded number of documents in flight, so memory does not grow with the
number of documents (a 10,000-row batch streams through).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from facturier.render.pdf import render_record

T = TypeVar("T")
INLINE_BELOW = 8  # below this, starting workers costs more than it saves


def watch_parent(parent: int) -> None:
    """Pool worker initializer: exit as soon as the parent is gone (killed, even by SIGKILL)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def worker_count() -> int:
    """Cores available to this process (FACTURIER_WORKERS overrides)."""
    configured = os.environ.get("FACTURIER_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


def render_ordered(
    items: Iterable[tuple[T, dict[str, Any]]], override_dir: Path | None, expected: int | None = None
) -> Iterator[tuple[T, bytes]]:
    """Render (tag, record) pairs; yield (tag, pdf) in the same order as the input."""
    override = str(override_dir) if override_dir and (override_dir / "invoice.typ").is_file() else None
    workers = worker_count()
    if workers == 1 or (expected is not None and expected < INLINE_BELOW):
        for tag, record in items:
            yield tag, render_record(record, override)
        return
    window = workers * 16
    # spawn, not fork (Typst's process state does not survive fork) nor forkserver (its server
    # and workers outlive a SIGKILLed parent); each worker also watches its parent.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        pending: deque[tuple[T, Future[bytes]]] = deque()
        for tag, record in items:
            pending.append((tag, pool.submit(render_record, record, override)))
            if len(pending) >= window:
                done_tag, future = pending.popleft()
                yield done_tag, future.result()
        while pending:
            done_tag, future = pending.popleft()
            yield done_tag, future.result()
