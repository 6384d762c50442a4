"""Gapless numbering: templates, series and the next number.

A template such as "{year}-{seq:04d}" names a series by everything except `{seq}`: "2026-#"
is one series with one counter, and a new year starts a new series (so the counter resets).
Test-mode documents live in their own series, prefixed "TEST-". Numbers are allocated only at
issuance, under the workspace lock, from the journal: the next number is last seq + 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from facturier.core.errors import FacturierError

_PLACEHOLDER = re.compile(r"\{(year|month|client|seq(?::0([1-9])d)?)\}")


@dataclass(frozen=True, slots=True)
class SeriesState:
    """Where a series stands: its last sequence number and the date of that document."""

    last_seq: int
    last_date: date


def _render(template: str, *, year: int, month: int, client: str, seq_text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "year":
            return f"{year:04d}"
        if name == "month":
            return f"{month:02d}"
        if name == "client":
            return client
        return seq_text

    return _PLACEHOLDER.sub(replace, template)


def series_key(template: str, *, seller: str, issue_date: date, client: str, test: bool) -> str:
    """The series a document belongs to: seller, then the template rendered with '#' for seq."""
    text = _render(template, year=issue_date.year, month=issue_date.month, client=client, seq_text="#")
    return f"{seller}|{'TEST-' if test else ''}{text}"


def format_number(template: str, *, issue_date: date, client: str, seq: int, test: bool) -> str:
    """Render the document number for a sequence value."""
    match = re.search(r"\{seq(?::0([1-9])d)?\}", template)
    width = int(match.group(1)) if match and match.group(1) else 1
    text = _render(
        template, year=issue_date.year, month=issue_date.month, client=client, seq_text=f"{seq:0{width}d}"
    )
    return f"TEST-{text}" if test else text


def next_seq(state: SeriesState | None, issue_date: date, series: str) -> int:
    """The next sequence of a series; refuses a date before the series' last document."""
    if state is None:
        return 1
    if issue_date < state.last_date:
        raise FacturierError(
            f"cannot issue in series {series.split('|', 1)[1]!r} on {issue_date}: its last document "
            f"is dated {state.last_date}, and numbers must follow dates"
        )
    return state.last_seq + 1
