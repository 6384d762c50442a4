"""Usage quantities and their monthly aggregates, pure (no I/O).

A usage quantity is a plain decimal, zero or more, with at most 4 decimals. The ledger
state keeps quantities as integer counts of 1/10,000 ("units"): sums and maxima over a
million records stay exact and cheap, and the checkpoint holds only ints.

One `Aggregate` per client, metric and month holds what every aggregation needs:
`sum`, `count`, `max`, `latest` (the quantity of the record with the latest date, the
later-recorded one on a tie) and `unique` (the distinct `key` values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from facturier.core.money import LINE_QUANTITY_DECIMALS

Aggregation = Literal["sum", "count", "max", "unique", "latest"]
QUANTITY_DECIMALS = LINE_QUANTITY_DECIMALS
SCALE: int = 10_000  # 10 ** QUANTITY_DECIMALS
# Far beyond any real meter, far below the 28 digits of Decimal arithmetic.
MAX_QUANTITY = Decimal(10) ** 12
_QUANTITY_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")
METRIC_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MAX_ID_LENGTH = 200
MAX_KEY_LENGTH = 200


def quantity_problem(text: str) -> str | None:
    """Why `text` is not a usage quantity, or None: plain digits, '.', <= 4 decimals, >= 0."""
    if text.startswith("-") and _QUANTITY_TEXT.fullmatch(text[1:]):
        return f"{text!r} is negative; usage quantities are 0 or more"
    if not _QUANTITY_TEXT.fullmatch(text):
        return f"{text!r} is not a plain decimal quantity like \"12.5\" (digits, '.' as decimal mark)"
    decimals = text.partition(".")[2]
    if len(decimals.rstrip("0")) > QUANTITY_DECIMALS:
        return f"{text!r} has more than {QUANTITY_DECIMALS} decimals"
    if Decimal(text) >= MAX_QUANTITY:
        return f"{text!r} is too large (usage quantities stay below {MAX_QUANTITY:,})"
    return None


def to_units(text: str) -> int:
    """A valid quantity text as an integer count of 1/10,000 (no Decimal: a million a second)."""
    if "." not in text:
        return int(text) * SCALE
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    return int(whole) * SCALE + (int(decimals.ljust(QUANTITY_DECIMALS, "0")) if decimals else 0)


def from_units(units: int) -> Decimal:
    """Units back as a Decimal quantity, without trailing zeros ("12.5", "3")."""
    value = Decimal(units).scaleb(-QUANTITY_DECIMALS)
    return plain(value)


def plain(value: Decimal) -> Decimal:
    """A Decimal without exponent notation or trailing zeros (12.50 -> 12.5, 1E+3 -> 1000)."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


@dataclass(frozen=True, slots=True)
class Aggregate:
    """What one client's records of one metric in one month add up to (quantities in units)."""

    sum: int = 0
    count: int = 0
    max: int = 0
    latest: int = 0
    unique: int = 0

    def value(self, aggregation: Aggregation) -> Decimal:
        """The quantity a line bills under an aggregation."""
        if aggregation == "count":
            return Decimal(self.count)
        if aggregation == "unique":
            return Decimal(self.unique)
        units = {"sum": self.sum, "max": self.max, "latest": self.latest}[aggregation]
        return from_units(units)


EMPTY = Aggregate()
