"""The amount received split over an invoice's VAT rates for its 212 Encaissée."""

from __future__ import annotations

from decimal import Decimal

from facturier.ops.einvoicing.cdar import split_by_rate


def test_a_partial_payment_is_split_in_proportion_and_the_cents_add_up() -> None:
    breakdown = [{"rate": "20", "base": "100.00", "amount": "20.00"},
                 {"rate": "5.5", "base": "200.00", "amount": "11.00"}]
    parts = split_by_rate(Decimal("100.00"), breakdown, Decimal("331.00"))
    assert parts == [("20", Decimal("36.25")), ("5.5", Decimal("63.75"))]
    assert sum(amount for _, amount in parts) == Decimal("100.00")


def test_one_rate_takes_it_all() -> None:
    assert split_by_rate(Decimal("12.34"), [{"rate": "20", "base": "10", "amount": "2"}], Decimal(12)) == [
        ("20", Decimal("12.34"))]
