"""Documents and payments recorded after their period's e-report was sent: not in the file.

A bank statement imported a week after the month's payments report went, or a batch file
whose rows are dated in the month already reported: the period is journalled as sent
(`ereport.sent`, with its `count`), so nothing would ever report them. `ereport` compares,
for each period sent in the last `RECENT` days, what the period holds now with the count
sent, and warns of the difference; Facturier sends no corrective e-report, so the user
declares them on the platform's portal.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

import orjson

from facturier.ops.einvoicing.ereport import reported_documents, reported_payments
from facturier.ops.einvoicing.periods import Period
from facturier.store.events import EReportSent
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.ops.einvoicing.accounts import Account

RECENT: Final = timedelta(days=100)  # a period's deadline and a late import or two after it
_SENT: Final = b'"type":"ereport.sent"'  # the journal is canonical JSON: no spaces


def sent_reports(ws: Workspace, seller: str, mode: str) -> dict[tuple[str, str], EReportSent]:
    """The last `ereport.sent` of each (kind, period) of a seller in a platform mode (or naming
    none: written before entries said it), read from the journal."""
    path = WorkspacePaths(ws.root).journal
    found: dict[tuple[str, str], EReportSent] = {}
    if not path.is_file():
        return found
    with path.open("rb") as fh:
        for line in fh:
            if _SENT in line:
                event = EReportSent.parse(orjson.loads(line))
                if event.seller == seller and event.mode in (None, mode):
                    found[(event.kind, event.period)] = event
    return found


def late_warnings(ws: Workspace, state: LedgerState, account: Account, day: date) -> list[str]:
    """One warning per recent period sent that now holds more than was sent."""
    out = []
    for (kind, key), sent in sorted(sent_reports(ws, account.seller, account.mode).items()):
        if day - sent.end > RECENT:
            continue
        period = Period(key, sent.start, sent.end)
        if kind == "transactions":
            now, noun = len(reported_documents(ws, state, account.seller, period)), "document(s)"
        else:
            now = sum(1 for r in reported_payments(ws, state, period) if r[0]["currency"] == "EUR")
            noun = "payment(s)"
        if now > sent.count:
            out.append(f"{account.file}: {now - sent.count} {noun} of {key} were recorded after its e-report "
                       f"({kind}, {sent.count} sent) went: they are not in it; declare them on your platform's "
                       "portal (Facturier sends no corrective e-report)")
    return out
