"""What the remind command plugs in from the collections connectors (issue 12), as small
functions that take the state's reminder history rather than reading it themselves:

- `sheet_source_receivables`: the receivables of `[collections] source = "csv" | "sheets"`,
  their history being the sheet's columns *and* the journal (the journal wins: it is the
  record, so a write-back that failed never causes a second draft);
- `sheet_write_backs` / `write_back`: after drafting, record in the sheet what the journal
  says was drafted for every sheet row that does not show it yet (this run's drafts, and
  an earlier run's failed write-backs);
- `slack_alerts`: Slack messages for drafted reminders at or above the thresholds (warnings);
- `payment_link_of`: the payment-link merge field of a reminder (journalled, reused);
- `deactivate_paid_links`: switch off the links of invoices no longer open.

`History` is `LedgerState.collections.last`-shaped: number -> (last stage, last day).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from facturier.adapters.payment_links import PaymentLinkError, PaymentLinkProvider, open_provider
from facturier.adapters.sheets import SheetReceivables, WriteBack, sheet_receivables
from facturier.adapters.slack import SlackNotice, notify
from facturier.core.dunning import ClientReminder
from facturier.core.errors import FacturierError
from facturier.core.sheets import with_journal_history
from facturier.ops.payment_links import deactivate_links, link_for
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

History = Callable[[str], tuple[int | None, date | None]]


def sheet_source_receivables(ws: Workspace, day: date, history: History, *,
                             skip_bad_rows: bool | None = None, source: object = None) -> SheetReceivables:
    """The sheet's receivables with the journal's history merged in (raises SheetError when
    the sheet has bad rows and they are not skipped)."""
    sheet = sheet_receivables(ws.config, ws.root, day, skip_bad_rows=skip_bad_rows,
                              source=source)  # type: ignore[arg-type]
    journalled = {}
    for receivable in sheet.receivables:
        stage, when = history(receivable.number)
        if stage is not None and when is not None:
            journalled[receivable.number] = (stage, when)
    merged = with_journal_history(sheet.receivables, journalled)
    return SheetReceivables(merged, sheet.rows, sheet.skipped, sheet.source)


def skipped_rows(sheet: SheetReceivables | None) -> list[str]:
    """The warnings for the sheet rows `--skip-bad-rows` leaves out: one text for the real run
    and its dry run, so the preview shows every row the run would skip."""
    return [f"row left out (--skip-bad-rows): {p}" for p in sheet.skipped] if sheet is not None else []


def sheet_write_backs(sheet: SheetReceivables, history: History) -> list[WriteBack]:
    """Every sheet row behind the journal: its last stage or day differs from what was drafted."""
    updates = []
    for invoice_id, row in sheet.rows.items():
        stage, when = history(invoice_id)
        if stage is None or when is None:
            continue
        if (row.last_stage, row.last_sent_on) != (stage, when):
            updates.append(WriteBack(invoice_id, row.row, stage, when))
    return updates


def write_back(sheet: SheetReceivables, history: History) -> list[str]:
    """Write the sheet rows behind the journal; the warnings (never fatal: retried next run)."""
    updates = sheet_write_backs(sheet, history)
    if not updates or not sheet.source.write_back_enabled:
        return []
    try:
        return [f"{p}" for p in sheet.source.write_back(updates)]
    except FacturierError as exc:
        return [(f"the sheet was not written back ({exc}); the journal keeps what was drafted and the "
                 "next run writes it")]


def slack_alerts(ws: Workspace, drafted: Sequence[ClientReminder],
                 environ: Mapping[str, str] | None = None) -> list[str]:
    """One Slack message per drafted reminder at or above `[collections.slack]`'s thresholds."""
    slack = ws.config.collections.slack
    if slack is None or not drafted:
        return []
    notices = [SlackNotice(", ".join(g.numbers), g.dues[0].receivable.client_name, g.remaining, g.currency,
                           g.stage, g.days_overdue) for g in drafted]
    return notify(slack, os.environ if environ is None else environ, notices)


def payment_link_of(ws: Workspace, state: LedgerState, ledger: Ledger | None,
                    environ: Mapping[str, str] | None = None,
                    provider: PaymentLinkProvider | None = None) -> tuple[Callable[[ClientReminder], str], list[str]]:
    """The reminder's `payment_link` field (one link per invoice of a single-invoice draft; a
    combined draft gets none), and the warnings raised while making links."""
    config = ws.config.collections.payment_link
    warnings: list[str] = []
    if config is None:
        return (lambda group: ""), warnings
    try:
        chosen = provider or open_provider(config, os.environ if environ is None else environ)
    except PaymentLinkError as exc:
        warnings.append(f"no payment links: {exc}")
        return (lambda group: ""), warnings

    def link(group: ClientReminder) -> str:
        if len(group.dues) != 1:
            return ""
        due = group.dues[0]
        try:
            return link_for(state, ledger, chosen, due.number, due.remaining, group.currency)
        except PaymentLinkError as exc:
            warnings.append(f"{due.number}: drafted without a payment link: {exc}")
            return ""

    return link, warnings


def deactivate_paid_links(ws: Workspace, state: LedgerState, ledger: Ledger, still_open: set[str],
                          environ: Mapping[str, str] | None = None,
                          provider: PaymentLinkProvider | None = None) -> list[str]:
    """Switch off the active links of every invoice not in `still_open` (paid, credited, or a
    sheet row now marked paid); the warnings (a failure is retried on the next run)."""
    config = ws.config.collections.payment_link
    if config is None or config.provider != "stripe":
        return []
    settled = [n for n in state.links.links if n not in still_open and state.links.active(n)]
    if not settled:
        return []
    try:
        chosen = provider or open_provider(config, os.environ if environ is None else environ)
    except PaymentLinkError as exc:
        return [f"payment links of paid invoices not switched off: {exc}"]
    return deactivate_links(state, ledger, chosen, settled)
