"""Usage files (CSV or JSONL) and usage fields: parsing and validation, nothing written.

One vocabulary with the rest of the product: a problem is `file:line:column: message`
(line: the physical line, column: the field's name, `-` for the whole line or file). A file
is checked whole, every problem collected, before a single record is journalled.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from facturier.config.fields import check_iso_date, describe_invisible, invisible_characters
from facturier.core.errors import InputError
from facturier.core.text import printable
from facturier.core.usage import MAX_ID_LENGTH, MAX_KEY_LENGTH, quantity_problem
from facturier.store.events import USAGE_FIELDS

if TYPE_CHECKING:
    from facturier.config import Workspace

REQUIRED = ("client", "metric", "quantity", "date", "id")
MAX_SHOWN = 100
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a usage file."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return printable(f"{self.file}:{self.line}:{self.column}: {self.message}")


@dataclass(frozen=True, slots=True)
class Meters:
    """What a record may name: each direct client's metrics, those counted by `key`, today."""

    metrics: dict[str, frozenset[str]]
    keyed: dict[str, frozenset[str]]  # client -> metrics aggregated as "unique"
    today: date

    @classmethod
    def of(cls, ws: Workspace, today: date) -> Meters:
        """From the workspace's client files."""
        metrics = {cid: frozenset(l.metric for l in c.lines if l.metric) for cid, c in ws.clients.items()}
        keyed = {cid: frozenset(l.metric for l in c.lines if l.metric and l.aggregation == "unique")
                 for cid, c in ws.clients.items()}
        return cls(metrics, keyed, today)


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


def check_record(fields: dict[str, Any], meters: Meters) -> tuple[list[Any] | None, list[tuple[str, str]]]:
    """The journal row [id, client, metric, quantity, date, key] of one record, or its problems
    as (column, message)."""
    problems: list[tuple[str, str]] = []
    record_id, problem = _text(fields.get("id"), "an id", MAX_ID_LENGTH)
    if problem:
        problems.append(("id", problem))
    client, problem = _text(fields.get("client"), "a client id", 100)
    if problem:
        problems.append(("client", problem))
    elif client not in meters.metrics:
        problems.append(("client", f"unknown client {client!r}: no clients/{client}.toml"))
    metric, problem = _text(fields.get("metric"), "a metric", 64)
    if problem:
        problems.append(("metric", problem))
    elif client in meters.metrics and metric not in meters.metrics[client]:
        known = ", ".join(sorted(meters.metrics[client])) or "none"
        problems.append(("metric", f"{metric!r} is not a metric billed to {client} (its lines bill: {known})"))
    quantity = _quantity(fields.get("quantity"), problems)
    day = _day(fields.get("date"), meters.today, problems)
    key, problem = _text(fields.get("key"), "a key", MAX_KEY_LENGTH, required=False)
    if problem:
        problems.append(("key", problem))
    elif key is None and client in meters.keyed and metric in meters.keyed[client]:
        problems.append(("key", f"{metric!r} counts distinct keys (aggregation = \"unique\"): every record needs one"))
    if problems:
        return None, problems
    return [record_id, client, metric, quantity, day, key], []


def _quantity(value: Any, problems: list[tuple[str, str]]) -> str | None:
    if isinstance(value, bool) or isinstance(value, float):
        problems.append(("quantity", f"{value!r} is not a decimal written as text: write \"12.5\", not a JSON "
                                     "number with a fraction (floats lose digits)"))
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


def iter_fields(name: str, kind: str, text: str) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    """(line, fields, problems of the line's shape) for every record of the file."""
    if kind == "csv":
        yield from _csv_fields(name, text)
    else:
        yield from _jsonl_fields(name, text)


def _csv_fields(name: str, text: str) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        yield 1, None, [Problem(name, 1, "-", "empty file: the first line names the columns "
                                               "client,metric,quantity,date,id[,key]")]
        return
    except csv.Error as exc:
        yield 1, None, [Problem(name, 1, "-", f"not valid CSV: {exc}")]
        return
    problems = _header_problems(name, header)
    if problems:
        yield 1, None, problems
        return
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
        if not cells:
            continue
        if len(cells) != len(header):
            yield start, None, [Problem(name, start, "-", f"the row has {len(cells)} fields but the header has "
                                                          f"{len(header)}")]
            continue
        yield start, dict(zip(header, cells)), []


def _header_problems(name: str, header: list[str]) -> list[Problem]:
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


def _jsonl_fields(name: str, text: str) -> Iterator[tuple[int, dict[str, Any] | None, list[Problem]]]:
    for number, raw in enumerate(text.split("\n"), start=1):
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
        yield number, fields, []


def validate_file(name: str, kind: str, text: str, meters: Meters) -> tuple[int, list[Problem]]:
    """(records, every problem) of a whole usage file."""
    problems: list[Problem] = []
    count = 0
    for line, fields, shape in iter_fields(name, kind, text):
        problems += shape
        if fields is None:
            continue
        count += 1
        _, found = check_record(fields, meters)
        problems += [Problem(name, line, column, message) for column, message in found]
    if not count and not problems:
        problems.append(Problem(name, 1, "-", "no usage record in the file"))
    return count, problems


def valid_rows(name: str, kind: str, text: str, meters: Meters) -> Iterator[list[Any]]:
    """The journal rows of a file `validate_file` found without problem."""
    for _, fields, _ in iter_fields(name, kind, text):
        if fields is not None:
            row, _ = check_record(fields, meters)
            if row is not None:
                yield row
