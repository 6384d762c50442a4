"""Pricing rules: metered lines (per unit, graduated, volume, package), minimums, proration
and discounts, as invoice lines. Pure: no I/O, no configuration types.

Every printed line is `quantity x unit price = amount`, the amount rounded once to the
currency's minor unit by `core.invoice.compute_totals` (ROUND_HALF_UP, `core.money`):
unit prices keep up to 6 decimals and quantities up to 4, so a fractional-cent tier price
is never rounded before it is multiplied. Tiers: `up_to` is inclusive, the last tier is
open (`up_to` None); a tier's units are those above the previous tier's `up_to`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Literal

from facturier.core.invoice import Line
from facturier.core.money import LINE_PRICE_DECIMALS, ZERO, quantize
from facturier.core.usage import plain

PricingModel = Literal["per_unit", "graduated", "volume", "package"]
UNIT_PRICE_DECIMALS = LINE_PRICE_DECIMALS

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "period": "{start} to {end}",
        "tier": "tier {n}: over {lo} up to {hi}",
        "tier_first": "tier {n}: up to {hi}",
        "tier_open": "tier {n}: over {lo}",
        "flat_fee": "tier {n} flat fee",
        "volume": "{q} units at tier {n}",
        "package": "{q} units in packages of {size}",
        "included": "{free} units included",
        "minimum": "minimum {minimum}: true-up",
        "prorated": "prorated {days} of {month_days} days, {start} to {end}",
        "discount": "Discount {what}",
        "discount_on": "Discount {what} on {line}",
        "correction": "Late usage for {month}: {line}",
        "charge": "{description}",
    },
    "fr": {
        "period": "du {start} au {end}",
        "tier": "tranche {n} : au-delà de {lo} jusqu'à {hi}",
        "tier_first": "tranche {n} : jusqu'à {hi}",
        "tier_open": "tranche {n} : au-delà de {lo}",
        "flat_fee": "tranche {n}, forfait",
        "volume": "{q} unités au prix de la tranche {n}",
        "package": "{q} unités par lots de {size}",
        "included": "{free} unités incluses",
        "minimum": "minimum {minimum} : complément",
        "prorated": "au prorata de {days} jours sur {month_days}, du {start} au {end}",
        "discount": "Remise {what}",
        "discount_on": "Remise {what} sur {line}",
        "correction": "Consommation tardive de {month} : {line}",
        "charge": "{description}",
    },
}


def words(language: str) -> dict[str, str]:
    """The phrases of one language (English when it has none)."""
    return WORDS.get(language, WORDS["en"])


def show(value: Decimal) -> str:
    """A quantity or bound as printed in a description: plain digits, no trailing zeros."""
    return str(plain(value))


@dataclass(frozen=True, slots=True)
class Tier:
    """Units above the previous tier's `up_to`, up to this one's (inclusive; None: no end)."""

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Pricing:
    """How a metered quantity becomes money."""

    model: PricingModel
    unit_price: Decimal | None = None  # per_unit; per package for package
    tiers: tuple[Tier, ...] = ()
    included: Decimal = ZERO  # free units, counted from the first
    package_size: Decimal | None = None
    minimum: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One printed part of a metered line: what it is, quantity, unit price."""

    detail: str
    quantity: Decimal
    unit_price: Decimal


def tier_bounds(tiers: tuple[Tier, ...]) -> list[tuple[Decimal, Decimal | None]]:
    """(lower, upper) of each tier: a tier holds the units in (lower, upper]."""
    bounds, lower = [], ZERO
    for tier in tiers:
        bounds.append((lower, tier.up_to))
        if tier.up_to is not None:
            lower = tier.up_to
    return bounds


def graduated_quantities(tiers: tuple[Tier, ...], quantity: Decimal, included: Decimal = ZERO) -> list[Decimal]:
    """The billable units in each tier: the tier's share of (included, quantity]."""
    out = []
    for lower, upper in tier_bounds(tiers):
        start = max(lower, included)
        end = quantity if upper is None else min(upper, quantity)
        out.append(max(end - start, ZERO))
    return out


def volume_tier(tiers: tuple[Tier, ...], quantity: Decimal) -> int:
    """Index of the one tier the total falls in (`up_to` inclusive)."""
    for index, (_, upper) in enumerate(tier_bounds(tiers)):
        if upper is None or quantity <= upper:
            return index
    return len(tiers) - 1  # a well-formed last tier is open; this only guards a bad spec


def package_count(quantity: Decimal, size: Decimal) -> Decimal:
    """Packages needed for `quantity` units, rounded up (0 units: 0 packages)."""
    if quantity <= 0:
        return ZERO
    return (quantity / size).to_integral_value(rounding=ROUND_CEILING)


def usage_parts(pricing: Pricing, quantity: Decimal, language: str) -> list[Part]:
    """The printed parts of a metered quantity under a pricing (no minimum; [] when nothing)."""
    w = words(language)
    billable = max(quantity - pricing.included, ZERO)
    if billable <= 0:
        return []
    if pricing.model == "per_unit":
        return [Part("", billable, pricing.unit_price or ZERO)]
    if pricing.model == "package":
        size = pricing.package_size or Decimal(1)
        detail = w["package"].format(q=show(billable), size=show(size))
        return [Part(detail, package_count(billable, size), pricing.unit_price or ZERO)]
    if pricing.model == "volume":
        index = volume_tier(pricing.tiers, quantity)
        tier = pricing.tiers[index]
        parts = [Part(w["volume"].format(q=show(billable), n=index + 1), billable, tier.unit_price)]
        if tier.flat_fee:
            parts.append(Part(w["flat_fee"].format(n=index + 1), Decimal(1), tier.flat_fee))
        return parts
    return _graduated_parts(pricing, quantity, w)


def _graduated_parts(pricing: Pricing, quantity: Decimal, w: dict[str, str]) -> list[Part]:
    parts = []
    shares = graduated_quantities(pricing.tiers, quantity, pricing.included)
    for n, (tier, (lower, upper), share) in enumerate(zip(pricing.tiers, tier_bounds(pricing.tiers), shares), 1):
        if share <= 0:
            continue
        if upper is None:
            detail = w["tier_open"].format(n=n, lo=show(lower))
        else:
            detail = w["tier" if lower else "tier_first"].format(n=n, lo=show(lower), hi=show(upper))
        parts.append(Part(detail, share, tier.unit_price))
        if tier.flat_fee:
            parts.append(Part(w["flat_fee"].format(n=n), Decimal(1), tier.flat_fee))
    return parts


def parts_amount(parts: list[Part], currency: str) -> Decimal:
    """What parts bill: each rounded once, then summed (as the invoice will)."""
    return sum((quantize(p.quantity * p.unit_price, currency) for p in parts), ZERO)


def billed_amount(pricing: Pricing, quantity: Decimal, currency: str) -> Decimal:
    """What a month's quantity bills in all, minimum included."""
    amount = parts_amount(usage_parts(pricing, quantity, "en"), currency)
    return max(amount, pricing.minimum) if pricing.minimum is not None else amount


def metered_lines(description: str, pricing: Pricing, quantity: Decimal, period: tuple[date, date],
                  language: str, vat_rate: Decimal, currency: str) -> tuple[Line, ...]:
    """The invoice lines of one metered line for one month; () when it bills nothing.

    Each part prints the period billed; a minimum not reached adds a true-up line.
    """
    w = words(language)
    head = f"{description} ({w['period'].format(start=period[0].isoformat(), end=period[1].isoformat())})"
    parts = usage_parts(pricing, quantity, language)
    amount = parts_amount(parts, currency)
    if pricing.minimum is not None and amount < pricing.minimum:
        parts.append(Part(w["minimum"].format(minimum=pricing.minimum), Decimal(1),
                          pricing.minimum - amount))
        amount = pricing.minimum
    if amount <= 0:
        return ()
    if pricing.included and parts and quantity > 0:
        first = parts[0]
        free = w["included"].format(free=show(min(pricing.included, quantity)))
        parts[0] = Part(f"{first.detail}, {free}" if first.detail else free, first.quantity, first.unit_price)
    return tuple(Line(f"{head}, {p.detail}" if p.detail else head, p.quantity, p.unit_price, vat_rate, period)
                 for p in parts)


def correction_lines(description: str, pricing: Pricing, billed: Decimal, now: Decimal, month: str,
                     period: tuple[date, date], language: str, vat_rate: Decimal,
                     currency: str) -> tuple[Line, ...]:
    """The correction for usage of an invoiced month that arrived late: what the month bills
    now minus what it billed (one line naming its period; () when nothing more is owed)."""
    more = billed_amount(pricing, now, currency) - billed_amount(pricing, billed, currency)
    if more <= 0:
        return ()
    w = words(language)
    what = (f"{description} ({w['period'].format(start=period[0].isoformat(), end=period[1].isoformat())}), "
            f"{show(billed)} -> {show(now)}")
    return (Line(w["correction"].format(month=month, line=what), Decimal(1), more, vat_rate, period),)


# -- proration -----------------------------------------------------------------------------


def cumulative_share(amount: Decimal, day: int, month_days: int, currency: str) -> Decimal:
    """The part of a month's amount earned by the end of day `day` (0 to month_days), rounded."""
    return quantize(amount * day / month_days, currency)


def prorated_amount(amount: Decimal, first: int, last: int, month_days: int, currency: str) -> Decimal:
    """A month's amount for days first..last (1-based, inclusive).

    Computed as the difference of two rounded cumulative shares, so the parts of any split of
    a month add up exactly to its whole amount, and the whole month is the whole amount.
    """
    return (cumulative_share(amount, last, month_days, currency)
            - cumulative_share(amount, first - 1, month_days, currency))


def prorated_line(line: Line, first: date, last: date, month_days: int, language: str,
                  currency: str) -> Line:
    """A recurring line for part of its month: 1 x the prorated amount, the days named."""
    full = quantize(line.quantity * line.unit_price, currency)
    part = prorated_amount(full, first.day, last.day, month_days, currency)
    days = last.day - first.day + 1
    what = words(language)["prorated"].format(days=days, month_days=month_days, start=first.isoformat(),
                                               end=last.isoformat())
    quantity = "" if line.quantity == 1 else f"{show(line.quantity)} x {line.unit_price}, "
    return Line(f"{line.description} ({quantity}{what})", Decimal(1), part, line.vat_rate, (first, last))


# -- discounts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discount:
    """A percentage or a fixed amount off some lines (excl. VAT)."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    line: str | None = None  # the line it applies to (its description or metric); None: all


def discount_lines(discount: Discount, targets: tuple[Line, ...], currency: str, language: str) -> tuple[Line, ...]:
    """Discount lines (quantity -1 x a positive price) per VAT rate of the lines it applies to.

    Never more than those lines bill: a fixed discount is capped at their total and split
    over their VAT rates in proportion to each rate's base, the last rate taking the rest
    (never more than the discount in all, however the shares round).
    """
    bases: dict[Decimal, Decimal] = {}
    for line in targets:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + quantize(line.quantity * line.unit_price, currency)
    bases = {rate: base for rate, base in sorted(bases.items()) if base > 0}
    total = sum(bases.values(), ZERO)
    if total <= 0:
        return ()
    if discount.percent is not None:
        shares = {rate: quantize(base * discount.percent / 100, currency) for rate, base in bases.items()}
        what = f"{show(discount.percent)} %"
    else:
        off = min(discount.amount or ZERO, total)
        shares, left = {}, off
        rates = list(bases)
        for rate in rates[:-1]:
            # capped at what is left: shares rounded up at several rates could add up to more
            # than the discount (0.05 over four rates was 3 x 0.02 = 0.06)
            shares[rate] = min(quantize(off * bases[rate] / total, currency), left)
            left -= shares[rate]
        shares[rates[-1]] = left
        what = f"{discount.amount} {currency}"
    w = words(language)
    label = w["discount_on"].format(what=what, line=discount.line) if discount.line else w["discount"].format(what=what)
    return tuple(Line(label, Decimal(-1), share, rate) for rate, share in shares.items() if share > 0)
