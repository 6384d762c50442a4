"""`facturier report` and `facturier export fec` over the 1,000,000-entry fixture of bench_scale.

The fixture is bench_scale's (500,000 invoices and as many payments since 1990, for acme in
EUR and northwind in GBP, written as a valid chained journal), with an exchange rate for
the FEC. Goals: `report` <= 5 s, `export fec` <= 10 s, each with a current state (the
first command after the fixture is written builds it, and is shown apart).
"""

from __future__ import annotations

import os

from bench.bench_scale import workspace
from bench.common import row, timed_cli

N = 500_000  # invoices, and as many payments: 1M entries


def main() -> None:
    """Print each command's wall time and peak RSS."""
    print("Reports over 1,000,000 entries (goals: report <= 5 s, export fec <= 10 s)")
    os.environ["FACTURIER_TODAY"] = "2026-11-30"
    ws = workspace(N)
    with open(ws / "facturier.toml", "a", encoding="utf-8") as fh:  # type: ignore[operator]
        fh.write('\n[accounting]\nexchange_rates = { GBP = "1.1650" }\n')
    steps = [
        ("balances (builds the state)", ("balances", "--date", "2026-11-30")),
        ("report --year 2026", ("report", "--year", "2026", "--date", "2026-11-30")),
        ("report --year 2025 (at 2025-12-31)", ("report", "--year", "2025")),
        ("export fec --year 2026", ("export", "fec", "--year", "2026")),
        ("export fec --year 2025", ("export", "fec", "--year", "2025")),
    ]
    for label, args in steps:
        wall, rss, _ = timed_cli(ws, *args)  # type: ignore[arg-type]
        row(label, f"{wall:6.2f} s  {rss:5.0f} MiB")
    report = ws / "exports" / "report-2026.html"  # type: ignore[operator]
    fec = ws / "exports" / "732829320FEC20261231.txt"  # type: ignore[operator]
    row("report-2026.html", f"{report.stat().st_size / 1024:6.0f} KiB")
    lines = fec.read_bytes().count(b"\n") - 1
    row("FEC 2026", f"{lines:6d} lines")
