"""Bank statements: format detection and the registry of parsers, one per format.

Every parser has the same shape, `parse(content, csv_config) -> list[BankTransaction]`
(only CSV reads the `[bank.csv]` column mapping), and is listed in `PARSERS` by hand: adding
a format means adding a module and a line here, never an import side effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from facturier.adapters.bank_camt import parse_camt
from facturier.adapters.bank_csv import parse_csv
from facturier.adapters.bank_mt940 import parse_mt940
from facturier.adapters.bank_ofx import parse_ofx
from facturier.adapters.bank_record import BankTransaction, ProblemCollector, StatementProblems
from facturier.core.errors import InputError
from facturier.core.schedule import day_in_range

__all__ = ["FORMATS", "PARSERS", "BankTransaction", "StatementProblems", "detect_format", "parse_statement"]

Parser = Callable[[bytes, Any], list[BankTransaction]]

# camt052 and camt054 share the CAMT parser: reports, statements and notifications hold the
# same <Ntry> records, only their container differs (<Rpt>, <Stmt>, <Ntfctn>).
PARSERS: dict[str, Parser] = {
    "camt053": parse_camt,
    "camt054": parse_camt,
    "camt052": parse_camt,
    "ofx": parse_ofx,
    "mt940": parse_mt940,
    "csv": parse_csv,
}
FORMATS = tuple(PARSERS)

# A SWIFT block header ({1:...}) or a line starting with a tag such as :20:, :25:, :28C:,
# :60F:, :61: or :86: (fragments of a statement included, so that they reach the MT940
# parser and its message rather than the CSV reader).
_MT940_LINE = re.compile(r"^(?:\{1:|:[0-9]{2}[A-Z]?:)", re.MULTILINE)
_CAMT = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])|<(BkToCstmr(?:Stmt|DbtCdtNtfctn|AcctRpt))\b")
_CAMT_ROOTS = {"BkToCstmrStmt": "053", "BkToCstmrDbtCdtNtfctn": "054", "BkToCstmrAcctRpt": "052"}


def detect_format(content: bytes) -> str:
    """Guess the format from the content: CAMT XML, OFX, MT940 tags, else CSV."""
    head = content[:8192].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if "OFXHEADER" in head[:512] or "<OFX>" in head.upper():
        return "ofx"
    camt = _CAMT.search(head)
    if camt is not None:
        return "camt" + (camt.group(1) or _CAMT_ROOTS[camt.group(2)])
    if head.startswith("<"):
        raise InputError("an XML file that is neither CAMT (camt.052/053/054) nor OFX; "
                         "give --format if you know its format")
    if _MT940_LINE.search(head):
        return "mt940"
    return "csv"


def parse_statement(content: bytes, fmt: str, csv_config: Any = None,
                    check: Callable[[BankTransaction], None] | None = None) -> list[BankTransaction]:
    """Every credit of a statement in the given format.

    `check` (the caller's rules: no future date...) runs on every credit read; the problems
    of every line, unreadable or refused by `check`, are raised together (StatementProblems).
    """
    parser = PARSERS.get(fmt)
    if parser is None:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        found, problems = parser(content, csv_config), ProblemCollector()
    except StatementProblems as exc:  # the lines read still get their checks, in the same list
        found, problems = list(exc.found), ProblemCollector(exc)
    for tx in found:
        with problems.line():
            _check_date(tx)
            if check is not None:
                check(tx)
    problems.check(found)
    return found


def _check_date(tx: BankTransaction) -> None:
    """A placeholder date (0001-01-01) would be a payment no invoice can match."""
    try:
        day_in_range(tx.date)
    except ValueError as exc:
        raise InputError(f"{tx.where}: statement transaction: {exc}" if tx.where else str(exc)) from None
