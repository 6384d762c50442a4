"""Helpers for the benchmarks: workspaces, a timed CLI run with the child's peak RSS."""

from __future__ import annotations

import os

import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench-out"


def fresh_dir(name: str) -> Path:
    """An empty directory under bench-out/."""
    path = OUT / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


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
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args],
        capture_output=True, text=True, env={**os.environ},
    )
    wall = time.perf_counter() - start
    import json

    info = json.loads(proc.stdout)
    result = subprocess.CompletedProcess(args, info["rc"], info["out"], info["err"])
    if info["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{info['err']}")
    return wall, info["rss_kib"] / 1024, result


def row(label: str, value: str) -> None:
    """Print one figure."""
    print(f"  {label:<38} {value}")


