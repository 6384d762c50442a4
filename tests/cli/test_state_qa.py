"""Issue 23's 'Done when', checked from the command line: the state file damaged in ways the
first pass did not try (a table dropped by hand, a damaged page, its -wal or -shm not a regular
file), the journal's end altered without a newline, and the race of the issue's 'Why' with a
real SMTP server. Every command answers, refuses with an `Error:` line, or rebuilds with a
`note:`; never a traceback, never a hang, never a state used that the journal does not give.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from facturier.store.journal import Head, head_path, read_head, write_head
from tests.cli.test_concurrency import assert_each_document_listed_once, assert_gapless, command_line, listed
from tests.cli.test_faults import many_clients
from tests.conftest import journal, run_cli
from tests.smtp_server import PASSWORD, use_smtp

DAY = "2026-11-15"


@pytest.fixture
def busy(busy_base: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(busy_base, ws)
    return ws


def state_file(ws: Path) -> Path:
    return ws / "data" / "state.sqlite"


def answers(ws: Path) -> list[str]:
    """What the read-only commands print (a state rebuilt must give the same)."""
    out = []
    for args in (("balances", "--date", "2026-12-31", "--json"), ("invoices", "--json"), ("show", "2026-0001")):
        r = run_cli(ws, *args)
        assert r.code == 0 and "Traceback" not in r.text, r.text
        out.append(r.out)
    return out


def sql(ws: Path, statement: str) -> None:
    db = sqlite3.connect(state_file(ws))
    with db:
        db.execute(statement)
    db.close()


# -- the state file ------------------------------------------------------------------------------


@pytest.mark.parametrize("edit", [
    "DROP TABLE accounts",
    "DROP INDEX invoice_rows_open",
    "CREATE TRIGGER forged AFTER INSERT ON payments BEGIN DELETE FROM payments; END",
    "ALTER TABLE documents ADD COLUMN note TEXT",
])
def test_a_table_dropped_or_altered_by_hand_is_rebuilt_with_a_note(busy: Path, edit: str) -> None:
    """Its `meta` intact, a state whose tables are not this version's was used, and the first
    query of the missing table crashed (`no such table: accounts`)."""
    expected = answers(busy)
    sql(busy, edit)
    r = run_cli(busy, "balances", "--date", "2026-12-31", "--json")
    assert r.code == 0 and "Traceback" not in r.text, r.text
    assert "note: state file data/state.sqlite not used (its tables are not this version's" in r.err
    assert r.err.count("note:") == 1 and r.out == expected[0]
    assert answers(busy) == expected
    sql(busy, edit)
    r = run_cli(busy, "pay", "acme", "1.00", "--date", "2026-11-21")
    assert r.code == 0 and "its tables are not this version's" in r.err, r.text
    assert run_cli(busy, "verify").code == 0


@pytest.mark.parametrize("suffix", ["-wal", "-shm", ""])
@pytest.mark.parametrize("kind", ["fifo", "folder", "link"])
def test_anything_but_a_regular_file_at_the_state_or_its_wal_and_shm_is_refused_at_once(
        busy: Path, tmp_path: Path, suffix: str, kind: str) -> None:
    """A FIFO at data/state.sqlite-wal crashed every command (`disk I/O error`); a folder there
    made each one build its state in memory; a link there would be written through by SQLite.
    `verify` said 'Integrity OK' beside any of them, the state at data/state.sqlite included."""
    path = Path(f"{state_file(busy)}{suffix}")
    path.unlink(missing_ok=True)
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    {"fifo": os.mkfifo, "folder": os.mkdir, "link": lambda p: os.symlink(target, p)}[kind](path)
    for args in (("balances",), ("pay", "acme", "1.00", "--date", "2026-11-21"), ("verify",), ("rebuild",)):
        r = run_cli(busy, *args, timeout=30)
        assert r.code == 1 and "Traceback" not in r.text, (args, r.text)
        assert f"state.sqlite{suffix} is not a regular file" in r.text, (args, r.text)
    assert target.read_bytes() == b""
    (path.rmdir if kind == "folder" else path.unlink)()
    assert run_cli(busy, "verify").code == 0


def damage_table(ws: Path, table: str) -> None:
    """Garbage over the root page of one table (a disk fault): SQLite finds it only when a
    query reads that page."""
    db = sqlite3.connect(state_file(ws))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    db.close()
    with open(state_file(ws), "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xa5" * page_size)


def test_a_damaged_page_is_a_clear_error_that_verify_names_and_rebuild_repairs(busy: Path) -> None:
    """A damaged page of the state met in mid-command was a traceback (`database disk image is
    malformed`), in `verify` too."""
    expected = answers(busy)
    damage_table(busy, "documents")
    r = run_cli(busy, "invoices", "--json")
    assert r.code == 1 and "Traceback" not in r.text, r.text
    assert "Error: data/state.sqlite: database disk image is malformed" in r.err
    assert "facturier rebuild" in r.err
    v = run_cli(busy, "verify")
    assert v.code == 1 and "Traceback" not in v.text, v.text
    assert "data/state.sqlite: database disk image is malformed" in v.out and "facturier rebuild" in v.out
    assert run_cli(busy, "rebuild").code == 0
    assert run_cli(busy, "verify").code == 0
    assert answers(busy) == expected


def test_a_deleted_state_is_rebuilt_with_a_one_line_note(busy: Path) -> None:
    expected = answers(busy)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_file(busy)}{suffix}").unlink(missing_ok=True)
    r = run_cli(busy, "balances", "--date", "2026-12-31", "--json")
    assert r.code == 0 and r.err == "note: data/state.sqlite is missing; building it from the journal\n", r.err
    assert [r.out, *answers(busy)[1:]] == expected
    assert "note:" not in run_cli(busy, "balances").err


# -- the journal's end -----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbage", "nul"])
def test_a_last_line_cut_or_garbage_appended_without_a_newline_is_refused_and_kept(busy: Path, damage: str) -> None:
    """Only a commit cut short leaves an incomplete last line, and it lists its entries in the
    head record first. Otherwise the next writer took such bytes for one and cut them off: the
    rest of a truncated last entry gone, garbage appended silently dropped, `verify` OK."""
    path = busy / "data" / "journal.jsonl"
    data = path.read_bytes()
    damaged = {"truncated": data[:-40], "garbage": data + b"garbage", "nul": data + b"\0\0\0\0"}[damage]
    path.write_bytes(damaged)
    line = data.count(b"\n") + (0 if damage == "truncated" else 1)
    for args in (("pay", "acme", "1.00", "--date", "2026-11-21"), ("run", "--date", "2026-12-15")):
        r = run_cli(busy, *args)
        assert r.code == 1 and "Traceback" not in r.text, r.text
        assert "the last line is incomplete but no commit was in progress" in r.err, r.err
    assert path.read_bytes() == damaged
    v = run_cli(busy, "verify")
    assert v.code == 1 and f"data/journal.jsonl: line {line}: the last line is incomplete" in v.out, v.text
    path.write_bytes(data)
    assert run_cli(busy, "verify").code == 0


def test_a_commit_cut_short_is_still_discarded_by_the_next_writer(busy: Path) -> None:
    """The torn line a killed commit leaves (its entries pending in the head record) is
    discarded by the next writer, and `verify` calls it a leftover meanwhile."""
    path = busy / "data" / "journal.jsonl"
    head = read_head(head_path(path))
    assert head is not None
    write_head(head_path(path), Head(head.seq, head.hash, ("f" * 64,)))
    with open(path, "ab") as fh:
        fh.write(b'{"seq":99,"at":"2026-')
    v = run_cli(busy, "verify")
    assert v.code == 0 and "the next writing command discards it" in v.out, v.text
    r = run_cli(busy, "pay", "acme", "1.00", "--date", "2026-11-21")
    assert r.code == 0, r.text
    assert run_cli(busy, "verify").code == 0


# -- the race of issue 23's 'Why' ------------------------------------------------------------------

CLIENTS = 24
MONTHS = ("2026-08-15", "2026-09-15", "2026-10-15")


@pytest.fixture(scope="module")
def sending(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.smtp_server import start_server

    server = start_server(auth=True)
    yield server
    server.controller.stop()


@pytest.fixture
def history(tmp_path: Path, sending: Any) -> Path:
    """24 clients who are emailed their invoice, invoiced for three months."""
    ws = many_clients(tmp_path, CLIENTS)
    for client in (ws / "clients").glob("*.toml"):
        client.write_text(client.read_text(encoding="utf-8") + "\n[options]\nauto_send = true\n", encoding="utf-8")
    use_smtp(ws, sending)
    for day in MONTHS:
        r = run_cli(ws, "run", "--date", day, env={"TEST_SMTP_PASSWORD": PASSWORD})
        assert r.code == 0, r.text
    return ws


def test_24_commands_at_once_after_the_state_and_views_are_deleted(history: Path, sending: Any) -> None:
    """The scenario of issue 23's 'Why': views and state deleted, then one more month's run among
    24 concurrent commands (runs, payments, listings, balances, verify, remind --dry-run). No
    command crashes; every invoice is listed once; every email of the month is sent once; the
    state equals the one rebuilt from the journal."""
    for kind in ("revenues", "payments", "balance"):
        shutil.rmtree(history / "data" / kind)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state_file(history)}{suffix}").unlink(missing_ok=True)
    sending.recorder.messages.clear()
    commands = [("run", "--date", DAY), ("pay", "c001", "10.00", "--date", "2026-11-20"),
                ("invoices", "--json"), ("invoices", "--client", "c002", "--json"), ("balances", "--json"),
                ("verify",), ("remind", "--date", "2026-12-31", "--dry-run"),
                ("pay", "c003", "5.00", "--date", "2026-11-21")] * 3
    env = {**os.environ, "COLUMNS": "200", "TEST_SMTP_PASSWORD": PASSWORD}
    procs = [subprocess.Popen(command_line(history, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for args in commands]
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=600)
        assert "Traceback" not in out + err, (args, err)
        if args[0] == "verify" and proc.returncode:  # views deleted by hand: named until a run writes them
            assert all("is missing" in line for line in out.splitlines() if line.startswith("BROKEN")), out
            continue
        assert proc.returncode == 0, (args, out, err)
        if args[0] == "invoices":
            numbers = [row["number"] for row in listed(out)]
            assert len(numbers) == len(set(numbers)), Counter(numbers).most_common(3)
    november = {e["number"] for e in journal(history) if e["type"] == "invoice.issued" and e["date"] == DAY}
    assert len(november) == CLIENTS
    sent = Counter(str(m["X-Facturier-Ref"]) for m in sending.recorder.messages)
    assert sent == Counter(november), sent
    assert november <= {e["number"] for e in journal(history) if e["type"] == "invoice.sent"}
    payments = [e for e in journal(history) if e["type"] == "payment.recorded"]
    assert len(payments) == 6
    assert_each_document_listed_once(history)
    assert_gapless(history)
    r = run_cli(history, "verify")
    assert r.code == 0, r.text


# -- kill -9 at random instants --------------------------------------------------------------------

REMIND = '\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'


@pytest.mark.parametrize("command", [
    ("pay", "acme", "12.34", "--date", "2026-12-20"),
    ("remind", "--date", "2027-01-20"),
    ("rebuild",),
    ("balances",),  # its state deleted first: killed while it builds it from the journal
])
def test_a_command_killed_at_random_instants_leaves_nothing_to_repair(busy: Path, command: tuple[str, ...]) -> None:
    """SIGKILL at seeded random instants of a writing command, `rebuild` or a state catch-up
    (data/state.sqlite deleted first); after each, the next command exits 0 without a
    traceback, nothing is journalled twice, each document is listed once, `verify` passes."""
    from tests.cli.test_concurrency import kill_after, spawn

    (busy / "facturier.toml").write_text((busy / "facturier.toml").read_text() + REMIND)
    rng = random.Random(23)
    for _ in range(3):
        if command == ("balances",):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{state_file(busy)}{suffix}").unlink(missing_ok=True)
        kill_after(spawn(busy, *command), rng.uniform(0.1, 1.2))
        again = run_cli(busy, *(command if command[0] != "pay" else ("balances",)))
        assert again.code == 0 and "Traceback" not in again.text, again.text
        assert_each_document_listed_once(busy)
        assert run_cli(busy, "verify").code == 0
    entries = journal(busy)
    drafted = [e["number"] for e in entries if e["type"] == "reminder.drafted"]
    assert len(drafted) == len(set(drafted))
    assert len({e["hash"] for e in entries}) == len(entries)


def test_the_state_a_killed_verify_rebuilt_is_removed_by_the_next_one(busy: Path) -> None:
    """`verify` rebuilds the state in a temporary folder, as large as the state file; one killed
    left it behind for good (a folder per killed run). It is named after its process now, and
    the next `verify` removes those whose process is gone; a live one's is left alone."""
    import tempfile

    dead = subprocess.Popen(["true"])
    dead.wait()
    folders = [Path(tempfile.gettempdir()) / f"facturier-verify-{pid}-qa" for pid in (dead.pid, os.getpid())]
    for folder in folders:
        folder.mkdir()
        (folder / "state.sqlite").write_bytes(b"\0" * 4096)
    try:
        assert run_cli(busy, "verify").code == 0
        assert [folder.exists() for folder in folders] == [False, True]
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("edit", ["cr", "space", "keys"])
def test_a_line_rewritten_in_another_form_is_a_changed_byte_named_by_line(busy: Path, edit: str) -> None:
    """The same entry in other bytes (an editor's CR, a space, keys reordered) kept its hash, so
    every command and `verify` accepted it: a changed byte of the journal nothing reported."""
    path = busy / "data" / "journal.jsonl"
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    index = {"cr": 2, "space": len(lines) - 1, "keys": len(lines) // 2}[edit]
    entry = json.loads(lines[index])
    lines[index] = {"cr": lines[index][:-1] + b"\r\n", "space": lines[index][:-2] + b"} \n",
                    "keys": json.dumps(dict(reversed(entry.items())), ensure_ascii=False,
                                       separators=(",", ":")).encode() + b"\n"}[edit]
    path.write_bytes(b"".join(lines))
    for args in (("pay", "acme", "1.00", "--date", "2026-11-21"), ("balances",)):
        r = run_cli(busy, *args)
        assert r.code == 1 and "Traceback" not in r.text, r.text
        assert f"line {index + 1}: bytes differ from the ones Facturier wrote" in r.err, r.err
    v = run_cli(busy, "verify")
    assert v.code == 1 and f"data/journal.jsonl: line {index + 1}: bytes differ" in v.out, v.text
    path.write_bytes(data)
    assert run_cli(busy, "verify").code == 0


def test_a_state_file_that_refuses_writes_is_left_alone_and_the_commands_work(busy: Path) -> None:
    """An immutable state file (`chattr +i`: read-only even for root) opens, then refuses the
    first write: every command crashed (`attempt to write a readonly database`). A state file
    that cannot be written is left alone and each command builds its state in memory, saying so."""
    path = state_file(busy)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    expected = answers(busy)
    before = path.read_bytes()
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not available here (root on a file system with attributes)")
    try:
        for args in (("balances",), ("pay", "acme", "1.00", "--date", "2026-11-21"), ("verify",),
                     ("run", "--date", "2026-12-15", "--dry-run")):
            r = run_cli(busy, *args)
            assert r.code == 0 and "Traceback" not in r.text, (args, r.text)
            if "--dry-run" not in args:  # a dry run works on its own copy: nothing to say
                assert "cannot be used now (it is read-only)" in r.err, r.err
        assert path.read_bytes() == before
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)
    assert '"paid": "101.00"' in answers(busy)[0] and '"paid": "100.00"' in expected[0]  # caught up
    assert run_cli(busy, "verify").code == 0


def test_a_damaged_page_met_while_catching_up_is_rebuilt_with_a_note(busy: Path, tmp_path: Path) -> None:
    """A state behind the journal whose pages the catch-up writes are damaged: rebuilt from the
    journal with a note, where the command stopped on the damage."""
    behind = tmp_path / "behind.sqlite"
    shutil.copy(state_file(busy), behind)
    assert run_cli(busy, "pay", "acme", "5.00", "--date", "2026-11-21").code == 0
    expected = answers(busy)
    for suffix in ("-wal", "-shm"):
        Path(f"{state_file(busy)}{suffix}").unlink(missing_ok=True)
    shutil.copy(behind, state_file(busy))
    damage_table(busy, "payments")
    r = run_cli(busy, "balances", "--date", "2026-12-31", "--json")
    assert r.code == 0 and "Traceback" not in r.text, r.text
    assert "not used (database disk image is malformed); rebuilding it" in r.err
    assert r.out == expected[0]
    assert answers(busy) == expected
    assert run_cli(busy, "verify").code == 0


def test_an_old_state_folder_behind_a_link_is_unlinked_once_its_target_left_alone(busy: Path, tmp_path: Path) -> None:
    """data/state/ of an earlier version as a link to a folder: `rmtree` refused it silently, so
    every command said the folder was removed, and it stayed."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "accounts.pickle").write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR.")
    (busy / "data" / "state").symlink_to(target)
    first = run_cli(busy, "balances")
    assert first.code == 0 and "the old data/state/ folder was removed" in first.err, first.text
    assert not (busy / "data" / "state").is_symlink() and (target / "accounts.pickle").exists()
    assert not (tmp_path / "pwned").exists()
    assert "note:" not in run_cli(busy, "balances").err


@pytest.mark.parametrize("name", ["journal.jsonl", "journal.head"])
def test_a_fifo_at_the_journal_or_its_head_is_refused_at_once_never_a_hang(busy: Path, name: str) -> None:
    """A FIFO in place of data/journal.jsonl or data/journal.head blocked every command, `verify`
    included, forever."""
    path = busy / "data" / name
    path.unlink()
    os.mkfifo(path)
    for args in (("balances",), ("pay", "acme", "1.00", "--date", "2026-11-21"), ("verify",)):
        r = run_cli(busy, *args, timeout=15)
        assert r.code == 1 and "Traceback" not in r.text, (args, r.text)
        assert f"data/{name} is not a regular file" in r.text, (args, r.text)
