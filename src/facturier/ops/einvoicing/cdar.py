"""The CDAR lifecycle message Facturier sends: 212 Encaissée, the amount received on an invoice
whose VAT is due on receipt, split over the invoice's VAT rates (built with pyfrctc).

pyfrctc 0.24 cannot write MDT-224 (the VAT rate, `ram:ValuePercent`), which rule
BR-FR-CDV-14 requires on every MEN (amount received) block of a 212: it is added after the
amount it goes with, and the result is checked against the CDAR XSD again.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from lxml import etree

RAM: Final = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
ENCAISSEE: Final = "212"


def split_by_rate(received: Decimal, breakdown: list[dict[str, str]], total: Decimal) -> list[tuple[str, Decimal]]:
    """The amount received per VAT rate, in proportion to the invoice's amounts incl. VAT per rate
    (rounded to the cent, the last rate taking the remainder)."""
    rates = [(b["rate"], Decimal(b["base"]) + Decimal(b["amount"])) for b in breakdown] or [("0", total)]
    out, left = [], received
    for index, (rate, incl) in enumerate(rates):
        share = left if index == len(rates) - 1 else \
            (received * incl / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if total else Decimal(0)
        out.append((rate, share))
        left -= share
    return out


def encaissee(record: dict[str, Any], received: Decimal, when: dt.datetime) -> bytes:
    """The 212 Encaissée CDAR of `received` on the document of `record`."""
    import pyfrctc

    seller, buyer = record["seller"], record["buyer"]
    parts = split_by_rate(received, record.get("vat_breakdown") or [], Decimal(record["total_incl_vat"]))
    data: dict[str, Any] = {
        "MDT-2": "REGULATED", "MDT-3": "urn.cpro.gouv.fr:1p0:CDV:invoice",
        "MDT-4": f"{record['number']}-{ENCAISSEE}-{when:%Y%m%d%H%M%S}", "MDT-8": when, "MDT-21": "SE",
        "MDT-38": {"0002": seller["siren"]}, "MDT-39": seller["name"], "MDT-40": "SE",
        "MDT-57": {"0002": buyer["siren"]}, "MDT-58": buyer["name"], "MDT-59": "BY",
        "MDT-73": buyer["siren"], "MDT-73-1": "0225", "MDT-74": False, "MDT-77": "23", "MDT-78": when,
        "MDT-87": record["number"], "MDT-91": "381" if record["kind"] == "credit_note" else "380",
        "MDT-100": dt.date.fromisoformat(record["issue_date"]), "MDT-105": ENCAISSEE, "MDT-106": "Encaissée",
        "MDT-129": {"0002": seller["siren"]},
        "MDG-37": [{"MDG-43": [{"MDT-207": "MEN", "MDT-215": {"float": float(amount), "currency": record["currency"]}}
                               for _, amount in parts]}],
    }
    xml = pyfrctc.generate_cdar(data, check_xsd=False)
    return _with_rates(xml, parts)


def _with_rates(xml: bytes, parts: list[tuple[str, Decimal]]) -> bytes:
    """Each MEN amount written from its Decimal (pyfrctc takes a float) and followed by its VAT
    rate (MDT-224), then the XSD checked."""
    import pyfrctc

    root = etree.fromstring(xml)
    for amount, (rate, value) in zip(root.iter(f"{{{RAM}}}ValueAmount"), parts):
        amount.text = str(value)
        percent = etree.Element(f"{{{RAM}}}ValuePercent")
        percent.text = rate
        amount.addnext(percent)
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    pyfrctc.check_cdar_xsd(out)
    return out
