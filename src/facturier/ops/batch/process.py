"""`facturier batch` applied: CSV files in the batch inboxes become invoices (PRODUCT.md §6, docs/batch.md).

`plan.py` plans a run and carries it out; this module is what applying the plan does. For
each active batch client, every `data/inbox_batch/<id>/*.csv` the plan listed, in name order:
1. a file whose SHA-256 was already accepted is rejected as a duplicate (checked here, as
   each file is taken in: the inbox is not under the lock, and a file may be the duplicate
   of one accepted earlier in this very run);
2. the file is copied to staging and that copy is validated whole, streamed; any problem
   rejects it: moved to `rejected/` with `<name>.errors.txt`, `batch.rejected` journalled,
   an error alert raised, nothing issued;
3. a valid copy is archived (`batch.accepted` names it, so `verify` checks its hash) before
   anything is issued; then one invoice per row, in file order, re-read from the archive;
4. the inbox file is removed, then `batch.completed` is journalled.
A run first resumes every accepted batch without `batch.completed` (a killed run): the rows
whose reference already has an invoice of that batch are skipped, the rest issued, so nothing
is issued twice and numbers stay gapless. Finally each touched month's open ZIP is rebuilt:
the monthly ZIP until it is delivered, then a supplementary one (`ops/month_zips.py`), with a
warning for the late rows that went into it.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from facturier.core.errors import FacturierError, InputError, IntegrityError, UnsafeFileError
from facturier.core.invoice import Document, Line, Party
from facturier.core.schedule import add_months
from facturier.core.text import FileProblem as Problem
from facturier.core.text import is_utf8, printable
from facturier.ops.batch.monthly_zip import build_open_zip
from facturier.ops.batch.rows import BatchContext, BatchRow, FileCheck, iter_rows
from facturier.ops.documents import seller_party
from facturier.ops.issuing import DocumentDraft, issue_documents
from facturier.ops.logs import log
from facturier.ops.month_zips import part_key, part_name
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.ops.state_access import NumberAllocator
from facturier.store.events import BatchAccepted, BatchCompleted, BatchRejected
from facturier.store.files import (
    NAME_MAX,
    atomic_write,
    fit_name,
    fsync_dir,
    named_file,
    sha256_file,
)
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import BatchClientConfig, Workspace

ERRORS_SUFFIX = ".errors.txt"
FILE_COLUMNS = ["client", "file", "status", "rows", "issued", "first", "last"]


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


def ledger_view(state: LedgerState, batch_id: str) -> BatchLedgerView:
    """What the ledger state knows of one batch client (accepted entries read back)."""
    files = state.core.batches.get(batch_id)
    if files is None:
        return BatchLedgerView()
    return BatchLedgerView(
        accepted={sha: state.entry_at(offset) for sha, offset in files.accepted.items()},
        completed=set(files.completed), invoiced=dict(files.invoiced),
        issued_by_batch={sha: set(refs) for sha, refs in files.issued_by_batch.items()},
    )


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


def inbox_files(root: Path, batch_id: str) -> list[Path]:
    """The `*.csv` entries waiting in a client's inbox, in name order, folders aside.

    Links and other non-regular entries are listed too, so that they are rejected (never
    followed, never read) instead of lingering unexplained.
    """
    folder = WorkspacePaths(root).inbox(batch_id)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() == ".csv" and (p.is_symlink() or not p.is_dir()))


def stray_inbox_files(root: Path, batch_id: str) -> list[str]:
    """Names of the inbox's entries that are not `*.csv` (an `.xlsx`, a `.txt`), which `batch`
    never reads: said, not silently left. Folders (`rejected/`) and hidden names (an upload in
    progress, `.DS_Store`) aside."""
    folder = WorkspacePaths(root).inbox(batch_id)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.suffix.lower() != ".csv" and not p.name.startswith(".") and not p.is_dir())


def inbox_problem(path: Path) -> str | None:
    """Why an inbox entry is refused before anything reads it: its name or its kind."""
    if not is_utf8(path.name):
        return ("the file name is not valid UTF-8 (it cannot be recorded as it is): rename the file "
                "and drop it again")
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return ("the file is a symbolic link: links are neither followed nor read; drop the CSV file "
                "itself in the inbox")
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, a socket or a device): drop a plain CSV file"
    return None


class InboxFileError(FacturierError):
    """Something wrong with one inbox file: it is rejected and the run goes on."""


# Errors that say the machine, not the inbox file, is in trouble: they stop the run.
_SYSTEM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOMEM, errno.EMFILE, errno.ENFILE})


@contextmanager
def reading_inbox_file() -> Iterator[None]:
    """Turn a failure to read the inbox file into that file's rejection, not the run's end."""
    try:
        yield
    except UnsafeFileError as exc:
        raise InboxFileError(str(exc)) from None
    except OSError as exc:
        if exc.errno in _SYSTEM_ERRNOS:
            raise
        raise InboxFileError(f"cannot read the file: {exc.strerror or exc}") from None


def selected_clients(ws: Workspace, client: str | None) -> list[str]:
    """Active batch clients in id order, or the one asked for."""
    if client is not None:
        if client not in ws.batch_clients:
            known = ", ".join(sorted(ws.batch_clients)) or "none"
            raise InputError(f"--client {client}: no batch_clients/{client}.toml (batch clients: {known})")
        return [client] if ws.batch_clients[client].active else []
    return [cid for cid, cfg in sorted(ws.batch_clients.items()) if cfg.active]


def inactive_inboxes(ws: Workspace, client: str | None) -> list[tuple[str, int]]:
    """(id, CSV count) of the inactive batch clients (or the one asked for) with files waiting."""
    waiting = [(cid, len(inbox_files(ws.root, cid))) for cid, cfg in sorted(ws.batch_clients.items())
               if not cfg.active and client in (None, cid)]
    return [(cid, count) for cid, count in waiting if count]


def orphan_inboxes(ws: Workspace) -> list[str]:
    """Inbox folders holding CSV files for no configured batch client."""
    base = WorkspacePaths(ws.root).inboxes
    if not base.is_dir():
        return []
    return sorted(d.name for d in base.iterdir()
                  if d.is_dir() and d.name not in ws.batch_clients and inbox_files(ws.root, d.name))


def process_client(ws: Workspace, ledger: Ledger, batch_id: str, interrupted: list[Entry], inbox: list[Path],
                   run_date: date, report: Report, progress: ProgressHook | None) -> None:
    """Resume the client's interrupted batches, take in and issue its inbox files, rebuild the ZIPs."""
    months: dict[str, list[str]] = {}
    for accepted in interrupted:
        _merge(months, _issue_accepted(ws, ledger, batch_id, accepted, report, progress, resumed=True))
    for path in inbox:
        fresh = _intake(ws, ledger, batch_id, path, run_date, report)
        if fresh is not None:
            _merge(months, _issue_accepted(ws, ledger, batch_id, fresh, report, progress, resumed=False))
    for month, numbers in sorted(months.items()):
        opened = build_open_zip(ws.root, ledger.state, batch_id, month)
        if opened.part > 1 and numbers and ws.batch_clients[batch_id].mode == "live":
            report.alerts.append(late_rows_alert(ws, batch_id, month, opened.part, numbers))
            log(ws.root, f"{len(numbers)} late invoice(s) of {month} in the supplementary {opened.name}", batch_id)
        elif numbers and ws.batch_clients[batch_id].mode == "live":
            report.alerts.extend(undelivered_month_alert(ws, ledger.state, batch_id, month, numbers, run_date))


def _merge(months: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for month, numbers in more.items():
        months.setdefault(month, []).extend(numbers)


def late_rows_alert(ws: Workspace, batch_id: str, month: str, part: int, numbers: list[str],
                    dry_run: bool = False) -> Alert:
    """The warning for invoices dated in a month whose ZIP was already delivered (a late row)."""
    shown = ", ".join(numbers[:5]) + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")
    delivered = part_name(batch_id, month, part - 1)
    were, go = ("would be", "would go") if dry_run else ("were", "go")
    cfg, supplement = ws.batch_clients[batch_id], part_name(batch_id, month, part)
    when = (f"delivered on the next send day (day {ws.config.schedule.send_day})" if cfg.options.auto_send
            else f"which options.auto_send = false leaves to you: `facturier send --retry {batch_id}/{month}-{part}`")
    return Alert("warning", f"{batch_id}: {len(numbers)} invoice(s) dated in {month} ({shown}) {were} issued after "
                            f"{delivered} was delivered, which never changes: they {go} into the supplementary "
                            f"ZIP {supplement}, {when}.")


def undelivered_month_alert(ws: Workspace, state: LedgerState, batch_id: str, month: str, numbers: list[str],
                            run_date: date, dry_run: bool = False) -> list[Alert]:
    """The warning for invoices dated in a month whose send day passed with its ZIP never sent
    (nothing was issued for it by then): no send day comes for that ZIP again, so without this
    they would be in no delivered ZIP, silently."""
    send_day = ws.config.schedule.send_day
    first_send = add_months(date(int(month[:4]), int(month[5:7]), 1), 1).replace(day=send_day)
    if run_date <= first_send or part_key(batch_id, month) in state.core.deliveries:
        return []  # its send day is still to come, or a send was tried (a failed one is retried)
    shown = ", ".join(numbers[:5]) + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")
    were = "would be" if dry_run else "were"
    return [Alert("warning", f"{batch_id}: {len(numbers)} invoice(s) dated in {month} ({shown}) {were} issued "
                             f"after {month}'s send day ({first_send}), when its ZIP was not delivered: "
                             f"{part_name(batch_id, month, 1)} is not sent automatically any more; deliver it "
                             f"with `facturier send --retry {batch_id}/{month}`.")]


def _intake(ws: Workspace, ledger: Ledger, batch_id: str, path: Path, run_date: date,
            report: Report) -> Entry | None:
    """Validate one inbox file whole; archive and journal it when valid, else reject it.

    Whatever is wrong with this one file (a link, unreadable, a name too long to store as it
    is) rejects it with its errors file; the other files and batch clients proceed.
    """
    if not os.path.lexists(path):  # removed since the inbox was listed
        return None
    try:
        return _intake_file(ws, ledger, batch_id, path, run_date, report)
    except InboxFileError as exc:
        _reject(ledger, batch_id, path, None, [Problem(path.name, 1, "-", str(exc))], 1, report)
        return None


def _intake_file(ws: Workspace, ledger: Ledger, batch_id: str, path: Path, run_date: date,
                 report: Report) -> Entry | None:
    """`_intake` of a file that may be read; InboxFileError for a problem of the file itself."""
    cfg = ws.batch_clients[batch_id]
    view = ledger_view(ledger.state, batch_id)
    with reading_inbox_file():
        problem = inbox_problem(path)
        if problem is not None:
            raise InboxFileError(problem)
        sha = sha256_file(path)
    if sha in view.accepted:
        first = view.accepted[sha]
        duplicate = Problem(path.name, 1, "-", f"duplicate file: the same content (SHA-256 {sha[:12]}...) was "
                                               f"accepted on {first['at'][:10]} as {first['name']}")
        _reject(ledger, batch_id, path, sha, [duplicate], 1, report)
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    archive_name = fit_name(f"{stamp}_{sha[:12]}_{path.name}")  # the inbox name may already use 255 bytes
    if _stage_inbox_copy(ledger, path, archive_name) != sha:
        ledger.staged_path(archive_name).unlink()
        report.alerts.append(Alert("warning", f"{printable(path.name)} changed while being read; "
                                              "it is retried next run"))
        return None
    ctx = batch_context(cfg, batch_id, run_date, NumberAllocator(ledger.state), view.invoiced)
    check = FileCheck()
    for _ in iter_rows(ledger.staged_path(archive_name), ctx, check, name=path.name):
        pass
    if check.problem_count:
        ledger.staged_path(archive_name).unlink()
        _reject(ledger, batch_id, path, sha, check.problems, check.problem_count, report)
        return None
    rel = f"data/archive_batch/{batch_id}/{archive_name}"
    accepted = BatchAccepted(client=batch_id, name=path.name, sha256=sha, rows=check.rows,
                             run_date=run_date)
    return ledger.commit_staged(accepted, {"csv": (rel, sha)})


def _stage_inbox_copy(ledger: Ledger, path: Path, archive_name: str) -> str:
    """Copy the inbox file to staging (its SHA-256); a read failure leaves no partial copy."""
    try:
        with reading_inbox_file():
            return ledger.stage_copy(path, archive_name)
    except BaseException:
        ledger.staged_path(archive_name).unlink(missing_ok=True)
        raise


def rejected_destination(folder: Path, name: str) -> Path:
    """rejected/<name>, or a timestamped name when an earlier rejection already took it.

    Names are shortened (`fit_name`) so that the file and its `.errors.txt` fit the file
    system whatever the inbox name.
    """
    budget = NAME_MAX - len(ERRORS_SUFFIX)
    dest = folder / fit_name(name, budget)
    if not os.path.lexists(dest) and not os.path.lexists(f"{dest}{ERRORS_SUFFIX}"):
        return dest
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    base = Path(fit_name(name, budget - len(stamp) - 1))
    return folder / f"{base.stem}.{stamp}{base.suffix}"


def recorded_name(name: str) -> str:
    """The name a file is journalled and stored under: itself, escaped if it is not UTF-8."""
    return name if is_utf8(name) else printable(name)


def _reject(ledger: Ledger, batch_id: str, path: Path, sha: str | None, problems: list[Problem], count: int,
            report: Report) -> None:
    """Move a file to rejected/ with its .errors.txt, journal it and raise an error alert.

    `sha` is None when the file was not read (a link, not a regular file, unreadable).
    """
    folder, shown_name = path.parent / "rejected", printable(path.name)
    if folder.is_symlink():  # the inbox owner must not redirect what we write
        report.alerts.append(Alert("error", f"{batch_id}/{shown_name} not processed: {printable(str(folder))} "
                                            "is a symbolic link; remove it (Facturier creates the folder)"))
        return
    dest = rejected_destination(folder, recorded_name(path.name))
    lines = [str(p) for p in problems]
    if count > len(problems):
        lines.append(f"... and {count - len(problems)} more problem(s) (only the first {len(problems)} are listed)")
    atomic_write(Path(f"{dest}{ERRORS_SUFFIX}"), ("\n".join(lines) + "\n").encode())
    rel = dest.relative_to(ledger.root).as_posix()
    ledger.append(BatchRejected(client=batch_id, name=recorded_name(path.name), sha256=sha,
                                problems=count, rejected=rel))
    moved = _move_rejected(path, dest, report, f"{batch_id}/{shown_name}")
    report.rows.append({"client": batch_id, "file": shown_name, "status": "rejected", "rows": "",
                        "issued": 0, "first": "", "last": ""})
    listed = "\n  ".join(lines[:10]) + ("\n  ..." if len(lines) > 10 else "")
    stays = "" if moved else " (the file itself could not be moved and stays in the inbox)"
    report.alerts.append(Alert("error", f"{batch_id}/{shown_name} rejected, nothing issued: {count} problem(s), "
                                        f"see {printable(rel)}.errors.txt{stays}\n  {listed}"))
    log(ledger.root, f"batch file {path.name} rejected: {count} problem(s)", batch_id)


def _move_rejected(path: Path, dest: Path, report: Report, label: str) -> bool:
    """Move the file (a link itself, not its target) to rejected/; an alert when that fails."""
    try:
        os.replace(path, dest)
        fsync_dir(path.parent)
    except OSError as exc:
        report.alerts.append(Alert("error", f"{label}: could not be moved to rejected/ ({exc.strerror or exc}); "
                                            "move it away by hand"))
        return False
    return True


def _issue_accepted(ws: Workspace, ledger: Ledger, batch_id: str, accepted: Entry, report: Report,
                    progress: ProgressHook | None, resumed: bool) -> dict[str, list[str]]:
    """Issue the rows of an accepted batch not issued yet, then complete it; the numbers issued per month."""
    cfg = ws.batch_clients[batch_id]
    sha, name = accepted["sha256"], accepted["name"]
    archive = ws.root / named_file(accepted, "csv")["path"]
    if sha256_file(archive) != sha:
        raise IntegrityError(f"{archive}: content changed since it was accepted; run 'facturier verify'")
    files = ledger.state.core.batches.get(batch_id)
    done = set(files.issued_by_batch.get(sha, set())) if files else set()
    ctx = batch_context(cfg, batch_id, date.fromisoformat(accepted["run_date"]), None, {})
    check = FileCheck()
    remaining = int(accepted["rows"]) - len(done)

    def drafts(numbers: NumberAllocator) -> Iterator[DocumentDraft]:
        for row in iter_rows(archive, ctx, check, name=name):
            if row.reference not in done:
                extra = {"customer": row.customer_name, "reference": row.reference, "batch": sha}
                yield DocumentDraft(batch_document(cfg, batch_id, row, numbers), extra)

    numbers: list[str] = []
    months: dict[str, list[str]] = {}
    for issued in issue_documents(ledger, drafts, templates=ws.root / "templates", expected=remaining,
                                  progress=progress, label=f"{batch_id}/{name}"):
        numbers.append(issued.doc.number)
        months.setdefault(issued.doc.issue_date.isoformat()[:7], []).append(issued.doc.number)
    if check.problem_count:  # the archive was valid when accepted and is unchanged: a bug, not input
        raise IntegrityError(f"{archive}: accepted file no longer validates: {check.problems[0]}")
    _complete(ledger, batch_id, accepted, len(done) + len(numbers))
    report.rows.append({"client": batch_id, "file": printable(name), "status": "resumed" if resumed else "issued",
                        "rows": accepted["rows"], "issued": len(numbers),
                        "first": numbers[0] if numbers else "", "last": numbers[-1] if numbers else ""})
    log(ws.root, f"batch file {name}: {len(numbers)} invoice(s) issued" + (" (resumed)" if resumed else ""), batch_id)
    return months


def _complete(ledger: Ledger, batch_id: str, accepted: Entry, issued: int) -> None:
    """Remove the consumed inbox file, then journal completion (a crash between: resume redoes both)."""
    inbox = WorkspacePaths(ledger.root).inbox(batch_id) / accepted["name"]
    if not inbox.is_symlink() and inbox.is_file() and sha256_file(inbox) == accepted["sha256"]:
        inbox.unlink()
        fsync_dir(inbox.parent)
    ledger.append(BatchCompleted(client=batch_id, name=accepted["name"], sha256=accepted["sha256"],
                                 issued=issued))
