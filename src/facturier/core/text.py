"""Text that leaves the product: names made safe to print, cells made safe for spreadsheets.

Pure functions, no I/O. `printable` is applied wherever an outside name (a file name, a
cell) is printed, logged or written to an errors file, so a newline in a file name can never
forge a line. `spreadsheet_cell` neutralises formula injection in CSV exports, as OWASP
recommends (https://owasp.org/www-community/attacks/CSV_Injection).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

# Control, format, surrogate, private-use, unassigned and line/paragraph separator characters:
# the ones a terminal or a log reader may act on or show as something else.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# A spreadsheet treats a cell starting with one of these as a formula (OWASP's list).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _escape(char: str) -> str:
    """The repr-style escape of one character: \\n, \\t, \\r, \\xNN, \\uNNNN or \\UNNNNNNNN."""
    return repr(char)[1:-1]  # repr escapes exactly the characters it finds unprintable


# Zero-width non-joiner and joiner: part of the spelling of Persian and Indic names
# ("می‌خواهم", "क्‍ष"), where they sit between two letters (or a letter and its marks).
ZERO_WIDTH_JOINERS = frozenset("\u200c\u200d")


def _letter_or_mark(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def joins_letters(text: str, index: int) -> bool:
    """Whether text[index] is a ZWNJ or ZWJ between two letters or marks: spelling, not a trick.

    Anywhere else (at an end, next to a space, a digit, another joiner or an emoji) it is an
    invisible character like any other format character.
    """
    return (text[index] in ZERO_WIDTH_JOINERS and 0 < index < len(text) - 1
            and _letter_or_mark(text[index - 1]) and _letter_or_mark(text[index + 1]))


def nfc(text: str) -> str:
    """The text in Unicode's composed form (NFC): "é" typed as one character or as "e" and an
    accent are the same id or key."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def printable(text: str) -> str:
    """`text` with every control or invisible character escaped repr-style, on one line.

    Lone surrogates (undecodable bytes of a file name, kept by Python's surrogateescape) are
    escaped too, so the result always encodes to UTF-8. A joiner between two letters
    (`joins_letters`) is part of the name and stays as it is.
    """
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _UNSAFE_CATEGORIES and not joins_letters(text, i)
                   else c for i, c in enumerate(text))


def printable_lines(text: str) -> str:
    """`printable` line by line: the message's own line breaks stay, any other control is escaped."""
    return "\n".join(printable(line) for line in text.split("\n"))


def is_utf8(text: str) -> bool:
    """Whether `text` encodes to UTF-8 (False for a file name holding undecodable bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# A file name part made of a reference stays this many UTF-8 bytes at most (file systems cap a
# name at 255 bytes; a stamp, a counter and `.eml` come with it).
MAX_FILE_REF_BYTES = 100


def file_safe_ref(ref: str) -> str:
    """A reference (an invoice number, a sheet's invoice_id) as part of a file name: letters,
    digits, '-', '_' and '.'; a long one is cut, with 16 hex digits of its SHA-256, so two long
    references never share a name and a 300-character invoice_id never fails a write."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in ref)
    if len(safe.encode()) <= MAX_FILE_REF_BYTES:
        return safe
    cut = safe.encode()[:MAX_FILE_REF_BYTES - 17].decode(errors="ignore")  # a split letter goes
    return f"{cut}-{hashlib.sha256(ref.encode()).hexdigest()[:16]}"


def spreadsheet_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character gets a `'` prefix.

    For text columns only: amounts must stay numbers, so callers never pass them here (a
    credit note's -100.00 is a number, not a formula).
    """
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem of an input file, located by physical line and column name."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        # Escaped: a newline in a file name or a cell must not forge another problem line.
        return printable(f"{self.file}:{self.line}:{self.column}: {self.message}")
