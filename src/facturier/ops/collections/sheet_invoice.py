"""What `show` says of an invoice that lives in the collections sheet, not in the ledger.

With `[collections] source = "csv"`, `"sheets"` or `"quickbooks"`, `remind` drafts reminders
for rows of an external sheet (QuickBooks' open invoices are read as one): those invoices
were never issued by Facturier, so the ledger has no record of them. `show INV-1042` then
says so plainly, with the sheet and the row that hold it, the row's cells, and the
reminders the journal records for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facturier.core.errors import FacturierError, InputError
from facturier.ops.collections.receivables import external_source

if TYPE_CHECKING:
    from facturier.config import Workspace


def sheet_invoice(ws: Workspace, number: str) -> dict[str, Any] | None:
    """The sheet row of `number` (`where`, `row`, `cells`), None without a sheet source.

    InputError when the sheet has no such row either; a sheet that cannot be read now (a
    Google sheet without network or sign-in) still gives where it lives, with the reason.
    """
    collections = ws.config.collections
    if not collections.external_source:
        return None
    try:
        source = external_source(ws)
        where = source.where()
        found = source.find(number)
    except FacturierError as exc:
        return {"number": number, "source": collections.source, "where": _configured(ws), "row": None,
                "cells": {}, "unreadable": str(exc)}
    if found is None:
        raise InputError(f"no invoice or credit note numbered {number!r} in the ledger, and no row of {where} "
                         f"([collections] source = \"{collections.source}\") has that invoice_id")
    row, cells = found
    return {"number": number, "source": collections.source, "where": where, "row": row, "cells": cells,
            "unreadable": None}


def _configured(ws: Workspace) -> str:
    collections = ws.config.collections
    if collections.source == "csv":
        return f"the CSV sheet {collections.source_path}"
    if collections.source == "quickbooks":
        return "QuickBooks Online (open invoices)"
    return f"the Google sheet {collections.spreadsheet_id} (range {collections.range})"


def sheet_invoice_lines(found: dict[str, Any]) -> list[str]:
    """`show`'s text for a sheet invoice."""
    head = (f"{found['number']} is not an invoice of this workspace's ledger: it lives in {found['where']}"
            + (f", row {found['row']}" if found["row"] else "")
            + ". Facturier reminds it; the sheet is its record.")
    lines = [head]
    if found["unreadable"]:  # known from the reminders the journal records for it
        lines.append(f"The sheet cannot be read now: {found['unreadable']}")
    cells = found["cells"]
    if cells:
        lines.append(_client_line(cells))
        lines.append(f"Amount due: {cells.get('amount', '')} {cells.get('currency', '')}   "
                     f"Due: {cells.get('due_date', '')}   Status: {cells.get('status', '')}")
        last = cells.get("last_stage_sent")
        if last:
            lines.append(f"Sheet says: last stage {last} on {cells.get('last_sent_at', '')}")
    return lines


def _client_line(cells: dict[str, str]) -> str:
    """`Client: name <email>`; a blank name or address is said, never shown as `<>`, and a
    row's own problem (a QuickBooks customer not found) replaces what it left empty."""
    if cells.get("problem"):
        return f"Client: not known: {cells['problem']}."
    name = cells.get("client_name", "") or "(no name)"
    email = cells.get("client_email", "")
    return f"Client: {name} " + (f"<{email}>" if email else "(no email address: it cannot be reminded)")
