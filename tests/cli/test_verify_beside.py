"""`verify` of a large journal on two processes (`ops/verify_beside.py`): the state rebuilt in
this one while a second checks the chain, the files and the views. It must say exactly what
the one process says (the same problems, notes and notices, in the same order, the same exit
code), stop cleanly on Ctrl-C and leave nothing behind when killed."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from facturier.ops import verify
from facturier.store.journal import build_state_file
from tests.conftest import DEMO, REPO, Result, run_cli

DAY = "2026-11-15"


def _sql(ws: Path, statement: str) -> None:
    db = sqlite3.connect(ws / "data" / "state.sqlite")
    with db:
        db.execute(statement)
    db.close()


def _change_journal_byte(ws: Path) -> None:
    journal = ws / "data" / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"seq":3', b'"seq":3 ', 1)
    journal.write_bytes(b"".join(lines))


def _first_pdf(ws: Path) -> Path:
    return min((ws / "data" / "invoices").rglob("*.pdf"))


DAMAGES: dict[str, Callable[[Path], object]] = {
    "none": lambda ws: None,
    "a state row forged": lambda ws: _sql(ws, "UPDATE accounts SET invoiced = invoiced + 1"),
    "a state row added": lambda ws: _sql(ws, "INSERT INTO bank VALUES ('x', 'forged')"),
    "a view edited": lambda ws: (ws / "data" / "payments" / "acme.json").write_text("[]\n"),
    "a view deleted": lambda ws: (ws / "data" / "balance" / "acme.json").unlink(),
    "the state deleted": lambda ws: (ws / "data" / "state.sqlite").unlink(),
    "the state garbage": lambda ws: (ws / "data" / "state.sqlite").write_bytes(b"garbage" * 1000),
    "a journal byte changed": _change_journal_byte,
    "a named file changed": lambda ws: _first_pdf(ws).write_bytes(b"%PDF-1.7 forged"),
    "the head record removed": lambda ws: (ws / "data" / "journal.head").unlink(),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("expect", [None, "0123456789abcdef"])
def test_two_processes_say_what_one_process_says(busy_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 damage: str, expect: str | None) -> None:
    """The same workspace, damaged the same way, verified by one process (a small journal) and by
    two (`BESIDE_FROM` lowered to 0): the same output, byte for byte, and the same exit code."""
    results: list[Result] = []
    for beside in (False, True):
        ws = tmp_path / f"ws-{beside}"
        shutil.copytree(busy_base, ws)
        DAMAGES[damage](ws)
        monkeypatch.setattr(verify, "BESIDE_FROM", 0 if beside else 1 << 62)
        assert verify.checked_beside(ws / "data" / "journal.jsonl") is beside
        results.append(run_cli(ws, "verify", *(("--expect", expect) if expect else ())))
    one, two = results
    assert "Traceback" not in two.text, two.text
    assert (two.code, two.out, two.err) == (one.code, one.out, one.err)
    assert (one.code == 0) is (damage in ("none", "the state deleted", "the state garbage", "the head record removed")
                               and expect is None), one.text


def test_a_second_process_killed_midway_is_made_up_for_by_the_first(busy_base: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The second process killed (the kernel's OOM killer, an operator) before it reports: the
    first checks the chain, the files and the views itself, and says what one process says."""
    from facturier.ops import verify_beside

    ws = tmp_path / "ws"
    shutil.copytree(busy_base, ws)
    (ws / "data" / "payments" / "acme.json").write_text("[]\n")
    one = run_cli(ws, "verify")
    started = verify_beside._Side.__init__

    def killed_at_once(side: verify_beside._Side, root: Path, expect: str | None) -> None:
        started(side, root, expect)
        os.kill(side._process.pid, signal.SIGKILL)  # type: ignore[arg-type]

    monkeypatch.setattr(verify_beside._Side, "__init__", killed_at_once)
    monkeypatch.setattr(verify, "BESIDE_FROM", 0)
    two = run_cli(ws, "verify")
    assert (two.code, two.out, two.err) == (one.code, one.out, one.err) and one.code == 1


def test_one_core_to_run_on_keeps_verify_on_one_process(busy_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process pinned to one core (taskset, a container's cpuset) gains nothing from a second
    process: `verify` stays on one, whatever the journal's size."""
    journal = busy_base / "data" / "journal.jsonl"
    monkeypatch.setattr(verify, "BESIDE_FROM", 0)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert verify.checked_beside(journal)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1}, raising=False)
    assert not verify.checked_beside(journal)


def test_a_build_is_abandoned_when_the_chain_is_found_broken(busy_base: Path, tmp_path: Path) -> None:
    """`build_state_file` asks `between` every CHECK_EVERY lines; what it raises stops the build
    (a broken chain found by the second process makes the state being built useless)."""
    from facturier.store import journal as journal_module

    calls: list[int] = []

    class Stop(Exception):
        pass

    def between() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise Stop

    ws = tmp_path / "ws"
    shutil.copytree(busy_base, ws)
    lines = (ws / "data" / "journal.jsonl").read_bytes().count(b"\n")
    assert lines >= 3
    journal_module.CHECK_EVERY, saved = 1, journal_module.CHECK_EVERY
    try:
        with pytest.raises(Stop):
            build_state_file(ws / "data" / "journal.jsonl", tmp_path / "fresh.sqlite", between)
    finally:
        journal_module.CHECK_EVERY = saved
    assert len(calls) == 2


# -- real processes, a journal over BESIDE_FROM ----------------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo configuration over a journal just over `BESIDE_FROM` (80,000 entries, ~38 MB),
    its state and views written by `rebuild`."""
    from bench.bench_scale import write_journal

    ws = tmp_path_factory.mktemp("large") / "ws"
    shutil.copytree(DEMO, ws)
    shutil.rmtree(ws / "data", ignore_errors=True)
    (ws / "data").mkdir()
    write_journal(ws / "data" / "journal.jsonl", 40_000)
    assert (ws / "data" / "journal.jsonl").stat().st_size >= verify.BESIDE_FROM
    done = _facturier(ws, "rebuild")
    assert done.wait(300) == 0
    return ws


def _facturier(ws: Path, *args: str) -> subprocess.Popen[bytes]:
    """The CLI in its own process group (as a terminal's foreground job), output kept."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
           "FACTURIER_TODAY": "2026-11-30"}
    return subprocess.Popen([sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _second_process(proc: subprocess.Popen[bytes]) -> int:
    """The pid of `verify`'s second process, once it has started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _children(proc.pid)
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("verify started no second process")


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":  # ended, not yet reaped
            return True
        time.sleep(0.05)
    return False


def _leftovers(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"facturier-verify-{pid}-*"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads a process's children from /proc")
def test_a_large_journal_is_verified_on_two_processes_and_ctrl_c_ends_both_cleanly(large: Path) -> None:
    """Ctrl-C (SIGINT to the terminal's foreground group, both processes) while the state is
    rebuilt: exit code 130 as for any command, no traceback from either process, the second process ended with the
    first, the rebuilt state's temporary folder removed. Then a whole `verify` passes."""
    proc = _facturier(large, "verify")
    second = _second_process(proc)
    time.sleep(0.8)
    assert proc.poll() is None, "verify ended before Ctrl-C: the journal is too small for this test"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"Traceback" not in err, err  # as any command interrupted
    assert _gone(second, 10)
    assert _leftovers(proc.pid) == []
    whole = _facturier(large, "verify")
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    assert b"Integrity OK: 80000 journal entries" in out and b"Traceback" not in err


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads a process's children from /proc")
def test_a_killed_verify_leaves_no_process_and_the_next_removes_its_folder(large: Path) -> None:
    """kill -9 of `verify` while it rebuilds: its second process ends by itself (it writes no
    file), and the temporary folder named after the killed process is removed by the next
    `verify`, which passes."""
    proc = _facturier(large, "verify")
    second = _second_process(proc)
    time.sleep(0.8)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _gone(second, 120)
    assert _leftovers(proc.pid)  # the build was under way
    again = _facturier(large, "verify")
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0 and b"Traceback" not in err, err
    assert _leftovers(proc.pid) == []
