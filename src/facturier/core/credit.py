"""Credit note arithmetic: what remains creditable per VAT rate, and how a credit is spread.

An invoice is credited rate by rate, because its VAT was computed rate by rate:
- what remains creditable at a rate = the invoice's base and VAT at that rate minus the base
  and VAT at that rate of every earlier credit note on it (each as its document rounded it);
- `split_credit` spreads an amount A incl. VAT so that every rate gives up the same fraction
  A / R of what remains at it (R = all that remains): the credited bases are pro rata to the
  remaining bases, which are the invoice's bases while nothing was credited;
- rounding (largest remainder): each rate's part is its exact share rounded down or up to the
  minor unit, choosing the parts that sum exactly to A with the smallest total distance to
  the exact shares, so the units left over go to the largest fractional parts. A part must be
  base + VAT of a real base with the VAT rounded as on every document (`vat_for`); some totals
  have no such base (0.03 at 20 %: base 0.02 gives 0.02, base 0.03 gives 0.04), so a part may
  instead take the unit on its other side, never more than one unit from its exact share and
  never more than remains at its rate; among the choices that add up, one that leaves every
  rate's remainder creditable in one note (its VAT = VAT of its base) is preferred; when no
  choice adds up, the amount is refused with the nearest amounts that can be credited;
- `credit_lines` credits given lines of the invoice in full, each at most once, and never more
  at a rate than remains creditable there.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product

from facturier.core.errors import InputError
from facturier.core.invoice import Line, compute_totals, vat_for
from facturier.core.money import ZERO, from_minor, minor_exponent, quantize, to_minor

# How far `nearest_splittable` looks on each side, in minor units. Measured on random 2-4 rate
# invoices, about 1.5 % of amounts have no exact split, and nearly all of them have one a
# single unit away; the bound only keeps a hopeless search short.
SEARCH_UNITS = 100


@dataclass(frozen=True, slots=True)
class RateAmounts:
    """Base excl. VAT and VAT at one VAT rate (of an invoice, a credit note or a remainder)."""

    rate: Decimal
    base: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.base + self.vat


def remaining_by_rate(
    invoiced: Iterable[RateAmounts], credited: Iterable[RateAmounts]
) -> tuple[RateAmounts, ...]:
    """What remains creditable at each rate: the invoice's amounts minus the credited ones, by rate."""
    left = {row.rate: row for row in invoiced}
    for row in credited:
        was = left.get(row.rate, RateAmounts(row.rate, ZERO, ZERO))
        left[row.rate] = RateAmounts(row.rate, was.base - row.base, was.vat - row.vat)
    return tuple(left[rate] for rate in sorted(left))


def base_for_total(total: Decimal, rate: Decimal, currency: str) -> Decimal | None:
    """The base whose base + rounded VAT is exactly `total`, or None when no base gives it."""
    unit = minor_exponent(currency)
    # base + VAT(base) grows by one or two units per unit of base, so the base is within one
    # unit of the exact quotient; two units each side is a safe margin.
    guess = quantize(total * 100 / (100 + rate), currency)
    for step in (0, -1, 1, -2, 2):
        base = guess + step * unit
        if base >= ZERO and base + vat_for(base, rate, currency) == total:
            return base
    return None


def _options(left: RateAmounts, amount: int, whole: int, currency: str) -> list[tuple[int, RateAmounts]]:
    """(distance to the exact share, part) for each part of one rate within one unit of its share.

    Units are minor units; the distance is scaled by `whole` so it stays an exact integer.
    """
    cap = to_minor(left.total, currency)
    exact = amount * cap
    floor, rest = divmod(exact, whole)
    targets = (floor, floor + 1) if rest else (floor - 1, floor, floor + 1)
    options: list[tuple[int, RateAmounts]] = []
    for units in targets:
        if not 0 <= units <= cap:
            continue
        total = from_minor(units, currency)
        base = base_for_total(total, left.rate, currency)
        if base is not None:
            options.append((abs(units * whole - exact), RateAmounts(left.rate, base, total - base)))
    return options


def _best_split(
    remaining: Sequence[RateAmounts], amount: Decimal, currency: str
) -> tuple[RateAmounts, ...] | None:
    """The parts closest to the exact shares that sum to `amount`, or None when none do."""
    open_rates = [row for row in remaining if row.total > ZERO]
    whole = sum(to_minor(row.total, currency) for row in open_rates)
    wanted = to_minor(amount, currency)
    if not 0 < wanted <= whole:
        return None
    per_rate = [_options(row, wanted, whole, currency) for row in open_rates]
    best: tuple[tuple[int, int], tuple[RateAmounts, ...]] | None = None
    # At most three options per rate and a handful of rates: trying every combination is cheap
    # and plainly correct.
    for combo in product(*per_rate):
        parts = tuple(part for _, part in combo)
        if sum((p.total for p in parts), ZERO) != amount:
            continue
        stuck = sum(not _leaves_creditable(row, part, currency) for row, part in zip(open_rates, parts))
        key = (stuck, sum(d for d, _ in combo))
        if best is None or key < best[0]:
            best = (key, parts)
    return None if best is None else tuple(p for p in best[1] if p.total > ZERO)


def _leaves_creditable(left: RateAmounts, part: RateAmounts, currency: str) -> bool:
    """Whether what stays at the rate after `part` is still base + VAT(base), creditable in one go.

    Rounding the part's VAT can leave a remainder whose VAT is a unit off its base's VAT (at
    10 %, 43.89 - 0.06 leaves base 39.85 with VAT 3.98, and no base gives 43.83); such a rest
    can only be credited in two notes, so a split that avoids it is preferred.
    """
    base = left.base - part.base
    return left.vat - part.vat == vat_for(base, left.rate, currency)


def nearest_splittable(
    remaining: Sequence[RateAmounts], amount: Decimal, currency: str
) -> tuple[Decimal | None, Decimal | None]:
    """The nearest amounts below and above `amount` that `split_credit` accepts (None if none)."""
    unit = minor_exponent(currency)

    def first(step: int) -> Decimal | None:
        for k in range(1, SEARCH_UNITS + 1):
            candidate = amount + step * k * unit
            if _best_split(remaining, candidate, currency) is not None:
                return candidate
        return None

    return first(-1), first(1)


def split_credit(
    remaining: Sequence[RateAmounts], amount: Decimal, currency: str
) -> tuple[RateAmounts, ...]:
    """Spread `amount` incl. VAT over the rates pro rata to what remains; the parts sum to it exactly."""
    parts = _best_split(remaining, amount, currency)
    if parts is not None:
        return parts
    left = sum((row.total for row in remaining), ZERO)
    if not ZERO < amount <= left:
        raise InputError(f"the credit amount must be between 0 and {left}, not {amount}")
    below, above = nearest_splittable(remaining, amount, currency)
    rates = [row.rate for row in remaining if row.total > ZERO]
    into = (f"a base and {rates[0]}% VAT" if len(rates) == 1
            else "bases and VAT at " + ", ".join(f"{rate}%" for rate in rates))
    tries = " or ".join(str(a) for a in (below, above) if a is not None)
    raise InputError(f"{amount} cannot be split exactly into {into}" + (f"; try {tries}" if tries else ""))


def credit_lines(
    lines: Sequence[Line], chosen: Sequence[int], already: Collection[int],
    remaining: Sequence[RateAmounts], currency: str, vat_applies: bool,
) -> tuple[Line, ...]:
    """The invoice lines numbered `chosen` (1-based), in invoice order, checked creditable."""
    seen: set[int] = set()
    for number in chosen:
        if not 1 <= number <= len(lines):
            raise InputError(f"--line {number}: the invoice has {len(lines)} line(s), numbered from 1")
        if number in seen:
            raise InputError(f"--line {number} is given twice")
        if number in already:
            raise InputError(f"line {number} was already credited by an earlier credit note")
        seen.add(number)
    picked = tuple(lines[n - 1] for n in sorted(seen))
    room = {row.rate: row.total for row in remaining}
    for row in compute_totals(picked, currency, vat_applies).vat:
        asked, left = row.base + row.amount, room.get(row.rate, ZERO)
        if asked < ZERO:  # a discount line alone: the "credit" would raise what the client owes
            raise InputError(f"the chosen lines come to {asked} {currency} at {row.rate}% VAT: a credit note "
                             "lowers what the client owes, never raises it; credit a discount line with the "
                             "lines it reduces")
        if asked > left:
            raise InputError(f"the chosen lines come to {asked} {currency} at {row.rate}% VAT, but only "
                             f"{left} remains creditable at that rate" + _discount_hint(lines, seen, row.rate))
    return picked


def _discount_hint(lines: Sequence[Line], chosen: Collection[int], rate: Decimal) -> str:
    """`; credit its discount with it (--line 4), or use --amount` when a discount line lowered the rate."""
    discounts = [str(n) for n, line in enumerate(lines, start=1)
                 if n not in chosen and line.vat_rate == rate and line.quantity * line.unit_price < ZERO]
    if not discounts:
        return ""
    return f"; credit its discount with it ({' '.join('--line ' + n for n in discounts)}), or use --amount"


def clears(remaining: Sequence[RateAmounts], parts: Sequence[RateAmounts]) -> bool:
    """Whether `parts` credit exactly what remains at every rate, base and VAT alike (a split
    can match the total yet take a unit of VAT for a unit of base: 75.16 at 20 % is base 62.63 +
    VAT 12.53, when what remains is 62.64 + 12.52)."""
    left = {row.rate: (row.base, row.vat) for row in remaining if row.total > ZERO}
    return left == {part.rate: (part.base, part.vat) for part in parts if part.total > ZERO}


def clearing_amount(remaining: Sequence[RateAmounts], currency: str) -> Decimal | None:
    """The largest amount below all that remains whose credit leaves a rest that one more
    credit note clears exactly (None if none is found within `SEARCH_UNITS`)."""
    unit = minor_exponent(currency)
    whole = sum((row.total for row in remaining), ZERO)
    for k in range(1, SEARCH_UNITS + 1):
        candidate = whole - k * unit
        parts = _best_split(remaining, candidate, currency) if candidate > ZERO else None
        if parts is None:
            continue
        taken = {part.rate: part for part in parts}
        if all(_leaves_creditable(row, taken.get(row.rate, RateAmounts(row.rate, ZERO, ZERO)), currency)
               for row in remaining if row.total > ZERO):
            return candidate
    return None
