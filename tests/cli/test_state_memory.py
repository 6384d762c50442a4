"""What a command holds in memory does not grow with the state file: a dry run reads a private
copy of it from a temporary file, which it removes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from facturier.store.state.ledger_state import PRIVATE_PREFIX
from tests.conftest import run_cli

PADDING = 200 << 20  # bytes added to the state file, in a table of no use to the state


@pytest.fixture(autouse=True)
def own_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own temporary folder (in this process and the CLI processes it starts):
    the tests count the private copies there, and the suite's other dry runs, run beside them,
    make and remove theirs in the shared one."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


def peak_rss_mib(ws: Path, *args: str) -> tuple[float, str]:
    """(peak RSS in MiB, stderr) of one real CLI process."""
    code = ("import resource, subprocess, sys, json;"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
            "print(json.dumps([p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.stderr]))")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "facturier.cli.app", "--workspace",
                          str(ws), *args], capture_output=True, text=True, check=True, env={**os.environ}).stdout
    rc, kib, err = json.loads(out)
    assert rc == 0, err
    return kib / 1024, err


def private_copies() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith(PRIVATE_PREFIX)}


def test_a_dry_run_holds_no_copy_of_the_state_file_in_memory_and_leaves_none_behind(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    db = sqlite3.connect(ws / "data" / "state.sqlite")
    db.execute("CREATE TABLE padding(blob BLOB)")
    db.execute("INSERT INTO padding VALUES (zeroblob(?))", (PADDING,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert (ws / "data" / "state.sqlite").stat().st_size > PADDING
    before = private_copies()
    rss, err = peak_rss_mib(ws, "run", "--dry-run", "--date", "2026-12-15")
    assert "note:" not in err, err  # the saved state was read, not rebuilt
    assert rss < 150, f"{rss:.0f} MiB for a {PADDING >> 20} MiB state file"
    assert private_copies() == before
    assert not list((ws / "data").glob("state.sqlite-*"))


def test_the_copy_of_a_killed_dry_run_is_removed_by_the_next_one(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan = Path(tempfile.gettempdir()) / f"{PRIVATE_PREFIX}{dead}-test"
    orphan.mkdir()
    (orphan / "state.sqlite").write_bytes(b"x" * 1000)
    alive = Path(tempfile.gettempdir()) / f"{PRIVATE_PREFIX}{os.getpid()}-test"
    alive.mkdir()
    try:
        res = run_cli(ws, "run", "--dry-run", "--date", "2026-12-15")
        assert res.code == 0, res.text
        assert not orphan.exists()
        assert alive.is_dir()  # a copy of a process still running is left alone
    finally:
        shutil.rmtree(orphan, ignore_errors=True)
        shutil.rmtree(alive, ignore_errors=True)


def test_a_dry_run_without_room_for_its_copy_reads_the_state_file_and_writes_nothing(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facturier.store.state import opening

    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    state = ws / "data" / "state.sqlite"
    before = state.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(opening.shutil, "copyfile", full)
    copies = private_copies()
    res = run_cli(ws, "run", "--dry-run", "--date", "2026-12-15")
    assert res.code == 0, res.text
    assert "note:" not in res.err  # the saved state was read, not rebuilt
    assert state.read_bytes() == before and private_copies() == copies
