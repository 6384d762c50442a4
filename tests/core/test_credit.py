"""Credit note arithmetic: per-rate remainders, the pro rata split of an amount, line credits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from facturier.core.credit import (
    RateAmounts,
    base_for_total,
    credit_lines,
    nearest_splittable,
    remaining_by_rate,
    split_credit,
)
from facturier.core.errors import InputError
from facturier.core.invoice import Line, vat_for
from facturier.core.money import ZERO

D = Decimal
FRENCH_RATES = [D("0"), D("2.1"), D("5.5"), D("10"), D("20")]


def at(rate: str, base: str) -> RateAmounts:
    """What an invoice holds at a rate: the base and its VAT rounded as on every document."""
    return RateAmounts(D(rate), D(base), vat_for(D(base), D(rate), "EUR"))


def test_mixed_invoice_split_is_pro_rata_and_exact() -> None:
    # 650.00 at 20 % (780.00 incl.) and 39.90 at 10 % (43.89 incl.): a 100.00 gesture.
    parts = split_credit((at("10", "39.90"), at("20", "650.00")), D("100.00"), "EUR")
    assert parts == (RateAmounts(D("10"), D("4.84"), D("0.48")), RateAmounts(D("20"), D("78.90"), D("15.78")))
    assert sum(p.total for p in parts) == D("100.00")


def test_largest_remainder_gets_the_unit() -> None:
    # Three equal remainders without VAT: 1.00 = 0.33 + 0.33 + 0.34, the unit to one rate only.
    three = tuple(RateAmounts(D(r), D("10.00"), ZERO) for r in ("1", "2", "3"))
    assert sorted(p.total for p in split_credit(three, D("1.00"), "EUR")) == [D("0.33"), D("0.33"), D("0.34")]


def test_single_rate_unsplittable_amount_names_its_neighbours() -> None:
    # At 20 %, base 0.02 gives 0.02 and base 0.03 gives 0.04: no base gives 0.03.
    with pytest.raises(InputError, match=r"0.03 cannot be split exactly into a base and 20% VAT; try 0.02 or 0.04"):
        split_credit((at("20", "100.00"),), D("0.03"), "EUR")


def test_fully_credited_rate_gets_nothing() -> None:
    left = remaining_by_rate([at("10", "39.90"), at("20", "650.00")], [at("10", "39.90")])
    assert left[0].total == ZERO
    parts = split_credit(left, D("120.00"), "EUR")
    assert parts == (RateAmounts(D("20"), D("100.00"), D("20.00")),)


def test_remaining_by_rate_subtracts_each_rate() -> None:
    left = remaining_by_rate([at("20", "650.00"), at("10", "39.90")],
                             [RateAmounts(D("20"), D("78.90"), D("15.78")), RateAmounts(D("10"), D("4.84"), D("0.48"))])
    assert left == (RateAmounts(D("10"), D("35.06"), D("3.51")), RateAmounts(D("20"), D("571.10"), D("114.22")))


def test_base_for_total() -> None:
    assert base_for_total(D("120.00"), D("20"), "EUR") == D("100.00")
    assert base_for_total(D("0.03"), D("20"), "EUR") is None
    assert base_for_total(D("1000"), D("20"), "JPY") == D("833")


LINES = (Line("a", D("1"), D("450.00"), D("20")), Line("b", D("1"), D("39.90"), D("10")),
         Line("c", D("2.5"), D("80.00"), D("20")))
INVOICE = (at("10", "39.90"), at("20", "650.00"))


def test_credit_lines_picks_lines_in_invoice_order() -> None:
    assert credit_lines(LINES, [3, 2], set(), INVOICE, "EUR", True) == (LINES[1], LINES[2])


@pytest.mark.parametrize("chosen, already, message", [
    ([4], set(), "--line 4: the invoice has 3 line"),
    ([0], set(), "--line 0"),
    ([2, 2], set(), "--line 2 is given twice"),
    ([1], {1}, "line 1 was already credited"),
])
def test_credit_lines_refusals(chosen: list[int], already: set[int], message: str) -> None:
    with pytest.raises(InputError, match=message):
        credit_lines(LINES, chosen, already, INVOICE, "EUR", True)


def test_credit_lines_never_exceed_the_rate_remainder() -> None:
    # 100.00 incl. was already credited at 10 %... of a 43.89 rate: only 38.57 is left there.
    left = remaining_by_rate(INVOICE, [RateAmounts(D("10"), D("4.84"), D("0.48"))])
    with pytest.raises(InputError, match="43.89 EUR at 10% VAT, but only 38.57 remains"):
        credit_lines(LINES, [2], set(), left, "EUR", True)


# Property tests: an invoice of one to four distinct French rates, and an amount up to its total.
bases = st.integers(min_value=0, max_value=5_000_000).map(lambda c: D(c) / 100)
invoices = st.lists(st.tuples(st.sampled_from(FRENCH_RATES), bases), min_size=1, max_size=4,
                    unique_by=lambda t: t[0]).map(
    lambda rows: tuple(RateAmounts(r, b, vat_for(b, r, "EUR")) for r, b in sorted(rows)))


@given(invoices, st.integers(min_value=1, max_value=10**9))
def test_split_properties(invoice: tuple[RateAmounts, ...], seed: int) -> None:
    whole = sum((r.total for r in invoice), ZERO)
    assume(whole > ZERO)
    amount = D(seed % int(whole * 100) + 1) / 100
    try:
        parts = split_credit(invoice, amount, "EUR")
    except InputError:
        # Refused only when no split adds up: then a neighbour within reach does.
        below, above = nearest_splittable(invoice, amount, "EUR")
        assert below is not None or above is not None
        return
    assert sum((p.total for p in parts), ZERO) == amount  # exact
    left = {r.rate: r for r in invoice}
    for p in parts:
        assert ZERO < p.total <= left[p.rate].total  # never more than remains at its rate
        assert p.vat == vat_for(p.base, p.rate, "EUR")  # what the credit note will compute
        share = amount * left[p.rate].total / whole
        assert abs(p.total - share) <= D("0.01")  # proportional within one minor unit


@given(invoices)
def test_crediting_everything_left_gives_back_each_rate(invoice: tuple[RateAmounts, ...]) -> None:
    whole = sum((r.total for r in invoice), ZERO)
    assume(whole > ZERO)
    parts = split_credit(invoice, whole, "EUR")  # each VAT is vat_for(base): always splittable
    assert parts == tuple(r for r in invoice if r.total > ZERO)


@given(invoices, st.integers(min_value=1, max_value=10**9))
def test_refusals_suggest_amounts_that_split(invoice: tuple[RateAmounts, ...], seed: int) -> None:
    whole = sum((r.total for r in invoice), ZERO)
    assume(whole > ZERO)
    amount = D(seed % int(whole * 100) + 1) / 100
    below, above = nearest_splittable(invoice, amount, "EUR")
    for suggestion in (below, above):
        if suggestion is not None:
            assert ZERO < suggestion <= whole
            assert sum((p.total for p in split_credit(invoice, suggestion, "EUR")), ZERO) == suggestion
