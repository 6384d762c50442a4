"""Helpers for the benchmarks: workspaces, a timed CLI run with the child's peak RSS."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench-out"


TRASH = OUT / ".trash"


def fresh_dir(name: str) -> Path:
    """An empty directory under bench-out/; a previous one is set aside, not deleted.

    Deleting a 10,000-invoice workspace right before a run made every file the run created
    cost 0.3-0.7 ms more on this machine's ext4 (no journal: new files scan past the inodes
    freed in the last minutes). `make bench` empties the trash after its last measurement.
    """
    path = OUT / name
    if path.exists():
        TRASH.mkdir(parents=True, exist_ok=True)
        path.rename(TRASH / f"{name}-{time.time_ns()}")
    path.mkdir(parents=True)
    return path


def empty_trash() -> None:
    """Delete the workspaces `fresh_dir` set aside (after measuring, never before)."""
    shutil.rmtree(TRASH, ignore_errors=True)


def timed_cli(ws: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run the real CLI once in a fresh process: (wall seconds, peak RSS MiB, result).

    Peak RSS is the maximum over the process and its children (the render pool), as reported
    by getrusage for this child alone: it is measured in a dedicated wrapper process.
    """
    code = (
        "import resource, subprocess, sys, json;"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps({'rc': p.returncode, 'rss_kib': r, 'out': p.stdout[-2000:], 'err': p.stderr[-4000:]}))"
    )
    os.sync()  # flush what earlier benchmarks left dirty: each measures only its own writes
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
        capture_output=True, text=True, env={**os.environ}, check=False,
    )
    wall = time.perf_counter() - start
    import json

    info = json.loads(proc.stdout)
    result = subprocess.CompletedProcess(args, info["rc"], info["out"], info["err"])
    if info["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{info['err']}")
    return wall, info["rss_kib"] / 1024, result


def tree_rss_kib(root_pid: int) -> int:
    """Sum of VmRSS over a process and all its descendants, from /proc (0 once it is gone)."""
    return tree_memory_kib(root_pid)[0]


def tree_memory_kib(root_pid: int) -> tuple[int, int]:
    """(sum of VmRSS, largest VmHWM) over a process and its descendants, from /proc.

    VmHWM is a process's own peak RSS so far: the largest of them is what `/usr/bin/time -v`
    reports as the maximum resident set size of a command and its children.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue  # exited meanwhile
        pid = int(entry)
        children.setdefault(int(fields["PPid"].strip()), []).append(pid)
        rss[pid] = (int(fields.get("VmRSS", "0 kB").split()[0]), int(fields.get("VmHWM", "0 kB").split()[0]))
    total, largest, stack = 0, 0, [root_pid]
    while stack:
        pid = stack.pop()
        now, peak = rss.get(pid, (0, 0))
        total, largest = total + now, max(largest, peak)
        stack.extend(children.get(pid, []))
    return total, largest


# The largest single process's peak RSS (MiB) of the last `timed_cli_tree` run.
LAST_LARGEST_MIB: list[float] = [0.0]


def timed_cli_tree(ws: Path, *args: str, interval: float = 0.05, cpus: set[int] | None = None,
                   env: dict[str, str] | None = None) -> tuple[float, float, str, float]:
    """Run the real CLI: (wall seconds, peak summed RSS MiB of it and its pool workers, stdout,
    CPU seconds of it and its pool workers).

    CPU seconds (user + system, from getrusage of the waited-for children) move much less
    than wall time when other work shares the machine: compare changes with them.

    getrusage reports only the largest single process; a process pool's memory is the sum
    of its processes, so the tree is sampled every `interval` seconds instead. `cpus` pins
    the command (and so its render workers and Typst's threads) to those cores. `env`: the
    command's environment (default: this process's).
    """
    os.sync()  # flush what earlier benchmarks left dirty: each measures only its own writes
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # Output goes to files, not pipes: a pipe nobody reads while sampling fills up (64 KiB,
    # the table of 1,000 invoices) and blocks the command.
    with tempfile.TemporaryFile("w+") as out_fh, tempfile.TemporaryFile("w+") as err_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
            stdout=out_fh, stderr=err_fh, text=True, env=env,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,  # noqa: PLW1509  (no threads here)
        )
        peak = largest = 0
        while proc.poll() is None:
            summed, biggest = tree_memory_kib(proc.pid)
            peak, largest = max(peak, summed), max(largest, biggest)
            time.sleep(interval)
        out_fh.seek(0)
        err_fh.seek(0)
        out, err = out_fh.read(), err_fh.read()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{err[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    LAST_LARGEST_MIB[0] = largest / 1024
    return wall, peak / 1024, out, cpu


def row(label: str, value: str) -> None:
    """Print one figure."""
    print(f"  {label:<38} {value}")


# Figures with a goal, left here by the benchmarks that measure them, printed together at the
# end of `make bench` (bench/run.py): (what, measured, goal, met).
GOALS: list[tuple[str, str, str, bool]] = []  # a figure without a goal counts as met


def goal(what: str, value: float, unit: str, limit: float | None) -> None:
    """Record a figure against its goal (at most `limit`; None: no goal) for the closing summary."""
    if limit is None:
        GOALS.append((what, f"{value:.2f} {unit}", "-", True))
    else:
        GOALS.append((what, f"{value:.2f} {unit}", f"<= {limit:g} {unit}", value <= limit))




def goal_at_least(what: str, value: float, unit: str, floor: float) -> None:
    """Record a figure that should be at least `floor` (a speed-up ratio) for the closing summary."""
    GOALS.append((what, f"{value:.2f} {unit}", f">= {floor:g} {unit}", value >= floor))
