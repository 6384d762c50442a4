"""The monthly ZIP of a batch client: `downloads/<id>-<YYYY-MM>.zip`, deterministic, atomic.

It holds the client's live invoices of the month (PDFs, named `<number>.pdf`) and a
`manifest.csv` (number, date, customer, total_incl_vat, sha256 of the PDF). Entries are
sorted and every ZipInfo carries a fixed date, permissions and system, so the same invoices
always give the same ZIP bytes: a consumer can compare hashes to see whether anything changed.
The ZIP is derived from the journal and can be rebuilt at any time (`build_monthly_zip`).
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

from facturier.core.text import spreadsheet_cell
from facturier.store.events import T
from facturier.store.files import atomic_file, named_file, open_regular
from facturier.store.journal import Entry
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

MANIFEST_COLUMNS = ("number", "date", "customer", "total_incl_vat", "sha256")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP date: no wall clock in the bytes


def zip_path(root: Path, batch_id: str, month: str) -> Path:
    """Where the monthly ZIP of a batch client lives."""
    return WorkspacePaths(root).downloads / f"{batch_id}-{month}.zip"


def month_invoices(state: LedgerState, batch_id: str, month: str) -> list[Entry]:
    """Live invoices of a batch client dated in `month` ('YYYY-MM'), in number order."""
    offsets = state.index.offsets_of(batch_id, int(month[:4]))
    chosen = [
        e for e in (state.entry_at(o) for o in offsets)
        if e["type"] == T.INVOICE_ISSUED and e.get("seller") == batch_id and e.get("mode") == "live"
        and str(e["date"]).startswith(month + "-")
    ]
    return sorted(chosen, key=lambda e: (e["series"], e["series_seq"]))


def manifest_bytes(invoices: list[Entry]) -> bytes:
    """manifest.csv: one row per PDF, UTF-8, CRLF as RFC 4180 says.

    Text cells are neutralised against formula injection (a customer name from a CSV row may
    start with `=`); the total stays a number.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for e in invoices:
        name = e.get("customer") or e.get("client_name", "")
        text = [spreadsheet_cell(str(v)) for v in (e["number"], e["date"], name)]
        writer.writerow([*text, e["total_incl_vat"], named_file(e, "pdf")["sha256"]])
    return buffer.getvalue().encode("utf-8")


def _info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = compress
    info.create_system = 3  # Unix, whatever the host
    info.external_attr = 0o644 << 16
    return info


def build_monthly_zip(root: Path, state: LedgerState, batch_id: str, month: str) -> Path | None:
    """(Re)build the month's ZIP atomically; None (and no file) when the month has no live invoice.

    PDFs are stored uncompressed (they are compressed already) and streamed from disk, so
    memory stays flat however many invoices the month holds.
    """
    invoices = month_invoices(state, batch_id, month)
    if not invoices:
        return None
    target = zip_path(root, batch_id, month)
    with atomic_file(target) as fh, zipfile.ZipFile(fh, "w") as zf:
        zf.writestr(_info("manifest.csv", zipfile.ZIP_DEFLATED), manifest_bytes(invoices))
        for e in sorted(invoices, key=lambda e: str(e["number"])):
            with open_regular(root / named_file(e, "pdf")["path"]) as src, \
                    zf.open(_info(f"{e['number']}.pdf", zipfile.ZIP_STORED), "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return target
