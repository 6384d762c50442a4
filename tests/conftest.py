"""Shared fixtures: a fresh copy of the demo workspace and two runners for the real CLI.

`run_cli` runs a command in this process, through Typer's test runner: no interpreter to start
and nothing to import again, so it costs what the command costs. `run_cli_process` starts a
real `python -m facturier.cli.app` process; it is for the tests where the process itself is
under test: a kill, a signal, two commands at once, a lock held by another process, the umask
a process inherits, a command that must not hang (its `timeout`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent

# Tests replay fixed dates in 2026 and 2027; writing commands refuse dates after "today", so
# pin today for every CLI call (a test may override it through run_cli's env).
os.environ.setdefault("FACTURIER_TODAY", "2027-12-31")
# The validated configuration is cached in the user's cache folder (config/cache.py): the suite
# keeps its own, removed at exit, instead of leaving a file per test workspace in ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="facturier-test-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)
DEMO = REPO / "examples" / "demo"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


# Read once, when their module is imported: a value passed through run_cli's env would be
# silently ignored in this process, so such a test must use run_cli_process.
READ_AT_IMPORT = frozenset({"FACTURIER_LOCK_WAIT", "FACTURIER_USAGE_COMMIT"})
APP_MODULE = "facturier.cli.app"


def run_cli(ws: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> Result:
    """Run `facturier --workspace ws ARGS` in this process, as a fresh process would run it.

    Through Typer's CliRunner (stdout and stderr kept apart) and the CLI's own entry point,
    `facturier.cli.app.main`, so its "Error: ..." handling and exit codes are the real ones.
    `env` (and COLUMNS=200) is set for the call only; an uncaught exception comes back as a
    process's would: its traceback in `err`, exit code 1. A call that outlives `timeout`
    raises subprocess.TimeoutExpired, as the subprocess runner did.
    """
    import importlib

    from typer.testing import CliRunner

    if env and READ_AT_IMPORT & env.keys():
        names = sorted(READ_AT_IMPORT & env.keys())
        raise AssertionError(f"{names} are read at import: use run_cli_process")
    code, crash = 0, ""
    with CliRunner().isolation(env={"COLUMNS": "200", **(env or {})}) as (out, err, _):
        entry = importlib.import_module(APP_MODULE)
        with as_main_module(entry, [str(entry.__file__), "--workspace", str(ws), *args]):
            try:
                with time_limit(timeout, sys.argv):
                    entry.main()
            except SystemExit as exc:
                code = exit_code(exc)
            except subprocess.TimeoutExpired:
                raise
            except BaseException as exc:  # noqa: BLE001  # what the process would print as it died
                crash, code = "".join(traceback.format_exception(exc)), 1
                traceback.clear_frames(exc.__traceback__)  # let go of the command's open files
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
        return Result(code, out.getvalue().decode(errors="replace"),
                      err.getvalue().decode(errors="replace") + crash)


def exit_code(exc: SystemExit) -> int:
    """The status a process exiting with `exc` gets: sys.exit("text") prints it and gives 1."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def as_main_module(entry: Any, argv: list[str]) -> Iterator[None]:
    """The process state `python -m facturier.cli.app ARGS` starts with, restored afterwards.

    sys.argv (the lock file names the command), `__main__` (Click names the program after it,
    and a spawned render worker imports it, as a worker of the real process would), the notice
    sink and the exception hook (which `main` and Typer set). Afterwards, what the end of the
    process would have closed is closed (a database connection left to the garbage collector
    keeps data/state.sqlite-wal, which a dry run reads as "another process has it open"), and
    the per-process caches that remember one workspace's files are dropped.
    """
    from facturier.store import notices

    saved = sys.argv, sys.modules["__main__"], notices.sink, sys.excepthook
    files = open_files()
    sys.argv, sys.modules["__main__"] = argv, entry
    try:
        yield
    finally:
        sys.argv, sys.modules["__main__"], notices.sink, sys.excepthook = saved
        if open_files() - files:
            gc.collect()
        forget_workspace_caches()


def open_files() -> set[str]:
    """The files this process has open (Linux; empty elsewhere)."""
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                found.add(f"{fd} {os.readlink(f'/proc/self/fd/{fd}')}")
    return found


def forget_workspace_caches() -> None:
    """Drop what a command cached about one workspace's files: a template override's compiler.

    The bundled template's compiler is kept (it depends on no workspace; building it is most
    of a first render). Value caches (Babel formatting, the parsed XSD) are pure and stay.
    """
    pdf = sys.modules.get("facturier.render.pdf")
    if pdf is not None:
        for key in [k for k in pdf._RENDERERS if k[1] is not None]:
            del pdf._RENDERERS[key]


@contextlib.contextmanager
def time_limit(seconds: float, argv: list[str]) -> Iterator[None]:
    """Raise subprocess.TimeoutExpired in the command after `seconds` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise subprocess.TimeoutExpired(argv, seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli_process(ws: Path, *args: str, env: dict[str, str] | None = None,
                    timeout: float = 120) -> Result:
    """Run `facturier --workspace ws ARGS` as a real subprocess and capture everything."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", APP_MODULE, "--workspace", str(ws), *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def journal(ws: Path) -> list[dict[str, Any]]:
    """The workspace's journal entries."""
    path = ws / "data" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pdf_text(path: Path) -> str:
    """Text of every page of a PDF, with no-break spaces made plain."""
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def copy_demo(dest: Path, with_inbox: bool = False) -> Path:
    """A fresh copy of the bundled demo workspace (by default without the batch inbox)."""
    shutil.copytree(DEMO, dest)
    if not with_inbox:
        shutil.rmtree(dest / "data", ignore_errors=True)
    return dest


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A valid workspace: the demo's configuration, no data yet."""
    return copy_demo(tmp_path / "ws")


@pytest.fixture
def smtp_server() -> Any:
    """A real SMTP server on loopback requiring authentication; stopped after the test."""
    from tests.smtp_server import start_server

    server = start_server(auth=True)
    yield server
    server.controller.stop()
