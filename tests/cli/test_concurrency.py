"""Real processes side by side: readers beside a writer, a state deleted under a busy workspace,
SIGKILL while the state is caught up or rebuilt. The state (data/state.sqlite) is derived from
the journal: whatever happens to it, every command lists each document once, and `verify` passes.

Every command here that runs beside another, or is killed, is a real `python -m
facturier.cli.app` process; the checks made afterwards, one command at a time, run in process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_faults import many_clients
from tests.conftest import copy_demo, journal, run_cli, run_cli_process
from tests.ledger_gen import write_journal

CLIENTS = 64
MONTHS = ("2026-08-15", "2026-09-15", "2026-10-15")
DOCUMENTS = ("invoice.issued", "credit_note.issued")


def command_line(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "facturier.cli.app", "--workspace", str(ws), *args]


def spawn(ws: Path, *args: str, commit_group: int | None = None) -> subprocess.Popen[str]:
    """A facturier process, started and left running; small commit groups on request."""
    env = {**os.environ, "COLUMNS": "200"}
    if commit_group is not None:
        env["FACTURIER_COMMIT_GROUP"] = str(commit_group)
    return subprocess.Popen(command_line(ws, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def kill_after(proc: subprocess.Popen[str], seconds: float) -> bool:
    """SIGKILL `proc` after `seconds` unless it ended before; whether it was killed."""
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        return True
    proc.communicate()
    return False


def journalled_numbers(ws: Path) -> list[str]:
    """The numbers of every invoice and credit note in the journal, in journal order."""
    return [e["number"] for e in journal(ws) if e["type"] in DOCUMENTS]


def listed(out: str) -> list[dict[str, Any]]:
    """The rows of a --json report."""
    rows: list[dict[str, Any]] = json.loads(out)["rows"]
    return rows


def assert_each_document_listed_once(ws: Path) -> None:
    """`invoices --json` lists every journalled document once; `--client X` every one of X once."""
    numbers = journalled_numbers(ws)
    assert len(numbers) == len(set(numbers))
    everything = run_cli(ws, "invoices", "--json")
    assert everything.code == 0 and "Traceback" not in everything.text, everything.text
    rows = listed(everything.out)
    assert len(rows) == len(numbers)
    assert sorted(r["number"] for r in rows) == sorted(numbers)
    by_client = Counter(e["client"] for e in journal(ws) if e["type"] in DOCUMENTS)
    for client, count in sorted(by_client.items()):
        mine = run_cli(ws, "invoices", "--client", client, "--json")
        assert mine.code == 0 and "Traceback" not in mine.text, (client, mine.text)
        own = [r["number"] for r in listed(mine.out)]
        assert len(own) == len(set(own)) == count, (client, own)
        assert all(r["client"] == client for r in listed(mine.out))


def assert_verified(ws: Path) -> None:
    r = run_cli_process(ws, "verify")
    assert r.code == 0 and "Traceback" not in r.text, r.text


def replace_state(ws: Path, by: Path | None) -> None:
    """data/state.sqlite deleted (with its -wal and -shm), or replaced by a copy of `by`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ws / 'data' / 'state.sqlite'}{suffix}").unlink(missing_ok=True)
    if by is not None:
        shutil.copy(by, ws / "data" / "state.sqlite")


def assert_gapless(ws: Path) -> None:
    """Every series numbered 1..n, no number twice."""
    seqs: dict[str, list[int]] = {}
    for e in journal(ws):
        if e["type"] in DOCUMENTS:
            seqs.setdefault(e["series"], []).append(e["series_seq"])
    for series, got in seqs.items():
        assert sorted(got) == list(range(1, len(got) + 1)), series


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64 clients invoiced for three months: 192 invoices (made once, copied by each test)."""
    ws = many_clients(tmp_path_factory.mktemp("history"), CLIENTS)
    for day in MONTHS:
        r = run_cli(ws, "run", "--date", day)
        assert r.code == 0, r.text
    assert len(journalled_numbers(ws)) == CLIENTS * len(MONTHS)
    return ws


@pytest.fixture
def busy(history: Path, tmp_path: Path) -> Path:
    """A copy of the three months' workspace."""
    ws = tmp_path / "busy"
    shutil.copytree(history, ws, symlinks=True)
    return ws


# -- readers beside a writer --------------------------------------------------------------------


Seen = list[tuple[str, subprocess.CompletedProcess[str]]]


def read_while(writer: subprocess.Popen[str], ws: Path, rounds: int) -> Seen:
    """`invoices --json` and `balances --json`, each in its own process, while `writer` runs
    (at most `rounds` of each); what they printed."""
    seen = []
    for _ in range(rounds):
        if writer.poll() is not None:
            break
        for args in (("invoices", "--json"), ("balances", "--date", "2026-12-31", "--json")):
            proc = subprocess.run(command_line(ws, *args), capture_output=True, text=True,
                                  timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
            seen.append((args[0], proc))
    return seen


def assert_each_reader_saw_each_invoice_once(seen: Seen, final: set[str], before: int) -> None:
    """Every reader exited 0; the invoices listed each number once, all of them journalled at
    the end, at least as many as before the writer started; balances one row per account."""
    for name, proc in seen:
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, (name, proc.stderr)
        if name == "invoices":
            numbers = [r["number"] for r in listed(proc.stdout)]
            assert len(numbers) == len(set(numbers)), Counter(numbers).most_common(3)
            assert set(numbers) <= final and len(numbers) >= before
        else:
            accounts = [(r["client"], r["currency"]) for r in listed(proc.stdout)]
            assert len(accounts) == len(set(accounts)), Counter(accounts).most_common(3)


@pytest.mark.parametrize("state", ["current", "deleted"])
def test_readers_during_a_run_see_each_invoice_once_and_only_journalled_ones(
        busy: Path, state: str) -> None:
    """While a 64-client run commits in small groups, readers in other processes (which also
    catch the state up, or rebuild it when it was deleted) exit 0 and list every invoice at
    most once, and only invoices the journal holds at the end."""
    if state == "deleted":
        replace_state(busy, None)
    writer = spawn(busy, "run", "--date", "2026-11-15", commit_group=3)
    seen = read_while(writer, busy, rounds=4)
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, out + err
    assert seen, "the run ended before any reader started"
    final = set(journalled_numbers(busy))
    assert len(final) == CLIENTS * (len(MONTHS) + 1)
    assert_each_reader_saw_each_invoice_once(seen, final, before=CLIENTS * len(MONTHS))
    assert_each_document_listed_once(busy)
    assert_gapless(busy)
    assert_verified(busy)


def test_readers_during_a_batch_see_each_invoice_once(ws: Path) -> None:
    """The same beside a 120-row batch: every reader exits 0, no number twice, none unknown."""
    from tests.cli.test_batch import drop, rows_csv

    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    before = len(journalled_numbers(ws))
    drop(ws, "big.csv", rows_csv([f"R-{i:03d}" for i in range(120)]))
    writer = spawn(ws, "batch", "--date", "2026-11-20", commit_group=4)
    seen = read_while(writer, ws, rounds=4)
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, out + err
    assert seen, "the batch ended before any reader started"
    final = set(journalled_numbers(ws))
    assert len(final) == before + 120
    assert_each_reader_saw_each_invoice_once(seen, final, before)
    assert_each_document_listed_once(ws)
    assert_verified(ws)


# -- the state deleted under a workspace with history (issue 23) ---------------------------------


def test_a_run_after_the_state_is_deleted_lists_each_invoice_once(busy: Path) -> None:
    """Three monthly runs of 64 clients, data/state.sqlite deleted (it is derived), one more
    run while two readers rebuild the state too: each client's invoices are listed once."""
    replace_state(busy, None)
    procs = [spawn(busy, "run", "--date", "2026-11-15"), spawn(busy, "invoices", "--json"),
             spawn(busy, "balances", "--json")]
    results = [(p.args, p.wait(timeout=300), *p.communicate()) for p in procs]
    for args, code, _, err in results:
        assert code == 0 and "Traceback" not in err, (args, err)
    numbers = journalled_numbers(busy)
    assert len(numbers) == CLIENTS * (len(MONTHS) + 1)
    assert_each_document_listed_once(busy)
    assert_gapless(busy)
    assert_verified(busy)


# -- SIGKILL while the state is caught up or rebuilt -----------------------------------------------

HISTORY = 10_000  # invoices, each with its payment: 20,000 entries, about a second to rebuild here


def history_entries(n: int) -> list[dict[str, Any]]:
    """N invoices of 120.00 and their payments of 100.00, for the demo's acme and northwind."""
    start, entries = date(2020, 1, 15), []
    for i in range(n):
        client, currency = (("acme", "EUR"), ("northwind", "GBP"))[i % 2]
        day = start + timedelta(days=i * 2000 // n)
        number = f"H-{i + 1:06d}"
        due, paid = day + timedelta(days=30), day + timedelta(days=20)
        entries.append({
            "type": "invoice.issued", "kind": "invoice", "number": number, "series": "history",
            "series_seq": i + 1, "seller": "issuer", "client": client, "client_name": client,
            "mode": "live", "date": day.isoformat(), "due_date": due.isoformat(),
            "currency": currency, "total_excl_vat": "100.00", "total_vat": "20.00",
            "total_incl_vat": "120.00", "files": {}})
        entries.append({
            "type": "payment.recorded", "client": client, "date": paid.isoformat(),
            "amount": "100.00", "currency": currency, "method": "transfer", "reference": "",
            "source": "manual", "allocation": [{"number": number, "amount": "100.00"}],
            "unallocated": "0.00"})
    return entries


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo's configuration over a 20,000-entry journal, and a copy of the state of its
    first half (a state 10,000 entries behind)."""
    ws = copy_demo(tmp_path_factory.mktemp("long") / "ws")
    (ws / "data").mkdir()
    entries = history_entries(HISTORY)
    write_journal(ws / "data" / "journal.jsonl", entries[:HISTORY])
    assert run_cli(ws, "balances").code == 0
    half = ws.parent / "half.sqlite"
    shutil.copy(ws / "data" / "state.sqlite", half)
    write_journal(ws / "data" / "journal.jsonl", entries)  # the same first half, chained on
    assert run_cli(ws, "rebuild").code == 0  # its views, as a workspace in use has them
    return ws, half


@pytest.fixture
def long_ws(long_history: tuple[Path, Path], tmp_path: Path) -> Path:
    ws = tmp_path / "long"
    shutil.copytree(long_history[0], ws)
    return ws


def kill_instants(ws: Path, command: tuple[str, ...], prepare: Any) -> list[float]:
    """0.05, 0.2 and 0.5 s, and instants spread over the catch-up itself: `command` is timed
    with a current state (start-up and reading), then after `prepare` (catching up too), as
    this machine runs them now."""
    started = time.monotonic()
    kill_after(spawn(ws, *command), 300)
    current = time.monotonic() - started
    prepare()
    started = time.monotonic()
    kill_after(spawn(ws, *command), 300)
    catching_up = time.monotonic() - started
    return [0.05, 0.2, 0.5, *(current + (catching_up - current) * f for f in (0.2, 0.5, 0.8))]


@pytest.mark.parametrize("behind", ["deleted", "half"])
def test_a_read_killed_while_it_rebuilds_or_catches_up_leaves_the_state_usable(
        long_ws: Path, long_history: tuple[Path, Path], behind: str) -> None:
    """A read command whose state was deleted (rebuilt from 20,000 entries) or left 10,000
    entries behind (caught up), SIGKILLed at several instants of that: the next commands
    exit 0 without a traceback, print what they printed before, list each invoice once."""
    half = None if behind == "deleted" else long_history[1]
    expected = run_cli(long_ws, "balances", "--date", "2026-12-31", "--json")
    assert expected.code == 0, expected.text
    instants = kill_instants(long_ws, ("balances", "--json"), lambda: replace_state(long_ws, half))
    killed = []
    for delay in instants:
        replace_state(long_ws, half)
        killed.append(kill_after(spawn(long_ws, "balances", "--json"), delay))
        after = run_cli(long_ws, "balances", "--date", "2026-12-31", "--json")
        assert (after.code, after.out) == (0, expected.out), (delay, after.text[-2000:])
        assert "Traceback" not in after.err, (delay, after.err)
    assert sum(killed) >= len(instants) // 2, list(zip(instants, killed, strict=True))
    assert_each_document_listed_once(long_ws)
    assert_verified(long_ws)


def test_a_run_killed_at_several_instants_then_rerun_is_gapless(busy: Path) -> None:
    """A 64-client run, its state deleted first (so it rebuilds it), SIGKILLed at several
    instants before, during and after its issuing loop: the next run completes, every client
    is invoiced once for the month, no number skipped or twice, and `verify` passes."""
    replace_state(busy, None)
    delays = (0.05, 0.2, 0.5, 0.8, 1.1, 1.5)  # here: killed after 0, 0, 0, 0, 5 and 45 invoices
    killed = [kill_after(spawn(busy, "run", "--date", "2026-11-15", commit_group=5), delay)
              for delay in delays]
    assert sum(killed) >= len(delays) // 2, list(zip(delays, killed, strict=True))
    r = run_cli_process(busy, "run", "--date", "2026-11-15")
    assert r.code == 0 and "Traceback" not in r.text, r.text
    november = [e for e in journal(busy)
                if e["type"] == "invoice.issued" and e["date"] == "2026-11-15"]
    assert sorted(e["client"] for e in november) == [f"c{i:03d}" for i in range(CLIENTS)]
    assert_gapless(busy)
    assert_each_document_listed_once(busy)
    assert_verified(busy)
