"""`data/logs/reminders.csv` (seed 003 §11): `timestamp,invoice_id,stage,email` per reminded
invoice, metadata only, never a body; plus the lines of facturier.log and the client logs."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from facturier.core.text import spreadsheet_cell
from facturier.ops.logs import log_many
from facturier.store.files import ensure_dir, open_append
from facturier.store.paths import WorkspacePaths

CSV_HEADER = ("timestamp", "invoice_id", "stage", "email")


def record_drafts(root: Path, rows: Sequence[tuple[str, str, int, str, str]]) -> None:
    """For each drafted invoice (number, client, stage, recipients, where): a CSV line and log lines."""
    if not rows:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    path = WorkspacePaths(root).logs / "reminders.csv"
    ensure_dir(path.parent)
    if not path.exists() or path.stat().st_size == 0:
        writer.writerow(CSV_HEADER)
    for number, _, stage, email, _ in rows:
        writer.writerow((stamp, spreadsheet_cell(number), stage, spreadsheet_cell(email)))
    with open_append(path) as fh:
        fh.write(buffer.getvalue().encode())
    log_many(root, [(f"reminder drafted {number} stage {stage} to {email} ({where})", client)
                    for number, client, stage, email, where in rows])

