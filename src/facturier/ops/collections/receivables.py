"""The invoices collections look at, from the ledger (`receivables_from_ledger`) or from
outside it (`external_source`: a CSV or Google sheet, or QuickBooks Online).

A `Receivable` (core.dunning) is one open invoice with what remains due after payments and
credit notes, its client's contact details and its reminder history. This module is the
only place that knows where they come from: a sheet source (PRODUCT.md §8 "Sources") would
provide the same list from another function with the same signature shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from facturier.adapters.sheets import SheetSource, open_sheet_source
from facturier.core.dunning import Receivable
from facturier.core.einvoicing import BLOCKING_STATUSES
from facturier.core.money import from_minor
from facturier.ops.balance_views import client_balances
from facturier.ops.einvoicing.accounts import platform_mode
from facturier.store.state import Collections, LedgerState

if TYPE_CHECKING:
    from facturier.config import ClientConfig, Workspace


def external_source(ws: Workspace) -> SheetSource:
    """The source `[collections] source` names when it is not the ledger: "csv", "sheets", or
    "quickbooks" (its open invoices laid out as a sheet's rows, adapters/quickbooks.py)."""
    if ws.config.collections.source == "quickbooks":
        from facturier.adapters.quickbooks import open_quickbooks_source

        return open_quickbooks_source(ws.config, ws.root)
    return open_sheet_source(ws.config, ws.root)


def receivables_from_ledger(ws: Workspace, state: LedgerState, day: date,
                            clients: Iterable[str] | None = None) -> list[Receivable]:
    """Every live direct invoice of a configured client still open on `day`, oldest due first.

    Amounts are those of the client's running account (the allocation rules of the ledger),
    or recomputed at `day` when a later fact exists (`--date` replaying an earlier day).
    Invoices issued after `day` do not exist yet on that day. Invoices of a client whose
    file was removed are left out: there is no address to remind.
    """
    wanted = sorted(ws.clients) if clients is None else list(clients)
    section = state.collections
    # 207 En litige on the platform stops reminders too, and so does a 210 Refusée (by the client)
    # or 213 Rejetée (by the platform) until the credit note that corrects it closes the invoice.
    # The statuses of the issuer's current platform mode only: once live, a rehearsal's never stop reminders.
    platform = state.einvoicing.in_mode(platform_mode(ws, "issuer"))
    in_dispute = platform.in_dispute("issuer") | platform.with_latest("issuer", BLOCKING_STATUSES)
    out: list[Receivable] = []
    for client_id in wanted:
        client = ws.clients.get(client_id)
        if client is None:
            continue
        for currency, rows in _open_invoices(state, client_id, day):
            out.extend(_receivable(client_id, client, currency, row, section, in_dispute) for row in rows)
    out.sort(key=lambda r: (r.due_on, r.number))
    return out


def open_amounts(state: LedgerState, clients: Iterable[str], day: date) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """(remaining, paid, credited) of every invoice of these clients still open on `day`."""
    return {row[0]: (row[6], row[5], row[4]) for client in sorted(set(clients))
            for _, rows in _open_invoices(state, client, day) for row in rows}


# (number, issued, due, total, credited, paid, remaining)
_Row = tuple[str, date, date, Decimal, Decimal, Decimal, Decimal]


def _open_invoices(state: LedgerState, client: str, day: date) -> list[tuple[str, list[_Row]]]:
    """Per currency, the client's invoices with something left to pay on `day`."""
    # The open rows alone when the aggregates allow (no credit pool, nothing after `day`);
    # else the whole accounts, or replayed at `day`.
    accounts = state.accounts.open_only(client, day)
    if accounts is None:
        accounts = state.accounts.of_client(client)
    if not all(a.covers(day) for a in accounts):
        return [(b.currency, [(s.number, s.issued, s.due, s.total, s.credited, s.paid, s.open_amount)
                              for s in b.invoices if s.open_amount > 0])
                for b in client_balances(state, client, day)]
    out = []
    for account in accounts:
        cur = account.currency
        rows = [(number, date.fromordinal(issued), date.fromordinal(due), from_minor(total, cur),
                 from_minor(credited, cur), from_minor(paid, cur), from_minor(left, cur))
                for number, (issued, due, total, _, _), credited, paid, left in account.open_rows()]
        out.append((account.currency, rows))
    return out


def _receivable(client_id: str, client: ClientConfig, currency: str, row: _Row,
                section: Collections, in_dispute: set[str]) -> Receivable:
    number, issued, due, total, credited, paid, left = row
    last_stage, last_day = section.last(number)
    promised = section.promised.get(number)
    return Receivable(
        number=number, client=client_id, client_name=client.name, emails=tuple(client.recipients()),
        language=client.language, currency=currency, issued_on=issued, due_on=due, total=total,
        paid=paid, credited=credited, remaining=left, mode="live",  # accounts hold live invoices only
        business=client.business, disputed=number in section.disputed or number in in_dispute,
        promised_until=date.fromordinal(promised) if promised else None,
        last_stage=last_stage, last_drafted_on=last_day, sent_message_id=section.sent_ids.get(number),
        collections_enabled=client.collections.enabled,
    )
