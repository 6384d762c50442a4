"""Command cost against history: 20,000 and 1,000,000 journal entries (issue 9's figures).

The fixture is `bench_balances` scaled up: N invoices of 120.00 and N payments of 100.00
(each allocated to its invoice, so every invoice stays 20.00 open) for the demo's clients
acme and northwind, dated on the 15th of the months before the benchmark date, written
directly as a valid hash-chained journal (no PDFs: these commands read the journal only).
For each size the bench prints: the first command after the fixture is written (it builds
the state from scratch), `rebuild` (the state and every view, each written whole), then each
command with a current state, then `verify` (the chain, the files, the state rebuilt in
memory and compared, every view), and last a `pay` right after `data/state.sqlite` is
deleted (the worst case: the state rebuilt, every view of the client written).
Goals at 1M entries (issue 23): pay <= 0.3 s, run <= 1.0 s, balances and invoices --client
<= 0.5 s, verify's state comparison <= a rebuild, peak RSS <= 300 MB but rebuild (<= 1 GB).
Each line gives the wall time, the CPU time (user + system, which a busy machine moves far
less than the wall time) and the peak RSS. At 1M entries the views of acme and northwind
(250,000 invoices each) are split per year (`store.views.SPLIT_AT`): `rebuild` writes every
year, a `pay` or a `run` the years it changes.
"""

from __future__ import annotations

import os
import resource
import shutil
from datetime import date

from bench.common import REPO, fresh_dir, row, timed_cli
from facturier.store.journal import GENESIS, canonical, entry_hash

SIZES = (10_000, 500_000)  # invoices (and as many payments): 20k and 1M entries
CLIENTS = (("acme", "EUR"), ("northwind", "GBP"))
FIRST_YEAR = 1990


def month_days(count: int) -> list[date]:
    """The 15th of `count` consecutive months from FIRST_YEAR, ending before 2026-11."""
    days: list[date] = []
    year, month = FIRST_YEAR, 1
    while len(days) < count:
        days.append(date(year, month, 15))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    assert days[-1] < date(2026, 11, 1)
    return days


def write_journal(path: object, n: int) -> None:
    """N invoices and N payments, chained, written in one go (a fixture, not a workload)."""
    days = month_days(12 * (2026 - FIRST_YEAR) + 10)
    per_month = -(-n // len(days))
    prev = GENESIS
    seq = 0
    with open(path, "wb") as fh:  # type: ignore[call-overload]
        for i in range(n):
            client, cur = CLIENTS[i % 2]
            day = days[i // per_month]
            due = date.fromordinal(day.toordinal() + 30)
            paid = date.fromordinal(day.toordinal() + 20)
            number = f"{day.year}-{i:07d}"
            for data in (
                {"type": "invoice.issued", "kind": "invoice", "number": number, "series": "s",
                 "series_seq": i + 1, "seller": "issuer", "client": client, "client_name": client,
                 "mode": "live", "date": day.isoformat(), "due_date": due.isoformat(), "currency": cur,
                 "total_excl_vat": "100.00", "total_vat": "20.00", "total_incl_vat": "120.00", "files": {}},
                {"type": "payment.recorded", "client": client, "date": paid.isoformat(), "amount": "100.00",
                 "currency": cur, "method": "transfer", "reference": "", "source": "manual",
                 "allocation": [{"number": number, "amount": "100.00"}], "unallocated": "0.00"},
            ):
                seq += 1
                entry = {"seq": seq, "at": "2026-01-01T00:00:00.000000Z", **data, "prev": prev}
                entry["hash"] = prev = entry_hash(entry)
                fh.write(canonical(entry) + b"\n")


def workspace(n: int) -> object:
    """The demo configuration over the fixture journal (its batch inbox emptied)."""
    ws = fresh_dir(f"scale-{n}") / "ws"
    shutil.copytree(REPO / "examples" / "demo", ws)
    shutil.rmtree(ws / "data", ignore_errors=True)
    (ws / "data").mkdir()
    write_journal(ws / "data" / "journal.jsonl", n)
    return ws


def main() -> None:
    """Print each command's wall time and peak RSS at each size."""
    print("Commands against history: N invoices + N payments (goals at 1M entries: pay <= 0.3 s, "
          "run <= 1.0 s, balances/invoices <= 0.5 s, RSS <= 300 MB, rebuild <= 60 s and 1 GB)")
    os.environ["FACTURIER_TODAY"] = "2026-11-30"
    for n in SIZES:
        ws = workspace(n)
        size = (ws / "data" / "journal.jsonl").stat().st_size / 2**20  # type: ignore[operator]
        print(f"  {2 * n:,} entries ({size:.0f} MiB of journal)")
        steps = [
            ("balances (builds the state)", ("balances", "--date", "2026-11-30")),
            ("rebuild (the state and every view)", ("rebuild",)),
            ("pay acme 10.00", ("pay", "acme", "10.00", "--date", "2026-11-20")),
            ("pay acme 10.00 (again)", ("pay", "acme", "10.00", "--date", "2026-11-21")),
            ("run (3 clients)", ("run", "--date", "2026-11-15")),
            ("balances", ("balances", "--date", "2026-11-30")),
            ("invoices --client acme --year 2020", ("invoices", "--client", "acme", "--year", "2020")),
            ("verify (everything, from scratch)", ("verify",)),
        ]
        for label, args in steps:
            measured(ws, label, *args)
        (ws / "data" / "state.sqlite").unlink()  # type: ignore[operator]
        measured(ws, "pay right after data/state.sqlite is deleted", "pay", "acme", "10.00", "--date", "2026-11-22")


def measured(ws: object, label: str, *args: str) -> None:
    """One command: wall time, CPU time of the process and its children, peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss, _ = timed_cli(ws, *args)  # type: ignore[arg-type]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row(f"  {label}", f"{wall:6.2f} s  {cpu:6.2f} s CPU  {rss:5.0f} MiB")
