"""`facturier balances` over 100,000 invoices and 100,000 payments (goal: under 3 s).

The journal is written directly as valid hash-chained entries (no PDFs: balances read only
the journal), for the demo's 4 clients, so the timing covers chain verification, fact
extraction and the aging computation.
"""

from __future__ import annotations

import resource
import shutil
from datetime import date, timedelta

from bench.common import REPO, fresh_dir, row, timed_cli
from facturier.store.journal import GENESIS, canonical, entry_hash

N = 100_000
CLIENTS = (("acme", "EUR"), ("northwind", "GBP"))


def entries() -> list[dict[str, object]]:
    """N invoices of 120.00 and N payments of 100.00 (each allocated to its invoice)."""
    out: list[dict[str, object]] = []
    start = date(2020, 1, 1)
    for i in range(N):
        client, cur = CLIENTS[i % 2]
        day = start + timedelta(days=i // 50)
        number = f"{day.year}-{i:06d}"
        out.append({"type": "invoice.issued", "kind": "invoice", "number": number, "series": "s",
                    "series_seq": i + 1, "seller": "issuer", "client": client, "client_name": client,
                    "mode": "live", "date": day.isoformat(), "due_date": (day + timedelta(days=30)).isoformat(),
                    "currency": cur, "total_excl_vat": "100.00", "total_vat": "20.00",
                    "total_incl_vat": "120.00", "files": {}})
        out.append({"type": "payment.recorded", "client": client, "date": (day + timedelta(days=20)).isoformat(),
                    "amount": "100.00", "currency": cur, "method": "transfer", "reference": "",
                    "allocation": [{"number": number, "amount": "100.00"}], "unallocated": "0.00"})
    return out


def write_journal(path: object) -> None:
    """Chain and write every entry in one go (no fsync per line: a benchmark fixture)."""
    prev = GENESIS
    lines = []
    for seq, data in enumerate(entries(), start=1):
        entry = {"seq": seq, "at": "2026-01-01T00:00:00.000000Z", **data, "prev": prev}
        entry["hash"] = prev = entry_hash(entry)
        lines.append(canonical(entry))
    with open(path, "wb") as fh:  # type: ignore[call-overload]
        fh.write(b"\n".join(lines) + b"\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Print the wall time, CPU time (user + system: what other work on the machine moves least)
    and peak RSS of one balances run."""
    ws = fresh_dir("balances") / "ws"
    shutil.copytree(REPO / "examples" / "demo", ws)
    shutil.rmtree(ws / "data", ignore_errors=True)
    (ws / "data").mkdir()
    write_journal(ws / "data" / "journal.jsonl")
    cpu = _children_cpu()
    wall, rss, _result = timed_cli(ws, "balances", "--date", "2026-06-30")
    cpu = _children_cpu() - cpu
    print(f"Balances and aging over {N:,} invoices and {N:,} payments (goal < 3 s)")
    row("facturier balances", f"{wall:.2f} s")
    row("CPU (user + system)", f"{cpu:.2f} s, {cpu / (2 * N) * 1e6:.0f} µs an entry")
    row("peak RSS", f"{rss:.0f} MiB")
