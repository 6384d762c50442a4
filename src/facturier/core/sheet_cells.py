"""The cells of a receivables sheet (core/sheets.py): each rule turns one cell into a value
or raises ValueError with the message to show, without any I/O.

Cells are what the source gives: numbers and serial-number dates from the Sheets API, text
from a CSV. Numbers and dates are ASCII: other scripts' digits (Arabic-Indic, Devanagari,
full-width) are refused, never read as a value; a date with a time must be a whole ISO
date-time (`2026-11-01T09:30`, not `2026-11-01Tgarbage`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from facturier.core.money import ZERO, quantize
from facturier.core.schedule import day_in_range

LANGUAGES = ("fr", "en")  # those of the reminder templates
STATUSES = ("overdue", "open", "paid", "draft", "void", "cancelled", "canceled")
SERIAL_EPOCH = date(1899, 12, 30)  # day 0 of Google Sheets' and Excel's serial dates
_FLOAT_NOISE = Decimal("0.000001")
_NUMERIC_DATE = re.compile(r"(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII)
_BUSINESS = {"yes": True, "y": True, "true": True, "1": True, "b2b": True, "business": True,
             "no": False, "n": False, "false": False, "0": False, "b2c": False, "consumer": False}
_TEXT_FORMATS = ("%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y",
                 "%d-%b-%Y", "%d-%b-%y")
_PLAIN_AMOUNT = re.compile(r"\d+([.,]\d+)?", re.ASCII)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_status(value: Any) -> str:
    status = cell_text(value).lower()
    if status not in STATUSES:
        raise ValueError(f"{cell_text(value)!r} is not a status: {', '.join(STATUSES[:6])}")
    return status


def parse_language(value: Any) -> str:
    """`fr`, `en` (any case, a region such as en-US or fr_FR allowed)."""
    text = cell_text(value)
    code = re.split(r"[-_]", text.lower(), maxsplit=1)[0]
    if code not in LANGUAGES:
        raise ValueError(f"{text!r} is not a language of the reminder templates ({', '.join(LANGUAGES)})")
    return code


def parse_business(value: Any) -> bool:
    """Whether the client is a business: yes/no, true/false, 1/0, b2b/b2c."""
    if isinstance(value, bool):
        return value
    text = cell_text(value)
    if text.lower() not in _BUSINESS:
        raise ValueError(f"{text!r} is not yes or no (is the client a business?)")
    return _BUSINESS[text.lower()]


def ascii_digits(text: str) -> str:
    """`text` if every digit in it is 0-9; a ValueError naming another script's digit."""
    if not text.isascii():
        for char in text:
            if not char.isascii() and (char.isdigit() or unicodedata.category(char) == "Nd"):
                raise ValueError(f"{text!r} has the digit {char!r} ({unicodedata.name(char, 'DIGIT')}): "
                                 "write numbers and dates with the digits 0-9")
    return text


def parse_stage(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a stage (a whole number of days, e.g. 14)")
    if isinstance(value, (int, float)) and float(value).is_integer() and value > 0:
        return int(value)
    text = ascii_digits(cell_text(value))
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"{text!r} is not a stage (a whole number of days, e.g. 14)")


def parse_amount(value: Any, currency: str) -> Decimal:
    """A positive amount in `currency`: a number cell, or plain text ('1234.50', '1234,50')."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest text that reads back as this float
        near = quantize(amount, currency)
        if abs(near - amount) < _FLOAT_NOISE:
            amount = near
    else:
        text = ascii_digits(cell_text(value))
        if not _PLAIN_AMOUNT.fullmatch(text):
            raise ValueError(f"{text!r} is not a plain amount (digits and one '.' or ',' as decimal "
                             "mark; no currency sign or thousands separator)")
        amount = Decimal(text.replace(",", "."))
    try:
        rounded = quantize(amount, currency)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None
    if rounded != amount:
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    if rounded <= ZERO:
        raise ValueError(f"{amount} is not a positive amount (a paid row has status paid)")
    return rounded


def parse_date(value: Any) -> date:
    """A date cell: a serial number (days since 1899-12-30), ISO text, or a formatted date,
    within the supported range (0001-01-01 is a placeholder, not a due date)."""
    return day_in_range(_cell_date(value))


def _cell_date(value: Any) -> date:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, (int, float)):
        if not 1 <= value < 2958466:
            raise ValueError(f"{value!r} is not a date serial number (days since 1899-12-30)")
        return SERIAL_EPOCH + timedelta(days=int(value))  # a fraction is the time of day
    text = ascii_digits(cell_text(value))
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATE_TIME.fullmatch(text):
            return datetime.fromisoformat(text).date()
        if re.match(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
            raise ValueError(f"{text!r} is not a date (an ISO date, 2026-10-15, or date-time, "
                             "2026-10-15T09:30, and nothing after it)")
        return _formatted_date(text)
    except ValueError as exc:
        if "ambiguous" in str(exc) or "is not a date" in str(exc):
            raise
        raise ValueError(f"{text!r} is not a date: {exc}") from None


def _formatted_date(text: str) -> date:
    match = _NUMERIC_DATE.fullmatch(text)
    if match:
        a, b, c = (int(g) for g in match.groups())
        if len(match.group(1)) == 4:
            return date(a, b, c)  # 2026/10/15
        if len(match.group(3)) != 4:
            raise ValueError(f"{text!r} is not a date with a four-digit year")
        if a > 12 or a == b:
            return date(c, b, a)  # day first
        if b > 12:
            return date(c, a, b)  # month first
        raise ValueError(f"{text!r} is ambiguous (day/month or month/day?): write it as "
                         f"{c:04d}-{b:02d}-{a:02d} or {c:04d}-{a:02d}-{b:02d}, or format the column as a date")
    for pattern in _TEXT_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use 2026-10-15, 15 Oct 2026, or a date cell)")
