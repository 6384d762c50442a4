"""`facturier verify`: the journal chain, the SHA-256 of every file it names, the ledger state
and every derived view."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from facturier.core.errors import IntegrityError, UnsafeFileError
from facturier.ops.einvoice import EInvoiceReport, verify_einvoices
from facturier.ops.state_access import reading_state
from facturier.ops.views import view_problems
from facturier.store.files import sha256_file
from facturier.store.journal import (
    GENESIS,
    ChainSpan,
    check_chain_whole,
    head_path,
    head_problem,
    read_head,
    state_problems,
    stray_tail_problem,
)
from facturier.store.lock import WorkspaceLock
from facturier.store.notices import notice
from facturier.store.paths import WorkspacePaths

# Folders whose every file must be named by the journal: an extra file there is suspect.
RECORDED_FOLDERS = ("data/invoices", "data/invoices_batch", "data/credit_notes", "data/archive_batch")


@dataclass
class Verification:
    """Problems make verify fail; notes describe leftovers an interrupted command will finish."""

    entries: int = 0
    files: int = 0
    views: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    einvoice: EInvoiceReport | None = None  # with --einvoice only


def verify_workspace(root: Path, expect: str | None = None, einvoice: bool = False) -> Verification:
    """Check every entry's chain link and hash, the head record, every named file's SHA-256, the
    ledger state, every derived view, and (with `einvoice`) every issued Factur-X XML.

    `expect` is a hash the user kept elsewhere (a printed report, an alert email): the
    journal must end at that entry, or contain it (then the entries after it are listed).

    A large journal is checked by two processes at once (`verify_beside`): this one
    rebuilds the state while another checks the chain, the files and the views; the results
    and messages are those of the one process that checks a small journal.
    """
    with WorkspaceLock(WorkspacePaths(root).data):
        if checked_beside(WorkspacePaths(root).journal):
            from facturier.ops.verify_beside import verify_beside

            result, document_pdfs = verify_beside(root, expect)
        else:
            result, document_pdfs, sound = chain_and_files(root, expect)
            if sound:
                check_state_and_views(root, result)
        if einvoice:
            from facturier.render.pool import worker_count

            documents = [{"type": t, "files": {"pdf": {"path": rel}}} for t, rel in document_pdfs]
            result.einvoice = verify_einvoices(root, documents, worker_count())
    return result


# From this journal size on (and with 2 cores or more to run on), a second process checks the chain, the
# files and the views while this one rebuilds the state: below it, starting one costs more.
BESIDE_FROM = 32 << 20


def checked_beside(journal: Path) -> bool:
    """Whether `verify` checks this journal with a second process (`BESIDE_FROM`)."""
    try:
        size = journal.stat().st_size if journal.is_file() else 0
    except OSError:
        return False
    from facturier.render.pool import worker_count  # the cores this process may run on (FACTURIER_WORKERS)

    return size >= BESIDE_FROM and worker_count() >= 2


PdfList = list[tuple[str, str]]  # (entry type, PDF path) of every issued document


def chain_and_files(root: Path, expect: str | None,
                    said: Callable[[bool], object] | None = None) -> tuple[Verification, PdfList, bool]:
    """(what was found, the issued documents' PDFs, whether the journal is intact): the chain,
    the head record, `expect`, every named file. `said(intact)` is called as soon as the chain
    and the head record are checked, before the files (`verify_beside` stops a build then)."""
    result = Verification()
    journal = WorkspacePaths(root).journal
    chain = check_chain_whole(journal, expect.strip().lower() if expect else None,
                              workers=1 if said is not None else None)
    for p in chain.problems:
        text = f"data/journal.jsonl: line {p.line}: {p.message}"
        stray = "incomplete last line" in p.message and _stray_tail(journal)
        if stray:
            result.problems.append(f"data/journal.jsonl: line {p.line}: {stray}; restore the journal from a "
                                   "backup (or remove the bytes after the last complete line)")
        elif "incomplete last line" in p.message:
            result.notes.append(text + "; the next writing command discards it (it was never committed)")
        else:
            result.problems.append(text)
    result.entries = chain.lines
    result.head_hash = chain.last_hash if chain.lines else GENESIS
    _check_head(journal, chain.lines, result)
    sound = not result.problems  # state and views are compared with an intact journal only
    if said is not None:
        said(sound)
    if expect is not None:
        _check_expected(chain, expect.strip().lower(), result)
    _check_files(root, chain.files, result)
    return result, chain.document_pdfs, sound


def _check_files(root: Path, named: dict[str, str], result: Verification) -> None:
    """Every file the journal names must be there with its SHA-256 (or staged by a commit in
    progress); a file of the recorded folders that the journal does not name is suspect."""
    staged = _staged_hashes(root)
    for rel, digest in sorted(named.items()):
        result.files += 1
        path = root / rel
        if not path.exists():
            if (path.name, digest) in staged:
                result.notes.append(f"{rel}: still in data/staging/; the next writing command moves it into place")
            else:
                result.problems.append(f"{rel}: missing (named by the journal)")
        elif not path.is_file():
            result.problems.append(f"{rel}: not a regular file (named by the journal)")
        else:
            try:
                actual = sha256_file(path)
            except (OSError, UnsafeFileError) as exc:  # a link is refused, never followed
                result.problems.append(f"{rel}: unreadable ({exc.strerror if isinstance(exc, OSError) else exc})")
                continue
            if actual != digest:
                result.problems.append(f"{rel}: content changed (SHA-256 differs from the journal)")
    for rel in _unrecorded(root, named):
        result.problems.append(f"{rel}: not recorded in the journal")


ViewCheck = tuple[int, list[str], list[str]]  # (views that match, problems, notes)


def check_state_and_views(root: Path, result: Verification, fresh: Path | BaseException | None = None,
                          views: ViewCheck | None = None) -> None:
    """The saved state must be the one the whole journal gives (`state_problems`), and every view
    file the bytes the builders give from it. Checked under the lock: no command writes meanwhile.
    A state found wrong is the problem to fix first: `rebuild` repairs it and rewrites the views.

    `fresh` is the state already rebuilt from the journal (or what its build raised), `views` the
    views already checked against the saved state (`verify_beside`); else both are done here."""
    journal = WorkspacePaths(root).journal
    if not journal.exists():  # nothing journalled yet: no state, and no view either
        result.problems += view_problems(root, None)[1]
        return
    try:
        if isinstance(fresh, BaseException):
            raise fresh
        problems = state_problems(journal, notice, fresh)
        if not problems:
            result.views, problems, notes = views if views is not None else saved_views(root)
            result.notes += notes
    except (IntegrityError, sqlite3.DatabaseError) as exc:
        problems = refused(exc)
    result.problems += problems


def saved_views(root: Path) -> ViewCheck:
    """Every view compared with what the saved state gives (`view_problems`); a state file that
    cannot be read is the problem returned."""
    try:
        with reading_state(root) as state:
            return view_problems(root, state)
    except (IntegrityError, sqlite3.DatabaseError) as exc:
        return 0, refused(exc), []


def refused(exc: IntegrityError | sqlite3.DatabaseError) -> list[str]:
    """The problem of a state file that cannot be used, the journal being intact."""
    if isinstance(exc, IntegrityError):  # what is refused is the state file itself
        return [str(exc)]
    # a damaged page, found only when a query reaches it
    damaged = f"data/state.sqlite: {exc}: the ledger state is damaged"
    return [f"{damaged}; 'facturier rebuild' rebuilds it from the journal (nothing is lost)"]


def _stray_tail(journal: Path) -> str | None:
    """Why the journal's incomplete last line is no commit cut short (`stray_tail_problem`), or None."""
    try:
        return stray_tail_problem(read_head(head_path(journal)))
    except IntegrityError:  # an unreadable head record: reported by _check_head
        return None


def _check_head(journal: Path, count: int, result: Verification) -> None:
    """The journal's end must be the one its head record names (or a commit in progress)."""
    try:
        head = read_head(head_path(journal))
    except IntegrityError as exc:
        result.problems.append(str(exc))
        return
    if head is None:
        if count:
            result.notes.append("data/journal.head: no head record yet (a workspace from an earlier "
                                "version); the next writing command creates it")
        return
    problem = head_problem(head, count, result.head_hash if count else head.hash)
    if problem:
        result.problems.append(f"data/journal.head: {problem}")
    elif head.pending and (count, result.head_hash) != (head.seq, head.hash):
        result.notes.append("data/journal.head: a commit was interrupted after its entries were written; "
                            "the next writing command completes the head record")


def _check_expected(chain: ChainSpan, expect: str, result: Verification) -> None:
    """Compare the journal with a head hash kept elsewhere."""
    if len(expect) < 8:
        result.problems.append("--expect: give at least 8 hex digits of the hash")
        return
    if chain.expected_seq is None:
        result.problems.append(f"--expect {expect}: no entry of the journal has this hash: the journal is not "
                               "the one whose head you kept (entries were removed or rewritten)")
    elif chain.expected_seq != chain.lines:
        later = chain.lines - chain.expected_seq
        result.notes.append(f"--expect {expect}: entry {chain.expected_seq}; {later} entr"
                            f"{'y was' if later == 1 else 'ies were'} added after it")


def _staged_hashes(root: Path) -> set[tuple[str, str]]:
    staging = WorkspacePaths(root).staging
    if not staging.is_dir():
        return set()
    from facturier.store.ledger import final_name

    return {(final_name(p.name), sha256_file(p)) for p in staging.iterdir() if p.is_file()}


def _unrecorded(root: Path, named: dict[str, str]) -> list[str]:
    extra = []
    for folder in RECORDED_FOLDERS:
        base = root / folder
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and rel not in named:
                    extra.append(rel)
    return extra
