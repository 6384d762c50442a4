"""The ledger state (data/state.sqlite) and the head record: never trusted blindly, never hiding a change."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from facturier.store.journal import canonical, entry_hash
from tests.conftest import DEMO, journal, run_cli

DAY = "2026-11-15"


@pytest.fixture
def busy_ws(tmp_path: Path) -> Path:
    """The demo after a run, a batch, two payments and a credit note: every section has content."""
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    assert run_cli(ws, "run", "--date", DAY).code == 0
    assert run_cli(ws, "batch", "--date", DAY).code == 0
    assert run_cli(ws, "pay", "acme", "100.00", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "pay", "northwind", "70.00", "--date", "2026-11-21").code == 0
    assert run_cli(ws, "credit", "2026-0002", "--amount", "100.00", "--date", "2026-11-22").code == 0
    return ws


def outputs(ws: Path) -> list[str]:
    """What the read-only commands print: the state behind them must not change their answers."""
    commands = [("balances", "--date", "2026-12-31", "--json"), ("invoices", "--json"),
                ("invoices", "--status", "partial", "--date", "2026-11-30", "--json"),
                ("show", "2026-0001"), ("run", "--dry-run", "--date", "2026-12-15")]
    out = []
    for args in commands:
        r = run_cli(ws, *args)
        assert r.code == 0, r.text
        out.append(r.out)
    return out


def state_file(ws: Path) -> Path:
    return ws / "data" / "state.sqlite"


def test_a_current_state_is_used_silently(busy_ws: Path) -> None:
    assert state_file(busy_ws).is_file()
    assert not (busy_ws / "data" / "state").exists()
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert r.code == 0 and "note:" not in r.err


def _sql(ws: Path, *statements: str) -> None:
    db = sqlite3.connect(state_file(ws))
    with db:
        for statement in statements:
            db.execute(statement)
    db.close()


@pytest.mark.parametrize("damage", ["deleted", "truncated", "garbage", "other_schema", "stamp_elsewhere",
                                    "empty_file"])
def test_a_damaged_state_is_rebuilt_never_used(busy_ws: Path, damage: str) -> None:
    expected = outputs(busy_ws)
    path = state_file(busy_ws)
    if damage == "deleted":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "garbage":
        path.write_bytes(b"not a database at all" * 500)
    elif damage == "empty_file":
        path.write_bytes(b"")
    elif damage == "other_schema":
        _sql(busy_ws, "UPDATE meta SET value = '99' WHERE key = 'schema'")
    else:  # a position that names no entry of this journal
        _sql(busy_ws, "UPDATE meta SET value = '3' WHERE key = 'seq'")
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert r.code == 0, r.text
    assert "Traceback" not in r.text
    if damage not in ("deleted", "empty_file"):
        assert "note: state file data/state.sqlite not used" in r.err
    assert outputs(busy_ws) == expected
    assert run_cli(busy_ws, "verify").code == 0


def test_a_stale_state_catches_up_with_the_journal(busy_ws: Path) -> None:
    stale = state_file(busy_ws).read_bytes()
    assert run_cli(busy_ws, "pay", "acme", "50.00", "--date", "2026-11-25").code == 0
    expected = outputs(busy_ws)
    state_file(busy_ws).write_bytes(stale)  # as if the last command had been killed before its commit
    assert outputs(busy_ws) == expected
    r = run_cli(busy_ws, "pay", "acme", "1.00", "--date", "2026-11-26")
    assert r.code == 0 and "note:" not in r.err
    assert run_cli(busy_ws, "verify").code == 0


def test_a_state_ahead_of_the_journal_or_from_another_is_rebuilt(busy_ws: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(busy_ws, other)
    assert run_cli(other, "pay", "acme", "3.00", "--date", "2026-11-20").code == 0
    assert run_cli(other, "pay", "acme", "4.00", "--date", "2026-11-20").code == 0
    expected = outputs(busy_ws)
    shutil.copy(state_file(other), state_file(busy_ws))  # ahead: two payments this journal lacks
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert "not used" in r.err and "ahead of the journal" in r.err
    assert outputs(busy_ws) == expected
    fresh = tmp_path / "fresh"
    shutil.copytree(DEMO, fresh)
    assert run_cli(fresh, "run", "--date", DAY).code == 0
    for _ in range(6):
        assert run_cli(fresh, "pay", "acme", "1.00", "--date", "2026-11-20").code == 0
    shutil.copy(state_file(fresh), state_file(busy_ws))  # same length or so, another journal
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert "not used" in r.err
    assert outputs(busy_ws) == expected


def test_a_forged_state_is_named_by_verify_and_repaired_by_rebuild(busy_ws: Path) -> None:
    expected = outputs(busy_ws)
    _sql(busy_ws, "UPDATE accounts SET invoiced = 100 WHERE client = 'acme'")
    r = run_cli(busy_ws, "verify")
    assert r.code == 1 and "data/state.sqlite: table accounts differs" in r.text and "facturier rebuild" in r.text
    assert run_cli(busy_ws, "rebuild").code == 0
    assert run_cli(busy_ws, "verify").code == 0
    assert outputs(busy_ws) == expected


def test_a_state_that_is_not_a_regular_file_is_refused_at_once(busy_ws: Path) -> None:
    path = state_file(busy_ws)
    path.unlink()
    os.mkfifo(path)
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert r.code == 1 and "not a regular file" in r.err and "Traceback" not in r.text


def test_an_old_pickled_state_is_removed_never_loaded(busy_ws: Path) -> None:
    expected = outputs(busy_ws)
    old = busy_ws / "data" / "state"
    old.mkdir()
    (old / "accounts.pickle").write_bytes(b"cos\nsystem\n(S'touch " + str(busy_ws / "pwned").encode() + b"'\ntR.")
    state_file(busy_ws).unlink()
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31")
    assert r.code == 0 and "data/state/ folder was removed" in r.err
    assert not old.exists() and not (busy_ws / "pwned").exists()
    assert outputs(busy_ws) == expected


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_one_changed_byte_anywhere_makes_writing_commands_refuse(busy_ws: Path, where: str) -> None:
    path = busy_ws / "data" / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    index = {"first": 0, "middle": len(lines) // 2, "last": len(lines) - 1}[where]
    line = bytearray(lines[index])
    at = line.index(b'"at":"') + 8  # a digit of the year of the timestamp
    line[at] = ord("9") if line[at] != ord("9") else ord("8")
    lines[index] = bytes(line)
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    r = run_cli(busy_ws, "pay", "acme", "1.00", "--date", "2026-11-26")
    assert r.code == 1 and f"line {index + 1}" in r.err and "Nothing was written" in r.err
    assert "Traceback" not in r.text
    assert path.read_bytes() == before
    assert run_cli(busy_ws, "verify").code == 1


@pytest.mark.parametrize("removed", [1, 2, 10])
def test_removing_the_last_entries_is_reported(busy_ws: Path, removed: int) -> None:
    path = busy_ws / "data" / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) > removed
    path.write_bytes(b"".join(lines[:-removed]))
    r = run_cli(busy_ws, "verify")
    assert r.code == 1
    assert f"the journal ends at entry {len(lines) - removed} but its head record says entry {len(lines)}" in r.out
    r = run_cli(busy_ws, "pay", "acme", "1.00", "--date", "2026-11-26")
    assert r.code == 1 and "removed from its end" in r.err
    assert len(journal(busy_ws)) == len(lines) - removed


def test_a_forged_entry_appended_with_a_valid_hash_is_reported(busy_ws: Path) -> None:
    path = busy_ws / "data" / "journal.jsonl"
    last = json.loads(path.read_bytes().splitlines()[-1])
    forged = {"seq": last["seq"] + 1, "at": last["at"], "type": "payment.recorded", "client": "acme",
              "date": "2026-11-27", "amount": "827.88", "currency": "EUR", "method": "transfer",
              "reference": "", "source": "manual", "allocation": [], "unallocated": "827.88",
              "prev": last["hash"]}
    forged["hash"] = entry_hash(forged)
    with open(path, "ab") as fh:
        fh.write(canonical(forged) + b"\n")
    r = run_cli(busy_ws, "verify")
    assert r.code == 1 and "1 entry was added after the last commit" in r.out
    for args in (("pay", "acme", "1.00", "--date", "2026-11-26"), ("balances",)):
        r = run_cli(busy_ws, *args)
        assert r.code == 1 and "added after the last commit" in r.err, r.text


def test_verify_prints_the_head_and_checks_an_expected_hash(busy_ws: Path) -> None:
    r = run_cli(busy_ws, "verify")
    head = journal(busy_ws)[-1]
    assert f"The journal ends at entry {head['seq']}, hash {head['hash']}" in r.out
    assert run_cli(busy_ws, "verify", "--expect", head["hash"]).code == 0
    r = run_cli(busy_ws, "verify", "--expect", "0123456789abcdef")
    assert r.code == 1 and "no entry of the journal has this hash" in r.out
    earlier = journal(busy_ws)[-3]["hash"]
    r = run_cli(busy_ws, "verify", "--expect", earlier)
    assert r.code == 0 and "2 entries were added after it" in r.out


def test_a_workspace_without_head_or_state_keeps_working(busy_ws: Path) -> None:
    """Workspaces written before the head record and the state file existed."""
    expected = outputs(busy_ws)
    (busy_ws / "data" / "journal.head").unlink()
    state_file(busy_ws).unlink()
    assert run_cli(busy_ws, "verify").code == 0
    assert outputs(busy_ws) == expected
    r = run_cli(busy_ws, "pay", "acme", "1.00", "--date", "2026-11-26")
    assert r.code == 0 and "journal head record created" in r.err
    assert (busy_ws / "data" / "journal.head").exists()
    assert run_cli(busy_ws, "verify").code == 0


def test_rebuild_regenerates_the_state_and_identical_views(busy_ws: Path) -> None:
    views = {p: p.read_bytes() for p in (busy_ws / "data").glob("*/*.json") if p.parent.name in
             ("revenues", "payments", "balance")}
    state_file(busy_ws).unlink()
    for p in views:
        p.unlink()
    assert run_cli(busy_ws, "rebuild").code == 0
    assert {p: p.read_bytes() for p in views} == views
    assert state_file(busy_ws).is_file()


def test_documents_with_the_same_file_name_never_collide_in_staging(tmp_path: Path) -> None:
    """Two documents of one commit group whose files share a name (two sellers' 2026-0001)."""
    from facturier.store.events import OtherEvent
    from facturier.store.ledger import Ledger

    with Ledger(tmp_path) as ledger:
        ledger.commit_group([
            (OtherEvent(type="test.document", data={"number": "2026-0001", "n": 1}),
             {"pdf": ("data/a/2026-0001.pdf", b"A")}),
            (OtherEvent(type="test.document", data={"number": "2026-0001", "n": 2}),
             {"pdf": ("data/b/2026-0001.pdf", b"B")}),
        ])
    assert (tmp_path / "data/a/2026-0001.pdf").read_bytes() == b"A"
    assert (tmp_path / "data/b/2026-0001.pdf").read_bytes() == b"B"
    assert not list((tmp_path / "data" / "staging").iterdir())


def test_views_appended_payment_by_payment_equal_a_rebuild(busy_ws: Path) -> None:
    """The views written by each command are the bytes `rebuild` writes."""
    for day in ("2026-11-23", "2026-11-24", "2026-11-25"):
        assert run_cli(busy_ws, "pay", "acme", "10.00", "--date", day).code == 0
    assert run_cli(busy_ws, "credit", "2026-0001", "--amount", "5.00", "--date", "2026-11-25").code == 0
    views = {p: p.read_bytes() for p in (busy_ws / "data").glob("*/*.json") if p.parent.name in
             ("revenues", "payments", "balance")}
    assert b'"seq"' in views[busy_ws / "data" / "payments" / "acme.json"]
    assert run_cli(busy_ws, "rebuild").code == 0
    assert {p: p.read_bytes() for p in views} == views


@pytest.mark.parametrize("command", ["balances", "invoices"])
def test_a_new_workspace_lists_nothing_without_a_traceback(ws: Path, command: str) -> None:
    assert not (ws / "data").exists()
    r = run_cli(ws, command, "--json")
    assert r.code == 0 and "Traceback" not in r.text, r.text
    assert json.loads(r.out)["rows"] == []


def test_a_read_before_the_first_write_leaves_the_workspace_usable(ws: Path) -> None:
    assert run_cli(ws, "verify").code == 0  # makes data/ (its lock file), writes no journal
    assert run_cli(ws, "invoices", "--json").code == 0
    assert state_file(ws).is_file() and not (ws / "data" / "journal.jsonl").exists()
    r = run_cli(ws, "run", "--date", DAY)
    assert r.code == 0, r.text
    again = run_cli(ws, "invoices", "--json")
    assert again.code == 0 and len(json.loads(again.out)["rows"]) == 3, again.text


def test_a_state_file_that_cannot_be_used_now_is_left_alone_and_the_command_works(
        busy_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Locked past the wait, read-only, an I/O error: the file is not at fault, so it is never
    deleted or emptied; the command builds its state in memory and answers the same."""
    import sqlite3 as sqlite

    from facturier.store.state import opening

    expected = outputs(busy_ws)
    before = state_file(busy_ws).read_bytes()

    def refused(path: object) -> sqlite.Connection:
        raise sqlite.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(opening, "connect", refused)
    r = run_cli(busy_ws, "balances", "--date", "2026-12-31", "--json")
    assert r.code == 0 and "cannot be used now (attempt to write a readonly database)" in r.err, r.text
    assert "Traceback" not in r.text
    monkeypatch.undo()
    assert state_file(busy_ws).read_bytes() == before
    assert outputs(busy_ws) == expected


def test_a_dry_run_reads_the_saved_state_without_rebuilding_it(busy_ws: Path) -> None:
    """A dry run reads a private copy of the state file: no notice, no rebuild from the journal
    (the copy of a WAL-mode file once failed every query and rebuilt the state each time)."""
    before = state_file(busy_ws).read_bytes()
    for args in (("run", "--dry-run", "--date", "2026-12-15"), ("credit", "2026-0001", "--amount", "1.00",
                                                               "--date", "2026-11-30", "--dry-run")):
        r = run_cli(busy_ws, *args)
        assert r.code == 0, r.text
        assert "note:" not in r.err, r.err
    assert state_file(busy_ws).read_bytes() == before
