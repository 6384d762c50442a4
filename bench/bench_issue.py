"""Issuing 1,000 direct invoices in one `facturier run`: wall time, ms per invoice, peak RSS."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.common import REPO, fresh_dir, row, timed_cli

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
        wall, rss, _ = timed_cli(ws, "run", "--date", "2026-11-15")
    finally:
        os.environ.pop("FACTURIER_WORKERS", None)
    issued = len(list((ws / "data" / "invoices").rglob("*.pdf")))
    assert issued == N, f"expected {N} invoices, got {issued}"
    label = f"{workers} core" if workers else f"all {os.cpu_count()} cores"
    print(f"Direct invoicing, {issued} invoices in one `facturier run`, PDF/A-3b included, {label}")
    row("wall time (process start to exit)", f"{wall:.2f} s")
    row("per invoice", f"{wall * 1000 / issued:.2f} ms")
    row("peak RSS (largest process)", f"{rss:.0f} MiB")


def main() -> None:
    """Run the benchmark on all cores, then on one core, and print the figures."""
    measure(None)
    measure("1")
