"""Money arithmetic: per-line rounding, VAT per rate, and the totals identities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.core.errors import InputError
from facturier.core.invoice import Line, compute_totals
from facturier.core.money import fmt_amount, quantize, to_decimal

RATES = [Decimal(r) for r in ("0", "2.1", "5.5", "10", "20")]
CURRENCIES = ["EUR", "USD", "GBP", "JPY", "KWD"]

lines_strategy = st.lists(
    st.builds(
        Line,
        description=st.just("x"),
        quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("10000"), places=3),
        unit_price=st.decimals(min_value=Decimal("0"), max_value=Decimal("100000"), places=4),
        vat_rate=st.sampled_from(RATES),
    ),
    min_size=1,
    max_size=20,
)


@given(lines=lines_strategy, currency=st.sampled_from(CURRENCIES), vat=st.booleans())
def test_totals_are_sums_of_rounded_lines(lines: list[Line], currency: str, vat: bool) -> None:
    totals = compute_totals(tuple(lines), currency, vat)
    assert totals.excl_vat == sum(c.amount_excl_vat for c in totals.lines)
    assert totals.excl_vat + totals.vat_amount == totals.incl_vat
    assert totals.vat_amount == sum(row.amount for row in totals.vat)
    assert sum(row.base for row in totals.vat) == totals.excl_vat
    for c in totals.lines:
        assert c.amount_excl_vat == quantize(c.amount_excl_vat, currency)
    if not vat:
        assert totals.vat_amount == 0


def test_round_half_up_per_currency() -> None:
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")
    assert quantize(Decimal("0.0005"), "KWD") == Decimal("0.001")


def test_vat_is_computed_per_rate_not_per_line() -> None:
    # Three lines of 0.05 at 20%: per line VAT would be 3 x 0.01 = 0.03; per rate 0.15 x 20% = 0.03.
    lines = tuple(Line("a", Decimal(1), Decimal("0.33"), Decimal(20)) for _ in range(3))
    totals = compute_totals(lines, "EUR", True)
    assert totals.excl_vat == Decimal("0.99")
    assert totals.vat_amount == Decimal("0.20")  # 0.198 rounded once, not 3 x 0.07
    assert totals.incl_vat == Decimal("1.19")


@pytest.mark.parametrize("bad", [1.5, True, "abc", "NaN", "Infinity", None])
def test_to_decimal_refuses_floats_and_garbage(bad: object) -> None:
    with pytest.raises(InputError):
        to_decimal(bad)


@pytest.mark.parametrize("zero", ["-0", "-0.00", "-0.001", "-0.004"])
def test_an_amount_that_rounds_to_zero_is_stored_unsigned(zero: str) -> None:
    assert fmt_amount(Decimal(zero), "EUR") == "0.00"
    assert fmt_amount(Decimal(zero), "JPY") == "0"
    assert fmt_amount(Decimal("-0.005"), "EUR") == "-0.01"  # a real amount keeps its sign
