"""Issuing 1,000 direct invoices in one `facturier run`: wall time, ms per invoice, peak RSS."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.common import REPO, fresh_dir, goal, row, timed_cli_tree

N = 1000

CLIENT = """name = "Client {i:04d} SARL"
email = "billing{i}@client.example"
address = ["{i} rue de la Paix", "75002 Paris"]
country = "FR"
language = "{lang}"
currency = "{cur}"
[options]
auto_send = false
[[lines]]
description = "Maintenance mensuelle"
quantity = "1"
unit_price = "{price}.00"
[[lines]]
description = "Hébergement et sauvegardes"
quantity = "3"
unit_price = "12.50"
[[lines]]
description = "Support (heures)"
quantity = "{hours}"
unit_price = "65.00"
vat_rate = "20"
"""


def make_workspace(n: int, name: str = "issue") -> Path:
    """The demo issuer with n generated clients, half French, half English."""
    ws = fresh_dir(name)
    shutil.copy(REPO / "examples" / "demo" / "facturier.toml", ws / "facturier.toml")
    clients = ws / "clients"
    clients.mkdir()
    for i in range(n):
        lang, cur = ("fr", "EUR") if i % 2 == 0 else ("en", "USD")
        text = CLIENT.format(i=i, lang=lang, cur=cur, price=100 + i % 400, hours=1 + i % 7)
        (clients / f"client-{i:04d}.toml").write_text(text, encoding="utf-8")
    return ws


def measure(workers: str | None) -> None:
    """One run on a fresh workspace, with all cores or a fixed number of render workers."""
    ws = make_workspace(N)
    if workers:
        os.environ["FACTURIER_WORKERS"] = workers
    try:
        # One core means one: the process is pinned to it, so Typst's threads share it too.
        wall, rss, _, cpu = timed_cli_tree(ws, "run", "--date", "2026-11-15", cpus={0} if workers == "1" else None)
    finally:
        os.environ.pop("FACTURIER_WORKERS", None)
    issued = len(list((ws / "data" / "invoices").rglob("*.pdf")))
    assert issued == N, f"expected {N} invoices, got {issued}"
    label = "1 core (pinned, FACTURIER_WORKERS=1)" if workers else f"all {os.cpu_count()} cores"
    print(f"Direct invoicing, {issued} invoices in one `facturier run`, PDF/A-3b included, {label}")
    row("wall time (process start to exit)", f"{wall:.2f} s")
    row("per invoice", f"{wall * 1000 / issued:.2f} ms")
    row("CPU, all processes (user + system)", f"{cpu:.1f} s, {cpu * 1000 / issued:.2f} ms/invoice")
    row("peak RSS (main + pool workers, summed)", f"{rss:.0f} MiB")
    goal(f"direct invoices, ms/invoice on {label.split(' (')[0]}", wall * 1000 / issued, "ms",
         10 if workers == "1" else None)
    goal(f"direct invoices, peak RSS on {label.split(' (')[0]}", rss * 2**20 / 1e6, "MB", None)
    # Beside the batch's CPU per invoice in the closing summary (issue 27).
    goal(f"direct invoices, CPU per invoice on {label.split(' (')[0]}", cpu * 1000 / issued, "ms", None)


def main() -> None:
    """Run the benchmark on all cores, then on one core, and print the figures."""
    measure(None)
    measure("1")
