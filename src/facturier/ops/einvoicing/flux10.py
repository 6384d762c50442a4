"""The e-reporting files (Flux 10, built and XSD-checked by pyfrctc) from documents' records.

Transactions report: each invoice or credit note to a business client outside France, one by
one (10.1: its parties, totals and VAT breakdown); sales to consumers, summed per day,
currency and category (10.3: services TPS1, goods TLB1, no VAT TNT1) with their VAT per rate.
Payments report: each payment of such a services invoice with VAT due on receipt, one by one
for a business client (10.2), summed per day for consumers (10.4), split per VAT rate.

The Flux 10 rules make the platform the file's sender (its scheme 0238, its 4-character
registration number, role WK) and the seller its declarant (SIREN, role SE).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from facturier.core.invoice import EU_COUNTRIES
from facturier.ops.einvoicing.cdar import split_by_rate
from facturier.render.facturx import vat_category

CATEGORIES: Final = {"services": ("TPS1", "S1"), "goods": ("TLB1", "B1"), "mixed": ("TPS1", "M1")}


@dataclass(frozen=True, slots=True)
class Header:
    """Who sends the report (the platform) and who declares (the seller), for which period."""

    report_id: str
    name: str
    issued_at: dt.datetime
    platform_id: str
    platform_name: str
    siren: str
    seller_name: str
    start: dt.date
    end: dt.date

    def data(self) -> dict[str, Any]:
        """The TT-1 ... TT-15 keys of pyfrctc."""
        return {"TT-1": self.report_id, "TT-2": self.name, "TT-3": self.issued_at, "TT-4": "IN",
                "TT-7": "0238", "TT-8": self.platform_id, "TT-9": self.platform_name, "TT-10": "WK",
                "TT-12": "0002", "TT-13": self.siren, "TT-14": self.seller_name, "TT-15": "SE"}


def transactions_xml(header: Header, records: list[dict[str, Any]]) -> bytes:
    """The transactions report of the documents' records (B2B abroad one by one, B2C summed)."""
    import pyfrctc

    invoices = [_invoice(r) for r in records if r["buyer_is_business"]]
    summed = _summed_sales([r for r in records if not r["buyer_is_business"]])
    data = {**header.data(), "TT-17": header.start, "TT-18": header.end, "TG-8": invoices, "TG-31": summed}
    xml: bytes = pyfrctc.generate_ereporting_transactions(data)
    return xml


def payments_xml(header: Header, received: list[tuple[dict[str, Any], dt.date, Decimal]]) -> bytes:
    """The payments report: (record of the invoice paid, day, amount received) each."""
    import pyfrctc

    one_by_one = [{"TT-91": r["number"], "TT-102": dt.date.fromisoformat(r["issue_date"]), "TT-92": day,
                   "TG-36": [{"TT-93": rate, "TT-94": r["currency"], "TT-95": str(amount)}
                             for rate, amount in _split(r, paid)]}
                  for r, day, paid in received if r["buyer_is_business"]]
    per_day: dict[tuple[dt.date, str, str], Decimal] = defaultdict(Decimal)
    for r, day, paid in received:
        if not r["buyer_is_business"]:
            for rate, amount in _split(r, paid):
                per_day[(day, rate, r["currency"])] += amount
    days = sorted({day for day, _, _ in per_day})
    summed = [{"TT-96": day, "TG-39": [{"TT-97": rate, "TT-98": cur, "TT-99": str(amount)}
                                       for (d, rate, cur), amount in sorted(per_day.items()) if d == day]}
              for day in days]
    data = {**header.data(), "TT-89": header.start, "TT-90": header.end, "TG-34": one_by_one, "TG-37": summed}
    xml: bytes = pyfrctc.generate_ereporting_payments(data)
    return xml


def _split(record: dict[str, Any], paid: Decimal) -> list[tuple[str, Decimal]]:
    return split_by_rate(paid, record.get("vat_breakdown") or [], Decimal(record["total_incl_vat"]))


def _invoice(r: dict[str, Any]) -> dict[str, Any]:
    """One invoice or credit note to a business client outside France (10.1)."""
    seller, buyer = r["seller"], r["buyer"]
    vat_id = buyer.get("vat_id") or ""
    scheme = "0223" if buyer["country"] in EU_COUNTRIES else "0227"
    period = r.get("service_period") or {}
    data: dict[str, Any] = {
        "BT-1": r["number"], "BT-2": dt.date.fromisoformat(r["issue_date"]),
        "BT-3": "381" if r["kind"] == "credit_note" else "380", "BT-5": r["currency"],
        "BT-23": CATEGORIES[r.get("operation_category") or "services"][1],
        "BG-4": {"legal_identifier": seller["siren"], "legal_identifier_schemeid": "0002",
                 "vat_identifier": seller.get("vat_id") or "", "country_code": seller["country"]},
        "BG-7": {"legal_identifier": vat_id, "legal_identifier_schemeid": scheme, "vat_identifier": vat_id,
                 "country_code": buyer["country"]},
        "BT-109": r["total_excl_vat"], "BT-110": r["total_vat"],
        "BG-23": [_breakdown(r, b) for b in r.get("vat_breakdown") or []],
    }
    if period:
        data["BT-73"], data["BT-74"] = (dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"]))
    if r.get("refers_to"):
        data["BG-3"] = [{"BT-25": r["refers_to"]["number"], "BT-26": dt.date.fromisoformat(r["refers_to"]["date"])}]
    return data


def _breakdown(record: dict[str, Any], row: dict[str, str]) -> dict[str, str]:
    category = vat_category(record, row["rate"])
    out = {"BT-116": row["base"], "BT-117": row["amount"], "BT-118": category.code, "BT-119": category.rate}
    if category.reason:
        out["BT-120"] = category.reason
    if category.reason_code:
        out["BT-121"] = category.reason_code
    return out


def _summed_sales(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sales to consumers per (day, currency, category), with their VAT per rate (10.3)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        category = "TNT1" if Decimal(r["total_vat"]) == 0 else CATEGORIES[r.get("operation_category") or "services"][0]
        groups[(r["issue_date"], r["currency"], category)].append(r)
    out = []
    for (day, currency, category), group in sorted(groups.items()):
        rates: dict[str, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
        for r in group:
            for b in r.get("vat_breakdown") or []:
                base, vat = rates[b["rate"]]
                rates[b["rate"]] = (base + _signed(r, b["base"]), vat + _signed(r, b["amount"]))
        out.append({"TT-77": dt.date.fromisoformat(day), "TT-78": currency, "TT-81": category,
                    "TT-82": str(sum((_signed(r, r["total_excl_vat"]) for r in group), Decimal(0))),
                    "TT-83": str(sum((_signed(r, r["total_vat"]) for r in group), Decimal(0))),
                    "TT-85": str(len(group)),
                    "TG-32": [{"TT-86": rate, "TT-87": str(base), "TT-88": str(vat)}
                              for rate, (base, vat) in sorted(rates.items())]})
    return out


def _signed(record: dict[str, Any], amount: str) -> Decimal:
    """An amount of a record, negative for a credit note (it reduces the day's sales)."""
    value = Decimal(amount)
    return -abs(value) if record["kind"] == "credit_note" else value
