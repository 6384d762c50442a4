"""Pricing models, minimums, proration and discounts: properties over tiers, quantities and days."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.invoice import Line, compute_totals
from facturier.core.money import quantize
from facturier.core.pricing import (
    Discount,
    Pricing,
    Tier,
    discount_lines,
    graduated_quantities,
    metered_lines,
    package_count,
    prorated_amount,
    tier_bounds,
    usage_parts,
    volume_tier,
)
from facturier.core.usage import Aggregate, from_units, quantity_problem, to_units

D = Decimal
PERIOD = (date(2026, 10, 1), date(2026, 10, 31))
quantities = st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False, allow_infinity=False)
prices = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    """Ascending tiers, the last open, bounds with up to 4 decimals, prices with up to 6."""
    bounds = sorted(draw(st.sets(st.decimals(min_value=D("0.0001"), max_value=10**6, places=4,
                                             allow_nan=False, allow_infinity=False), min_size=0, max_size=5)))
    ups: list[Decimal | None] = [*bounds, None]
    fees = st.sampled_from([D(0), D("5.00"), D("0.01")])
    return tuple(Tier(up, draw(prices), draw(fees)) for up in ups)


def amount(lines: tuple[Line, ...]) -> Decimal:
    return compute_totals(lines, "EUR", vat_applies=False).excl_vat


@given(tier_lists(), quantities, st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False))
def test_graduated_total_is_the_sum_over_tiers(tiers: tuple[Tier, ...], quantity: Decimal, included: Decimal) -> None:
    shares = graduated_quantities(tiers, quantity, included)
    assert sum(shares, D(0)) == max(quantity - included, D(0))  # every billable unit in exactly one tier
    lines = metered_lines("API", Pricing("graduated", tiers=tiers, included=included), quantity, PERIOD, "en",
                          D(20), "EUR")
    expected = sum((quantize(s * t.unit_price, "EUR") + (t.flat_fee if s > 0 else 0)
                    for s, t in zip(shares, tiers)), D(0))
    assert amount(lines) == expected
    for line in lines:  # each printed line is quantity x unit price, rounded once
        assert (compute_totals((line,), "EUR", False).lines[0].amount_excl_vat
                == quantize(line.quantity * line.unit_price, "EUR"))
        assert "2026-10-01 to 2026-10-31" in line.description


@given(tier_lists(), quantities)
def test_volume_uses_exactly_one_tier(tiers: tuple[Tier, ...], quantity: Decimal) -> None:
    index = volume_tier(tiers, quantity)
    lower, upper = tier_bounds(tiers)[index]
    assert (index == 0 or quantity > lower) and (upper is None or quantity <= upper)
    parts = usage_parts(Pricing("volume", tiers=tiers), quantity, "en")
    if quantity > 0:
        assert parts[0].quantity == quantity and parts[0].unit_price == tiers[index].unit_price
        assert {p.unit_price for p in parts} <= {tiers[index].unit_price, tiers[index].flat_fee}
    else:
        assert parts == []


@given(tier_lists())
def test_boundaries_up_to_is_inclusive_at_every_tier_edge(tiers: tuple[Tier, ...]) -> None:
    for index, (_, upper) in enumerate(tier_bounds(tiers)):
        if upper is None:
            continue
        assert volume_tier(tiers, upper) == index  # the edge belongs to its tier
        assert volume_tier(tiers, upper + D("0.0001")) == index + 1  # one step above: the next
        shares = graduated_quantities(tiers, upper)
        assert all(s == 0 for s in shares[index + 1:])  # nothing spills over at the edge
        assert graduated_quantities(tiers, upper + D("0.0001"))[index + 1] == D("0.0001")


@given(quantities, st.decimals(min_value=D("0.0001"), max_value=10**4, places=4, allow_nan=False))
def test_package_rounds_up(quantity: Decimal, size: Decimal) -> None:
    packages = package_count(quantity, size)
    assert packages == packages.to_integral_value()
    assert packages * size >= quantity
    assert quantity == 0 or (packages - 1) * size < quantity


def test_package_examples() -> None:
    assert package_count(D(1000), D(1000)) == 1
    assert package_count(D("1000.0001"), D(1000)) == 2
    assert package_count(D(0), D(1000)) == 0


def test_fractional_cent_prices_are_multiplied_then_rounded_once() -> None:
    lines = metered_lines("Calls", Pricing("per_unit", unit_price=D("0.000125")), D(12345), PERIOD, "en", D(20), "EUR")
    assert [(l.quantity, l.unit_price) for l in lines] == [(D(12345), D("0.000125"))]
    assert amount(lines) == D("1.54")  # 1.543125, rounded once (never 0.00 x 12345)


def test_minimum_is_a_separate_true_up_line_and_nothing_is_left_out_only_without_usage() -> None:
    pricing = Pricing("per_unit", unit_price=D("0.10"), minimum=D("20.00"))
    lines = metered_lines("Storage", pricing, D(80), PERIOD, "en", D(20), "EUR")
    assert [l.unit_price for l in lines] == [D("0.10"), D("12.00")]
    assert "true-up" in lines[1].description and amount(lines) == D("20.00")
    assert amount(metered_lines("Storage", pricing, D(300), PERIOD, "en", D(20), "EUR")) == D("30.00")
    assert metered_lines("Calls", Pricing("per_unit", unit_price=D(1)), D(0), PERIOD, "en", D(20), "EUR") == ()
    free = Pricing("per_unit", unit_price=D(1), included=D(100))
    assert metered_lines("Calls", free, D(100), PERIOD, "en", D(20), "EUR") == ()
    assert amount(metered_lines("Calls", free, D(101), PERIOD, "en", D(20), "EUR")) == D(1)


@given(st.integers(2026, 2030), st.integers(1, 12),
       st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
       st.lists(st.integers(1, 31), max_size=6))
def test_proration_sums_to_the_full_month_over_a_whole_month(year: int, month: int, full: Decimal,
                                                             cuts: list[int]) -> None:
    days = calendar.monthrange(year, month)[1]
    assert prorated_amount(full, 1, days, days, "EUR") == full
    edges = sorted({c for c in cuts if c < days})
    starts = [1, *[e + 1 for e in edges]]
    ends = [*edges, days]
    parts = [prorated_amount(full, a, b, days, "EUR") for a, b in zip(starts, ends)]
    assert sum(parts, D(0)) == full  # any split of the month adds up to the month, to the cent
    assert all(p >= 0 for p in parts)


@given(st.lists(st.tuples(st.decimals(min_value=0, max_value=10**4, places=2, allow_nan=False),
                          st.sampled_from([D(20), D(10), D("5.5")])), min_size=1, max_size=5),
       st.decimals(min_value=D("0.01"), max_value=10**5, places=2, allow_nan=False))
def test_fixed_discount_never_exceeds_the_lines_and_is_split_exactly(items: list[tuple[Decimal, Decimal]],
                                                                     off: Decimal) -> None:
    lines = tuple(Line("x", D(1), price, rate) for price, rate in items)
    found = discount_lines(Discount(amount=off), lines, "EUR", "en")
    total = sum((p for p, _ in items), D(0))
    given_off = sum((l.unit_price for l in found), D(0))
    assert given_off == min(off, total)
    assert all(l.quantity == -1 and l.unit_price > 0 for l in found)
    assert amount(lines + found) >= 0


def test_percentage_discount_per_vat_rate() -> None:
    lines = (Line("a", D(1), D("100.00"), D(20)), Line("b", D(3), D("10.00"), D("5.5")))
    found = discount_lines(Discount(percent=D(10)), lines, "EUR", "fr")
    assert [(l.vat_rate, l.unit_price) for l in found] == [(D("5.5"), D("3.00")), (D(20), D("10.00"))]
    assert found[0].description == "Remise 10 %"


@given(st.lists(quantities, min_size=1, max_size=20))
def test_units_are_exact(values: list[Decimal]) -> None:
    texts = [format(v, "f") for v in values]
    assert all(quantity_problem(t) is None for t in texts)
    units = [to_units(t) for t in texts]
    assert from_units(sum(units)) == sum(values, D(0))
    agg = Aggregate(sum=sum(units), count=len(units), max=max(units), latest=units[-1])
    assert agg.value("max") == max(values) and agg.value("count") == len(values)


def test_quantity_text_rules() -> None:
    assert quantity_problem("-1") is not None and "negative" in str(quantity_problem("-1"))
    assert quantity_problem("1e3") is not None
    assert quantity_problem("1.00001") is not None
    assert quantity_problem("1.00000") is None
    assert quantity_problem("") is not None


@settings(max_examples=50)
@given(tier_lists(), quantities)
def test_more_usage_never_bills_less(tiers: tuple[Tier, ...], quantity: Decimal) -> None:
    pricing = Pricing("graduated", tiers=tiers)
    lower = amount(metered_lines("x", pricing, quantity, PERIOD, "en", D(0), "EUR"))
    higher = amount(metered_lines("x", pricing, quantity + 1, PERIOD, "en", D(0), "EUR"))
    assert higher >= lower
