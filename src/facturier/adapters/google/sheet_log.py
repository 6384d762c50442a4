"""The sheet's Log tab (issue 26): what `remind` drafted, appended to a tab of the source sheet.

With `[collections] source = "sheets"` and `log_tab = "Log"`, every real run that drafted
something appends one row per reminded invoice to that tab — `timestamp | invoice | stage |
email`, the same metadata as `data/logs/reminders.csv` (which stays), never a body — in one
`values.append` call per run (`RAW`: a cell is never read as a formula). It is retried with
backoff as every Sheets call (adapters/google/api.py: 429, rate-limit 403s, 5xx and network
failures), so a rare server error after the rows were written may log them twice; a log
that still fails is a warning: the drafts are made and journalled either way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from facturier.adapters.google.api import Sleep, call
from facturier.adapters.google.errors import GoogleApiError, GoogleError
from facturier.adapters.sheets import GoogleSheetSource, SheetSource, quoted_sheet
from facturier.core.dunning import ClientReminder

LOG_COLUMNS = ("timestamp", "invoice", "stage", "email")


@dataclass(frozen=True, slots=True)
class LogRow:
    """One reminded invoice, as the Log tab shows it."""

    timestamp: str
    invoice: str
    stage: int
    email: str

    def cells(self) -> list[Any]:
        """The row's cells, in LOG_COLUMNS' order (the stage a number)."""
        return [self.timestamp, self.invoice, self.stage, self.email]


def log_rows(drafted: Sequence[ClientReminder], when: datetime) -> list[LogRow]:
    """A row per invoice of each draft made (a combined draft gives one per invoice, as
    reminders.csv does), stamped `when` in UTC."""
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows: list[LogRow] = []
    for group in drafted:
        to = ", ".join(dict.fromkeys(e for due in group.dues for e in due.receivable.emails))
        rows.extend(LogRow(stamp, due.number, due.stage, to) for due in group.dues)
    return rows


class SheetLog:
    """A tab of a spreadsheet that rows are appended to, in one call."""

    def __init__(self, values: Callable[[], Any], spreadsheet_id: str, tab: str,
                 sleep: Sleep = time.sleep) -> None:
        self._values = values
        self.spreadsheet_id = spreadsheet_id
        self.tab = tab
        self._sleep = sleep

    def append(self, rows: Sequence[LogRow]) -> list[str]:
        """One values.append of every row after the tab's last one; the warnings."""
        if not rows:
            return []
        a1 = f"{quoted_sheet(self.tab)}!A:{chr(ord('A') + len(LOG_COLUMNS) - 1)}"
        try:
            request = self._values().append(
                spreadsheetId=self.spreadsheet_id, range=a1, valueInputOption="RAW",
                insertDataOption="INSERT_ROWS", body={"majorDimension": "ROWS", "values": [r.cells() for r in rows]})
            call(request, what=f"Google Sheets values.append to the {self.tab!r} tab", sleep=self._sleep,
                 repeatable=True)
        except GoogleApiError as exc:
            hint = (f" (does the spreadsheet have a tab named {self.tab!r}? [collections] log_tab)"
                    if exc.status == 400 else "")
            return [self._not_logged(rows, f"{exc}{hint}")]
        except GoogleError as exc:
            return [self._not_logged(rows, str(exc))]
        return []

    def _not_logged(self, rows: Sequence[LogRow], why: str) -> str:
        invoices = ", ".join(dict.fromkeys(r.invoice for r in rows))
        return (f"the {self.tab!r} tab was not written ({why}); the drafts are made and journalled, and "
                f"data/logs/reminders.csv lists them: {invoices}")


def log_drafts(source: SheetSource | None, tab: str | None, drafted: Sequence[ClientReminder],
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[str]:
    """`remind`'s hook: the drafts made, appended to the Log tab of a Google Sheet source; the
    warnings. Nothing without a Google Sheet source, a `log_tab`, or a draft made."""
    if not isinstance(source, GoogleSheetSource) or not tab or not drafted:
        return []
    return SheetLog(source.values, source.spreadsheet_id, tab, source.sleep).append(log_rows(drafted, now()))
