"""`facturier batch`: CSV files in the batch inboxes become invoices (PRODUCT.md §6, docs/batch.md).

For each active batch client, every `data/inbox_batch/<id>/*.csv`, in name order:
1. a file whose SHA-256 was already accepted is rejected as a duplicate;
2. the file is copied to staging and that copy is validated whole, streamed; any problem
   rejects it: moved to `rejected/` with `<name>.errors.txt`, `batch.rejected` journalled,
   an error alert raised, nothing issued;
3. a valid copy is archived (`batch.accepted` names it, so `verify` checks its hash) before
   anything is issued; then one invoice per row, in file order, re-read from the archive;
4. the inbox file is removed, then `batch.completed` is journalled.
A run first resumes every accepted batch without `batch.completed` (a killed run): the rows
whose reference already has an invoice of that batch are skipped, the rest issued, so nothing
is issued twice and numbers stay gapless. Finally each touched month's ZIP is rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.core.errors import InputError, IntegrityError
from facturier.core.invoice import Document, Line, Party
from facturier.ops.batch.rows import BatchContext, BatchRow, FileCheck, Problem, iter_rows
from facturier.ops.batch.monthly_zip import build_monthly_zip
from facturier.ops.documents import commit_group_size, document_commit, seller_party
from facturier.ops.logs import log
from facturier.ops.report import Alert, ProgressHook, Report
from facturier.ops.state import NumberAllocator
from facturier.store.files import atomic_write, fsync_dir, sha256_file
from facturier.store.journal import Entry, read_entries
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import BatchClientConfig, Workspace

FILE_COLUMNS = ["client", "file", "status", "rows", "issued", "first", "last"]
DRY_COLUMNS = ["client", "file", "line", "number", "reference", "customer", "date", "due_date",
               "currency", "total_incl_vat", "mode"]


@dataclass
class BatchLedgerView:
    """What the journal says about one batch client's files and references."""

    accepted: dict[str, Entry] = field(default_factory=dict)  # sha256 -> batch.accepted
    completed: set[str] = field(default_factory=set)  # sha256
    invoiced: dict[str, str] = field(default_factory=dict)  # reference -> number
    issued_by_batch: dict[str, set[str]] = field(default_factory=dict)  # sha256 -> references

    @property
    def interrupted(self) -> list[Entry]:
        """Accepted batches never completed, in journal order."""
        return [e for sha, e in self.accepted.items() if sha not in self.completed]


def ledger_view(entries: list[Entry], batch_id: str) -> BatchLedgerView:
    """Scan the journal once for one batch client."""
    view = BatchLedgerView()
    for e in entries:
        if e.get("client") != batch_id:
            continue
        if e["type"] == "batch.accepted":
            view.accepted[e["sha256"]] = e
        elif e["type"] == "batch.completed":
            view.completed.add(e["sha256"])
        elif e["type"] == "invoice.issued" and e.get("seller") == batch_id and e.get("reference"):
            view.invoiced[e["reference"]] = e["number"]
            view.issued_by_batch.setdefault(e.get("batch", ""), set()).add(e["reference"])
    return view


def batch_context(cfg: BatchClientConfig, batch_id: str, run_date: date, allocator: NumberAllocator | None,
                  invoiced: dict[str, str]) -> BatchContext:
    """Validation context; without an allocator, no journal-dependent date floor (resume)."""
    floors = {k: s.last_date for k, s in allocator.states.items()} if allocator else {}
    return BatchContext(
        seller_id=batch_id, seller_country=cfg.country, currency=cfg.currency,
        default_vat_rate=cfg.default_vat_rate, payment_days=cfg.payment_days, numbering=cfg.numbering,
        test=cfg.mode == "test", run_date=run_date, series_floor=floors, invoiced=invoiced,
    )


def batch_document(cfg: BatchClientConfig, batch_id: str, row: BatchRow, allocator: NumberAllocator) -> Document:
    """The invoice of one row, numbered with the next number of the seller's series."""
    number, series, seq = allocator.peek(cfg.numbering, seller=batch_id, client=batch_id,
                                         issue_date=row.issue_date, test=cfg.mode == "test")
    buyer = Party(name=row.customer_name, address=row.customer_address, country=row.customer_country,
                  email=row.customer_email, siren=row.customer_siren, vat_id=row.customer_vat_id)
    return Document(
        kind="invoice", number=number, series=series, seq=seq, mode=cfg.mode, seller_id=batch_id,
        client_id=batch_id, language=cfg.language, currency=row.currency, issue_date=row.issue_date,
        due_date=row.due_date, period_start=None, period_end=None, seller=seller_party(cfg), buyer=buyer,
        buyer_is_business=row.business, vat_regime=cfg.vat_regime,
        lines=(Line(row.description, row.quantity, row.unit_price, row.vat_rate),),
        payment_days=(row.due_date - row.issue_date).days, late_penalty=cfg.late_penalty_for(cfg.language),
        reference=row.reference, operation_category=cfg.operation_category, vat_on_debits=cfg.vat_on_debits,
    )


def inbox_dir(root: Path, batch_id: str) -> Path:
    """Where a batch client drops its CSV files."""
    return root / "data" / "inbox_batch" / batch_id


def inbox_files(root: Path, batch_id: str) -> list[Path]:
    """The CSV files waiting in a client's inbox, in name order."""
    folder = inbox_dir(root, batch_id)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")


def selected_clients(ws: Workspace, client: str | None) -> list[str]:
    """Active batch clients in id order, or the one asked for."""
    if client is not None:
        if client not in ws.batch_clients:
            known = ", ".join(sorted(ws.batch_clients)) or "none"
            raise InputError(f"--client {client}: no batch_clients/{client}.toml (batch clients: {known})")
        return [client] if ws.batch_clients[client].active else []
    return [cid for cid, cfg in sorted(ws.batch_clients.items()) if cfg.active]


def orphan_inboxes(ws: Workspace) -> list[str]:
    """Inbox folders holding CSV files for no configured batch client."""
    base = ws.root / "data" / "inbox_batch"
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and d.name not in ws.batch_clients and inbox_files(ws.root, d.name))


def process_batches(ws: Workspace, run_date: date, client: str | None = None, dry_run: bool = False,
                    progress: ProgressHook | None = None) -> Report:
    """Process every inbox of the selected active batch clients; a dry run writes nothing."""
    from facturier.ops.batch.dry import dry_run_batches

    clients = selected_clients(ws, client)
    if dry_run:
        report = dry_run_batches(ws, run_date, clients)
    else:
        report = Report("Batch files", FILE_COLUMNS)
        with Ledger(ws.root) as ledger:
            for batch_id in clients:
                _process_client(ws, ledger, batch_id, run_date, report, progress)
    for name in orphan_inboxes(ws):
        report.alerts.append(Alert("warning", f"data/inbox_batch/{name}/ holds CSV files but there is no "
                                              f"batch_clients/{name}.toml: they are left untouched"))
    if not report.rows and not report.alerts:
        report.notes.append("No CSV file waiting in the batch inboxes.")
    return report


def _process_client(ws: Workspace, ledger: Ledger, batch_id: str, run_date: date, report: Report,
                    progress: ProgressHook | None) -> None:
    months: set[str] = set()
    for accepted in ledger_view(ledger.entries, batch_id).interrupted:
        months |= _issue_accepted(ws, ledger, batch_id, accepted, report, progress, resumed=True)
    for path in inbox_files(ws.root, batch_id):
        fresh = _intake(ws, ledger, batch_id, path, run_date, report)
        if fresh is not None:
            months |= _issue_accepted(ws, ledger, batch_id, fresh, report, progress, resumed=False)
    for month in sorted(months):
        build_monthly_zip(ws.root, ledger.entries, batch_id, month)


def _intake(ws: Workspace, ledger: Ledger, batch_id: str, path: Path, run_date: date,
            report: Report) -> Entry | None:
    """Validate one inbox file whole; archive and journal it when valid, else reject it."""
    cfg = ws.batch_clients[batch_id]
    view = ledger_view(ledger.entries, batch_id)
    sha = sha256_file(path)
    if sha in view.accepted:
        first = view.accepted[sha]
        problem = Problem(path.name, 1, "-", f"duplicate file: the same content (SHA-256 {sha[:12]}...) was "
                                             f"accepted on {first['at'][:10]} as {first['name']}")
        _reject(ledger, batch_id, path, sha, [problem], 1, report)
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    archive_name = f"{stamp}_{sha[:12]}_{path.name}"
    if ledger.stage_copy(path, archive_name) != sha:
        ledger.staged_path(archive_name).unlink()
        report.alerts.append(Alert("warning", f"{path.name} changed while being read; it is retried next run"))
        return None
    ctx = batch_context(cfg, batch_id, run_date, NumberAllocator(ledger.entries), view.invoiced)
    check = FileCheck()
    for _ in iter_rows(ledger.staged_path(archive_name), ctx, check, name=path.name):
        pass
    if check.problem_count:
        ledger.staged_path(archive_name).unlink()
        _reject(ledger, batch_id, path, sha, check.problems, check.problem_count, report)
        return None
    rel = f"data/archive_batch/{batch_id}/{archive_name}"
    return ledger.commit_staged(
        "batch.accepted",
        {"client": batch_id, "name": path.name, "sha256": sha, "rows": check.rows, "run_date": run_date.isoformat()},
        {"csv": (rel, sha)},
    )


def rejected_destination(folder: Path, name: str) -> Path:
    """rejected/<name>, or a timestamped name when an earlier rejection already took it."""
    dest = folder / name
    if not dest.exists() and not (folder / f"{name}.errors.txt").exists():
        return dest
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return folder / f"{Path(name).stem}.{stamp}{Path(name).suffix}"


def _reject(ledger: Ledger, batch_id: str, path: Path, sha: str, problems: list[Problem], count: int,
            report: Report) -> None:
    """Move a file to rejected/ with its .errors.txt, journal it and raise an error alert."""
    folder = path.parent / "rejected"
    dest = rejected_destination(folder, path.name)
    lines = [str(p) for p in problems]
    if count > len(problems):
        lines.append(f"... and {count - len(problems)} more problem(s) (only the first {len(problems)} are listed)")
    atomic_write(folder / f"{dest.name}.errors.txt", ("\n".join(lines) + "\n").encode())
    rel = dest.relative_to(ledger.root).as_posix()
    ledger.append("batch.rejected", {"client": batch_id, "name": path.name, "sha256": sha,
                                     "problems": count, "rejected": rel})
    os.replace(path, dest)
    fsync_dir(path.parent)
    report.rows.append({"client": batch_id, "file": path.name, "status": "rejected", "rows": "",
                        "issued": 0, "first": "", "last": ""})
    shown = "\n  ".join(lines[:10]) + ("\n  ..." if len(lines) > 10 else "")
    report.alerts.append(Alert("error", f"{batch_id}/{path.name} rejected, nothing issued: {count} problem(s), "
                                        f"see {rel}.errors.txt\n  {shown}"))
    log(ledger.root, f"batch file {path.name} rejected: {count} problem(s)", batch_id)


def _issue_accepted(ws: Workspace, ledger: Ledger, batch_id: str, accepted: Entry, report: Report,
                    progress: ProgressHook | None, resumed: bool) -> set[str]:
    """Issue the rows of an accepted batch not issued yet, then complete it; the months touched."""
    from facturier.render.pool import render_ordered

    cfg = ws.batch_clients[batch_id]
    sha, name = accepted["sha256"], accepted["name"]
    archive = ws.root / accepted["files"]["csv"]["path"]
    if sha256_file(archive) != sha:
        raise IntegrityError(f"{archive}: content changed since it was accepted; run 'facturier verify'")
    done = ledger_view(ledger.entries, batch_id).issued_by_batch.get(sha, set())
    allocator = NumberAllocator(ledger.entries)
    ctx = batch_context(cfg, batch_id, date.fromisoformat(accepted["run_date"]), None, {})
    check = FileCheck()
    remaining = int(accepted["rows"]) - len(done)

    def documents() -> Iterator[tuple[tuple[Document, dict[str, Any], BatchRow], dict[str, Any]]]:
        for row in iter_rows(archive, ctx, check, name=name):
            if row.reference in done:
                continue
            doc = batch_document(cfg, batch_id, row, allocator)
            allocator.advance(doc.series, doc.seq, row.issue_date)
            record = doc.to_record()
            yield (doc, record, row), record

    if progress is not None:
        progress.start(f"{batch_id}/{name}", remaining)
    numbers: list[str] = []
    months: set[str] = set()
    group: list[tuple[str, dict[str, Any], dict[str, tuple[str, bytes]]]] = []
    group_size = commit_group_size()
    for (doc, record, row), pdf in render_ordered(documents(), ws.root / "templates", expected=remaining):
        extra = {"customer": row.customer_name, "reference": row.reference, "batch": sha}
        group.append(document_commit(doc, record, pdf, extra))
        numbers.append(doc.number)
        months.add(doc.issue_date.isoformat()[:7])
        if len(group) >= group_size:
            _commit(ledger, group, progress)
    _commit(ledger, group, progress)
    if check.problem_count:  # the archive was valid when accepted and is unchanged: a bug, not input
        raise IntegrityError(f"{archive}: accepted file no longer validates: {check.problems[0]}")
    _complete(ledger, batch_id, accepted, len(done) + len(numbers))
    report.rows.append({"client": batch_id, "file": name, "status": "resumed" if resumed else "issued",
                        "rows": accepted["rows"], "issued": len(numbers),
                        "first": numbers[0] if numbers else "", "last": numbers[-1] if numbers else ""})
    log(ws.root, f"batch file {name}: {len(numbers)} invoice(s) issued" + (" (resumed)" if resumed else ""), batch_id)
    return months


def _commit(ledger: Ledger, group: list[tuple[str, dict[str, Any], dict[str, tuple[str, bytes]]]],
            progress: ProgressHook | None) -> None:
    """Commit a group of rendered invoices in order, then empty the group."""
    if not group:
        return
    ledger.commit_group(group)
    if progress is not None:
        progress.advance(len(group))
    group.clear()


def _complete(ledger: Ledger, batch_id: str, accepted: Entry, issued: int) -> None:
    """Remove the consumed inbox file, then journal completion (a crash between: resume redoes both)."""
    inbox = inbox_dir(ledger.root, batch_id) / accepted["name"]
    if inbox.is_file() and sha256_file(inbox) == accepted["sha256"]:
        inbox.unlink()
        fsync_dir(inbox.parent)
    ledger.append("batch.completed", {"client": batch_id, "name": accepted["name"],
                                      "sha256": accepted["sha256"], "issued": issued})


def dry_entries(root: Path) -> list[Entry]:
    """The journal, read without the lock (a dry run writes nothing)."""
    return read_entries(root / "data" / "journal.jsonl")
