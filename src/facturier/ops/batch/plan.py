"""`facturier batch`: the plan of a run, its dry-run report, and carrying it out.

The plan (`BatchPlan`, an `ops.plan.Plan`) lists, per selected batch client, the
interrupted batches a real run resumes first and the files waiting in its inbox. Its
report (`batch --dry-run`) gives each file its verdict before its rows are read (refused
for its name or kind, unreadable, a duplicate of a file already accepted), validates the
rows of every file that passes and numbers them as the issuing pipeline would, on one
allocator shared by every file; applying it processes the clients in order (`process.process_client`):
resumes, intake (which checks each file again, as it is copied), issuing, monthly ZIPs.

Only the dry run keeps rows in memory (it prints every one); a real run streams them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import UnsafeFileError
from facturier.core.text import printable
from facturier.ops.batch.process import (
    FILE_COLUMNS,
    batch_context,
    batch_document,
    inactive_inboxes,
    inbox_files,
    inbox_problem,
    late_rows_alert,
    ledger_view,
    orphan_inboxes,
    process_client,
    selected_clients,
    stray_inbox_files,
    undelivered_month_alert,
)
from facturier.ops.batch.rows import FileCheck, iter_rows
from facturier.ops.issuing import DocumentDraft, numbered
from facturier.ops.month_zips import delivered_offsets
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.ops.plan import carry_out
from facturier.ops.state_access import NumberAllocator
from facturier.store.files import sha256_file
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from pathlib import Path

    from facturier.config import Workspace

DRY_COLUMNS = ["client", "file", "line", "number", "reference", "customer", "date", "due_date",
               "currency", "total_incl_vat", "mode"]


@dataclass(frozen=True, slots=True)
class Interrupted:
    """An accepted batch never completed (a killed run): the next real run resumes it first."""

    accepted: Entry
    left: int  # rows not issued yet


@dataclass(frozen=True, slots=True)
class ClientBatches:
    """One batch client's part of the plan: its files accepted and the references it has invoiced."""

    batch_id: str
    interrupted: tuple[Interrupted, ...]
    inbox: tuple[Path, ...]  # in name order
    accepted: frozenset[str]  # SHA-256 of the files accepted already
    invoiced: dict[str, str]  # reference -> number


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What `batch` does on `run_date` for the selected clients, in client-id order."""

    ws: Workspace
    state: LedgerState
    run_date: date
    clients: tuple[ClientBatches, ...]

    def report(self) -> Report:
        """Every row that would be issued, numbered as the real run would number it."""
        report = Report("Batch invoices (dry run: nothing written)", DRY_COLUMNS)
        allocator = NumberAllocator(self.state)
        for client in self.clients:
            for stopped in client.interrupted:
                report.notes.append(f"{client.batch_id}/{printable(stopped.accepted['name'])}: interrupted batch, "
                                    f"{stopped.left} row(s) left to issue; the next real run resumes it first")
            invoiced = dict(client.invoiced)
            for path in client.inbox:
                _report_file(self.ws, self.state, client, path, self.run_date, allocator, invoiced, report)
        return report

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Resume, take in and issue every client's batches; one row per file."""
        report = Report("Batch files", FILE_COLUMNS)
        for client in self.clients:
            process_client(self.ws, ledger, client.batch_id, [i.accepted for i in client.interrupted],
                           list(client.inbox), self.run_date, report, progress)
        return report


def plan_batches(ws: Workspace, state: LedgerState, run_date: date, clients: list[str]) -> BatchPlan:
    """The plan for these batch clients: what the journal left interrupted, what the inboxes hold."""
    planned = []
    for batch_id in clients:
        view = ledger_view(state, batch_id)
        interrupted = tuple(Interrupted(e, int(e["rows"]) - len(view.issued_by_batch.get(e["sha256"], set())))
                            for e in view.interrupted)
        # The files are not hashed here: applying takes each one in (and hashes it) anyway,
        # and only the dry-run report needs their verdict before reading their rows.
        inbox = tuple(inbox_files(ws.root, batch_id))
        planned.append(ClientBatches(batch_id, interrupted, inbox, frozenset(view.accepted), dict(view.invoiced)))
    return BatchPlan(ws, state, run_date, tuple(planned))


def process_batches(ws: Workspace, run_date: date, client: str | None = None, dry_run: bool = False,
                    progress: ProgressHook | None = None) -> Report:
    """Process every inbox of the selected active batch clients; a dry run writes nothing."""
    clients = selected_clients(ws, client)
    report = carry_out(ws.root, lambda state: plan_batches(ws, state, run_date, clients),
                       dry_run=dry_run, progress=progress)
    for name in orphan_inboxes(ws):
        shown = printable(name)
        report.alerts.append(Alert("warning", f"data/inbox_batch/{shown}/ holds CSV files but there is no "
                                              f"batch_clients/{shown}.toml: they are left untouched"))
    for batch_id, count in inactive_inboxes(ws, client):
        report.alerts.append(Alert("warning", f"data/inbox_batch/{batch_id}/ holds {count} CSV file(s) but "
                                              f"batch_clients/{batch_id}.toml has active = false: they are left "
                                              "untouched until the client is active again"))
    for batch_id in clients:
        for stray in stray_inbox_files(ws.root, batch_id):
            report.alerts.append(Alert("warning", f"data/inbox_batch/{batch_id}/{printable(stray)} is not a .csv file: "
                                                  "left untouched (batch reads only *.csv; save it as CSV UTF-8)"))
    if not report.rows and not report.alerts:
        report.notes.append("No CSV file waiting in the batch inboxes.")
    return report


def _refused(path: Path, accepted: frozenset[str]) -> str | None:
    """Why a file would be rejected before its rows are read (shown as printed), or None."""
    try:
        problem = inbox_problem(path)
        if problem is None and sha256_file(path) in accepted:
            problem = "duplicate of a file already accepted"
    except (OSError, UnsafeFileError) as exc:
        return _unreadable(exc)
    return None if problem is None else printable(problem)


def _unreadable(exc: OSError | UnsafeFileError) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot read it ({printable(reason)})"


def _report_file(ws: Workspace, state: LedgerState, client: ClientBatches, path: Path, run_date: date,
                 allocator: NumberAllocator, invoiced: dict[str, str], report: Report) -> None:
    """Validate one file; on success add its would-be invoices and advance the numbers in memory."""
    batch_id = client.batch_id
    label = f"{batch_id}/{printable(path.name)}"
    refused = _refused(path, client.accepted)
    if refused is not None:
        report.alerts.append(Alert("error", f"{label} would be rejected: {refused}"))
        return
    cfg = ws.batch_clients[batch_id]
    ctx = batch_context(cfg, batch_id, run_date, allocator, invoiced)
    check = FileCheck()
    try:
        rows = list(iter_rows(path, ctx, check))  # a dry run prints every row anyway
    except (OSError, UnsafeFileError) as exc:
        report.alerts.append(Alert("error", f"{label} would be rejected: {_unreadable(exc)}"))
        return
    if check.problem_count:
        listed = "\n  ".join(str(p) for p in check.problems)
        report.alerts.append(Alert("error", f"{label} would be rejected, nothing issued: "
                                            f"{check.problem_count} problem(s)\n  {listed}"))
        return

    def drafts(numbers: NumberAllocator) -> Iterator[DocumentDraft]:
        for row in rows:
            yield DocumentDraft(batch_document(cfg, batch_id, row, numbers))

    # Numbered as the issuing pipeline numbers them, on the allocator shared by every file.
    months: dict[str, list[str]] = {}
    for row, (draft, record) in zip(rows, numbered(drafts, allocator), strict=True):
        doc = draft.doc
        invoiced[row.reference] = doc.number
        months.setdefault(doc.issue_date.isoformat()[:7], []).append(doc.number)
        report.rows.append({
            "client": batch_id, "file": printable(path.name), "line": row.line, "number": doc.number,
            "reference": row.reference, "customer": row.customer_name, "date": row.issue_date.isoformat(),
            "due_date": row.due_date.isoformat(), "currency": doc.currency,
            "total_incl_vat": record["total_incl_vat"], "mode": doc.mode,
        })
    if cfg.mode == "live":
        _warn_late(ws, state, batch_id, months, report, run_date)


def _warn_late(ws: Workspace, state: LedgerState, batch_id: str, months: dict[str, list[str]],
               report: Report, run_date: date) -> None:
    """Warn about the rows dated in a month whose ZIP was delivered already (a supplementary ZIP)."""
    for month, numbers in sorted(months.items()):
        delivered = len(delivered_offsets(state, batch_id, month))
        if delivered:
            report.alerts.append(late_rows_alert(ws, batch_id, month, delivered + 1, numbers, dry_run=True))
        else:
            report.alerts.extend(undelivered_month_alert(ws, state, batch_id, month, numbers, run_date,
                                                         dry_run=True))

