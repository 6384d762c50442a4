"""CSV bank exports, read through the `[bank.csv]` column mapping of facturier.toml."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from facturier.adapters.bank import BankTransaction
from facturier.core.errors import InputError


def parse_csv(content: bytes, cfg: Any) -> list[BankTransaction]:
    """Rows with a positive amount; every problem names its line."""
    if cfg is None:
        raise InputError("CSV statements need a [bank.csv] column mapping in facturier.toml")
    try:
        text = content.decode(cfg.encoding).lstrip("\ufeff")
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"CSV statement: not valid {cfg.encoding} text ({exc}); "
                         "set [bank.csv] encoding to the file's encoding") from None
    reader = csv.DictReader(io.StringIO(text), delimiter=cfg.delimiter)
    needed = [cfg.date_column, cfg.amount_column, cfg.text_column] + ([cfg.id_column] if cfg.id_column else [])
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"CSV statement: missing column(s) {', '.join(missing)}")
    out = []
    for line, row in enumerate(reader, start=2):
        short = [c for c in needed if row.get(c) is None]
        if short:
            raise InputError(f"CSV statement line {line}: no value for column(s) {', '.join(short)}")
        amount = _amount(row[cfg.amount_column], cfg.decimal_separator, line)
        if amount <= 0:
            continue
        try:
            day = datetime.strptime(row[cfg.date_column].strip(), cfg.date_format).date()
        except ValueError:
            raise InputError(f"CSV statement line {line}: bad date {row[cfg.date_column]!r}") from None
        bank_id = row[cfg.id_column].strip() if cfg.id_column else ""
        out.append(BankTransaction(day, amount, None, row[cfg.text_column].strip(), bank_id or None, ""))
    return out


def _amount(raw: str, separator: str, line: int) -> Decimal:
    value = raw.strip().replace(" ", "").replace("\u00a0", "")
    if separator == ",":
        value = value.replace(".", "").replace(",", ".")
    try:
        if not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", value):
            raise InvalidOperation
        return Decimal(value)
    except InvalidOperation:
        raise InputError(f"CSV statement line {line}: bad amount {raw!r}") from None
