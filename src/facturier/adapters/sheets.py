"""Receivables from a sheet, and the write-back of the reminders drafted (seed 003).

Two sources with the same verbs: `read(today)` returns the parsed sheet (core/sheets.py
holds the schema and every cell rule), `write_back(updates)` records `last_stage_sent`
and `last_sent_at` for the rows reminded and returns what it could not write.

- `GoogleSheetSource`: `values.get` with unformatted values and serial-number dates, then
  `values.batchUpdate` with `RAW` input. Just before writing, the key column is read again
  and each row is found by its `invoice_id`: a sheet sorted or edited since the read is
  never written into the wrong row.
- `CsvSheetSource`: a CSV exported from any spreadsheet, read with its delimiter, encoding
  and BOM, and written back the same way, atomically (temp file, then rename): a reader
  sees the old or the new file, never a torn one. The new file keeps the old one's
  permission bits (its inode changes: a hard link to it keeps the old content). The file
  must be inside the workspace (`source_path` relative, no `..` out of it, no link out of
  it): checked by `check`, and again when it is read and written.

The journal stays the record of what was drafted: a write-back that fails is reported and
done again on the next run, and never causes a second draft (core.sheets.with_journal_history).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import stat
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from facturier.adapters.google.api import Sleep, call
from facturier.config.fields import check_country, check_currency, check_email, check_visible
from facturier.core.dunning import Receivable
from facturier.core.errors import FacturierError
from facturier.core.sheets import (
    EMPTY_FILE,
    CellChecks,
    SheetDefaults,
    SheetParse,
    SheetRow,
    column_letter,
    find_invoice_row,
    parse_sheet,
    to_receivables,
)
from facturier.core.text import printable
from facturier.store.files import atomic_write, open_regular

CHECKS = CellChecks(email=check_email, currency=check_currency, country=check_country, visible=check_visible)
MAX_SHOWN = 100
_A1 = re.compile(r"(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^!]+))(?:!(?P<col>[A-Za-z]+)?(?P<row>\d+)?.*)?", re.ASCII)


class SheetError(FacturierError):
    """A sheet cannot be read or has invalid rows; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class WriteBack:
    """What to record for one reminded row: the stage drafted and the day."""

    invoice_id: str
    row: int
    stage: int
    day: date


class SheetSource(ABC):
    """A sheet of receivables: read it, and write back the reminders drafted."""

    name: str
    write_back_enabled: bool = True

    @abstractmethod
    def read(self, today: date) -> SheetParse:
        """The sheet parsed: receivable rows and every problem."""

    @abstractmethod
    def write_back(self, updates: Sequence[WriteBack]) -> list[str]:
        """Record the updates; the problems of those that could not be written."""

    @abstractmethod
    def cells(self) -> tuple[list[list[Any]], int]:
        """The sheet's cells as they are (header first), and the row number of the header."""

    @abstractmethod
    def where(self) -> str:
        """The sheet as the user names it: `the CSV file invoices.csv`, `the Google sheet ...`."""

    def find(self, invoice_id: str) -> tuple[int, dict[str, str]] | None:
        """The row holding `invoice_id` (row number, cell texts), or None."""
        values, first_row = self.cells()
        return find_invoice_row(values, invoice_id, first_row)


def find_row(keys: dict[int, str], update: WriteBack) -> tuple[int | None, str | None]:
    """The row holding `update.invoice_id` now: its recorded row if the key is still there,
    else the one row that has it; a problem when it is gone or on several rows."""
    if keys.get(update.row) == update.invoice_id:
        return update.row, None
    rows = [row for row, key in keys.items() if key == update.invoice_id]
    if len(rows) == 1:
        return rows[0], None
    where = "is no longer in the sheet" if not rows else f"is on several rows ({', '.join(map(str, rows))})"
    return None, (f"{update.invoice_id}: not written back: the invoice {where}; "
                  f"stage {update.stage} of {update.day} stays recorded in the journal")


# --- Google Sheets -----------------------------------------------------------------------------

def split_range(a1: str) -> tuple[str, str, int]:
    """'Invoices'!B2:Z -> ("Invoices", "B", 2); a bare sheet name starts at A1."""
    match = _A1.fullmatch(a1.strip())
    if match is None:
        raise SheetError(f"[collections] range: {a1!r} is not a range like \"Invoices!A1:Z\"")
    sheet = match["quoted"].replace("''", "'") if match["quoted"] else (match["plain"] or "").strip()
    return sheet, (match["col"] or "A").upper(), int(match["row"] or 1)


def column_index(letters: str) -> int:
    """A -> 0, Z -> 25, AA -> 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def quoted_sheet(sheet: str) -> str:
    """A sheet name as A1 notation needs it: quoted, with quotes doubled."""
    return "'" + sheet.replace("'", "''") + "'"


class GoogleSheetSource(SheetSource):
    """A range of a Google Sheet, read and written with the Sheets API v4."""

    name = "sheets"

    def __init__(self, service: Callable[[], Any], spreadsheet_id: str, a1_range: str,
                 write_back: bool = True, sleep: Sleep = time.sleep) -> None:
        self._make_service = service
        self._service: Any = None
        self.spreadsheet_id = spreadsheet_id
        self.range = a1_range
        self.write_back_enabled = write_back
        self.sleep = sleep  # the wait between retries (injected by tests)
        self.sheet, _, self._first_row = split_range(a1_range)
        self._key_column: str | None = None
        self._columns: dict[str, int] = {}

    def values(self) -> Any:
        """The spreadsheets.values resource, signed in once: the Log tab appends through it."""
        if self._service is None:
            self._service = self._make_service()
        return self._service.spreadsheets().values()

    def _get(self, a1: str) -> dict[str, Any]:
        request = self.values().get(spreadsheetId=self.spreadsheet_id, range=a1, majorDimension="ROWS",
                                     valueRenderOption="UNFORMATTED_VALUE",
                                     dateTimeRenderOption="SERIAL_NUMBER")
        answer: dict[str, Any] = call(request, what=f"Google Sheets values.get {a1}", sleep=self.sleep,
                                      repeatable=True)
        return answer

    def read(self, today: date) -> SheetParse:
        """values.get of the range; the columns are placed from where the range starts."""
        answer = self._get(self.range)
        sheet, first_col, first_row = split_range(str(answer.get("range") or self.range))
        self.sheet, self._first_row = sheet or self.sheet, first_row
        parsed = parse_sheet(answer.get("values") or [], sheet=self.sheet, today=today, checks=CHECKS,
                             write_back=self.write_back_enabled, first_row=first_row)
        offset = column_index(first_col)
        self._columns = {name: offset + index for name, index in parsed.columns.items()}
        if "invoice_id" in self._columns:
            self._key_column = column_letter(self._columns["invoice_id"])
        return parsed

    def cells(self) -> tuple[list[list[Any]], int]:
        answer = self._get(self.range)
        return list(answer.get("values") or []), split_range(str(answer.get("range") or self.range))[2]

    def where(self) -> str:
        return f"the Google sheet {self.spreadsheet_id} (range {self.range})"

    def write_back(self, updates: Sequence[WriteBack]) -> list[str]:
        """Re-read the key column, then one values.batchUpdate (RAW) for every row found."""
        if not updates or not self.write_back_enabled:
            return []
        if self._key_column is None or not all(c in self._columns for c in ("last_stage_sent", "last_sent_at")):
            return [f"{u.invoice_id}: not written back: read the sheet first" for u in updates]
        column = self._key_column
        key_range = f"{quoted_sheet(self.sheet)}!{column}{self._first_row}:{column}"
        cells = self._get(key_range).get("values") or []
        keys = {self._first_row + i: _key(row[0] if row else "") for i, row in enumerate(cells)}
        data, problems = [], []
        stage_col = column_letter(self._columns["last_stage_sent"])
        day_col = column_letter(self._columns["last_sent_at"])
        for update in updates:
            row, problem = find_row(keys, update)
            if row is None:
                problems.append(f"{self.sheet}: {problem}")
                continue
            data.append({"range": f"{quoted_sheet(self.sheet)}!{stage_col}{row}", "values": [[update.stage]]})
            data.append({"range": f"{quoted_sheet(self.sheet)}!{day_col}{row}", "values": [[update.day.isoformat()]]})
        if data:
            request = self.values().batchUpdate(spreadsheetId=self.spreadsheet_id,
                                                 body={"valueInputOption": "RAW", "data": data})
            call(request, what="Google Sheets values.batchUpdate", sleep=self.sleep, repeatable=True)
        return problems


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- CSV -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CsvShape:
    """How a CSV file is written, so a write-back keeps it: encoding, BOM, delimiter, newline."""

    encoding: str
    delimiter: str
    newline: str
    final_newline: bool


def csv_shape(data: bytes, name: str = "the CSV file") -> tuple[CsvShape, str]:
    """The file's shape and its text: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252.

    Bytes that are none of these (a truncated UTF-16 file, a byte cp1252 leaves undefined)
    are a SheetError naming the line and the byte, never a guess.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"  # what Excel writes on Windows for "CSV"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SheetError(_decode_problem(data, name, encoding, exc)) from None
    header = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    newline = "\r\n" if "\r\n" in text else "\n"
    return CsvShape(encoding, delimiter, newline, text.endswith(("\n", "\r"))), text


def _decode_problem(data: bytes, name: str, encoding: str, exc: UnicodeDecodeError) -> str:
    """Where a CSV file stops being text, as the user can find it."""
    if encoding == "utf-16":
        line = data[:exc.start].decode("utf-16", "replace").count("\n") + 1
        what = ("ends in the middle of a character (an odd number of bytes)" if exc.end >= len(data)
                else f"has invalid UTF-16 at byte {exc.start}")
        return f"{name}:{line}: the file starts with a UTF-16 mark but {what}; export it again as UTF-8 CSV"
    line = data[:exc.start].count(b"\n") + 1
    return (f"{name}:{line}: byte 0x{data[exc.start]:02X} at offset {exc.start} is neither UTF-8 nor "
            "Windows-1252 text; export the sheet again as UTF-8 CSV")


def replace_keeping_mode(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, giving the new file the old one's permission bits
    (and its owner and group when this user may set them): the user's file, not the store's."""
    before = path.stat()
    atomic_write(path, data)
    os.chmod(path, stat.S_IMODE(before.st_mode))
    with contextlib.suppress(OSError):  # only root may give a file to someone else
        os.chown(path, before.st_uid, before.st_gid)


def contained_path(root: Path, source_path: str) -> Path:
    """The CSV sheet's path, refused (SheetError) when it leads out of the workspace.

    Relative to the workspace, resolved (`..` and links followed) before the comparison, so
    neither `../x.csv`, an absolute path nor a link to a file elsewhere can make the
    write-back replace a file outside the workspace.
    """
    where = f"[collections] source_path = {printable(source_path)!r}"
    path = Path(source_path)
    if path.is_absolute() or ".." in path.parts:
        raise SheetError(f"{where}: the sheet must be a file inside the workspace, given relative to it "
                         "(e.g. \"invoices.csv\"): it is written back")
    base = root.resolve()
    resolved = (base / path).resolve()
    if not resolved.is_relative_to(base):
        raise SheetError(f"{where}: leads out of the workspace (through a link, to {printable(str(resolved))}); "
                         "the sheet must be a file inside the workspace: it is written back")
    return base / path


class CsvSheetSource(SheetSource):
    """A CSV file exported from a spreadsheet (the header is line 1)."""

    name = "csv"

    def __init__(self, path: Path, write_back: bool = True, root: Path | None = None) -> None:
        self.path = path
        self.write_back_enabled = write_back
        self.root = root  # when given, the file must stay inside it (checked at every read)

    def _contained(self) -> None:
        if self.root is not None:
            contained_path(self.root, str(self.path.relative_to(self.root)))

    def _load(self) -> tuple[CsvShape, list[list[str]]]:
        self._contained()
        try:
            with open_regular(self.path) as fh:
                data = fh.read()
        except OSError as exc:
            raise SheetError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        shape, text = csv_shape(data, self.path.name)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=shape.delimiter, strict=True)
        rows: list[list[str]] = []
        start = 1  # the line the record being read starts on: the one to name when it cannot be read
        try:
            for row in reader:
                rows.append(row)
                start = reader.line_num + 1
        except csv.Error as exc:
            raise SheetError(f"{self.path.name}:{start}: not a readable CSV file ({exc}); check the quotes of the "
                             f"record starting on line {start}") from None
        return shape, rows

    def cells(self) -> tuple[list[list[Any]], int]:
        """The file's rows (the header is line 1)."""
        return [list(r) for r in self._load()[1]], 1

    def where(self) -> str:
        """The file, relative to the workspace when it is in it."""
        shown = self.path.relative_to(self.root) if self.root is not None else self.path
        return f"the CSV sheet {printable(str(shown))}"

    def read(self, today: date) -> SheetParse:
        _, rows = self._load()
        return parse_sheet(rows, sheet=self.path.name, today=today, checks=CHECKS,
                           write_back=self.write_back_enabled, empty=EMPTY_FILE)

    def write_back(self, updates: Sequence[WriteBack]) -> list[str]:
        """Read the file again, set the two cells of each row found, write it back atomically."""
        if not updates or not self.write_back_enabled:
            return []
        shape, rows = self._load()
        parsed = parse_sheet(rows[:1], sheet=self.path.name, today=date.min, checks=CHECKS, write_back=True,
                             empty=EMPTY_FILE)
        columns = parsed.columns
        if "invoice_id" not in columns or "last_stage_sent" not in columns or "last_sent_at" not in columns:
            return [f"{self.path.name}: not written back: {p}" for p in map(str, parsed.problems)]
        key_col = columns["invoice_id"]
        keys = {i + 1: (r[key_col].strip() if key_col < len(r) else "") for i, r in enumerate(rows) if i}
        problems = []
        for update in updates:
            row, problem = find_row(keys, update)
            if row is None:
                problems.append(f"{self.path.name}: {problem}")
                continue
            cells = rows[row - 1]
            width = max(columns["last_stage_sent"], columns["last_sent_at"]) + 1
            cells.extend([""] * (width - len(cells)))
            cells[columns["last_stage_sent"]] = str(update.stage)
            cells[columns["last_sent_at"]] = update.day.isoformat()
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=shape.delimiter, lineterminator=shape.newline).writerows(rows)
        text = out.getvalue() if shape.final_newline else out.getvalue().removesuffix(shape.newline)
        try:
            self._contained()
            replace_keeping_mode(self.path, text.encode(shape.encoding))
        except (OSError, UnicodeEncodeError, SheetError) as exc:
            return [f"{self.path.name}: not written back ({exc}); the journal keeps what was drafted"]
        return problems


# --- from the configuration ---------------------------------------------------------------------

def open_sheet_source(config: Any, root: Path, *, http: Any = None, sleep: Sleep = time.sleep) -> SheetSource:
    """The source `[collections] source` names ("csv" or "sheets")."""
    collections = config.collections
    if collections.source == "csv":
        return CsvSheetSource(contained_path(root, collections.source_path), collections.write_back, root.resolve())
    if collections.source == "sheets":
        from facturier.adapters.google.auth import GoogleSession, token_path
        from facturier.config.google import google_scopes

        def service() -> Any:
            return GoogleSession(token_path(config.google, root), google_scopes(config), http).service("sheets", "v4")

        return GoogleSheetSource(service, collections.spreadsheet_id, collections.range,
                                 collections.write_back, sleep)
    raise SheetError(f"[collections] source = {collections.source!r} is not a sheet")


@dataclass(frozen=True, slots=True)
class SheetReceivables:
    """What a sheet gives the remind command: receivables, the rows skipped, and the source."""

    receivables: list[Receivable]
    rows: dict[str, SheetRow]  # invoice_id -> its row as read, for the write-back
    skipped: list[str]
    source: SheetSource


def sheet_receivables(config: Any, root: Path, today: date, *, skip_bad_rows: bool | None = None,
                      source: SheetSource | None = None) -> SheetReceivables:
    """The receivables of the configured sheet; a sheet with bad rows gives none (SheetError
    listing every problem) unless `skip_bad_rows` (or `[collections] skip_bad_rows`)."""
    src = source or open_sheet_source(config, root)
    parsed = src.read(today)
    skip = config.collections.skip_bad_rows if skip_bad_rows is None else skip_bad_rows
    problems = [str(p) for p in parsed.problems]
    # A header problem (missing column, empty range) leaves no row to keep: never skipped.
    if problems and (not skip or not parsed.bad_rows):
        shown = problems[:MAX_SHOWN]
        more = f"\n... and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        raise SheetError(f"{len(problems)} problem(s) in the sheet; nothing is drafted "
                         f"(fix them, or use --skip-bad-rows):\n" + "\n".join(shown) + more)
    receivables = to_receivables(parsed.rows, sheet_defaults(config.collections))
    return SheetReceivables(receivables, {r.invoice_id: r for r in parsed.rows}, problems, src)


def sheet_defaults(collections: Any) -> SheetDefaults:
    """`[collections]` language, country and business: what a row without those columns is."""
    return SheetDefaults(collections.language, collections.country, collections.business)


def sheet_warnings(config: Any, rows: Iterable[SheetRow] | None = None) -> list[str]:
    """`check`'s warning for a French issuer whose sheet rows are not said to be French: since
    issue 24 they are drafted in English, without the French late-payment mentions. With the
    sheet's `rows` at hand, none when every row says its language and country itself (the
    remedy the warning gives: the defaults are then never used)."""
    collections = config.collections
    if collections.source not in ("csv", "sheets") or config.issuer.country != "FR":
        return []
    unset = [key for key in ("language", "country") if key not in collections.model_fields_set]
    if not unset or (rows is not None and all(r.language and r.country for r in rows)):
        return []
    return [(f"facturier.toml: collections.{unset[0]}: not set: sheet rows without a `language` / `country` "
            f"column are reminded in {collections.language!r} with no French late-payment mentions (L441-10, "
            "40 EUR indemnity); for French business clients set language = \"fr\" and country = \"FR\" "
            "in [collections], or add the columns to the sheet")]


def check_sheet_source(config: Any, root: Path, today: date) -> list[str]:
    """`check`'s look at a CSV sheet (a Google Sheet needs the network: `remind --dry-run`)."""
    if config.collections.source != "csv":
        return []
    try:
        parsed = open_sheet_source(config, root).read(today)
    except SheetError as exc:
        return [str(exc)]
    return [str(p) for p in parsed.problems]


def csv_sheet_rows(config: Any, root: Path, today: date) -> tuple[SheetRow, ...] | None:
    """The good rows of a CSV sheet source, for `sheet_warnings`; None for any other source or
    a sheet that cannot be read (`check_sheet_source` says why)."""
    if config.collections.source != "csv":
        return None
    try:
        return open_sheet_source(config, root).read(today).rows
    except SheetError:
        return None
