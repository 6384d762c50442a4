"""The view: labels in the document's language, values formatted, nothing left to compute."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from facturier.core.errors import FacturierError
from facturier.render.view import build_view, format_date, format_money, format_rate

Record = dict[str, Any]


def flat(value: Any) -> str:
    """The whole view as one string with plain spaces, to search for printed text."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        ("1234.56", "EUR", "fr", "1 234,56 €"),
        ("1234.56", "USD", "en", "$1,234.56"),
        ("1234.56", "GBP", "en", "£1,234.56"),
        ("1234.56", "EUR", "en", "€1,234.56"),
        (Decimal(-40), "EUR", "fr", "-40,00 €"),
        ("0.125", "EUR", "fr", "0,125 €"),  # a precise unit price is not rounded away
    ],
)
def test_format_money(amount: str, currency: str, language: str, expected: str) -> None:
    assert flat(format_money(amount, currency, language)).strip('"') == expected


def test_format_date_in_both_languages() -> None:
    assert format_date("2026-11-15", "fr") == "15 novembre 2026"
    assert format_date(date(2026, 11, 15), "en") == "November 15, 2026"


def test_format_rate_keeps_decimals() -> None:
    assert flat(format_rate("5.5", "fr")).strip('"') == "5,5 %"
    assert format_rate("20", "en") == "20%"


def test_unsupported_language_is_an_error(record: Record) -> None:
    record["language"] = "de"
    with pytest.raises(FacturierError, match="'de'"):
        build_view(record)


def test_unknown_mention_code_is_an_error(record: Record) -> None:
    record["mentions"].append("made_up")
    with pytest.raises(FacturierError, match="made_up"):
        build_view(record)


def test_french_view_is_fully_formatted(record: Record) -> None:
    view = build_view(record)
    assert view["title"] == "Facture"
    assert view["table"]["headers"][2] == "Prix unitaire HT"
    expected = {"label": "Total TTC", "value": "1 185,00 €", "strong": True}
    assert flat(view["totals"][-1]) == flat(expected)
    assert flat(view["vat_breakdown"]["rows"][1]) == flat(["20 %", "487,50 €", "97,50 €"])
    assert view["period"] == "Période de prestation du 1 novembre 2026 au 30 novembre 2026"


def test_franchise_drops_vat_column_and_prints_mention(record: Record) -> None:
    record["vat_regime"] = "franchise"
    record["mentions"] = ["vat_franchise", "late_penalty", "no_discount"]
    view = build_view(record)
    assert "TVA" not in view["table"]["headers"]
    assert all(len(row) == 4 for row in view["table"]["rows"])
    assert view["vat_breakdown"] is None
    assert view["mentions"][0] == "TVA non applicable, art. 293 B du CGI"


def test_reverse_charge_mention_carries_both_vat_numbers(record: Record) -> None:
    record.update(language="en", vat_regime="reverse_charge")
    record["buyer"]["vat_id"] = "DE136695976"
    record["mentions"] = ["reverse_charge", "late_penalty", "recovery_indemnity", "no_discount"]
    mention = build_view(record)["mentions"][0]
    assert mention.startswith("Reverse charge (Autoliquidation)")
    assert "FR32123456782" in mention and "DE136695976" in mention


def test_exempt_mention_in_english(record: Record) -> None:
    record.update(language="en", vat_regime="exempt", mentions=["vat_exempt"])
    assert build_view(record)["mentions"] == [
        "VAT exempt, art. 259-1 of the French General Tax Code"
    ]


def test_recovery_indemnity_is_always_in_euros(record: Record) -> None:
    record.update(language="en", currency="USD")
    assert "Fixed compensation for recovery costs: €40.00" in build_view(record)["mentions"]


def test_payment_qr_only_for_eur_invoices_with_bank_details(record: Record) -> None:
    assert bytes(build_view(record)["payment"]["qr_png"]).startswith(b"\x89PNG")
    record["currency"] = "USD"
    assert build_view(record)["payment"]["qr_png"] is None
    record["currency"] = "EUR"
    record["seller"]["bic"] = None
    payment = build_view(record)["payment"]
    assert payment["qr_png"] is None
    # The IBAN alone is printed, as the XML's payment means states it; no BIC line, no QR code.
    assert any(line.startswith("IBAN") for line in payment["lines"])
    assert not any(line.startswith("BIC") for line in payment["lines"])


def test_credit_note_refers_to_invoice_and_has_no_payment_block(record: Record) -> None:
    record.update(kind="credit_note", number="AV-2026-0001", reason="Prestation annulée")
    record["refers_to"] = {"number": "2026-0001", "date": "2026-11-15"}
    view = build_view(record)
    assert view["title"] == "Avoir"
    assert view["payment"] is None
    assert view["credit_note"] == [
        "Avoir sur la facture n° 2026-0001 du 15 novembre 2026",
        "Motif : Prestation annulée",
    ]


def test_share_capital_and_rcs_in_seller_block(record: Record) -> None:
    record["seller"].update(legal_form="SARL", share_capital="10000", rcs="Paris 123 456 782")
    lines = flat(build_view(record)["seller"]["lines"])
    assert "Capital de 10 000,00 €" in lines
    assert "RCS Paris 123 456 782" in lines


@pytest.mark.parametrize("zero", ["-0", "-0.00", "-0.000", "-0E-5", Decimal("-0.001").quantize(Decimal("0.01"))])
def test_a_zero_never_prints_with_a_minus_sign(zero: Any) -> None:
    assert flat(format_money(zero, "EUR", "fr")).strip('"') == "0,00 €"
    assert format_money(zero, "USD", "en") == "$0.00"
    assert flat(format_rate(zero, "fr")).strip('"') == "0 %"


def test_a_line_priced_minus_zero_prints_no_minus_anywhere(record: Record) -> None:
    # Config and CSV accept "-0" as a unit price (it is not below zero): nothing may read "-0".
    record["lines"] = [{**record["lines"][0], "unit_price": "-0", "vat_rate": "-0", "amount_excl_vat": "-0.00"}]
    table = flat(build_view(record)["table"])
    assert "-0" not in table and "0,00 €" in table
