"""`facturier verify`: the journal chain and the SHA-256 of every file it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facturier.ops.einvoice import EInvoiceReport, verify_einvoices
from facturier.store.files import sha256_file
from facturier.store.journal import check_chain
from facturier.store.ledger import named_files
from facturier.store.lock import WorkspaceLock

# Folders whose every file must be named by the journal: an extra file there is suspect.
RECORDED_FOLDERS = ("data/invoices", "data/invoices_batch", "data/credit_notes", "data/archive_batch")


@dataclass
class Verification:
    """Problems make verify fail; notes describe leftovers an interrupted command will finish."""

    entries: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    einvoice: EInvoiceReport | None = None  # with --einvoice only


def verify_workspace(root: Path, einvoice: bool = False) -> Verification:
    """Check every entry's chain link and hash, and every named file's SHA-256 (and e-invoices)."""
    result = Verification()
    journal = root / "data" / "journal.jsonl"
    with WorkspaceLock(root / "data"):
        entries, chain = check_chain(journal)
        for p in chain:
            text = f"data/journal.jsonl: line {p.line}: {p.message}"
            if "incomplete last line" in p.message:
                result.notes.append(text + "; the next writing command discards it (it was never committed)")
            else:
                result.problems.append(text)
        result.entries = len(entries)
        named = named_files(entries)
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
                except OSError as exc:
                    result.problems.append(f"{rel}: unreadable ({exc.strerror or exc})")
                    continue
                if actual != digest:
                    result.problems.append(f"{rel}: content changed (SHA-256 differs from the journal)")
        for rel in _unrecorded(root, named):
            result.problems.append(f"{rel}: not recorded in the journal")
        if einvoice:
            from facturier.render.pool import worker_count

            result.einvoice = verify_einvoices(root, entries, worker_count())
    return result


def _staged_hashes(root: Path) -> set[tuple[str, str]]:
    staging = root / "data" / "staging"
    if not staging.is_dir():
        return set()
    return {(p.name, sha256_file(p)) for p in staging.iterdir() if p.is_file()}


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
