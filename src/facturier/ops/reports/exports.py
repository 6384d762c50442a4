"""Accounting CSV exports: regenerable at any time from the journal, deterministic."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from facturier.core.text import spreadsheet_cell
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
    return root / "exports" / f"{stem}.csv"


def write_export(path: Path, content: bytes) -> None:
    """Write an export file atomically and durably (temp file, fsync, rename), like every write."""
    atomic_write(path, content)


RECEIPT_COLUMNS = [
    "payment_date", "client_id", "client_name", "invoice_number", "method", "reference", "currency", "amount",
]
PAYMENT_COLUMNS = [
    "payment_date", "client_id", "client_name", "currency", "amount", "method", "reference", "source",
    "allocation", "allocated", "unallocated",
]


def client_names(entries: list[Entry]) -> dict[str, str]:
    """Each client's name as printed on its latest document (payments carry only the id)."""
    return {e["client"]: e.get("client_name", "") for e in live_direct_documents(entries)}


def payments_in(entries: list[Entry], year: int, month: int | None) -> list[Entry]:
    """Payment entries received in the period, by date then journal order."""
    found = [e for e in entries if e["type"] == "payment.recorded" and in_period(e["date"], year, month)]
    return sorted(found, key=lambda e: (e["date"], e["seq"]))


def receipt_rows(entries: list[Entry], year: int, month: int | None) -> list[dict[str, Any]]:
    """Livre des recettes: money received in the period, one row per allocation (+ credit)."""
    names = client_names(entries)
    rows: list[dict[str, Any]] = []
    for e in payments_in(entries, year, month):
        base = {"payment_date": e["date"], "client_id": e["client"], "client_name": names.get(e["client"], ""),
                "method": e.get("method", ""), "reference": e.get("reference", ""), "currency": e["currency"]}
        parts = [(a["number"], a["amount"]) for a in e["allocation"]]
        if Decimal(e["unallocated"]) > 0:
            parts.append(("", e["unallocated"]))
        rows.extend({**base, "invoice_number": number, "amount": amount} for number, amount in parts)
    return rows


def payment_rows(entries: list[Entry], year: int, month: int | None) -> list[dict[str, Any]]:
    """Every recorded payment of the period with its allocation ('number:amount' pairs)."""
    names = client_names(entries)
    return [
        {"payment_date": e["date"], "client_id": e["client"], "client_name": names.get(e["client"], ""),
         "currency": e["currency"], "amount": e["amount"], "method": e.get("method", ""),
         "reference": e.get("reference", ""), "source": e.get("source", ""),
         "allocation": " ".join(f"{a['number']}:{a['amount']}" for a in e["allocation"]),
         "allocated": str(sum((Decimal(a["amount"]) for a in e["allocation"]), Decimal(0))
                          .quantize(Decimal(e["amount"]))) if e["allocation"] else "0",
         "unallocated": e["unallocated"]}
        for e in payments_in(entries, year, month)
    ]


EXPORTS = {
    "revenues": (REVENUE_COLUMNS, revenue_rows),
    "receipts": (RECEIPT_COLUMNS, receipt_rows),
    "payments": (PAYMENT_COLUMNS, payment_rows),
}


def build_export(ws: Any, name: str, year: int, month: int | None, excel: bool) -> tuple[bytes, int]:
    """The CSV bytes of a named export and its row count."""
    from facturier.store.journal import read_entries

    columns, rows_of = EXPORTS[name]
    rows = rows_of(read_entries(ws.root / "data" / "journal.jsonl"), year, month)
    return csv_bytes(columns, rows, excel), len(rows)
