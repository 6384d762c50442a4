"""Usage billing at scale (issue 13's figures).

1. `usage import` of a 1,000,000-record CSV (1,000 metered clients x 1,000 records of
   October 2026, three metrics: graduated sum, volume max, package of unique keys).
   Goal: <= 20 s and <= 500 MB peak RSS.
2. The cost of usage aggregation in `run` for those 1,000 clients with the 1,000,000
   records in the month: `run --dry-run` (composes every invoice, renders none) on the
   workspace with the records minus the same on an identical workspace without any, then
   the real `run` of both (the difference there also holds rendering the extra lines).
   Goal: the aggregation adds <= 2 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench.common import REPO, fresh_dir, row

CLIENTS = 1_000
PER_CLIENT = 1_000
CLIENT = """name = "Metered {i}"
email = "billing{i}@meter.example"
address = ["{i} rue de la Paix", "75002 Paris"]
country = "FR"
language = "{lang}"
currency = "EUR"

[[lines]]
description = "Platform fee"
unit_price = "100.00"

[[lines]]
description = "API calls"
metric = "api_calls"
pricing = "graduated"
included = "100"
[[lines.tiers]]
up_to = "1000"
unit_price = "0.0125"
[[lines.tiers]]
up_to = "10000"
unit_price = "0.008"
flat_fee = "5.00"
[[lines.tiers]]
unit_price = "0.001234"

[[lines]]
description = "Storage"
metric = "storage_gb"
aggregation = "max"
pricing = "volume"
minimum = "20.00"
[[lines.tiers]]
up_to = "100"
unit_price = "0.10"
[[lines.tiers]]
unit_price = "0.05"

[[lines]]
description = "Seats"
metric = "seats"
aggregation = "unique"
pricing = "package"
package_size = "5"
unit_price = "25.00"
"""
METRICS = ("api_calls", "storage_gb", "seats")


def workspace(name: str) -> object:
    """1,000 metered clients on the demo's issuer configuration."""
    ws = fresh_dir(name)
    shutil.copy(REPO / "examples" / "demo" / "facturier.toml", ws / "facturier.toml")
    (ws / "clients").mkdir()
    for i in range(CLIENTS):
        text = CLIENT.format(i=i, lang="fr" if i % 2 else "en")
        (ws / "clients" / f"c{i:04d}.toml").write_text(text, encoding="utf-8")
    return ws


def usage_file(path: object) -> None:
    """CLIENTS x PER_CLIENT records of October 2026."""
    with open(path, "w", encoding="utf-8") as fh:  # type: ignore[call-overload]
        fh.write("client,metric,quantity,date,id,key\n")
        n = 0
        for i in range(CLIENTS):
            for j in range(PER_CLIENT):
                metric = METRICS[j % 3]
                key = f"user{j % 37}" if metric == "seats" else ""
                fh.write(f"c{i:04d},{metric},{j % 97}.{j % 10},2026-10-{j % 28 + 1:02d},e{n:07d},{key}\n")
                n += 1


def timed(ws: Path, *args: str) -> tuple[float, float, float, str]:
    """Run the real CLI: (wall s, CPU s of the process and its children, peak RSS MB, stdout).

    The CPU time is printed beside the wall time: on a machine shared with other work the
    wall time grows with the load, the CPU time much less.
    """
    code = (
        "import resource, subprocess, sys, json;"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps({'rc': p.returncode, 'rss': r.ru_maxrss, 'cpu': r.ru_utime + r.ru_stime,"
        " 'out': p.stdout[-2000:], 'err': p.stderr[-2000:]}))"
    )
    os.sync()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "facturier.cli.app", "--workspace",
                           str(ws), *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    info = json.loads(proc.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{info['err']}")
    return wall, info["cpu"], info["rss"] / 1024, info["out"]


def compose_seconds(ws: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to open the state and compose every due invoice, in this process
    (the configuration is loaded before the clock starts: both workspaces have the same)."""
    from facturier.config import load_workspace
    from facturier.ops.invoicing.monthly import plan_monthly
    from facturier.ops.state_access import read_state

    config = load_workspace(ws)
    start, cpu = time.perf_counter(), time.process_time()
    state = read_state(ws)
    plan = plan_monthly(config, state, date(2026, 11, 15))
    state.close()
    assert len(plan.due) == CLIENTS, plan.skipped[:3]
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    """Print the figures."""
    print(f"Usage billing: {CLIENTS:,} metered clients, {CLIENTS * PER_CLIENT:,} usage records")
    metered = workspace("usage-metered")
    plain = workspace("usage-none")
    source = metered / "usage.csv"  # type: ignore[operator]
    usage_file(source)
    wall, cpu, rss, out = timed(metered, "usage", "import", str(source))  # type: ignore[arg-type]
    row("usage import (1M records)", f"{wall:.1f} s ({cpu:.1f} s CPU), peak {rss:.0f} MB  (goal <= 20 s, <= 500 MB)")
    row("", (out.strip().splitlines() or [""])[-1][:60])
    wall, cpu, rss, _ = timed(metered, "usage", "import", str(source))  # type: ignore[arg-type]
    row("usage import again (all duplicates)", f"{wall:.1f} s ({cpu:.1f} s CPU), peak {rss:.0f} MB")
    with_wall, with_cpu = compose_seconds(metered)  # type: ignore[arg-type]
    without_wall, without_cpu = compose_seconds(plain)  # type: ignore[arg-type]
    row("compose 1,000 invoices, with usage", f"{with_wall:.2f} s ({with_cpu:.2f} s CPU)")
    row("compose 1,000 invoices, without usage", f"{without_wall:.2f} s ({without_cpu:.2f} s CPU)")
    row("usage aggregation adds",
        f"{with_wall - without_wall:.2f} s ({with_cpu - without_cpu:.2f} s CPU)  (goal <= 2 s)")
    run_with, cpu_with, rss_with, _ = timed(metered, "run", "--date", "2026-11-15")  # type: ignore[arg-type]
    run_without, cpu_without, _, _ = timed(plain, "run", "--date", "2026-11-15")  # type: ignore[arg-type]
    row("run (1,000 invoices), with usage", f"{run_with:.1f} s ({cpu_with:.1f} s CPU), peak {rss_with:.0f} MB")
    row("run (1,000 invoices), without usage", f"{run_without:.1f} s ({cpu_without:.1f} s CPU)")
    row("", "(the run with usage also renders ~7 more lines an invoice)")
    source.unlink()  # type: ignore[attr-defined]
