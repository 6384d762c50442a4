"""`make bench`: run every bench/bench_*.py and print its figures."""

from __future__ import annotations

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
    names = sys.argv[1:] or sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
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
