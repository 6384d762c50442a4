"""Receivables kept in a sheet (seed 003): the row schema, parsed without any I/O.

A Google Sheet or a CSV export with the seed's header row, columns found by name in any
order (case and spaces ignored; other columns are left alone):

    invoice_id | client_name | client_email | amount | currency | due_date | sent_date |
    status | notes | last_stage_sent | last_sent_at

Three optional columns say who the client is, each falling back to `[collections]`
`language`, `country` and `business` (SheetDefaults): `language` (fr, en: the draft's
template and number format), `country` (ISO 3166 alpha-2) and `business` (yes/no). The
French late-payment mentions (L441-10 penalties, the 40 EUR indemnity) need a French seller
and a row that is a business in France.

Only rows whose `status` is `overdue`, or `open` and past the due date, are receivables;
`paid`, `draft`, `void` and `cancelled` rows never are. Cells are what the source gives:
numbers and serial-number dates (days since 1899-12-30, what Google Sheets and Excel store)
from the Sheets API, text from a CSV. Text dates may be ISO (2026-10-15), with an English
month name (15 Oct 2026, Oct 15, 2026), or numeric day/month/year when unambiguous (a
3/4/2026 could be either, so it is refused with the fix). Trailing empty cells may be
missing (the API leaves them out). Amounts are what remains due, in the row's currency,
never rounded: more decimals than the currency has is a problem (except the float noise
of a formula, 120.00000000000001). Numbers and dates are ASCII: other scripts' digits
(Arabic-Indic, Devanagari, full-width) are refused, never read as a value, and a date
with a time must be a whole ISO date-time (`2026-11-01T09:30`, not `2026-11-01Tgarbage`).

No cell that is read may hold a control or format character (NUL, ESC, a line break, the
right-to-left override U+202E...): such a cell would reach a draft's headers or a file name.
The row is refused with the character named (`notes` is never read, so never checked).

Each cell's own rule (amounts, dates, stages, statuses...) is in core/sheet_cells.py.

Every problem names the sheet, the row (as the spreadsheet numbers it) and the column, like
a batch CSV: `Invoices:7:due_date: ...`. A sheet with problems drafts nothing, unless the
caller skips the bad rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from facturier.core.dunning import Receivable
from facturier.core.money import ZERO
from facturier.core.sheet_cells import (
    cell_text,
    parse_amount,
    parse_business,
    parse_date,
    parse_language,
    parse_stage,
    parse_status,
)

COLUMNS = ("invoice_id", "client_name", "client_email", "amount", "currency", "due_date",
           "sent_date", "status", "notes", "last_stage_sent", "last_sent_at")
OPTIONAL = ("language", "country", "business")  # else the [collections] defaults
KNOWN = COLUMNS + OPTIONAL
REQUIRED = ("invoice_id", "client_name", "client_email", "amount", "currency", "due_date", "status")
WRITE_BACK = ("last_stage_sent", "last_sent_at")


@dataclass(frozen=True, slots=True)
class CellChecks:
    """The field checks shared with the configuration (config/fields.py): each returns the
    clean value or raises ValueError with the message to show."""

    email: Callable[[str], str]
    currency: Callable[[str], str]
    country: Callable[[str], str]
    visible: Callable[[str], str]  # refuses control and format characters (config.fields.check_visible)


@dataclass(frozen=True, slots=True)
class SheetDefaults:
    """What a row without the optional columns is: `[collections]` language, country, business.

    `country` None means unknown: no French late-payment mentions for such a row.
    """

    language: str = "en"
    country: str | None = None
    business: bool = True


@dataclass(frozen=True, slots=True)
class SheetProblem:
    """One problem, located the way a user finds it in the spreadsheet."""

    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}:{self.row}:{self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class SheetRow:
    """A receivable row: `row` is its number in the spreadsheet (the header is row 1)."""

    row: int
    invoice_id: str
    client_name: str
    emails: tuple[str, ...]
    amount: Decimal
    currency: str
    due_on: date
    sent_on: date | None
    status: str
    notes: str
    last_stage: int | None
    last_sent_on: date | None
    language: str | None = None  # None: the optional column is absent or empty (the default applies)
    country: str | None = None
    business: bool | None = None


@dataclass(frozen=True, slots=True)
class SheetParse:
    """The receivable rows, every problem, and where each known column is (0-based)."""

    rows: tuple[SheetRow, ...]
    problems: tuple[SheetProblem, ...]
    columns: dict[str, int]
    bad_rows: frozenset[int] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems


def header_name(cell: Any) -> str:
    """A header cell as a column name: `Invoice ID` -> `invoice_id`."""
    return "_".join(str(cell).strip().lower().replace("-", " ").split())


EMPTY_RANGE = "the range is empty: check the spreadsheet id, the range and that the sheet is shared with your account"
EMPTY_FILE = ("no header row: the file's first line must name the columns (invoice_id, client_name, client_email, "
              "amount, currency, due_date, ...), then one line per invoice")


def parse_sheet(values: Sequence[Sequence[Any]], *, sheet: str, today: date, checks: CellChecks,
                write_back: bool = False, first_row: int = 1, empty: str = EMPTY_RANGE) -> SheetParse:
    """Read a sheet's cells (header first) into receivable rows and problems; `empty` is what
    a sheet without a header row is told (a Google range, or a CSV file: EMPTY_FILE)."""
    if not values or not any(cell_text(c) for c in values[0]):
        return SheetParse((), (SheetProblem(sheet, first_row, "(header)", empty),), {})
    columns, problems = _columns(values[0], sheet, first_row, write_back)
    if problems:
        return SheetParse((), tuple(problems), columns)
    rows: list[SheetRow] = []
    bad: set[int] = set()
    seen: dict[str, int] = {}
    for offset, cells in enumerate(values[1:], start=1):
        number = first_row + offset
        if not any(cell_text(c) for c in cells):
            continue  # an empty row between blocks is normal
        row_problems, row = _row(cells, columns, sheet, number, today, checks)
        key = cell_text(_cell(cells, columns, "invoice_id"))
        if key and key in seen:
            row_problems.append(SheetProblem(sheet, number, "invoice_id", f"{key!r} is also on row "
                                             f"{seen[key]}: each invoice must be on one row"))
        seen.setdefault(key, number)
        if row_problems:
            problems.extend(row_problems)
            bad.add(number)
        elif row is not None:
            rows.append(row)
    return SheetParse(tuple(rows), tuple(problems), columns, frozenset(bad))


def find_invoice_row(values: Sequence[Sequence[Any]], invoice_id: str,
                     first_row: int = 1) -> tuple[int, dict[str, str]] | None:
    """The row whose `invoice_id` is this one, as (row number, cell text of each known column);
    None when no row has it (or the header has no invoice_id column)."""
    if not values:
        return None
    columns: dict[str, int] = {}
    for index, cell in enumerate(values[0]):
        columns.setdefault(header_name(cell), index)
    key = columns.get("invoice_id")
    if key is None:
        return None
    for offset, cells in enumerate(values[1:], start=1):
        if key < len(cells) and cell_text(cells[key]) == invoice_id.strip():
            return first_row + offset, {name: cell_text(_cell(cells, columns, name)) for name in KNOWN
                                        if name in columns}
    return None


def _columns(header: Sequence[Any], sheet: str, row: int,
             write_back: bool) -> tuple[dict[str, int], list[SheetProblem]]:
    columns: dict[str, int] = {}
    problems: list[SheetProblem] = []
    for index, cell in enumerate(header):
        name = header_name(cell)
        if name in KNOWN:
            if name in columns:
                problems.append(SheetProblem(sheet, row, name, f"the column appears twice (columns "
                                             f"{column_letter(columns[name])} and {column_letter(index)})"))
            columns.setdefault(name, index)
    needed = REQUIRED + (WRITE_BACK if write_back else ())
    for name in needed:
        if name not in columns:
            why = " (needed to record the reminders drafted, write_back = true)" if name in WRITE_BACK else ""
            problems.append(SheetProblem(sheet, row, name, f"column missing from the header row{why}; "
                                         f"the columns are: {' | '.join(COLUMNS)}"))
    return columns, problems


def _row(cells: Sequence[Any], columns: dict[str, int], sheet: str, number: int, today: date,
         checks: CellChecks) -> tuple[list[SheetProblem], SheetRow | None]:
    """The row's problems, and the row when it is a receivable (None for paid, open not due...)."""
    problems: list[SheetProblem] = []

    def field(name: str, parse: Callable[[Any], Any], required: bool = False) -> Any:
        value = _cell(cells, columns, name)
        if not cell_text(value):
            if required:
                problems.append(SheetProblem(sheet, number, name, "is empty"))
            return None
        try:
            if isinstance(value, str):
                checks.visible(value)
            return parse(value)
        except ValueError as exc:
            problems.append(SheetProblem(sheet, number, name, str(exc)))
            return None

    invoice_id = field("invoice_id", cell_text, required=True)
    status = field("status", parse_status, required=True)
    if status is None or status in ("paid", "draft", "void", "cancelled", "canceled"):
        return problems, None
    due_on = field("due_date", parse_date, required=True)
    if status == "open" and due_on is not None and due_on >= today:
        return problems, None  # not yet past due
    currency = field("currency", lambda v: checks.currency(cell_text(v).upper()), required=True)
    values = {
        "client_name": field("client_name", cell_text, required=True),
        "emails": field("client_email", lambda v: _emails(v, checks), required=True),
        "amount": field("amount", lambda v: parse_amount(v, currency), required=True) if currency else None,
        "sent_on": field("sent_date", parse_date),
        "notes": cell_text(_cell(cells, columns, "notes")),  # never used: free text, not checked
        "last_stage": field("last_stage_sent", parse_stage),
        "last_sent_on": field("last_sent_at", parse_date),
        "language": field("language", parse_language),
        "country": field("country", lambda v: checks.country(cell_text(v).upper())),
        "business": field("business", parse_business),
    }
    if problems or invoice_id is None or due_on is None or currency is None:
        return problems, None
    return problems, SheetRow(row=number, invoice_id=invoice_id, currency=currency, due_on=due_on,
                              status=status, **values)


def _cell(cells: Sequence[Any], columns: dict[str, int], name: str) -> Any:
    index = columns.get(name)
    return cells[index] if index is not None and index < len(cells) else None  # short rows are normal


def _emails(value: Any, checks: CellChecks) -> tuple[str, ...]:
    parts = [p.strip() for p in re.split(r"[,;]", cell_text(value)) if p.strip()]
    if not parts:
        raise ValueError("is empty")
    return tuple(checks.email(p) for p in parts)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: A1 notation of a 0-based column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def to_receivables(rows: Sequence[SheetRow], defaults: SheetDefaults) -> list[Receivable]:
    """The sheet's rows as the collections router takes them; the amount is what remains.

    A sheet has no client ids: the client is its first email address (lower-cased), so a
    combined reminder groups the invoices sent to one address. A row's language, country and
    business come from its own columns, else from `defaults`; an unknown country is "".
    """
    return [Receivable(
        number=r.invoice_id, client=r.emails[0].lower(), client_name=r.client_name, emails=r.emails,
        language=r.language or defaults.language, currency=r.currency, issued_on=r.sent_on or r.due_on,
        due_on=r.due_on, total=r.amount, paid=ZERO, credited=ZERO, remaining=r.amount,
        business=defaults.business if r.business is None else r.business, from_sheet=True,
        country=r.country or defaults.country or "",
        last_stage=r.last_stage, last_drafted_on=r.last_sent_on) for r in rows]


def with_journal_history(receivables: Sequence[Receivable],
                         history: dict[str, tuple[int, date]]) -> list[Receivable]:
    """Receivables whose history also counts what the journal says was drafted: the journal
    is the record, so a write-back that failed never leads to a second draft."""
    out = []
    for r in receivables:
        journalled = history.get(r.number)
        if journalled is None:
            out.append(r)
            continue
        stage, day = journalled
        last_stage = max(stage, r.last_stage or 0)
        last_day = max(day, r.last_drafted_on) if r.last_drafted_on else day
        out.append(replace(r, last_stage=last_stage, last_drafted_on=last_day))
    return out
