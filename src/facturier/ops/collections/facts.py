"""`facturier dispute` and `facturier promise`: facts about an invoice that stop its reminders.

Each is one journal entry (`invoice.disputed`, `invoice.dispute_resolved`, `invoice.promised`,
keys in docs/collections.md). They are refused for a number that is not a live direct
invoice, and (except resolving a dispute) for an invoice with nothing left to pay.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import InputError
from facturier.ops.balance_views import client_balances
from facturier.ops.logs import log
from facturier.ops.outcome import Report
from facturier.store.events import DisputeEvent, DocumentIssued, PromiseEvent, T
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

COLUMNS = ["invoice", "client", "status", "detail"]


def collectable_invoice(state: LedgerState, number: str, day: date) -> DocumentIssued:
    """The live direct invoice `number`, still owed on `day`; a clear error otherwise."""
    doc = next((d for d in state.documents(state.names.documents_named(number))
                if not d.is_credit_note and d.seller == "issuer"), None)
    if doc is None:
        other = state.document(number)
        if other is not None and other.is_credit_note:
            raise InputError(f"{number} is a credit note, not an invoice")
        if other is not None:
            raise InputError(f"{number} is an invoice of batch client {other.seller!r}: its seller collects it")
        raise InputError(f"no invoice numbered {number!r}")
    if doc.mode != "live":
        raise InputError(f"{number} is a test invoice: test invoices are never reminded")
    _require_open(state, doc, day)
    return doc


def _require_open(state: LedgerState, doc: DocumentIssued, day: date) -> None:
    for balance in client_balances(state, doc.client, max(day, doc.date)):
        for status in balance.invoices:
            if status.number != doc.number:
                continue
            if status.open_amount <= 0:
                why = "fully credited" if status.status == "credited" else "already paid"
                raise InputError(f"{doc.number} is {why}: nothing is left to pay, so there is nothing to "
                                 "dispute or promise")
            return


def not_in_the_ledger(ws: Workspace, state: LedgerState, number: str) -> None:
    """With a sheet or QuickBooks source, a number the ledger lacks is most likely one of its
    rows: say where the reminders come from instead of "no invoice numbered" (nothing is read:
    no network, no sign-in)."""
    collections = ws.config.collections
    if not collections.external_source or state.document(number) is not None:
        return
    if collections.source == "quickbooks":
        how = ("QuickBooks invoices are reminded while their balance is open; to stop them, set "
               "[collections] enabled = false or settle the invoice in QuickBooks")
    else:
        how = ("to stop the reminders of a sheet row, change its status in the sheet (only open and overdue "
               "rows are reminded)")
    raise InputError(f"no invoice numbered {number!r} in this workspace's ledger: dispute and promise apply to "
                     f"the ledger's invoices, and the reminders come from [collections] source = "
                     f"\"{collections.source}\"; {how}")


def dispute(ws: Workspace, number: str, day: date, reason: str | None, resolve: bool) -> Report:
    """Stop the reminders of an invoice under dispute, or (`resolve`) let them resume."""
    with Ledger(ws.root) as ledger:
        state = ledger.state
        not_in_the_ledger(ws, state, number)
        disputed = number in state.collections.disputed
        if resolve:
            doc = state.document(number)
            if doc is None:
                raise InputError(f"no invoice numbered {number!r}")
            if not disputed:
                raise InputError(f"{number} is not disputed: nothing to resolve")
            ledger.append(DisputeEvent(type=T.INVOICE_DISPUTE_RESOLVED, number=number, date=day))
            message, status = (f"dispute resolved on {day}; reminders resume at the stage the days overdue give",
                               "resolved")
        else:
            doc = collectable_invoice(state, number, day)
            if disputed:
                since = state.entry_at(state.collections.disputed[number])
                raise InputError(f"{number} is already disputed (since {since['date']}); "
                                 f"`facturier dispute {number} --resolve` ends the dispute")
            ledger.append(DisputeEvent(type=T.INVOICE_DISPUTED, number=number, date=day,
                                       reason=reason or ""))
            message, status = f"disputed on {day}" + (f": {reason}" if reason else ""), "disputed"
    log(ws.root, f"{number} {message}", doc.client)
    report = Report("Dispute", COLUMNS)
    report.rows.append({"invoice": number, "client": doc.client, "status": status, "detail": message})
    return report


def promise(ws: Workspace, number: str, day: date, until: date) -> Report:
    """A promise to pay by `until`: no reminder for the invoice before that day."""
    with Ledger(ws.root) as ledger:
        not_in_the_ledger(ws, ledger.state, number)
        doc = collectable_invoice(ledger.state, number, day)
        if until <= day:
            raise InputError(f"--until {until} must be after {day}: a promise is about a day still to come")
        ledger.append(PromiseEvent(number=number, until=until, date=day))
    message = f"payment promised by {until} (recorded {day}); no reminder before that day"
    log(ws.root, f"{number} {message}", doc.client)
    report = Report("Promise", COLUMNS)
    report.rows.append({"invoice": number, "client": doc.client, "status": "promised", "detail": message})
    return report
