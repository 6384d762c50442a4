"""`make bench`: run every bench/bench_*.py and print its figures.

`python bench/run.py batch dompdf` (or `make bench ONLY="batch dompdf"`) runs only those:
a name is a bench/bench_<name>.py module, with or without its `bench_` prefix.
"""

from __future__ import annotations

import compileall
import importlib
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# The benchmarks replay fixed days of November 2026; writing commands refuse dates after today.
os.environ.setdefault("FACTURIER_TODAY", "2026-11-30")


def main() -> None:
    """Run all benchmarks in name order (or those named on the command line)."""
    print(f"Facturier benchmarks on {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores")
    # The product's bytecode, as `pip install` writes it: with PYTHONDONTWRITEBYTECODE=1 and an
    # editable install, every process would compile Facturier's sources again (a quarter of
    # the batch's main process start-up: 0.65 G instructions, and 0.12 G in each render worker).
    compileall.compile_dir(Path(__file__).resolve().parent.parent / "src", quiet=2)
    known = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if any(a in ("-h", "--help") for a in sys.argv[1:]):
        print(__doc__.strip() + "\n\nBenchmarks: " + ", ".join(n.removeprefix("bench_") for n in known))
        return
    names = [n if n.startswith("bench_") else f"bench_{n}" for n in sys.argv[1:]] or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"no such benchmark: {', '.join(unknown)} (known: "
                         f"{', '.join(n.removeprefix('bench_') for n in known)})")
    for name in names:
        print()
        importlib.import_module(f"bench.{name}").main()
    from bench.common import GOALS, empty_trash

    empty_trash()
    if GOALS:
        print()
        print("Figures against their goals (issues 9 and 14); this machine is shared: see docs/operations.md")
        for what, value, limit, met in GOALS:
            verdict = "" if limit == "-" else ("met" if met else "NOT MET")
            print(f"  {what:<52} {value:>12}  goal {limit:<12} {verdict}")


if __name__ == "__main__":
    main()
