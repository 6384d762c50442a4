"""The journal: append-only JSONL, hash-chained, fsynced; the single source of truth.

Each line is the canonical JSON of one entry: `seq`, `at`, `type`, the entry's data, `prev`
(the previous entry's hash) and `hash` = SHA-256 of the canonical JSON of the entry without
`hash`. Changing, removing or reordering any line breaks the chain at that point.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

from facturier.core.errors import IntegrityError
from facturier.store import notices
from facturier.store.events import ISSUED_TYPES, Event
from facturier.store.files import atomic_write, open_append, open_update, sha256_bytes
from facturier.store.state import LedgerState, open_db, quiet_gc, rebuilt_in, table_differences
from facturier.store.state.opening import in_memory, verify_folder

GENESIS = "0" * 64
RESERVED = frozenset({"seq", "at", "type", "prev", "hash"})
Entry = dict[str, Any]


def canonical(obj: Any) -> bytes:
    """The one serialization that hashes are computed over.

    Defined as `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
    in UTF-8; orjson produces the same bytes for journal data (strings, integers, booleans,
    null, lists, objects; a property test holds it to that) about ten times faster.
    """
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: Entry) -> str:
    """SHA-256 of the entry without its `hash` field."""
    return sha256_bytes(canonical({k: v for k, v in entry.items() if k != "hash"}))


@dataclass(frozen=True, slots=True)
class ChainProblem:
    line: int
    message: str


def check_chain(path: Path) -> tuple[list[Entry], list[ChainProblem]]:
    """Parse every line and check seq, prev and hash; return the entries and every problem."""
    entries: list[Entry] = []
    with quiet_gc():
        problems = scan_chain(path, lambda entry, offset, length: entries.append(entry))
    return entries, problems


HASH_MISMATCH = "hash does not match the entry's content"
NOT_AS_WRITTEN = ("bytes differ from the ones Facturier wrote (the same entry in another form: spaces, line "
                  "ending or key order changed outside Facturier)")


def line_problem(raw: bytes, entry: Entry) -> str | None:
    """None when the entry's `hash` is the SHA-256 of its content without `hash` and the line
    is the bytes Facturier writes for it; else what is wrong (`HASH_MISMATCH`, `NOT_AS_WRITTEN`).

    Fast path: a line written by Facturier is the canonical JSON of its entry, keys sorted,
    and `hash` is never the last key, so removing `"hash":"<h>",` from the raw line gives
    the canonical bytes of the entry without it (no re-serialisation). A line that is not
    in that form is checked the slow way: a right hash in another form (a space, a CR
    added by an editor) changes no fact but is a changed byte all the same.
    """
    stored = entry.get("hash")
    if isinstance(stored, str):
        segment = b'"hash":"' + stored.encode() + b'",'
        if hashlib.sha256(raw.rstrip(b"\n").replace(segment, b"", 1)).hexdigest() == stored:
            return None
    if stored != entry_hash(entry):
        return HASH_MISMATCH
    return None if raw == canonical(entry) + b"\n" else NOT_AS_WRITTEN


def line_hash_ok(raw: bytes, entry: Entry) -> bool:
    """Whether the entry's `hash` is the SHA-256 of its content without `hash` (whatever the
    line's form: `check_chain` for tests and tools)."""
    return line_problem(raw, entry) != HASH_MISMATCH


EntrySink = Callable[[Entry, int, int], object]


def scan_chain(path: Path, sink: EntrySink, start: int = 0, seq: int = 0, prev: str = GENESIS,
               strict: bool = False) -> list[ChainProblem]:
    """Check every complete line from byte `start` (entry `seq` + 1 follows hash `prev`).

    Each entry is handed to `sink(entry, offset, length)`; returns every problem found. An
    incomplete last line is reported as such (an interrupted write, never committed). With
    `strict` (every command), a line must also be the exact bytes Facturier wrote.
    """
    problems: list[ChainProblem] = []
    if not path.exists():
        return problems
    require_regular(path, RESTORE_JOURNAL)
    with open(path, "rb") as fh:
        fh.seek(start)
        offset = start
        for number, raw in enumerate(fh, start=seq + 1):
            length = len(raw)
            if not raw.endswith(b"\n"):
                problems.append(ChainProblem(number, "incomplete last line (an interrupted write)"))
                break
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                problems.append(ChainProblem(number, "not valid JSON"))
                prev, offset = "", offset + length
                continue
            if not isinstance(entry, dict):
                problems.append(ChainProblem(number, "not a JSON object"))
                offset += length
                continue
            if entry.get("seq") != number:
                problems.append(ChainProblem(number, f"seq is {entry.get('seq')!r}, expected {number}"))
            if entry.get("prev") != prev:
                problems.append(ChainProblem(number, "prev does not match the previous entry's hash"))
            problem = line_problem(raw, entry)
            if problem == HASH_MISMATCH or (problem and strict):
                problems.append(ChainProblem(number, problem))
            prev = str(entry.get("hash"))
            sink(entry, offset, length)
            offset += length
    return problems


@dataclass(frozen=True, slots=True)
class Head:
    """The head record `data/journal.head`: where the journal ends, so its end is anchored.

    `seq` and `hash` name the last committed entry. While a commit is being written,
    `pending` lists the hashes of the entries it appends (in order): a process killed
    mid-commit leaves the journal ending at `seq` or at one of those, never elsewhere.
    """

    seq: int
    hash: str
    pending: tuple[str, ...] = ()

    def accepts(self, seq: int, hash_: str) -> bool:
        """Whether a journal ending at entry `seq` with hash `hash_` agrees with this head."""
        if (seq, hash_) == (self.seq, self.hash):
            return True
        index = seq - self.seq - 1
        return 0 <= index < len(self.pending) and self.pending[index] == hash_


def head_path(journal: Path) -> Path:
    """data/journal.head beside data/journal.jsonl."""
    return journal.with_suffix(".head")


def require_regular(path: Path, what: str) -> None:
    """Refuse at once a FIFO, a device or a socket at `path`: a FIFO there blocked every command
    forever. `what` says what to do. Absent is fine, and a folder is left to the open that
    follows, which says `Is a directory`."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # absent, or a dangling link: the open that follows says so
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise IntegrityError(f"{path} is not a regular file; {what}")


RESTORE_JOURNAL = "restore the journal from a backup; nothing was written"


def read_head(path: Path) -> Head | None:
    """The head record, None when there is none; IntegrityError when it is unreadable."""
    require_regular(path, "remove it: the next writing command writes the head record again (with a note)")
    try:
        raw = orjson.loads(path.read_bytes())
        return Head(int(raw["seq"]), str(raw["hash"]), tuple(str(h) for h in raw.get("pending", ())))
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(f"{path}: unreadable head record ({exc}); run 'facturier verify'") from None


def write_head(path: Path, head: Head) -> None:
    """Replace the head record atomically and durably."""
    data: dict[str, Any] = {"seq": head.seq, "hash": head.hash}
    if head.pending:
        data["pending"] = list(head.pending)
    atomic_write(path, canonical(data) + b"\n")


def head_problem(head: Head | None, seq: int, hash_: str) -> str | None:
    """Why a journal ending at (seq, hash) disagrees with its head record, or None."""
    if head is None or head.accepts(seq, hash_):
        return None
    if seq < head.seq:
        gone = head.seq - seq
        return (f"the journal ends at entry {seq} but its head record says entry {head.seq}: "
                f"{gone} entr{'y was' if gone == 1 else 'ies were'} removed from its end")
    if seq > head.seq + len(head.pending):
        extra = seq - head.seq
        return (f"the journal ends at entry {seq} but its head record says entry {head.seq}: "
                f"{extra} entr{'y was' if extra == 1 else 'ies were'} added after the last commit")
    return f"the journal's entry {seq} has hash {hash_[:16]}..., not the one its head record names"


def stray_tail_problem(head: Head | None) -> str | None:
    """Why bytes after the last complete line are not a commit cut short, or None when they may be.

    A commit writes the head record naming its entries as pending before it appends them, so a
    process killed while appending leaves a pending head beside the torn line. Without one (and
    with a head record at all: a workspace from before it keeps the old tolerance), those bytes
    were written or cut outside Facturier: a last entry truncated, or garbage appended.
    """
    if head is None or head.pending:
        return None
    return (f"the last line is incomplete but no commit was in progress (the head record names entry "
            f"{head.seq} and nothing pending): the journal was truncated, or bytes were appended to it, "
            "outside Facturier")


def complete_end(path: Path) -> int:
    """Byte offset after the last complete line (a torn last line was never committed)."""
    require_regular(path, RESTORE_JOURNAL)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return size
        back = min(size, 1 << 20)
        fh.seek(size - back)
        window = fh.read(back)
    cut = window.rfind(b"\n")
    return 0 if cut < 0 else size - back + cut + 1


def open_state(path: Path, notice: Callable[[str], None] | None = None, dry_run: bool = False,
               fresh: bool = False) -> LedgerState:
    """The ledger state of the journal at `path`, caught up with every entry after its stamp.

    The chain of every entry after the stamp is checked and each entry applied in one
    transaction with the position it leads to; with no usable state the whole journal is
    checked and the state rebuilt (with a notice). A read-only command then reads one
    snapshot (a read transaction) however long it runs. Raises IntegrityError when the chain
    is broken, or when the journal's end disagrees with its head record (entries removed
    from or added to its end).
    """
    say = notice or notices.notice
    state = open_db(path, complete_end(path), say, dry_run, fresh)
    on_disk = state.on_disk()
    try:
        return _caught_up(path, state)
    except sqlite3.OperationalError as exc:
        # The file opened but refuses its first write (read-only or immutable, a full disk, locked
        # past the wait): as when it cannot be opened, it is left as it is and this command builds
        # its state in memory.
        if not on_disk:
            raise
        return _caught_up(path, in_memory(path, say, exc))
    except sqlite3.DatabaseError as exc:  # a damaged page met while catching up: rebuilt, never used
        if not on_disk or fresh:
            raise
        say(f"state file data/state.sqlite not used ({exc}); rebuilding it from the journal")
        return _caught_up(path, open_db(path, complete_end(path), say, dry_run, fresh=True))


def _caught_up(path: Path, state: LedgerState) -> LedgerState:
    """`state` with every entry after its stamp chain-checked and applied, committed; closed
    when that fails."""
    try:
        start = state.position
        with quiet_gc():
            problems = scan_chain(path, state.apply, start.offset, start.seq, start.hash if start.seq else GENESIS,
                                  strict=True)
        real = [p for p in problems if "incomplete last line" not in p.message]
        if real:
            raise IntegrityError(f"{path}: line {real[0].line}: {real[0].message}; run 'facturier verify' "
                                 "for details. Nothing was written.")
        problem = head_problem(read_head(head_path(path)), state.position.seq, state.position.hash)
        if problem:
            raise IntegrityError(f"{path}: {problem}; run 'facturier verify'. Nothing was written.")
        state.commit()
    except BaseException:
        state.close()
        raise
    return state


def state_problems(path: Path, notice: Callable[[str], None] | None = None, fresh: Path | None = None) -> list[str]:
    """The tables of the saved state (caught up with the journal) that differ from the state
    rebuilt from the whole journal: a state file edited or forged, which `rebuild` repairs.

    The rebuilt state is a temporary file outside the workspace (`fresh` when the caller built
    it already, with `build_state_file`), attached to the saved one and compared table by table
    in SQL (`EXCEPT` both ways, and the row counts), so that the comparison holds neither state
    in memory.
    """
    saved = open_state(path, notice)  # checks the chain after its stamp, rebuilds a state it cannot use
    try:
        if fresh is not None:
            return table_differences(saved.db, fresh)
        with verify_folder() as folder:
            return table_differences(saved.db, build_state_file(path, Path(folder) / "state.sqlite"))
    finally:
        saved.close()


def build_state_file(path: Path, file: Path, between: Callable[[], None] | None = None) -> Path:
    """The state of the whole journal at `path`, built into the new file `file` (returned), for
    `verify` to compare with the saved one.

    The chain is not checked here: the caller proves it (`check_chain_whole`, the SHA-256 of
    every line) and uses this state only when it is intact; an incomplete last line (never
    committed) is left out, as every command leaves it. `between` is called every
    `CHECK_EVERY` lines: what it raises abandons the build (the chain found broken meanwhile).
    """
    fresh = rebuilt_in(path, file)
    try:
        offset = 0
        with quiet_gc(), open(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.endswith(b"\n"):
                    break
                fresh.apply(orjson.loads(raw), offset, len(raw))
                offset += len(raw)
                if between is not None and number % CHECK_EVERY == 0:
                    between()
        fresh.commit()
    finally:
        fresh.close()
    return file


CHECK_EVERY = 4096  # lines of `build_state_file` between two calls of its `between`


class Journal:
    """The journal opened for writing (under the workspace lock), with its ledger state.

    Opening drops a torn last line, loads the state (`open_state`), which checks the chain
    after the checkpoint and the head record. Each `append_many` is one commit: the head
    record first lists the new entries as pending, then they are written and fsynced, then
    the head names the last of them.
    """

    def __init__(self, path: Path, notice: Callable[[str], None] | None = None) -> None:
        self.path = path
        self.head_file = head_path(path)
        self.repaired_tail = False
        self._repair_torn_tail()
        self.state = open_state(path, notice)
        head = read_head(self.head_file)
        position = self.state.position
        if head is None and position.seq:
            (notice or notices.notice)(f"journal head record created: the journal ends at entry {position.seq}")
        if head is None or head.pending or (head.seq, head.hash) != (position.seq, position.hash):
            write_head(self.head_file, Head(position.seq, position.hash or GENESIS))
        self._fh = open_append(path)
        self._end = self.state.position.offset

    def _repair_torn_tail(self) -> None:
        """Drop a last line left half-written by a killed process: it was never committed."""
        if not self.path.exists():
            return
        end = complete_end(self.path)
        if end == self.path.stat().st_size:
            return
        problem = stray_tail_problem(read_head(self.head_file))
        if problem:
            raise IntegrityError(f"{self.path}: {problem}; run 'facturier verify'. Nothing was written.")
        with open_update(self.path) as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
        self.repaired_tail = True

    @property
    def seq(self) -> int:
        """Number of the last entry (0 for an empty journal)."""
        return self.state.position.seq

    @property
    def last_hash(self) -> str:
        """Hash of the last entry, or the genesis hash for an empty journal."""
        return self.state.position.hash if self.state.position.seq else GENESIS

    def append(self, event: Event) -> Entry:
        """Chain, write and fsync one entry (one commit); return it as written."""
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[Event]) -> list[Entry]:
        """Chain and write entries as one commit: head pending, lines, one fsync, head final."""
        entries: list[Entry] = []
        prev, seq, at = self.last_hash, self.seq, _now()
        for event in events:
            type_, data = event.type, event.to_data()
            clash = RESERVED.intersection(data)
            if clash:
                raise ValueError(f"journal data may not set reserved keys {sorted(clash)}")
            seq += 1
            entry: Entry = {"seq": seq, "at": at, "type": type_}
            entry.update(data)
            entry["prev"] = prev
            entry["hash"] = prev = entry_hash(entry)
            entries.append(entry)
        if not entries:
            return entries
        write_head(self.head_file, Head(self.seq, self.last_hash, tuple(e["hash"] for e in entries)))
        lines = [canonical(e) + b"\n" for e in entries]
        self._fh.write(b"".join(lines))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.state.applied(entries, self._end, [len(line) for line in lines])
        self._end += sum(len(line) for line in lines)
        write_head(self.head_file, Head(self.seq, self.last_hash))
        return entries

    def close(self) -> None:
        """Close the append handle and the state's reader."""
        self._fh.close()
        self.state.close()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_entries(path: Path) -> list[Entry]:
    """Read every entry without the lock, for read-only commands; refuses a broken chain."""
    entries, problems = check_chain(path)
    real = [p for p in problems if "incomplete last line" not in p.message]
    if real:
        raise IntegrityError(
            f"{path}: line {real[0].line}: {real[0].message}; run 'facturier verify' for details."
        )
    return entries


@dataclass
class ChainSpan:
    """What checking one span of whole lines found (for `check_chain_whole`)."""

    lines: int = 0
    first_prev: str | None = None
    last_hash: str = ""
    problems: list[ChainProblem] = dc_field(default_factory=list)
    files: dict[str, str] = dc_field(default_factory=dict)
    expected_seq: int | None = None  # the last entry whose hash starts with `expect`
    document_pdfs: list[tuple[str, str]] = dc_field(default_factory=list)  # (entry type, PDF path)
    base: int = 0  # the lines before the span's first


def _lines_between(path: str, start: int, end: int, block: int = 8 << 20) -> Iterator[bytes]:
    """The lines of bytes [start, end), read in blocks so memory stays flat."""
    with open(path, "rb") as fh:
        fh.seek(start)
        rest, left = b"", end - start
        while left > 0:
            data = fh.read(min(block, left))
            if not data:
                break
            left -= len(data)
            data = rest + data
            cut = data.rfind(b"\n") + 1
            yield from data[:cut].splitlines(keepends=True)
            rest = data[cut:]
        if rest:
            yield rest


def _check_span(path: str, start: int, end: int, base: int | None, expect: str | None) -> ChainSpan:
    """Check lines [start, end) whose first is line `base` + 1: hashes, seq, inner prev links.

    With `base` None, the first line's own seq says where the span starts (counting the
    lines before it would cost a pass over the file); the caller checks that guess once the
    spans before it have been counted, and checks the span again if it was wrong.
    """
    if base is None:
        base = _guess_base(path, start)
    span = ChainSpan(base=base)
    prev: str | None = None
    for index, raw in enumerate(_lines_between(path, start, end)):
        number = base + index + 1
        span.lines += 1
        if not raw.endswith(b"\n"):
            span.problems.append(ChainProblem(number, "incomplete last line (an interrupted write)"))
            span.lines -= 1
            break
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            span.problems.append(ChainProblem(number, "not valid JSON"))
            prev = ""
            continue
        if not isinstance(entry, dict):
            span.problems.append(ChainProblem(number, "not a JSON object"))
            continue
        if entry.get("seq") != number:
            span.problems.append(ChainProblem(number, f"seq is {entry.get('seq')!r}, expected {number}"))
        if index == 0:
            span.first_prev = str(entry.get("prev"))
        elif entry.get("prev") != prev:
            span.problems.append(ChainProblem(number, "prev does not match the previous entry's hash"))
        problem = line_problem(raw, entry)
        if problem:
            span.problems.append(ChainProblem(number, problem))
        prev = str(entry.get("hash"))
        if expect and prev.startswith(expect):
            span.expected_seq = number
        files = entry.get("files")
        if isinstance(files, dict):
            for role, item in files.items():
                if isinstance(item, dict) and "path" in item:
                    span.files[item["path"]] = item.get("sha256", "")
                    if role == "pdf" and entry.get("type") in ISSUED_TYPES:
                        span.document_pdfs.append((str(entry["type"]), item["path"]))
    span.last_hash = prev or ""
    return span


PARALLEL_FROM = 32 << 20  # below 32 MiB one process checks the chain faster than starting others


def check_chain_whole(path: Path, expect: str | None = None, workers: int | None = None) -> ChainSpan:
    """Check the whole chain, over every core for a large journal, keeping no entry in memory.

    The file is cut at line boundaries into one span per worker; each checks its lines'
    hashes and links, and the spans are then stitched (each span's first `prev` must be the
    previous span's last hash). Same problems, same messages as `check_chain`.
    """
    if not path.exists():
        return ChainSpan(last_hash=GENESIS)
    require_regular(path, RESTORE_JOURNAL)
    size = path.stat().st_size
    count = workers or os.cpu_count() or 1
    if size < PARALLEL_FROM or count < 2:
        bounds: list[tuple[int, int, int | None]] = [(0, size, 0)]
    else:
        bounds = _spans(path, size, count)
    if len(bounds) == 1:
        spans = [_check_span(str(path), *bounds[0], expect)]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(len(bounds), mp_context=multiprocessing.get_context("spawn")) as pool:
            spans = list(pool.map(_check_span, [str(path)] * len(bounds), *zip(*bounds),
                                  [expect] * len(bounds)))
        spans = _true_bases(path, spans, bounds, expect)
    return _stitch(spans)


def _guess_base(path: str, start: int) -> int:
    """The number of lines before byte `start`, if the line there tells its seq truly."""
    with open(path, "rb") as fh:
        fh.seek(start)
        try:
            seq = orjson.loads(fh.readline()).get("seq")
        except (orjson.JSONDecodeError, AttributeError):
            return 0
    return seq - 1 if type(seq) is int and seq > 0 else 0


def _spans(path: Path, size: int, count: int) -> list[tuple[int, int, int | None]]:
    """(start, end, lines before start: None for "ask the span") of `count` spans of whole lines."""
    import mmap

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        cuts = [0]
        for k in range(1, count):
            cut = view.find(b"\n", size * k // count)
            if cut < 0 or cut + 1 <= cuts[-1]:
                break
            cuts.append(cut + 1)
        cuts.append(size)
    return [(s, e, 0 if s == 0 else None) for s, e in pairwise(cuts) if e > s]


def _true_bases(path: Path, spans: list[ChainSpan], bounds: list[tuple[int, int, int | None]],
                expect: str | None) -> list[ChainSpan]:
    """The spans, each checked again with the right first line number if its guess was wrong
    (only a journal whose seq values are themselves wrong: the messages stay those of
    `check_chain`)."""
    out, lines = [], 0
    for span, (start, end, _) in zip(spans, bounds, strict=True):
        if span.base != lines:
            span = _check_span(str(path), start, end, lines, expect)
        out.append(span)
        lines += span.lines
    return out


def _stitch(spans: list[ChainSpan]) -> ChainSpan:
    whole = ChainSpan(last_hash=GENESIS)
    prev = GENESIS
    for span in spans:
        if span.lines and span.first_prev is not None and span.first_prev != prev:
            whole.problems.append(ChainProblem(whole.lines + 1, "prev does not match the previous entry's hash"))
        whole.problems.extend(span.problems)
        whole.files.update(span.files)
        whole.document_pdfs.extend(span.document_pdfs)
        whole.lines += span.lines
        if span.expected_seq is not None:
            whole.expected_seq = span.expected_seq
        if span.lines:
            prev = whole.last_hash = span.last_hash
    # In the order `scan_chain` reports a line's problems: seq, then prev, then hash.
    rank = {"seq": 0, "prev": 1, "hash": 2, "bytes": 2}
    whole.problems.sort(key=lambda p: (p.line, rank.get(p.message.split(" ", 1)[0], 0)))
    return whole
