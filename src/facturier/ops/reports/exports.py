"""Accounting CSV exports: regenerable at any time from the journal, deterministic."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from facturier.core.errors import InputError
from facturier.core.text import spreadsheet_cell
from facturier.store.files import atomic_write
from facturier.store.journal import Entry
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState
from facturier.store.views import signed

REVENUE_COLUMNS = [
    "invoice_date", "invoice_number", "client_id", "client_name", "currency",
    "amount_excl_vat", "vat_amount", "amount_incl_vat",
]
AMOUNT_COLUMNS = {"amount_excl_vat", "vat_amount", "amount_incl_vat", "amount", "allocated", "unallocated"}


def in_period(day: str, year: int, month: int | None) -> bool:
    """Whether an ISO date falls in the year (and month, if given)."""
    return day[:4] == f"{year:04d}" and (month is None or day[5:7] == f"{month:02d}")


def revenue_rows(state: LedgerState, year: int, month: int | None) -> list[dict[str, Any]]:
    """One row per live direct document of the period (credit notes negative), by date then number."""
    rows = [
        {
            "invoice_date": d.date.isoformat(), "invoice_number": d.number, "client_id": d.client,
            "client_name": d.client_name, "currency": d.currency,
            "amount_excl_vat": str(signed(d, d.total_excl_vat)), "vat_amount": str(signed(d, d.total_vat)),
            "amount_incl_vat": str(signed(d, d.total_incl_vat)),
        }
        for d in state.documents_of("issuer", year)
        if d.direct_live and in_period(d.date.isoformat(), year, month)
    ]
    return sorted(rows, key=lambda r: (r["invoice_date"], r["invoice_number"]))


def csv_bytes(columns: list[str], rows: Iterable[dict[str, Any]], excel: bool) -> bytes:
    """RFC 4180 CSV; `excel` gives ';', decimal commas and a UTF-8 BOM for spreadsheet locales.

    Every text cell goes through `spreadsheet_cell` (formula injection: a payer's transfer
    label `=HYPERLINK(...)` must not become a live formula); amount columns stay numbers.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";" if excel else ",", lineterminator="\r\n" if excel else "\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([export_cell(c, row[c], excel) for c in columns])
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if excel else data


def export_cell(column: str, value: Any, excel: bool) -> str:
    """One cell: an amount as a number (decimal comma for `excel`), anything else as safe text."""
    text = "" if value is None else str(value)  # as csv.writer writes None
    if column in AMOUNT_COLUMNS:
        return text.replace(".", ",") if excel else text
    return spreadsheet_cell(text)


def default_export_path(root: Path, name: str, year: int, month: int | None, excel: bool) -> Path:
    """exports/<name>-<YYYY>[-<MM>][-excel].csv"""
    stem = f"{name}-{year:04d}" + (f"-{month:02d}" if month else "") + ("-excel" if excel else "")
    return WorkspacePaths(root).exports / f"{stem}.csv"


# What `--out` may never replace: the workspace's configuration and what Facturier owns.
_OWNED = ("data", "clients", "batch_clients", "templates", "downloads", "facturier.toml")


def write_export(path: Path, content: bytes, root: Path) -> None:
    """Write an export file atomically and durably (temp file, fsync, rename), like every write;
    refused where it would replace a file of the workspace (`--out data/journal.jsonl`)."""
    problem = out_path_problem(path, root)
    if problem:
        raise InputError(problem)
    atomic_write(path, content)


def out_path_problem(path: Path, root: Path) -> str | None:
    """Why an export may not be written at `path` (links followed), or None."""
    target, workspace = path.resolve(), root.resolve()
    for name in _OWNED:
        owned = workspace / name
        if target == owned or owned in target.parents:
            where = f"the workspace's {name}" if target == owned else f"inside the workspace's {name}/"
            return (f"--out {path}: that is {where}, which holds the journal, the documents or the "
                    "configuration: an export never replaces a file there; write it elsewhere, e.g. in exports/")
    return None


RECEIPT_COLUMNS = [
    "payment_date", "client_id", "client_name", "invoice_number", "invoices", "method", "reference",
    "currency", "amount", "unallocated",
]
PAYMENT_COLUMNS = [
    "payment_date", "client_id", "client_name", "currency", "amount", "method", "reference", "source",
    "allocation", "allocated", "unallocated",
]


def client_names(state: LedgerState) -> dict[str, str]:
    """Each client's name as printed on its latest live document (payments carry only the id)."""
    return dict(state.index.client_names)


def payments_in(state: LedgerState, year: int, month: int | None) -> list[Entry]:
    """Payment entries received in the period, by date then journal order."""
    found = [e for e in (state.entry_at(o) for o in state.index.payments_by_year.get(year, []))
             if in_period(e["date"], year, month)]
    return sorted(found, key=lambda e: (e["date"], e["seq"]))


def settled_text(e: Entry) -> str:
    """The invoices a payment settled, as space-separated 'number:amount' pairs."""
    return " ".join(f"{a['number']}:{a['amount']}" for a in e["allocation"])


def receipt_rows(state: LedgerState, year: int, month: int | None) -> list[dict[str, Any]]:
    """Livre des recettes: each amount received in the period once, with the invoices it settled."""
    names = client_names(state)
    return [
        {"payment_date": e["date"], "client_id": e["client"], "client_name": names.get(e["client"], ""),
         # Kept for the common case (and for files read by column name): the invoice when the
         # receipt settled exactly one, else empty; `invoices` is always complete.
         "invoice_number": e["allocation"][0]["number"] if len(e["allocation"]) == 1 else "",
         "invoices": settled_text(e), "method": e.get("method", ""), "reference": e.get("reference", ""),
         "currency": e["currency"], "amount": e["amount"], "unallocated": e["unallocated"]}
        for e in payments_in(state, year, month)
    ]


def payment_rows(state: LedgerState, year: int, month: int | None) -> list[dict[str, Any]]:
    """Every recorded payment of the period with its allocation ('number:amount' pairs)."""
    names = client_names(state)
    return [
        {"payment_date": e["date"], "client_id": e["client"], "client_name": names.get(e["client"], ""),
         "currency": e["currency"], "amount": e["amount"], "method": e.get("method", ""),
         "reference": e.get("reference", ""), "source": e.get("source", ""),
         "allocation": settled_text(e),
         "allocated": str(sum((Decimal(a["amount"]) for a in e["allocation"]), Decimal(0))
                          .quantize(Decimal(e["amount"]))) if e["allocation"] else "0",
         "unallocated": e["unallocated"]}
        for e in payments_in(state, year, month)
    ]


EXPORTS = {
    "revenues": (REVENUE_COLUMNS, revenue_rows),
    "receipts": (RECEIPT_COLUMNS, receipt_rows),
    "payments": (PAYMENT_COLUMNS, payment_rows),
}


def build_export(ws: Any, name: str, year: int, month: int | None, excel: bool) -> tuple[bytes, int]:
    """The CSV bytes of a named export and its row count."""
    from facturier.ops.state_access import reading_state

    columns, rows_of = EXPORTS[name]
    with reading_state(ws.root) as state:
        rows = rows_of(state, year, month)
    return csv_bytes(columns, rows, excel), len(rows)
