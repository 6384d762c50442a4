"""Batch CSV format v1 (PRODUCT.md §6, docs/csv-format.md): streaming parse and validation.

Nothing here writes anything. `check_encoding` and `iter_rows` read the file once each, row by
row, so memory does not grow with the file (only the set of references seen is kept, to refuse
a reference repeated within the file). Every problem is a `Problem` printed as
`file:line:column: message`, where line is the physical line where the record starts and
column is the column name (`-` for a problem with the whole file).
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO, TypeVar

from facturier.config.fields import (
    check_country,
    check_currency,
    check_email,
    check_iso_date,
    check_printable,
    check_siren,
    check_vat_id,
    check_vat_rate,
    check_visible,
    plain_decimal,
)
from facturier.core.csv_syntax import KeptLines, record_syntax_problems
from facturier.core.money import LINE_QUANTITY_DECIMALS, decimals_problem, line_amount_problem
from facturier.core.numbering import series_key
from facturier.core.text import FileProblem as Problem

T = TypeVar("T")
REQUIRED = ("reference", "customer_name", "customer_address", "description", "unit_price")
# The order `facturier batch --template` prints: the columns a typical row fills, left to right.
COLUMNS = (
    "reference", "date", "customer_name", "customer_address", "customer_email", "customer_country",
    "customer_vat_id", "customer_siren", "description", "quantity", "unit_price", "vat_rate",
    "currency", "due_date",
)
# The only column whose value may span lines (one address line per line); a name never does,
# or it would add lines to the buyer block of the invoice.
MULTILINE_COLUMNS = frozenset({"customer_address"})
MAX_PROBLEMS = 100
MAX_TEXT = 500  # longer text cannot be laid out on an invoice line
_ADDRESS_SPLIT = re.compile(r" \| |\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What validation needs to know about the seller and the ledger, as plain values."""

    seller_id: str
    seller_country: str
    currency: str
    default_vat_rate: Decimal
    payment_days: int
    numbering: str
    test: bool
    run_date: date
    # Series key -> date of its last journalled document (dates must not go back in a series).
    series_floor: Mapping[str, date] = field(default_factory=dict)
    # Reference -> number of the invoice that already carries it.
    invoiced: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """References compare in NFC; a journal written before that may hold other forms."""
        if not all(unicodedata.is_normalized("NFC", ref) for ref in self.invoiced):
            normal = {unicodedata.normalize("NFC", ref): num for ref, num in self.invoiced.items()}
            object.__setattr__(self, "invoiced", normal)

    def series_of(self, issue_date: date) -> str:
        """The numbering series a row dated `issue_date` falls in."""
        return series_key(self.numbering, seller=self.seller_id, issue_date=issue_date,
                          client=self.seller_id, test=self.test)


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One valid row: everything needed to build its invoice."""

    line: int
    reference: str
    issue_date: date
    due_date: date
    customer_name: str
    customer_address: tuple[str, ...]
    customer_email: str | None
    customer_country: str
    customer_vat_id: str | None
    customer_siren: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    currency: str

    @property
    def business(self) -> bool:
        """A customer with a VAT number or a SIREN is a business (recovery indemnity applies)."""
        return self.customer_vat_id is not None or self.customer_siren is not None


class FieldError(ValueError):
    """A field's value is invalid; the message is user-facing."""


def check_encoding(path: Path, name: str) -> Problem | None:
    """The first problem of a file that is empty or not UTF-8, reading it line by line."""
    empty = True
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and _looks_like_utf16(raw):
                return Problem(name, 1, "-", (
                    "the file is UTF-16 (Excel's \"Unicode text\"), not UTF-8: save it as "
                    "\"CSV UTF-8\" and drop it again"))
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw.strip():
                empty = False
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = raw[exc.start]
                return Problem(name, number, "-", (
                    f"the file is not UTF-8 (byte 0x{byte:02x} at character {exc.start + 1} of the line; "
                    "probably Latin-1 or Windows-1252): save it as \"CSV UTF-8\" and drop it again"))
    if empty:
        return Problem(name, 1, "-", "the file is empty: expected a header row, then one row per invoice")
    return None


def _looks_like_utf16(first_line: bytes) -> bool:
    """A UTF-16 byte order mark, or the NUL bytes UTF-16 puts beside every ASCII letter."""
    return first_line.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first_line


def detect_delimiter(header_line: str) -> str | None:
    """`,` or `;`, whichever the header line uses (None when it uses both or neither)."""
    commas, semicolons = header_line.count(","), header_line.count(";")
    if commas and not semicolons:
        return ","
    if semicolons and not commas:
        return ";"
    return None


def header_problems(name: str, header: list[str]) -> list[Problem]:
    """Unknown, duplicate and missing columns of the header row (line 1)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for col in header:
        if col in seen:
            problems.append(Problem(name, 1, col, "duplicate column: each column may appear only once"))
        elif col not in COLUMNS:
            close = difflib.get_close_matches(col.strip().lower(), COLUMNS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(name, 1, col or "-", f"unknown column {col!r}{hint}"))
        seen.add(col)
    for col in REQUIRED:
        if col not in seen:
            problems.append(Problem(name, 1, col, "required column is missing"))
    return problems


def iter_records(stream: IO[str], delimiter: str, header: list[str], name: str,
                 first_line: int = 2) -> Iterator[tuple[int, list[str], list[Problem]]]:
    """(physical line where the record starts, fields, syntax problems) for every record.

    The stream is positioned after the header, at physical line `first_line`. The syntax
    problems are those of RFC 4180 that Python's reader lets through (`core.csv_syntax`).
    """
    lines = KeptLines(stream)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=True)
    start = first_line
    for fields in reader:
        yield start, fields, record_syntax_problems(name, start, lines.take(), delimiter, header)
        start = first_line + reader.line_num


@dataclass
class FileCheck:
    """The outcome of validating one file: problems (all counted, first MAX_PROBLEMS kept) and rows."""

    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0

    def add(self, problem: Problem) -> None:
        """Count a problem and keep it when under the cap."""
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def iter_rows(path: Path, ctx: BatchContext, check: FileCheck, name: str | None = None) -> Iterator[BatchRow]:
    """Stream the valid rows of a file, adding every problem to `check`.

    The caller must treat the file as valid only if `check.problem_count` is 0 after the
    iterator is exhausted: valid rows are yielded before later rows are checked. Problems name
    the file `name` (default: the file's own name; an archived copy reports the inbox name).
    """
    name = name or path.name
    first = check_encoding(path, name)
    if first is not None:
        check.add(first)
        return
    with open(path, encoding="utf-8-sig", newline="") as stream:
        header_line = stream.readline()
        delimiter = detect_delimiter(header_line)
        if delimiter is None:
            check.add(Problem(name, 1, "-", "cannot tell the delimiter: the header row must separate "
                                            "column names with ',' or with ';' (not both)"))
            return
        header = next(csv.reader([header_line], delimiter=delimiter))
        for problem in header_problems(name, header) + record_syntax_problems(name, 1, [header_line], delimiter, []):
            check.add(problem)
        if check.problem_count:
            return
        yield from _rows(name, stream, header, delimiter, ctx, check)
    if check.rows == 0 and check.problem_count == 0:
        check.add(Problem(name, 2, "-", "the file has a header but no rows: nothing to invoice"))


def _rows(name: str, stream: IO[str], header: list[str], delimiter: str, ctx: BatchContext,
          check: FileCheck) -> Iterator[BatchRow]:
    seen: dict[str, int] = {}
    floors = dict(ctx.series_floor)
    records = iter_records(stream, delimiter, header, name)
    line = 1  # where the last record started; a quoting error is reported just after it
    while True:
        try:
            item = next(records, None)
        except csv.Error as exc:
            check.add(Problem(name, line + 1, "-", f"malformed quoting ({exc}); enclose fields in double "
                                                   "quotes and double any quote inside them"))
            return
        if item is None:
            return
        line, fields, syntax = item
        check.rows += 1
        for problem in syntax:
            check.add(problem)
        row = _check_record(name, line, header, fields, delimiter, ctx, check, seen, floors)
        if syntax:
            continue
        if row is not None and _check_across_rows(name, row, ctx, seen, floors, check):
            yield row


def _check_record(name: str, line: int, header: list[str], fields: list[str], delimiter: str,
                  ctx: BatchContext, check: FileCheck, seen: dict[str, int] | None = None,
                  floors: dict[str, date] | None = None) -> BatchRow | None:
    """One record's own problems, or its parsed row."""
    if not fields:
        check.add(Problem(name, line, "-", "blank line: remove it (every line after the header is an invoice)"))
        return None
    if len(fields) != len(header):
        column = header[len(fields)] if len(fields) < len(header) else "-"
        check.add(Problem(name, line, column, f"the row has {len(fields)} fields but the header has "
                                              f"{len(header)} (a missing or extra '{delimiter}'?)"))
        return None
    values = dict(zip(header, fields, strict=True))
    parsed: dict[str, object] = {}
    ok = True
    for col in COLUMNS:
        try:
            raw = _visible(col, values.get(col, ""))
            parsed[_FIELD_OF.get(col, col)] = PARSERS[col](raw, delimiter, ctx, parsed)
        except FieldError as exc:
            check.add(Problem(name, line, col, str(exc)))
            ok = False
    if not ok:
        reference = parsed.get("reference")
        if seen is not None and isinstance(reference, str):
            # An invalid row's reference is still checked and remembered: every problem is listed.
            _check_reference(name, line, reference, ctx, seen, check)
        issue_date = parsed.get("issue_date")
        if floors is not None and isinstance(issue_date, date):
            _check_date_floor(name, line, issue_date, ctx, floors, check, keep=False)
        return None
    return BatchRow(line=line, **parsed)  # type: ignore[arg-type]


def _check_across_rows(name: str, row: BatchRow, ctx: BatchContext, seen: dict[str, int],
                       floors: dict[str, date], check: FileCheck) -> bool:
    """References never twice; dates never back in a series (numbers follow dates, in file order)."""
    ok = _check_reference(name, row.line, row.reference, ctx, seen, check)
    return _check_date_floor(name, row.line, row.issue_date, ctx, floors, check, keep=True) and ok


def _check_date_floor(name: str, line: int, issue_date: date, ctx: BatchContext, floors: dict[str, date],
                      check: FileCheck, keep: bool) -> bool:
    """A date never before an earlier invoice of its series; `keep` raises the floor to it.

    An invalid row is checked too (every problem is listed at once) but does not raise the
    floor: its date may be the very typo, and later rows would then be flagged for it."""
    series = ctx.series_of(issue_date)
    floor = floors.get(series)
    if floor is not None and issue_date < floor:
        check.add(Problem(name, line, "date", (
            f"{issue_date} is before {floor}, the date of an earlier invoice of the same series "
            "(in the journal or above in this file): numbers follow dates, so sort the rows by date")))
        return False
    if keep:
        floors[series] = issue_date
    return True


def _check_reference(name: str, line: int, reference: str, ctx: BatchContext, seen: dict[str, int],
                     check: FileCheck) -> bool:
    """A reference never invoiced before nor repeated in the file; remembered for later rows."""
    ok = True
    if reference in ctx.invoiced:
        check.add(Problem(name, line, "reference",
                          f"{reference!r} is already invoiced (invoice {ctx.invoiced[reference]})"))
        ok = False
    elif reference in seen:
        check.add(Problem(name, line, "reference", f"{reference!r} is repeated: already on line {seen[reference]}"))
        ok = False
    seen.setdefault(reference, line)
    return ok


def _visible(column: str, raw: str) -> str:
    """Every field, first: no control or format character; a newline only inside an address."""
    return _field(partial(check_visible, allow_newlines=column in MULTILINE_COLUMNS), raw)


# Field parsers: (raw text, delimiter, context, fields parsed so far) -> value or FieldError.
Parser = Callable[[str, str, BatchContext, dict[str, object]], object]


def _text(raw: str, required: bool) -> str | None:
    if not raw.strip():
        if required:
            raise FieldError("required: must not be empty")
        return None
    if len(raw) > MAX_TEXT:
        raise FieldError(f"too long: {len(raw)} characters, at most {MAX_TEXT}")
    return _field(check_printable, raw)


def parse_reference(raw: str, _d: str, _c: BatchContext, _p: dict[str, object]) -> str:
    """The batch client's own id for the row: one line, no surrounding spaces, in NFC.

    NFC so that "é" typed as one code point or as "e" + a combining accent is one reference.
    """
    value = _text(raw, required=True)
    assert value is not None
    if value != value.strip() or "\n" in value or "\r" in value:
        raise FieldError(f"{value!r} must be one line without leading or trailing spaces")
    if len(value) > 100:
        raise FieldError(f"too long: {len(value)} characters, at most 100")
    return unicodedata.normalize("NFC", value)


def parse_iso_date(raw: str) -> date:
    """A strict YYYY-MM-DD date (the configuration's rule)."""
    return _field(check_iso_date, raw)


def parse_date(raw: str, _d: str, ctx: BatchContext, _p: dict[str, object]) -> date:
    """Invoice date: default the run date; never in the future."""
    if not raw:
        return ctx.run_date
    value = parse_iso_date(raw)
    if value > ctx.run_date:
        raise FieldError(f"{raw} is in the future (the run date is {ctx.run_date})")
    return value


def parse_due_date(raw: str, _d: str, ctx: BatchContext, parsed: dict[str, object]) -> date:
    """Due date: default date + payment_days; never before the invoice date."""
    issued = parsed.get("issue_date")
    if not raw:
        return (issued if isinstance(issued, date) else ctx.run_date) + timedelta(days=ctx.payment_days)
    value = parse_iso_date(raw)
    if isinstance(issued, date) and value < issued:
        raise FieldError(f"{raw} is before the invoice date {issued}")
    return value


def parse_address(raw: str, _d: str, _c: BatchContext, _p: dict[str, object]) -> tuple[str, ...]:
    """Address lines separated by ' | ' or by newlines inside quotes; no blank line."""
    _text(raw, required=True)
    lines = tuple(part.strip() for part in _ADDRESS_SPLIT.split(raw))
    if any(not part for part in lines):
        raise FieldError("an address line is empty (separate lines with ' | ' or a newline inside quotes)")
    return lines


def _field(check: Callable[[str], T], raw: str) -> T:
    """Run one of the configuration's field checks; its message becomes the row's problem."""
    try:
        return check(raw)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def _validated(check: Callable[[str], str], raw: str) -> str | None:
    """An optional field: empty is None, anything else must pass the check."""
    return _field(check, raw) if raw else None


def parse_decimal(raw: str, delimiter: str) -> Decimal:
    """A plain decimal: digits, one decimal mark ('.', or ',' with the ';' delimiter), no grouping."""
    text = raw.replace(",", ".", 1) if delimiter == ";" and "." not in raw else raw
    value = plain_decimal(text)
    if value is not None:
        return value
    if re.fullmatch(r"-?[0-9]{1,3}([ ,.'\u00a0\u202f][0-9]{3})+([.,][0-9]+)?", raw):
        raise FieldError(f"{raw!r} has a thousands separator: write digits only, like 1234.50")
    mark = "'.' (or ',' since the delimiter is ';')" if delimiter == ";" else "'.'"
    raise FieldError(f"{raw!r} is not a decimal number (digits with {mark} as decimal mark)")


def _signed(raw: str) -> bool:
    """A quantity, price or rate written with a sign: "-0.00" is not a zero someone meant, it
    is a negative number whose digits were lost or a typo, and `plain_decimal` drops its sign."""
    return raw.startswith(("-", "+"))


def parse_quantity(raw: str, delimiter: str, _c: BatchContext, _p: dict[str, object]) -> Decimal:
    """Quantity: decimal > 0, default 1."""
    if not raw:
        return Decimal(1)
    value = parse_decimal(raw, delimiter)
    if value <= 0 or _signed(raw):
        raise FieldError(f"{raw!r} must be greater than 0 (corrections are credit notes)")
    problem = decimals_problem(value, LINE_QUANTITY_DECIMALS, "quantity")
    if problem:
        raise FieldError(problem)
    return value


def parse_unit_price(raw: str, delimiter: str, _c: BatchContext, parsed: dict[str, object]) -> Decimal:
    """Unit price excl. VAT: decimal >= 0, and quantity x price within what can be invoiced."""
    if not raw:
        raise FieldError("required: must not be empty")
    value = parse_decimal(raw, delimiter)
    if value < 0 or _signed(raw):
        raise FieldError(f"{raw!r} is negative: a unit price is 0 or more (refunds are credit notes)")
    quantity = parsed.get("quantity")
    problem = line_amount_problem(quantity if isinstance(quantity, Decimal) else Decimal(1), value)
    if problem:
        raise FieldError(problem)
    return value


def parse_vat_rate(raw: str, delimiter: str, ctx: BatchContext, _p: dict[str, object]) -> Decimal:
    """VAT rate in percent; for a French seller one of 0, 2.1, 5.5, 10, 20."""
    if not raw:
        return ctx.default_vat_rate
    if raw.endswith("%"):
        raise FieldError(f"{raw!r}: write the rate without '%', like 20 or 5.5")
    value = parse_decimal(raw, delimiter)
    if _signed(raw):
        raise FieldError(f"{raw!r}: a VAT rate is written without a sign, like 20 or 0")
    try:
        return check_vat_rate(value, ctx.seller_country, shown=raw)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def parse_currency(raw: str, _d: str, ctx: BatchContext, _p: dict[str, object]) -> str:
    """ISO 4217, and the batch client's own currency (one currency per seller, ZIP and manifest)."""
    if not raw:
        return ctx.currency
    _field(check_currency, raw)
    if raw != ctx.currency:
        raise FieldError(f"{raw} differs from the batch client's currency {ctx.currency}: "
                         "one batch client invoices in one currency")
    return raw


def _optional(check: Callable[[str], str]) -> Parser:
    return lambda raw, _d, _c, _p: _validated(check, raw)


PARSERS: dict[str, Parser] = {
    "reference": parse_reference,
    "date": parse_date,
    "customer_name": lambda raw, _d, _c, _p: _text(raw, required=True),
    "customer_address": parse_address,
    "customer_email": _optional(check_email),
    "customer_country": lambda raw, _d, c, _p: _validated(check_country, raw) or c.seller_country,
    "customer_vat_id": _optional(check_vat_id),
    "customer_siren": _optional(check_siren),
    "description": lambda raw, _d, _c, _p: _text(raw, required=True),
    "quantity": parse_quantity,
    "unit_price": parse_unit_price,
    "vat_rate": parse_vat_rate,
    "currency": parse_currency,
    "due_date": parse_due_date,
}
# BatchRow field names differ from two column names.
_FIELD_OF = {"date": "issue_date"}


def template_header(delimiter: str = ",") -> str:
    """The header line of a CSV file with every column, for `facturier batch --template`."""
    return delimiter.join(COLUMNS)
