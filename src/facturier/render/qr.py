"""EPC (SEPA credit transfer) QR code for the payment block, as SVG text for Typst."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from segno import helpers

from facturier.core.errors import FacturierError


def wants_payment_qr(record: dict[str, Any]) -> bool:
    """True when the document is a EUR invoice to pay and the seller has an IBAN and a BIC."""
    seller = record["seller"]
    return (
        record["kind"] == "invoice"
        and record["currency"] == "EUR"
        and bool(seller.get("iban"))
        and bool(seller.get("bic"))
        and Decimal(record["total_incl_vat"]) > 0
    )


def epc_qr_svg(name: str, iban: str, bic: str, amount: Decimal, text: str) -> str:
    """SVG of an EPC QR code; the default 4-module quiet zone keeps it scannable."""
    try:
        qr = helpers.make_epc_qr(name=name, iban=iban, bic=bic, amount=amount, text=text)
    except ValueError as exc:
        # Config validation should have caught it; say which document could not carry it.
        raise FacturierError(f"cannot build the payment QR code for {text}: {exc}") from exc
    out = io.BytesIO()
    qr.save(out, kind="svg", xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")


def payment_qr_for(record: dict[str, Any]) -> str | None:
    """The record's payment QR code as SVG text, or None when it should carry none."""
    if not wants_payment_qr(record):
        return None
    seller = record["seller"]
    return epc_qr_svg(
        name=seller["name"][:70],  # EPC caps the beneficiary name at 70 characters
        iban=seller["iban"].replace(" ", ""),
        bic=seller["bic"].strip(),
        amount=Decimal(record["total_incl_vat"]),
        text=record["number"],
    )
