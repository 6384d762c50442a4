"""Concurrency and crashes: two runs at once, SIGKILL at random instants, never a gap or a duplicate."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO, journal, run_cli_process

CLIENT = """name = "Client {i}"
email = "c{i}@example.com"
address = ["{i} rue de Rivoli", "75001 Paris"]
country = "FR"
language = "{lang}"
currency = "EUR"
[[lines]]
description = "Service {i}"
quantity = "1"
unit_price = "{i}.50"
"""


def many_clients(root: Path, n: int) -> Path:
    ws = root / "many"
    ws.mkdir()
    shutil.copy(DEMO / "facturier.toml", ws / "facturier.toml")
    (ws / "clients").mkdir()
    for i in range(n):
        lang = "fr" if i % 2 else "en"
        (ws / "clients" / f"c{i:03d}.toml").write_text(CLIENT.format(i=i, lang=lang), encoding="utf-8")
    return ws


def spawn(ws: Path, *args: str) -> subprocess.Popen[str]:
    # Small commit groups, so a kill also lands between two groups of one run.
    return subprocess.Popen(
        [sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "FACTURIER_COMMIT_GROUP": "7"},
    )


def assert_gapless_once_each(ws: Path, n: int) -> None:
    entries = [e for e in journal(ws) if e["type"] == "invoice.issued"]
    assert sorted(e["series_seq"] for e in entries) == list(range(1, n + 1))
    assert len({e["number"] for e in entries}) == n
    assert sorted(e["client"] for e in entries) == [f"c{i:03d}" for i in range(n)]
    pdfs = sorted(p.name for p in (ws / "data" / "invoices").rglob("*.pdf"))
    assert len(pdfs) == n
    r = run_cli_process(ws, "verify")
    assert r.code == 0, r.text


def test_simultaneous_runs_never_duplicate_or_skip(tmp_path: Path) -> None:
    n = 30
    ws = many_clients(tmp_path, n)
    procs = [spawn(ws, "run", "--date", "2026-11-15") for _ in range(4)]
    results = [(p.wait(timeout=180), p.communicate()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert_gapless_once_each(ws, n)


def test_a_second_run_gives_up_with_the_holders_name(tmp_path: Path) -> None:
    ws = many_clients(tmp_path, 2)
    (ws / "data").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys,time; from facturier.store.lock import WorkspaceLock as L; "
          "l=L(__import__('pathlib').Path(sys.argv[1])); "
          "l.acquire(); print('held', flush=True); time.sleep(30)"), str(ws / "data")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "held"
        r = run_cli_process(ws, "run", "--date", "2026-11-15", env={"FACTURIER_LOCK_WAIT": "0.5"})
        assert r.code == 1
        assert f"locked by another facturier process (pid {holder.pid}" in r.err
        assert journal(ws) == []
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_a_random_instant_then_rerun_completes(tmp_path: Path, seed: int) -> None:
    # 60 invoices take about a second after a ~0.35 s start-up on the reference machine, so
    # these delays land before, during and after the issuing loop.
    n = 60
    ws = many_clients(tmp_path, n)
    rng = random.Random(seed)
    for _ in range(3):  # several kills in a row, each at a random instant
        proc = spawn(ws, "run", "--date", "2026-11-15")
        time.sleep(rng.uniform(0.3, 1.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = run_cli_process(ws, "run", "--date", "2026-11-15")
    assert r.code == 0, r.text
    assert_gapless_once_each(ws, n)
    assert not any((ws / "data" / "staging").iterdir()) if (ws / "data" / "staging").exists() else True


def derived(ws: Path) -> tuple[list[str], dict[str, bytes]]:
    """What read-only commands print, and the views' bytes: all derived from the journal."""
    outs = []
    for args in (("balances", "--date", "2026-12-31", "--json"), ("invoices", "--json"), ("show", "2026-0001")):
        r = run_cli_process(ws, *args)
        assert r.code == 0, r.text
        outs.append(r.out)
    views = {str(p.relative_to(ws)): p.read_bytes() for p in sorted((ws / "data").glob("*/*.json"))
             if p.parent.name in ("revenues", "payments", "balance")}
    return outs, views


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_during_payments_leaves_journal_head_checkpoint_and_views_consistent(tmp_path: Path, seed: int) -> None:
    """Kills land in the commit (head pending, line written, head updated), in the views'
    in-place append and in the checkpoint save: the next command completes or ignores what
    was cut, and its checkpoint and views are those of a rebuild from the journal alone."""
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    assert run_cli_process(ws, "run", "--date", "2026-11-15").code == 0
    rng = random.Random(seed)
    for _ in range(4):
        proc = spawn(ws, "pay", "acme", "1.00", "--date", "2026-11-20")
        time.sleep(rng.uniform(0.25, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    r = run_cli_process(ws, "pay", "acme", "1.00", "--date", "2026-11-21")
    assert r.code == 0, r.text
    assert run_cli_process(ws, "verify").code == 0
    payments = [e for e in journal(ws) if e["type"] == "payment.recorded"]
    assert 1 <= len(payments) <= 5 and payments[-1]["date"] == "2026-11-21"
    after_kills = derived(ws)
    assert run_cli_process(ws, "rebuild").code == 0
    assert derived(ws) == after_kills


def _children_of(pid: int) -> list[int]:
    """Every live process whose parent is `pid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_render_workers_do_not_outlive_a_killed_run(tmp_path: Path) -> None:
    ws = many_clients(tmp_path, 200)
    proc = spawn(ws, "run", "--date", "2026-11-15")
    deadline = time.time() + 30
    workers: list[int] = []
    while time.time() < deadline and len(workers) < 2:  # wait for the pool to start
        workers = _children_of(proc.pid)
        time.sleep(0.05)
    assert workers, "the run never started render workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and "zombie" not in Path(f"/proc/{w}/status").read_text().lower()]
    assert alive == [], f"render workers {alive} outlived their killed parent"
