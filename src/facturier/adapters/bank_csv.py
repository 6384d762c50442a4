"""CSV bank exports, read through the `[bank.csv]` column mapping of facturier.toml.

A CSV says neither the currency nor, usually, which rows are credits: a leading minus is a
debit and is skipped; every other amount goes through the one amount rule
(`core.money.received_amount`), after removing the digit grouping banks print (spaces, and
dots when the decimal separator is a comma). The currency's decimals are checked once the
credit is matched to a client, whose currency is then known.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from facturier.adapters.bank_record import BankTransaction, ProblemCollector
from facturier.core.errors import InputError
from facturier.core.money import received_amount
from facturier.core.text import printable

_ZERO = re.compile(r"\+?0*(?:[.,]0*)?")
# Dots grouping thousands before a decimal comma: 1.000.000,00 (never 827.88 nor 1.5).
_DOT_GROUPS = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]*)?")


def parse_csv(content: bytes, cfg: Any) -> list[BankTransaction]:
    """Rows with a positive amount; every problem names its line."""
    if cfg is None:
        raise InputError("CSV statements need a [bank.csv] column mapping in facturier.toml")
    try:
        text = content.decode(cfg.encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:  # name the line: a byte offset is no help in a long file
        line = content[:exc.start].count(b"\n") + 1
        raise InputError(f"CSV statement line {line}: not valid {cfg.encoding} text (byte "
                         f"{content[exc.start:exc.start + 1].hex()!r} cannot be decoded); set [bank.csv] encoding "
                         "to the file's encoding (latin-1, cp1252...)") from None
    except LookupError as exc:
        raise InputError(f"CSV statement: not valid {cfg.encoding} text ({exc}); "
                         "set [bank.csv] encoding to the file's encoding") from None
    # newline=None: lines may end in LF, CRLF or a lone CR (a spreadsheet saved on a Mac)
    reader = csv.DictReader(io.StringIO(text, newline=None), delimiter=cfg.delimiter)
    needed = [cfg.date_column, cfg.amount_column, cfg.text_column] + ([cfg.id_column] if cfg.id_column else [])
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise InputError(f"CSV statement line 1: {exc}") from None
    if not header:
        raise InputError("CSV statement: empty file, no header row")
    missing = [c for c in needed if c not in header]
    if missing:  # name what was read: a wrong delimiter or a renamed column is then plain to see
        shown = ", ".join(repr(printable(c)) for c in header[:12])
        raise InputError(f"CSV statement: missing column(s) {', '.join(missing)} (the header holds {shown}, "
                         f"split on the [bank.csv] delimiter {cfg.delimiter!r})")
    return _credits(reader, cfg, needed)


def _credits(reader: csv.DictReader[str], cfg: Any, needed: list[str]) -> list[BankTransaction]:
    """Every row's credit, once every row was read: the problems of all rows raised together."""
    out: list[BankTransaction] = []
    problems = ProblemCollector()
    rows = iter(reader)
    while True:
        try:
            row = next(rows, None)
        except csv.Error as exc:  # a field over the csv module's size limit, a stray quote
            # line_num counts the lines read before the one that failed
            problems.add(f"CSV statement line {reader.line_num + 1}: {exc}")
            break  # the reader cannot go on past it
        if row is None:
            break
        with problems.line():  # reader.line_num: the file's line, blank lines counted
            tx = _row(row, reader.line_num, cfg, needed)
            if tx is not None:
                out.append(tx)
    problems.check(out)
    return out


def _row(row: dict[str, Any], line: int, cfg: Any, needed: list[str]) -> BankTransaction | None:
    """The credit of one row, None for a debit or a zero row (whose date is not read); a bad
    amount and a bad date on one row are both named."""
    short = [c for c in needed if row.get(c) is None]
    if short:
        raise InputError(f"CSV statement line {line}: no value for column(s) {', '.join(short)}")
    problems = ProblemCollector()
    amount: Decimal | None = None
    bad_amount = False
    try:
        amount = _amount(row[cfg.amount_column], cfg.decimal_separator, line)
    except InputError as exc:
        problems.add(str(exc))
        bad_amount = True
    if amount is None and not bad_amount:
        return None
    try:
        day = datetime.strptime(row[cfg.date_column].strip(), cfg.date_format).date()
    except ValueError:
        problems.add(f"CSV statement line {line}: bad date {row[cfg.date_column]!r}")
    problems.check()
    assert amount is not None
    bank_id = row[cfg.id_column].strip() if cfg.id_column else ""
    return BankTransaction(day, amount, None, row[cfg.text_column].strip(), bank_id or None, "",
                           f"CSV statement line {line}")

def _amount(raw: str, separator: str, line: int) -> Decimal | None:
    """The credit of a row, or None for a debit or a zero row."""
    value = raw.strip().replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if separator == "," and "." in value:
        if not _DOT_GROUPS.fullmatch(value):  # 827.88 is not 82788: the mapping is wrong for this file
            raise InputError(f"CSV statement line {line}: bad amount {raw!r}: a '.' that does not group "
                             "thousands, with [bank.csv] decimal_separator = ','; is that the file's separator?")
        value = value.replace(".", "")
    if value.startswith("-") or _ZERO.fullmatch(value):
        return None
    try:
        return received_amount(value, None, "amount", decimal_mark=separator)
    except InputError:
        raise InputError(f"CSV statement line {line}: bad amount {raw!r}") from None
