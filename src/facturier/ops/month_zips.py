"""A batch client's month in the ZIPs delivered to it: the monthly ZIP, then supplementary ones.

Shared by `batch` (which builds the ZIP of a month as invoices are issued) and `send` (which
delivers it). Part 1 of a month is the monthly ZIP, `downloads/<id>-<YYYY-MM>.zip`. Once a
part is delivered it never changes: its exact copy is kept in `data/batch_sent/<id>/`, and
its `batch.delivered` entry names that copy (SHA-256) and the invoices it holds. An invoice of
that month issued afterwards (a late batch row) goes into the month's next part,
`<id>-<YYYY-MM>-2.zip`, then `-3`..., delivered on the next allowed send: every live invoice
of a batch client is in exactly one delivered ZIP.

Which parts are delivered is read from the ledger state: a part is delivered when its delivery
key (`<id>/<YYYY-MM>`, then `<id>/<YYYY-MM>-<n>`) is `sent`. A `batch.delivered` written
before entries listed their invoices held every live invoice of the month journalled before
it (the ZIP was rebuilt on each batch until it was sent).

Each ZIP holds its invoices' PDFs (`<number>.pdf`) and a `manifest.csv` (number, date,
customer, total_incl_vat, sha256 of the PDF). Entries are sorted and every ZipInfo carries a
fixed date, permissions and system, so the same invoices always give the same ZIP bytes.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facturier.core.errors import FacturierError
from facturier.core.text import spreadsheet_cell
from facturier.store.events import T
from facturier.store.files import atomic_file, named_file, open_regular
from facturier.store.journal import Entry
from facturier.store.paths import WorkspacePaths

if TYPE_CHECKING:
    from pathlib import Path

    from facturier.store.state import LedgerState

MANIFEST_COLUMNS = ("number", "date", "customer", "total_incl_vat", "sha256")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest ZIP date: no wall clock in the bytes
_PART_KEY = re.compile(r"(?P<month>\d{4}-(?:0[1-9]|1[0-2]))(?:-(?P<part>[2-9]|[1-9]\d+))?")


def part_name(batch_id: str, month: str, part: int = 1) -> str:
    """`<id>-<YYYY-MM>.zip` for the monthly ZIP, `<id>-<YYYY-MM>-<n>.zip` for supplementary part n."""
    return f"{batch_id}-{month}" + (f"-{part}" if part > 1 else "") + ".zip"


def part_key(batch_id: str, month: str, part: int = 1) -> str:
    """The delivery key of a part: `<id>/<YYYY-MM>`, or `<id>/<YYYY-MM>-<n>` for part n >= 2."""
    return f"{batch_id}/{month}" + (f"-{part}" if part > 1 else "")


def parse_part_key(key: str) -> tuple[str, str, int] | None:
    """(batch id, month, part) of a delivery key a human typed, or None when it is not one."""
    batch_id, _, rest = key.partition("/")
    found = _PART_KEY.fullmatch(rest)
    if not batch_id or found is None:
        return None
    return batch_id, found["month"], int(found["part"] or 1)


def zip_path(root: Path, batch_id: str, month: str, part: int = 1) -> Path:
    """Where a part of a month is built for delivery: downloads/<name>."""
    return WorkspacePaths(root).downloads / part_name(batch_id, month, part)


def month_invoices(state: LedgerState, batch_id: str, month: str) -> list[tuple[int, Entry]]:
    """(journal offset, entry) of the live invoices of a batch client dated in `month`, in number order."""
    offsets = state.index.offsets_of(batch_id, int(month[:4]))
    chosen = [
        (o, e) for o, e in zip(offsets, state.entries_at(offsets), strict=True)
        if e["type"] == T.INVOICE_ISSUED and e.get("seller") == batch_id and e.get("mode") == "live"
        and str(e["date"]).startswith(month + "-")
    ]
    return sorted(chosen, key=lambda pair: (pair[1]["series"], pair[1]["series_seq"]))


def delivered_offsets(state: LedgerState, batch_id: str, month: str) -> list[int]:
    """Offsets of the `batch.delivered` entry of each part of the month already delivered, in order."""
    found: list[int] = []
    while True:
        got = state.core.deliveries.get(part_key(batch_id, month, len(found) + 1))
        if got is None or got[0] != "sent":
            return found
        found.append(int(got[1]))


def delivered_parts(state: LedgerState, batch_id: str, month: str) -> list[tuple[int, Entry]]:
    """(offset, `batch.delivered` entry) of each part of the month already delivered, in order."""
    return [(o, state.entry_at(o)) for o in delivered_offsets(state, batch_id, month)]


@dataclass(frozen=True, slots=True)
class MonthZip:
    """The open part of a batch client's month: the first not delivered, and what it holds."""

    batch_id: str
    month: str
    part: int  # 1: the monthly ZIP; n >= 2: the n-th ZIP of the month (parts 1..n-1 delivered)
    pending: tuple[Entry, ...]  # live invoices of the month in no delivered part, number order

    @property
    def name(self) -> str:
        """Its file name."""
        return part_name(self.batch_id, self.month, self.part)

    @property
    def key(self) -> str:
        """Its delivery key."""
        return part_key(self.batch_id, self.month, self.part)

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers of its invoices, sorted as the ZIP lists its PDFs."""
        return tuple(sorted(str(e["number"]) for e in self.pending))


def open_part(state: LedgerState, batch_id: str, month: str) -> MonthZip:
    """The month's part not delivered yet, holding every live invoice of the month no delivered part holds."""
    parts = delivered_parts(state, batch_id, month)
    invoices = month_invoices(state, batch_id, month)
    delivered: set[str] = set()
    for offset, entry in parts:
        if entry.get("invoices") is not None:
            delivered.update(entry["invoices"])
        else:  # journalled before entries listed them: what was issued before it
            delivered.update(e["number"] for o, e in invoices if o < offset)
    pending = tuple(e for _, e in invoices if e["number"] not in delivered)
    return MonthZip(batch_id, month, len(parts) + 1, pending)


def may_have_pending(state: LedgerState, batch_id: str, month: str) -> bool:
    """False when no invoice of this month can be outside its delivered parts (cheap: counts only).

    The state counts the live invoices of each month; the delivered entries list theirs. An
    entry from before they did is settled by `open_part`, which reads the month.
    """
    parts = delivered_parts(state, batch_id, month)
    if any(entry.get("invoices") is None for _, entry in parts):
        return True
    delivered = set().union(*(entry["invoices"] for _, entry in parts))
    year, number = month.split("-")
    return bool(state.reports.batch.get((batch_id, int(year), int(number)), 0) > len(delivered))


def manifest_bytes(invoices: tuple[Entry, ...] | list[Entry]) -> bytes:
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


def write_zip(root: Path, target: Path, invoices: tuple[Entry, ...]) -> None:
    """Write the ZIP of these invoices atomically (written aside, then renamed).

    PDFs are stored uncompressed (they are compressed already) and streamed from disk, so
    memory stays flat however many invoices it holds.
    """
    with atomic_file(target) as fh, zipfile.ZipFile(fh, "w") as zf:
        zf.writestr(_info("manifest.csv", zipfile.ZIP_DEFLATED), manifest_bytes(invoices))
        for e in sorted(invoices, key=lambda e: str(e["number"])):
            with open_regular(root / named_file(e, "pdf")["path"]) as src, \
                    zf.open(_info(f"{e['number']}.pdf", zipfile.ZIP_STORED), "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def zip_numbers(data: bytes, name: str) -> tuple[str, ...]:
    """The invoice numbers a ZIP holds (its `<number>.pdf` entries), sorted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return tuple(sorted(n[:-4] for n in zf.namelist() if n.endswith(".pdf")))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FacturierError(f"downloads/{name} is not a readable ZIP ({exc}); delete it: the next "
                             "`facturier send` builds it again from the journal") from None
