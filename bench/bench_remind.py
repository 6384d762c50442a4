"""`facturier remind` at scale (issue 11's figures).

1. 10,000 overdue invoices over a 1M-entry history: 495,000 invoices of 120.00 each paid in
   full by its payment (the `bench_scale` fixture, settled), then 10,000 invoices of
   2026-10-01, due 2026-10-31, unpaid and emailed (so each reminder answers its invoice
   email), half for acme (French templates), half for northwind (English). On 2026-11-30
   each is 30 days overdue: 10,000 drafts of stage 28. Goals: the dry run <= 3 s, drafting
   into the outbox <= 10 s (with a current state: the first commands after the fixture
   is written build it, `balances` for the ledger's sections and `reminders` for the
   collections tables, and are shown too; a dry run writes nothing, not even the state).
2. IMAP APPEND to a loopback Dovecot (the tests' server, `mail_fsync = never`): 1,000
   drafts through `ImapDrafts.create` (each a SEARCH for its Message-ID, then APPEND), and
   `remind` drafting 1,000 invoices into it end to end. Goal >= 100 drafts/s.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path

from bench.bench_scale import CLIENTS, month_days
from bench.common import REPO, fresh_dir, row
from facturier.store.journal import GENESIS, canonical, entry_hash

HISTORY = 495_000  # settled invoices (and as many payments)
OVERDUE = 10_000
DAY = "2026-11-30"
COLLECTIONS = '\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'


def _entries(history: int, overdue: int):  # type: ignore[no-untyped-def]
    days = month_days(12 * (2026 - 1990) + 9)
    per_month = -(-history // len(days))
    for i in range(history):
        client, cur = CLIENTS[i % 2]
        day = days[i // per_month]
        number = f"{day.year}-{i:07d}"
        yield {"type": "invoice.issued", "kind": "invoice", "number": number, "series": "s", "series_seq": i + 1,
               "seller": "issuer", "client": client, "client_name": client, "mode": "live",
               "date": day.isoformat(), "due_date": date.fromordinal(day.toordinal() + 30).isoformat(),
               "currency": cur, "total_excl_vat": "100.00", "total_vat": "20.00", "total_incl_vat": "120.00",
               "files": {}}
        yield {"type": "payment.recorded", "client": client,
               "date": date.fromordinal(day.toordinal() + 20).isoformat(), "amount": "120.00", "currency": cur,
               "method": "transfer", "reference": "", "source": "manual",
               "allocation": [{"number": number, "amount": "120.00"}], "unallocated": "0.00"}
    for j in range(overdue):
        client, cur = CLIENTS[j % 2]
        number = f"2026-8{j:06d}"
        yield {"type": "invoice.issued", "kind": "invoice", "number": number, "series": "o", "series_seq": j + 1,
               "seller": "issuer", "client": client, "client_name": client, "mode": "live", "date": "2026-10-01",
               "due_date": "2026-10-31", "currency": cur, "total_excl_vat": "100.00", "total_vat": "20.00",
               "total_incl_vat": "120.00", "files": {}}
        yield {"type": "invoice.sent", "number": number, "message_id": f"<inv-{j}@palks.example>",
               "to": ["x@example.com"], "transport": "outbox"}


def write_journal(path: Path, history: int, overdue: int) -> int:
    """The fixture as a valid hash-chained journal; the number of entries."""
    prev, seq = GENESIS, 0
    with open(path, "wb") as fh:
        for data in _entries(history, overdue):
            seq += 1
            entry = {"seq": seq, "at": "2026-01-01T00:00:00.000000Z", **data, "prev": prev}
            entry["hash"] = prev = entry_hash(entry)
            fh.write(canonical(entry) + b"\n")
    return seq


def workspace(name: str, history: int, overdue: int, collections: str = COLLECTIONS) -> tuple[Path, int]:
    """The demo configuration over the fixture journal, drafting allowed all day."""
    ws = fresh_dir(name) / "ws"
    shutil.copytree(REPO / "examples" / "demo", ws)
    shutil.rmtree(ws / "data", ignore_errors=True)
    (ws / "data").mkdir()
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + collections, encoding="utf-8")
    return ws, write_journal(ws / "data" / "journal.jsonl", history, overdue)


def timed(ws: Path, *args: str) -> tuple[str, str]:
    """Run the real CLI once: ("wall s (CPU s)  RSS", stdout). CPU (user + system) is shown
    because the machine is shared: wall time alone says little while other jobs run."""
    code = ("import resource, subprocess, sys, json, time;"
            "t = time.perf_counter();"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
            "w = time.perf_counter() - t;"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN);"
            "print(json.dumps({'rc': p.returncode, 'wall': w, 'cpu': r.ru_utime + r.ru_stime,"
            " 'rss': r.ru_maxrss, 'out': p.stdout[-3000:], 'err': p.stderr[-3000:]}))")
    import json
    import subprocess

    os.sync()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "facturier.cli.app", "--workspace",
                           str(ws), *args], capture_output=True, text=True, env={**os.environ}, check=False)
    info = json.loads(proc.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{info['err']}")
    return f"{info['wall']:6.2f} s (CPU {info['cpu']:5.2f} s)  {info['rss'] / 1024:4.0f} MiB", info["out"]


def outbox_figures() -> None:
    ws, entries = workspace("remind", HISTORY, OVERDUE)
    print(f"  {entries:,} journal entries, {OVERDUE:,} overdue invoices (goals: dry run <= 3 s, outbox <= 10 s)")
    row("  balances (builds the state)", timed(ws, "balances", "--date", DAY)[0])
    row("  reminders (builds collections' one)", timed(ws, "reminders")[0])
    figure, out = timed(ws, "remind", "--date", DAY, "--dry-run")
    assert f"{OVERDUE} draft(s) would be made" in out, out[-500:]
    row("  remind --dry-run", figure)
    figure, _ = timed(ws, "remind", "--date", DAY)
    made = len(list((ws / "data" / "drafts").glob("*.eml")))
    assert made == OVERDUE, made
    row(f"  remind: {made:,} drafts into the outbox", figure)
    row("  remind again (nothing due)", timed(ws, "remind", "--date", DAY)[0])


def imap_figures() -> None:
    sys.path.insert(0, str(REPO))
    from tests.dovecot_server import PASSWORD, USER, dovecot_binary, start_dovecot

    if dovecot_binary() is None:
        print("  IMAP: skipped, Dovecot is not installed (apt-get install dovecot-imapd)")
        return
    server = start_dovecot(special_use=True)
    try:
        print("  IMAP APPEND to a loopback Dovecot (goal >= 100 drafts/s)")
        row("  ImapDrafts.create, 1,000 drafts", f"{_store_rate(server.port, USER, PASSWORD):6.0f} drafts/s")
        section = COLLECTIONS.replace('window', 'drafts = "imap"\nwindow') + (
            f'\n[collections.imap]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n'
            f'username = "{USER}"\npassword_env = "FACTURIER_IMAP_PASSWORD"\n')
        ws, _ = workspace("remind-imap", 0, 1000, section)
        os.environ["FACTURIER_IMAP_PASSWORD"] = PASSWORD
        row("  remind: 1,000 drafts into IMAP", timed(ws, "remind", "--date", DAY)[0])
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


def _store_rate(port: int, user: str, password: str) -> float:
    from facturier.adapters.drafts import ImapDrafts
    from facturier.config.collections import ImapConfig
    from facturier.render.reminders import (
        SAMPLE_CREDITOR,
        reminder_email,
        reminder_env,
        render_reminder,
        sample_group,
    )

    env = reminder_env(None)
    group = sample_group("fr", 21)
    rendered = render_reminder(env, group, SAMPLE_CREDITOR)
    drafts = [reminder_email(rendered, group, sender="Palks Studio <billing@palks.example>",
                             message_id=f"<bench-{i}-{time.time_ns()}@palks.example>") for i in range(1000)]
    config = ImapConfig(host="127.0.0.1", port=port, security="none", username=user,
                        password_env="FACTURIER_IMAP_PASSWORD")
    with ImapDrafts(config, password) as store:
        store.find("<warm-up@palks.example>")  # connect and log in outside the timing
        start = time.perf_counter()
        for draft in drafts:
            store.create(draft)
        return len(drafts) / (time.perf_counter() - start)


def main() -> None:
    """Print the remind figures (outbox at scale, then IMAP)."""
    print("Collections: remind")
    os.environ["FACTURIER_TODAY"] = DAY
    outbox_figures()
    imap_figures()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
