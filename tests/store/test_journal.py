"""The journal: chaining, tamper detection, torn-tail repair, the lock."""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from pathlib import Path

import pytest

from facturier.core.errors import IntegrityError, LockBusyError
from facturier.store.events import OtherEvent
from facturier.store.journal import (
    GENESIS,
    Head,
    Journal,
    check_chain,
    entry_hash,
    head_path,
    read_entries,
    read_head,
    write_head,
)
from facturier.store.lock import WorkspaceLock


def make_journal(path: Path, n: int) -> None:
    j = Journal(path)
    for i in range(n):
        j.append(OtherEvent(type="test.fact", data={"i": i, "text": "é"}))
    j.close()


def test_entries_are_chained_and_hashed(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 3)
    entries, problems = check_chain(path)
    assert problems == []
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"]
    assert all(e["hash"] == entry_hash(e) for e in entries)


@pytest.mark.parametrize("line_index", [0, 1, 2])
def test_changing_one_byte_of_any_line_is_detected(tmp_path: Path, line_index: int) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 3)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line_index] = lines[line_index].replace('"i":', '"j":', 1)
    path.write_text("".join(lines), encoding="utf-8")
    _, problems = check_chain(path)
    assert any(p.line == line_index + 1 for p in problems)
    with pytest.raises(IntegrityError, match=f"line {line_index + 1}"):
        read_entries(path)


def test_removing_a_line_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 3)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + lines[2], encoding="utf-8")
    _, problems = check_chain(path)
    assert problems and problems[0].line == 2


def test_rehashed_forgery_still_breaks_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 3)
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    lines[1]["i"] = 99
    lines[1]["hash"] = entry_hash(lines[1])  # a forger recomputes this entry's hash...
    path.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    _, problems = check_chain(path)
    assert [p.line for p in problems] == [3]  # ...but the next entry's prev no longer matches


def test_a_torn_last_line_is_discarded_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 2)
    head = read_head(head_path(path))
    assert head is not None  # a commit cut short: its entries listed as pending, then the line torn
    write_head(head_path(path), Head(head.seq, head.hash, ("0" * 64,)))
    with open(path, "ab") as fh:
        fh.write(b'{"seq":3,"at":"2026-')
    j = Journal(path)
    assert j.repaired_tail
    entry = j.append(OtherEvent(type="test.fact", data={"i": 3}))
    j.close()
    assert entry["seq"] == 3
    assert check_chain(path)[1] == []


def test_an_incomplete_last_line_without_a_pending_commit_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 2)
    with open(path, "ab") as fh:
        fh.write(b'{"seq":3,"at":"2026-')
    before = path.read_bytes()
    with pytest.raises(IntegrityError, match="no commit was in progress"):
        Journal(path)
    assert path.read_bytes() == before


def test_a_writer_refuses_a_broken_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    make_journal(path, 2)
    path.write_text(path.read_text().replace('"i":0', '"i":5'))
    with pytest.raises(IntegrityError, match="Nothing was written"):
        Journal(path)


def _hold(data: Path, seconds: float) -> None:
    with WorkspaceLock(data):
        time.sleep(seconds)


def test_lock_busy_names_the_holder(tmp_path: Path) -> None:
    proc = multiprocessing.get_context("spawn").Process(target=_hold, args=(tmp_path, 5))
    proc.start()
    try:
        deadline = time.time() + 5
        while not (tmp_path / ".lock").exists() or not (tmp_path / ".lock").read_text():
            assert time.time() < deadline
            time.sleep(0.02)
        with pytest.raises(LockBusyError, match=f"pid {proc.pid}"):
            WorkspaceLock(tmp_path, wait_seconds=0.2).acquire()
    finally:
        proc.terminate()
        proc.join()
    with WorkspaceLock(tmp_path, wait_seconds=2):
        pass  # released when the holder died


from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.journal import canonical

_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text())
_tree = st.recursive(
    _leaf, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(), c, max_size=4)), max_leaves=20
)


@settings(max_examples=500)
@given(_tree)
def test_canonical_bytes_are_the_documented_json_dumps_form(obj: object) -> None:
    expected = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(obj) == expected


@pytest.mark.parametrize("damage", ["none", "byte", "removed", "json", "torn", "seqs"])
def test_the_parallel_whole_chain_check_finds_what_the_sequential_one_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    from facturier.store import journal as journal_module
    from facturier.store.journal import check_chain_whole

    path = tmp_path / "journal.jsonl"
    make_journal(path, 40)
    lines = path.read_bytes().splitlines(keepends=True)
    if damage == "byte":
        lines[25] = lines[25].replace(b'"i":', b'"j":', 1)
    elif damage == "removed":
        del lines[20]
    elif damage == "json":
        lines[31] = b"{not json\n"
    elif damage == "torn":
        lines[-1] = lines[-1][:-5]
    elif damage == "seqs":  # every span's first line then misleads about where the span starts
        lines = [re.sub(rb'"seq":\d+', b'"seq":1', line) for line in lines]
    path.write_bytes(b"".join(lines))
    entries, expected = check_chain(path)
    monkeypatch.setattr(journal_module, "PARALLEL_FROM", 0)
    for workers in (1, 2, 3):
        whole = check_chain_whole(path, workers=workers)
        assert whole.problems == expected, workers
        if damage in ("none", "torn"):
            assert whole.lines == len(entries) and whole.last_hash == entries[-1]["hash"]
