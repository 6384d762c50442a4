"""Accounting CSV exports: regenerable at any time from the journal, deterministic."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from facturier.store.files import atomic_write
from facturier.store.journal import Entry
from facturier.store.views import live_direct_documents, signed

REVENUE_COLUMNS = [
    "invoice_date", "invoice_number", "client_id", "client_name", "currency",
    "amount_excl_vat", "vat_amount", "amount_incl_vat",
]
AMOUNT_COLUMNS = {"amount_excl_vat", "vat_amount", "amount_incl_vat", "amount", "allocated", "unallocated"}


def in_period(day: str, year: int, month: int | None) -> bool:
    """Whether an ISO date falls in the year (and month, if given)."""
    return day[:4] == f"{year:04d}" and (month is None or day[5:7] == f"{month:02d}")


def revenue_rows(entries: list[Entry], year: int, month: int | None) -> list[dict[str, Any]]:
    """One row per live direct document of the period (credit notes negative), by date then number."""
    rows = [
        {
            "invoice_date": e["date"], "invoice_number": e["number"], "client_id": e["client"],
            "client_name": e.get("client_name", ""), "currency": e["currency"],
            "amount_excl_vat": str(signed(e, "total_excl_vat")), "vat_amount": str(signed(e, "total_vat")),
            "amount_incl_vat": str(signed(e, "total_incl_vat")),
        }
        for e in live_direct_documents(entries)
        if in_period(e["date"], year, month)
    ]
    return sorted(rows, key=lambda r: (r["invoice_date"], r["invoice_number"]))


def csv_bytes(columns: list[str], rows: Iterable[dict[str, Any]], excel: bool) -> bytes:
    """RFC 4180 CSV; `excel` gives ';', decimal commas and a UTF-8 BOM for spreadsheet locales."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";" if excel else ",", lineterminator="\r\n" if excel else "\n")
    writer.writerow(columns)
    for row in rows:
        values = [row[c] for c in columns]
        if excel:
            values = [str(v).replace(".", ",") if c in AMOUNT_COLUMNS else v for c, v in zip(columns, values)]
        writer.writerow(values)
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if excel else data


def default_export_path(root: Path, name: str, year: int, month: int | None, excel: bool) -> Path:
    """exports/<name>-<YYYY>[-<MM>][-excel].csv"""
    stem = f"{name}-{year:04d}" + (f"-{month:02d}" if month else "") + ("-excel" if excel else "")
    return root / "exports" / f"{stem}.csv"


def write_export(path: Path, content: bytes) -> None:
    """Write an export file atomically (exports are regenerable, so no fsync)."""
    atomic_write(path, content, durable=False)


EXPORTS = {"revenues": (REVENUE_COLUMNS, revenue_rows)}


def build_export(ws: Any, name: str, year: int, month: int | None, excel: bool) -> tuple[bytes, int]:
    """The CSV bytes of a named export and its row count."""
    from facturier.store.journal import read_entries

    columns, rows_of = EXPORTS[name]
    rows = rows_of(read_entries(ws.root / "data" / "journal.jsonl"), year, month)
    return csv_bytes(columns, rows, excel), len(rows)
