"""Usage files (CSV or JSONL) and usage fields: parsing and validation, nothing written.

One vocabulary with the rest of the product: a problem is `file:line:column: message`
(line: the physical line, column: the field's name, `-` for the whole line or file). A file
is checked whole, every problem collected, before a single record is journalled.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from facturier.config.fields import check_iso_date, describe_invisible, invisible_characters
from facturier.core.csv_syntax import KeptLines, record_syntax_problems
from facturier.core.errors import InputError
from facturier.core.text import FileProblem as Problem
from facturier.core.text import nfc, printable
from facturier.core.usage import MAX_ID_LENGTH, MAX_KEY_LENGTH, quantity_problem
from facturier.store.events import USAGE_FIELDS

if TYPE_CHECKING:
    from facturier.config import Workspace

REQUIRED = ("client", "metric", "quantity", "date", "id")
MAX_SHOWN = 100
MAX_FILE_BYTES = 1 << 30


Span = tuple[date | None, date | None]  # (from, until), None: open
MAX_AGE_YEARS = 5  # commercial claims prescribe after five years (art. L110-4 Code de commerce)


@dataclass(frozen=True, slots=True)
class Meters:
    """What a record may name: each direct client's metrics, those counted by `key`, today;
    and when each metric is billed: the client's `start_date` / `end_date`, and the `from` /
    `until` of the lines that bill it."""

    metrics: dict[str, frozenset[str]]
    keyed: dict[str, frozenset[str]]  # client -> metrics aggregated as "unique"
    today: date
    active: dict[str, Span] = field(default_factory=dict)  # client -> (start_date, end_date)
    lines: dict[tuple[str, str], tuple[Span, ...]] = field(default_factory=dict)  # (client, metric) -> lines

    @classmethod
    def of(cls, ws: Workspace, today: date) -> Meters:
        """From the workspace's client files."""
        metrics = {cid: frozenset(l.metric for l in c.lines if l.metric) for cid, c in ws.clients.items()}
        keyed = {cid: frozenset(l.metric for l in c.lines if l.metric and l.aggregation == "unique")
                 for cid, c in ws.clients.items()}
        active = {cid: (c.start_date, c.end_date) for cid, c in ws.clients.items()}
        lines: dict[tuple[str, str], tuple[Span, ...]] = {}
        for cid, c in ws.clients.items():
            for l in c.lines:
                if l.metric:
                    lines[(cid, l.metric)] = (*lines.get((cid, l.metric), ()), (l.from_, l.until))
        return cls(metrics, keyed, today, active, lines)

    def unbilled(self, client: str, metric: str, day: date) -> str | None:
        """Why usage of `metric` on `day` would never be billed to `client`, or None.

        A usage month is billed when the client has started by then (`start_date`'s month)
        and a line billing the metric is in force on the month's first day (`compose`'s rule).
        """
        start, end = self.active.get(client, (None, None))
        if start is not None and (day.year, day.month) < (start.year, start.month):
            return (f"{day} is before {client}'s start_date ({start}): usage of a month before the client "
                    "starts is never billed")
        if end is not None and day > end:
            return f"{day} is after {client}'s end_date ({end}): nothing is billed after it"
        first = day.replace(day=1)
        spans = self.lines.get((client, metric), ())
        if spans and not any((a is None or a <= first) and (b is None or first <= b) for a, b in spans):
            shown = ", ".join(f"{a or 'the start'} to {b or 'now'}" for a, b in spans)
            return (f"no line of {client} bills {metric!r} in {day:%Y-%m} (its lines bill it from {shown}): "
                    "this usage would never be billed")
        return None


def oldest_usage_day(today: date) -> date:
    """The earliest usage date taken: MAX_AGE_YEARS before today (a later date is a typo, like
    0001-01-01 or 1970-01-01, or a claim already prescribed)."""
    try:
        return today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - MAX_AGE_YEARS, day=28)


def _text(value: Any, what: str, limit: int, required: bool = True) -> tuple[str | None, str | None]:
    """(clean text, problem) of an id, key, client or metric field."""
    if value is None or value == "":
        return None, ("missing value" if required else None)
    if not isinstance(value, str):
        return None, f"expected text, got {value!r}"
    bad = invisible_characters(value)
    if bad:
        return None, describe_invisible(bad)
    if value != value.strip():
        return None, f"{value!r} has spaces around it"
    if len(value) > limit:
        return None, f"{what} is {len(value)} characters long; at most {limit}"
    return value, None


Raw = tuple[Any, Any, Any, Any, Any, Any]  # id, client, metric, quantity, date, key as read
_FAST_QUANTITY = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,4})?")


def check_record(raw: Raw, meters: Meters) -> tuple[list[Any] | None, list[tuple[str, str]]]:
    """The journal row [id, client, metric, quantity, date, key] of one record, or its problems
    as (column, message)."""
    problems: list[tuple[str, str]] = []
    record_id, problem = _text(raw[0], "an id", MAX_ID_LENGTH)
    if problem:
        problems.append(("id", problem))
    client, problem = _text(raw[1], "a client id", 100)
    if problem:
        problems.append(("client", problem))
    elif client not in meters.metrics:
        problems.append(("client", f"unknown client {client!r}: no clients/{client}.toml"))
    metric, problem = _text(raw[2], "a metric", 64)
    if problem:
        problems.append(("metric", problem))
    elif client in meters.metrics and metric not in meters.metrics[client]:
        known = ", ".join(sorted(meters.metrics[client])) or "none"
        problems.append(("metric", f"{metric!r} is not a metric billed to {client} (its lines bill: {known})"))
    quantity = _quantity(raw[3], problems)
    day = _day(raw[4], meters.today, problems)
    if day is not None and client in meters.metrics and metric in meters.metrics[client]:
        problem = meters.unbilled(client, metric, date.fromisoformat(day))
        if problem:
            problems.append(("date", problem))
    key, problem = _text(raw[5], "a key", MAX_KEY_LENGTH, required=False)
    if problem:
        problems.append(("key", problem))
    elif key is None and client in meters.keyed and metric in meters.keyed[client]:
        problems.append(("key", f"{metric!r} counts distinct keys (aggregation = \"unique\"): every record needs one"))
    if problems or record_id is None:
        return None, problems
    # Ids and keys in one Unicode form: the same record sent twice, once typed differently, is a duplicate.
    return [nfc(record_id), client, metric, quantity, day, None if key is None else nfc(key)], []


class FastCheck:
    """`check_record` for the common, valid row without a function call per field (a million
    rows a few seconds); any doubt falls back to `check_record`, which says what is wrong."""

    def __init__(self, meters: Meters) -> None:
        self.meters = meters
        self.days: dict[tuple[str, str, str], bool] = {}  # (client, metric, day) -> valid

    def __call__(self, raw: Raw) -> list[Any] | None:
        """The journal row, or None when the full check must decide."""
        record_id, client, metric, quantity, day, key = raw
        if type(record_id) is not str or type(quantity) is not str or type(day) is not str:
            return None
        metrics = self.meters.metrics.get(client)
        if metrics is None or metric not in metrics or not _FAST_QUANTITY.fullmatch(quantity):
            return None
        if not (0 < len(record_id) <= MAX_ID_LENGTH and record_id.isprintable()
                and record_id[0] != " " and record_id[-1] != " "):
            return None
        ok = self.days.get((client, metric, day))
        if ok is None:
            ok = _day(day, self.meters.today, []) is not None
            ok = ok and self.meters.unbilled(client, metric, date.fromisoformat(day)) is None
            self.days[(client, metric, day)] = ok
        if not ok:
            return None
        if key == "" or key is None:
            if metric in self.meters.keyed.get(client, ()):
                return None
            key = None
        elif type(key) is not str or len(key) > MAX_KEY_LENGTH or not key.isprintable() or key != key.strip():
            return None
        return [record_id, client, metric, quantity, day, key]


def _quantity(value: Any, problems: list[tuple[str, str]]) -> str | None:
    if isinstance(value, (bool, float)):
        problems.append(("quantity", (f"{value!r} is not a decimal written as text: write \"12.5\", not a JSON "
                                      "number with a fraction (floats lose digits)")))
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or value == "":
        problems.append(("quantity", "missing value" if value in (None, "") else f"expected a quantity, got {value!r}"))
        return None
    problem = quantity_problem(value)
    if problem:
        problems.append(("quantity", problem))
        return None
    return value


def _day(value: Any, today: date, problems: list[tuple[str, str]]) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append(("date", "missing value" if value in (None, "") else f"expected a date, got {value!r}"))
        return None
    try:
        day = check_iso_date(value)
    except ValueError as exc:
        problems.append(("date", str(exc)))
        return None
    if day > today:
        problems.append(("date", f"{value} is after today ({today}): usage is recorded once it happened"))
        return None
    if day < oldest_usage_day(today):
        problems.append(("date", (f"{value} is more than {MAX_AGE_YEARS} years before today ({today}): a typo, "
                                  "or usage too old to bill (claims prescribe after five years)")))
        return None
    return value


# -- files ----------------------------------------------------------------------------------


def file_kind(path: Path) -> str:
    """"csv" or "jsonl" from the file's suffix; anything else is refused."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise InputError(f"{printable(path.name)}: a usage file is .csv or .jsonl (one JSON object per line)")


def check_file_name(path: Path) -> None:
    """A name that would forge output lines (a newline, a bidi mark) is refused before reading."""
    bad = invisible_characters(path.name)
    if bad:
        raise InputError(f"usage file {printable(path.name)}: its name {describe_invisible(bad)}")


def decode(name: str, content: bytes) -> str:
    """The file's UTF-8 text (a BOM is allowed), or an error naming it."""
    try:
        return content.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise InputError(f"{name}:{line}:-: not valid UTF-8 text (save the file as UTF-8)") from None


def iter_fields(name: str, kind: str, text: str) -> Iterator[tuple[int, Raw | None, list[Problem]]]:
    """(line, raw record, problems of the line's shape) for every record of the file."""
    if kind == "csv":
        yield from _csv_fields(name, text)
    else:
        yield from _jsonl_fields(name, text)


def _lines(text: str) -> Iterator[str]:
    """The lines of a text, each with its newline, one at a time (a StringIO would copy the
    whole file at 4 bytes a character, a split would hold every line at once)."""
    start, end = 0, len(text)
    find = text.find
    while start < end:
        cut = find("\n", start)
        if cut < 0:
            yield text[start:]
            return
        yield text[start:cut + 1]
        start = cut + 1


def _csv_fields(name: str, text: str) -> Iterator[tuple[int, Raw | None, list[Problem]]]:
    lines = KeptLines(_lines(text))
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, None, [Problem(name, 1, "-", "empty file: the first line names the columns "
                                               "client,metric,quantity,date,id[,key]")]
        return
    except csv.Error as exc:
        yield 1, None, [Problem(name, 1, "-", f"not valid CSV: {exc}")]
        return
    problems = _header_problems(name, header) + record_syntax_problems(name, 1, lines.take(), ",", [])
    if problems:
        yield 1, None, problems
        return
    at = [header.index(c) if c in header else None for c in USAGE_FIELDS]
    i_id, i_client, i_metric, i_quantity, i_date, i_key = at
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, None, [Problem(name, start, "-", f"not valid CSV: {exc}")]
            return
        line = reader.line_num
        syntax = record_syntax_problems(name, start, lines.take(), ",", header)
        if syntax:  # RFC 4180, which csv.reader does not hold to: a bare quote, a lone CR
            yield start, None, syntax
            continue
        if not cells:
            continue
        if len(cells) != len(header):
            yield start, None, [Problem(name, start, "-", f"the row has {len(cells)} fields but the header has "
                                                          f"{len(header)}")]
            continue
        # The header check made every required index an int.
        yield start, (cells[i_id], cells[i_client], cells[i_metric], cells[i_quantity],  # type: ignore[index]
                      cells[i_date],  # type: ignore[index]
                      cells[i_key] if i_key is not None else None), []


def _header_problems(name: str, header: list[str]) -> list[Problem]:
    if len(header) == 1 and ";" in header[0]:  # a spreadsheet's "CSV (;)": one clear problem, not seven
        return [Problem(name, 1, "-", "the columns are separated by ';': a usage CSV separates them with ',' "
                                      "(and writes decimals with '.'); save it as \"CSV UTF-8 (comma delimited)\"")]
    problems = []
    for column in header:
        if column not in USAGE_FIELDS:
            problems.append(Problem(name, 1, column or "-", f"unknown column {column!r}; the columns are "
                                                            "client, metric, quantity, date, id and key (optional)"))
        elif header.count(column) > 1:
            problems.append(Problem(name, 1, column, "duplicate column"))
    for column in REQUIRED:
        if column not in header:
            problems.append(Problem(name, 1, column, "required column is missing"))
    return list(dict.fromkeys(problems))


def _jsonl_fields(name: str, text: str) -> Iterator[tuple[int, Raw | None, list[Problem]]]:
    for number, raw in enumerate(_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            fields = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield number, None, [Problem(name, number, "-", f"not valid JSON ({exc})")]
            continue
        if not isinstance(fields, dict):
            yield number, None, [Problem(name, number, "-", "expected one JSON object per line")]
            continue
        unknown = [k for k in fields if k not in USAGE_FIELDS]
        if unknown:
            yield number, None, [Problem(name, number, k, f"unknown field {k!r}") for k in unknown]
            continue
        # Every field is one value (text, or a number for the quantity): a list or an object
        # anywhere is refused here, so no check downstream ever meets one.
        nested = [k for k, v in fields.items() if isinstance(v, (list, dict))]
        if nested:
            yield number, None, [Problem(name, number, k, f"expected a single value, got a JSON "
                                         f"{'list' if isinstance(fields[k], list) else 'object'}") for k in nested]
            continue
        yield number, tuple(fields.get(c) for c in USAGE_FIELDS), []  # type: ignore[misc]


def validate_file(name: str, kind: str, text: str, meters: Meters) -> tuple[int, list[Problem]]:
    """(records, every problem) of a whole usage file."""
    problems: list[Problem] = []
    count = 0
    fast = FastCheck(meters)
    for line, raw, shape in iter_fields(name, kind, text):
        problems += shape
        if raw is None:
            continue
        count += 1
        if fast(raw) is None:
            _, found = check_record(raw, meters)
            problems += [Problem(name, line, column, message) for column, message in found]
    if not count and not problems:
        problems.append(Problem(name, 1, "-", "no usage record in the file"))
    return count, problems


def valid_rows(name: str, kind: str, text: str, meters: Meters) -> Iterator[list[Any]]:
    """The journal rows of a file `validate_file` found without problem."""
    for _, raw, _ in iter_fields(name, kind, text):
        if raw is not None:
            record_id, client, metric, quantity, day, key = raw
            # Checked whole by `validate_file` already: only the normal form is left to make (the
            # ids and keys in one Unicode form, as `check_record` gives them).
            yield [nfc(record_id), client, metric, str(quantity), day, nfc(key) if key else None]
