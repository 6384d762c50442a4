"""`verify` of a large journal on two processes: this one rebuilds the ledger state from the
journal while a second one checks the chain, the named files and the views.

What one process does in sequence (`ops/verify.py`) is split by what it waits on: the state
rebuilt from the journal (the longest part) needs nothing but the journal, and the chain check
and the view comparison need nothing of it. So the second process checks the chain (every
line's SHA-256 and link, the head record), every named file, then, the journal intact, every
view against the saved state; this one meanwhile builds the state without checking the chain
again, then compares its tables with the saved state's. The results are reported only as the
one process reports them: the state and the views only when the chain is intact, the views
only when the state is right. A build made useless by a broken chain is abandoned as soon as
the second process says so.

The second process is started with SIGINT ignored (Ctrl-C stops this one, which ends it),
writes no file of its own, and reports its notices back to be printed here.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from facturier.ops.verify import PdfList, Verification, ViewCheck, chain_and_files, check_state_and_views, saved_views
from facturier.store import notices
from facturier.store.journal import build_state_file
from facturier.store.paths import WorkspacePaths
from facturier.store.state.opening import verify_folder


class _Broken(Exception):
    """The second process found the journal broken: the state being built is of no use."""


# What the second process sends: ("intact", bool) once the chain and head are checked, then
# ("done", (Verification, PdfList, intact, ViewCheck | None, notices)) or ("error", exception).
Message = tuple[str, Any]


def verify_beside(root: Path, expect: str | None) -> tuple[Verification, PdfList]:
    """What `verify_workspace` finds, and the issued documents' PDFs, with two processes."""
    journal = WorkspacePaths(root).journal
    with verify_folder() as folder:
        side = _Side(root, expect)
        try:
            fresh: Path | BaseException
            try:
                fresh = build_state_file(journal, Path(folder) / "state.sqlite", side.poll)
            except Exception as exc:  # noqa: BLE001  (`_Broken`, a broken journal's lines: raised if it is intact)
                fresh = exc
            result, document_pdfs, intact, views, heard = side.outcome()
        finally:
            side.stop()
        for message in heard:
            notices.notice(message)
        if intact:
            check_state_and_views(root, result, fresh, views)
    return result, document_pdfs


class _Side:
    """The second process (`_check_beside`) and what it said."""

    def __init__(self, root: Path, expect: str | None) -> None:
        self.root, self.expect = root, expect
        self.intact: bool | None = None
        self._last: Message | None = None
        self._gone = False  # it ended without a word (`outcome` then checks here)
        context = multiprocessing.get_context("spawn")  # nothing of this process (the lock's file) is inherited
        self._conn, theirs = context.Pipe(duplex=False)
        self._process = context.Process(target=_check_beside, args=(str(root), expect, theirs), daemon=True,
                                        name="facturier-verify")
        with _sigint_ignored():
            self._process.start()
        theirs.close()

    def poll(self) -> None:
        """Raise `_Broken` once the second process has found the journal broken (or failed)."""
        if self.intact is not None or self._last is not None or self._gone:
            return
        try:
            if not self._conn.poll():
                return
            message = self._conn.recv()
        except (EOFError, OSError):
            self._gone = True
            return
        if message[0] == "intact":
            self.intact = message[1]
        else:
            self._last = message
        if not self.intact:
            raise _Broken

    def outcome(self) -> tuple[Verification, PdfList, bool, ViewCheck | None, list[str]]:
        """What the second process found, waited for; found here if it ended without saying."""
        message = self._last
        try:
            while message is None or message[0] == "intact":
                message = self._conn.recv()
        except (EOFError, OSError):  # killed (out of memory?): this process checks instead
            result, document_pdfs, intact = chain_and_files(self.root, self.expect)
            return result, document_pdfs, intact, None, []
        if message[0] == "error":
            raise message[1]
        done: tuple[Verification, PdfList, bool, ViewCheck | None, list[str]] = message[1]
        return done

    def stop(self) -> None:
        """End the second process (still running when this one was interrupted)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while a process is started: it inherits that, so Ctrl-C (sent to every
    process of the terminal's foreground group) interrupts only this one, which ends it."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not this thread's to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_beside(root: str, expect: str | None, conn: Connection) -> None:
    """The second process: the chain, the head record, the files, and the views when the journal
    is intact; what it found is sent back, notices included (printed by the first process)."""
    heard: list[str] = []
    notices.sink = heard.append
    message: Message
    try:
        result, document_pdfs, intact = chain_and_files(Path(root), expect, lambda ok: conn.send(("intact", ok)))
        views = saved_views(Path(root)) if intact else None
        message = ("done", (result, document_pdfs, intact, views, heard))
    except Exception as exc:  # noqa: BLE001  (raised again by the first process)
        message = ("error", exc)
    with contextlib.suppress(OSError):  # the first process is gone (killed): nobody to tell
        try:
            conn.send(message)
        except Exception:  # noqa: BLE001  (an exception that does not pickle: said in words)
            conn.send(("error", RuntimeError(f"verify: {message[1]!r}")))
    conn.close()
