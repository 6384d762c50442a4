"""`facturier batch --dry-run`: validate the inbox files and show what would be issued; write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import UnsafeFileError
from facturier.core.text import printable
from facturier.ops.batch.process import (
    DRY_COLUMNS,
    batch_context,
    batch_document,
    inbox_files,
    inbox_problem,
    ledger_view,
)
from facturier.ops.batch.rows import FileCheck, iter_rows
from facturier.ops.issuing import Draft, numbered
from facturier.ops.report import Alert, Report
from facturier.ops.state import NumberAllocator, read_state
from facturier.store.files import sha256_file
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from pathlib import Path

    from facturier.config import Workspace


def dry_run_batches(ws: Workspace, run_date: date, clients: list[str]) -> Report:
    """Every row that would be issued, numbered as the real run would number it (no lock taken)."""
    report = Report("Batch invoices (dry run: nothing written)", DRY_COLUMNS)
    state = read_state(ws.root)
    try:
        _dry_clients(ws, state, run_date, clients, report)
    finally:
        state.close()
    return report


def _dry_clients(ws: Workspace, state: LedgerState, run_date: date, clients: list[str], report: Report) -> None:
    allocator = NumberAllocator(state)
    for batch_id in clients:
        view = ledger_view(state, batch_id)
        for accepted in view.interrupted:
            left = int(accepted["rows"]) - len(view.issued_by_batch.get(accepted["sha256"], set()))
            report.notes.append(f"{batch_id}/{printable(accepted['name'])}: interrupted batch, {left} row(s) "
                                "left to issue; the next real run resumes it first")
        invoiced = dict(view.invoiced)
        for path in inbox_files(ws.root, batch_id):
            _dry_file(ws, batch_id, path, run_date, allocator, invoiced, {e for e in view.accepted}, report)


def _dry_file(ws: Workspace, batch_id: str, path: Path, run_date: date, allocator: NumberAllocator,
              invoiced: dict[str, str], accepted: set[str], report: Report) -> None:
    """Validate one file; on success add its would-be invoices and advance the numbers in memory."""
    label = f"{batch_id}/{printable(path.name)}"
    try:
        problem = inbox_problem(path)
        if problem is None and sha256_file(path) in accepted:
            problem = "duplicate of a file already accepted"
        if problem is not None:
            report.alerts.append(Alert("error", f"{label} would be rejected: {printable(problem)}"))
            return
        cfg = ws.batch_clients[batch_id]
        ctx = batch_context(cfg, batch_id, run_date, allocator, invoiced)
        check = FileCheck()
        rows = list(iter_rows(path, ctx, check))  # a dry run prints every row anyway
    except (OSError, UnsafeFileError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        report.alerts.append(Alert("error", f"{label} would be rejected: cannot read it ({printable(reason)})"))
        return
    if check.problem_count:
        listed = "\n  ".join(str(p) for p in check.problems)
        report.alerts.append(Alert("error", f"{label} would be rejected, nothing issued: "
                                            f"{check.problem_count} problem(s)\n  {listed}"))
        return

    def drafts(numbers: NumberAllocator) -> Iterator[Draft]:
        for row in rows:
            yield Draft(batch_document(cfg, batch_id, row, numbers))

    # Numbered as the issuing pipeline numbers them, on the allocator shared by every file.
    for row, (draft, record) in zip(rows, numbered(drafts, allocator), strict=True):
        doc = draft.doc
        invoiced[row.reference] = doc.number
        report.rows.append({
            "client": batch_id, "file": printable(path.name), "line": row.line, "number": doc.number,
            "reference": row.reference, "customer": row.customer_name, "date": row.issue_date.isoformat(),
            "due_date": row.due_date.isoformat(), "currency": doc.currency,
            "total_incl_vat": record["total_incl_vat"], "mode": doc.mode,
        })
