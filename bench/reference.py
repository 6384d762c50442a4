"""`make bench-reference`: today's code next to the code the speed goals were set against.

Issue 14's goals (a 10,000-row batch with Factur-X in 30 s on 2 cores, direct invoices in
10 ms each on one core) were set from what commit 86c4d93 measured on 2026-11-21, before
Factur-X: a batch in 28.9-29.6 s, direct invoices in 5.7 ms. This machine's speed moves
from hour to hour and from day to day, so a figure alone does not say whether the code got
slower or the machine did. This runs both codes with the same harness, turn about:

- wall time and CPU of the 10,000-row batch and of 1,000 direct invoices pinned to one
  core, each version on a workspace its own benchmark builds (its own demo configuration);
- when valgrind is installed, the instructions each version executes per invoice
  (callgrind, one process: FACTURIER_WORKERS=1), which the machine's speed does not move.
  Each version runs at two sizes: the difference, divided by the difference in invoices,
  leaves start-up out.

The reference is extracted from git (`git archive`), so this needs the repository's history.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, REPO, TRASH, empty_trash, row, timed_cli_tree

REFERENCE = "86c4d93"
MEASURED_THEN = {"batch": "28.9-29.6 s", "direct": "5.7 ms"}  # 2026-11-21, docs/operations.md
REF_DIR = OUT / "reference"
BATCH_ROWS = 10_000
DIRECT = 1000
SIZES = {"batch": (40, 160), "direct": (40, 120)}  # invoices per callgrind run


def extract_reference() -> Path:
    """The reference code under bench-out/reference (a previous copy set aside, not deleted)."""
    if REF_DIR.exists():
        TRASH.mkdir(parents=True, exist_ok=True)
        REF_DIR.rename(TRASH / f"reference-{time.time_ns()}")
    REF_DIR.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", REFERENCE], capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"cannot extract {REFERENCE} from git (a clone without history?): "
                         f"{archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(REF_DIR)], input=archive.stdout, check=True)
    return REF_DIR


def version_env(root: Path) -> dict[str, str]:
    """The environment that runs `root`'s code with this virtualenv's libraries, cache empty."""
    TRASH.mkdir(parents=True, exist_ok=True)  # the configuration caches go with the trash
    return {**os.environ, "PYTHONPATH": f"{root / 'src'}:{root}", "FACTURIER_TODAY": "2026-11-30",
            "XDG_CACHE_HOME": tempfile.mkdtemp(prefix="cache-", dir=TRASH)}


def workspace(root: Path, kind: str, n: int, name: str) -> Path:
    """A workspace built by `root`'s own benchmark module (its own demo configuration)."""
    module = "bench_batch" if kind == "batch" else "bench_issue"
    make = f"make_workspace({n})" if kind == "batch" else f"make_workspace({n}, {name!r})"
    code = f"import sys; sys.path.insert(0, {str(root)!r}); from bench.{module} import make_workspace; print({make})"
    out = subprocess.run([sys.executable, "-c", code], env=version_env(root), capture_output=True, text=True,
                         check=True)
    return Path(out.stdout.strip().splitlines()[-1])


def command(kind: str) -> list[str]:
    """The measured command: the batch's or the monthly run's day of the benchmarks."""
    return ["batch", "--date", "2026-11-28"] if kind == "batch" else ["run", "--date", "2026-11-15"]


def timed(root: Path, kind: str) -> tuple[float, float]:
    """(wall s, CPU s) of the batch, or of the direct run pinned to core 0 with one worker."""
    n = BATCH_ROWS if kind == "batch" else DIRECT
    ws = workspace(root, kind, n, "ref-direct")
    env = version_env(root)
    if kind == "direct":
        env["FACTURIER_WORKERS"] = "1"
    wall, _, _, cpu = timed_cli_tree(ws, *command(kind), cpus={0} if kind == "direct" else None, env=env)
    return wall, cpu


def instructions(root: Path, label: str, kind: str, n: int) -> int:
    """Instructions callgrind counts for one in-process run of n invoices of `root`'s code."""
    ws = workspace(root, kind, n, f"ref-cg-{label}-{n}")
    out = OUT / f"callgrind-{label}-{kind}-{n}.out"
    env = {**version_env(root), "FACTURIER_WORKERS": "1"}
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                    "facturier.cli.app", "--workspace", str(ws), *command(kind)],
                   env=env, capture_output=True, check=True)
    summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
    out.unlink()
    return int(summary.split()[1])


def main() -> None:
    """Print both versions' figures side by side, then empty the trash (after measuring, never before)."""
    try:
        compare(extract_reference())
    finally:
        empty_trash()


def compare(reference: Path) -> None:
    """Print both versions' figures side by side."""
    versions = {f"reference {REFERENCE}": reference, "today's code": REPO}
    print(f"Reference: commit {REFERENCE}, 2026-11-21, before Factur-X (then: batch {MEASURED_THEN['batch']}, "
          f"direct {MEASURED_THEN['direct']} per invoice on one core)")
    for kind, what in (("batch", f"{BATCH_ROWS:,}-row batch, 2 cores"),
                       ("direct", f"{DIRECT:,} direct invoices, pinned to 1 core, FACTURIER_WORKERS=1")):
        n = BATCH_ROWS if kind == "batch" else DIRECT
        print(f"{what} (each version twice, turn about; wall / CPU per invoice)")
        runs: dict[str, list[tuple[float, float]]] = {label: [] for label in versions}
        for _ in range(2):
            for label, root in versions.items():
                runs[label].append(timed(root, kind))
        for label, results in runs.items():
            text = ", ".join(f"{w:.1f} s ({w * 1000 / n:.2f} ms) / {c * 1000 / n:.2f} ms" for w, c in results)
            row(label, text)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt-get install valgrind)")
        return
    print("Instructions per invoice (callgrind, one process, start-up left out): "
          "the machine's speed does not move them")
    for kind, (small, large) in SIZES.items():
        def per_invoice(key: str, root: Path, kind: str = kind, small: int = small, large: int = large) -> float:
            low, high = (instructions(root, key, kind, n) for n in (small, large))
            return (high - low) / (large - small)

        with ThreadPoolExecutor(2) as pool:  # one version per core; the counts do not depend on it
            futures = {label: pool.submit(per_invoice, f"v{i}", root)
                       for i, (label, root) in enumerate(versions.items())}
            counts = {label: future.result() for label, future in futures.items()}
        for label, value in counts.items():
            row(f"{kind}: {label}", f"{value / 1e6:.1f} M")
        ref, today = counts.values()
        row(f"{kind}: today / reference", f"{today / ref:.2f}")

if __name__ == "__main__":
    main()
