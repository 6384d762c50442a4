"""Bank statements: the common transaction record, format detection and the adapter registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from facturier.core.errors import InputError

FORMATS = ("camt053", "ofx", "mt940", "csv")


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One credit on a statement; `currency` is None when the file does not say (CSV)."""

    date: date
    amount: Decimal
    currency: str | None
    text: str
    bank_id: str | None
    counterparty: str


def detect_format(content: bytes) -> str:
    """Guess the format from the content: XML camt.053, OFX header, MT940 tags, else CSV."""
    head = content[:4096].decode("utf-8", errors="replace")
    if "camt.053" in head:
        return "camt053"
    if "OFXHEADER" in head or "<OFX>" in head.upper():
        return "ofx"
    if ":20:" in head and (":60F:" in head or ":61:" in head):
        return "mt940"
    return "csv"


def parse_statement(content: bytes, fmt: str, csv_config: Any = None) -> list[BankTransaction]:
    """Every credit of a statement in the given format."""
    parser = _parsers().get(fmt)
    if parser is None:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "csv":
        from facturier.adapters.bank_csv import parse_csv

        return parse_csv(content, csv_config)
    return parser(content)


def _parsers() -> dict[str, Callable[[bytes], list[BankTransaction]]]:
    # Imported lazily: each adapter pulls in its own library.
    from facturier.adapters.bank_camt import parse_camt053
    from facturier.adapters.bank_mt940 import parse_mt940
    from facturier.adapters.bank_ofx import parse_ofx

    return {"camt053": parse_camt053, "ofx": parse_ofx, "mt940": parse_mt940, "csv": lambda c: []}
