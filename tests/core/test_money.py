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
        quantity=st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10000), places=3),
        unit_price=st.decimals(min_value=Decimal(0), max_value=Decimal(100000), places=4),
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
    assert quantize(Decimal("2.5"), "JPY") == Decimal(3)
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


# --- received_amount: the one rule for money entering from a statement (issue 10 item 4) ---

from facturier.core.money import check_minor_unit, received_amount


@pytest.mark.parametrize("text, currency, expected", [
    ("827.88", "EUR", Decimal("827.88")),
    ("18.150", "EUR", Decimal("18.15")),  # trailing zeros are not extra decimals
    ("+5", "EUR", Decimal("5.00")),
    (" 1000 ", "JPY", Decimal(1000)),
    ("3.1", None, Decimal("3.1")),  # currency unknown (CSV): checked later
])
def test_received_amount_accepts_plain_positive_amounts(text: str, currency: str | None, expected: Decimal) -> None:
    value = received_amount(text, currency, "amount")
    assert value == expected and str(value) == str(expected)


@pytest.mark.parametrize("text, currency, message", [
    ("-100.00", "EUR", "negative"),
    ("1E+2", "EUR", "not a plain amount"),
    ("1e3", None, "not a plain amount"),
    ("100.005", "EUR", "more decimals than EUR"),
    ("100.5", "JPY", "more decimals than JPY"),
    ("NaN", "EUR", "not a plain amount"),
    ("Infinity", "EUR", "not a plain amount"),
    ("1,00", "EUR", "not a plain amount"),
    ("1_000", "EUR", "not a plain amount"),
    ("٣", "EUR", "not a plain amount"),  # an Arabic-Indic digit
    ("0.00", "EUR", "not a positive amount"),
    ("", "EUR", "not a plain amount"),
    (".5", "EUR", "not a plain amount"),
])
def test_received_amount_refuses_what_pay_refuses(text: str, currency: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        received_amount(text, currency, "amount")


def test_received_amount_reads_a_decimal_comma_when_told() -> None:
    assert received_amount("1,00", "EUR", "amount", decimal_mark=",") == Decimal("1.00")
    with pytest.raises(InputError):
        received_amount("1.000,00", "EUR", "amount", decimal_mark=",")


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000000000), places=2))
def test_received_amount_round_trips_every_cent_amount(amount: Decimal) -> None:
    assert received_amount(str(amount), "EUR", "amount") == amount


def test_check_minor_unit_refuses_instead_of_rounding() -> None:
    assert check_minor_unit(Decimal("100.50"), "EUR", "x") == Decimal("100.50")
    with pytest.raises(InputError, match="more decimals"):
        check_minor_unit(Decimal("100.005"), "EUR", "x")


@pytest.mark.parametrize("zero", ["-0", "-0.00", "-0.001", "-0.004"])
def test_an_amount_that_rounds_to_zero_is_stored_unsigned(zero: str) -> None:
    assert fmt_amount(Decimal(zero), "EUR") == "0.00"
    assert fmt_amount(Decimal(zero), "JPY") == "0"
    assert fmt_amount(Decimal("-0.005"), "EUR") == "-0.01"  # a real amount keeps its sign
