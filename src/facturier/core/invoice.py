"""The invoice model and its arithmetic.

An invoice is computed once, here, and never changes afterwards. Rounding rule (see
`facturier.core.money`): each line's amount excl. VAT is rounded to the minor unit; VAT is
computed per rate on the sum of the rounded line amounts of that rate and rounded once; the
totals are sums of rounded amounts, so excl. + VAT = incl. holds exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from facturier.core.money import ZERO, fmt_amount, quantize

VatRegime = Literal["standard", "franchise", "reverse_charge", "exempt"]
OperationCategory = Literal["services", "goods", "mixed"]
DocumentKind = Literal["invoice", "credit_note"]

RECOVERY_INDEMNITY_EUR = Decimal(40)
# EU member states (VAT area): goods sold to a buyer outside it are an export.
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})


@dataclass(frozen=True, slots=True)
class Party:
    """A seller or a buyer as printed on the document."""

    name: str
    address: tuple[str, ...]
    country: str
    email: str | None = None
    legal_form: str | None = None
    share_capital: str | None = None
    rcs: str | None = None
    siren: str | None = None
    siret: str | None = None
    vat_id: str | None = None
    iban: str | None = None
    bic: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every field, address as a list."""
        return {
            "name": self.name,
            "address": list(self.address),
            "country": self.country,
            "email": self.email,
            "legal_form": self.legal_form,
            "share_capital": self.share_capital,
            "rcs": self.rcs,
            "siren": self.siren,
            "siret": self.siret,
            "vat_id": self.vat_id,
            "iban": self.iban,
            "bic": self.bic,
        }


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line: quantity x unit price excl. VAT at a VAT rate in percent."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    # The days a line bills when they are not the document's service period: a metered
    # line's usage month, a prorated month's days (EN 16931 BG-26).
    period: tuple[date, date] | None = None


@dataclass(frozen=True, slots=True)
class ComputedLine:
    line: Line
    amount_excl_vat: Decimal


@dataclass(frozen=True, slots=True)
class VatRow:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    lines: tuple[ComputedLine, ...]
    vat: tuple[VatRow, ...]
    excl_vat: Decimal
    vat_amount: Decimal
    incl_vat: Decimal


def vat_for(base: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The VAT on a base at a rate in percent, rounded once (the one VAT rounding of the system)."""
    return quantize(base * rate / 100, currency)


def compute_totals(lines: tuple[Line, ...], currency: str, vat_applies: bool) -> Totals:
    """Round per line, VAT per rate, totals as sums of rounded amounts."""
    computed = tuple(
        ComputedLine(line, quantize(line.quantity * line.unit_price, currency)) for line in lines
    )
    bases: dict[Decimal, Decimal] = {}
    for c in computed:
        rate = c.line.vat_rate if vat_applies else ZERO
        bases[rate] = bases.get(rate, ZERO) + c.amount_excl_vat
    vat_rows = tuple(
        VatRow(rate, base, vat_for(base, rate, currency))
        for rate, base in sorted(bases.items())
    )
    excl = sum((c.amount_excl_vat for c in computed), ZERO)
    vat = sum((row.amount for row in vat_rows), ZERO)
    return Totals(computed, vat_rows, excl, vat, excl + vat)


def is_export_of_goods(regime: VatRegime, category: OperationCategory, buyer_country: str) -> bool:
    """Goods sold VAT-free to a buyer outside the EU: exempt as an export (art. 262 I du CGI)."""
    return regime == "exempt" and category == "goods" and buyer_country.upper() not in EU_COUNTRIES


def vat_mention(regime: VatRegime, category: OperationCategory, seller_country: str,
                buyer_country: str) -> str | None:
    """The code of the VAT mention the regime prints, None under standard VAT.

    Goods are not services: an exempt export of goods cites the export exemption
    (`vat_export`, art. 262 I du CGI), not the place-of-supply rule of services
    (`vat_exempt`, art. 259-1); goods sold to a business of another EU state are an
    exempt intra-community supply (`vat_intra_eu`, art. 262 ter I), and to a business outside
    the EU an export (`vat_export`), not a reverse charge of services (`reverse_charge`,
    art. 283-2).
    """
    buyer, seller = buyer_country.upper(), seller_country.upper()
    if regime == "franchise":
        return "vat_franchise"
    if regime == "reverse_charge" and category == "goods" and buyer != seller:
        # Goods leave France: to another EU state, an intra-community supply; outside, an export.
        return "vat_intra_eu" if buyer in EU_COUNTRIES else "vat_export"
    if regime == "reverse_charge":
        return "reverse_charge"
    if regime == "exempt":
        return "vat_export" if is_export_of_goods(regime, category, buyer) else "vat_exempt"
    return None


def _line_record(c: ComputedLine, currency: str) -> dict[str, Any]:
    """A line of the canonical record; its own period only when it has one (older records
    keep their keys)."""
    record: dict[str, Any] = {
        "description": c.line.description,
        "quantity": str(c.line.quantity),
        "unit_price": str(c.line.unit_price),
        "vat_rate": str(c.line.vat_rate),
        "amount_excl_vat": fmt_amount(c.amount_excl_vat, currency),
    }
    if c.line.period is not None:
        record["period"] = {"start": c.line.period[0].isoformat(), "end": c.line.period[1].isoformat()}
    return record


def legal_mentions(regime: VatRegime, buyer_is_business: bool, vat_code: str | None = None) -> tuple[str, ...]:
    """Codes of the mentions the document must carry; the renderer words them per language.

    `vat_code` is the regime's VAT mention (`vat_mention`); without it, the regime's
    mention for services.
    """
    codes: list[str] = []
    if vat_code is None:
        vat_code = vat_mention(regime, "services", "FR", "FR")
    if vat_code is not None:
        codes.append(vat_code)
    codes.append("late_penalty")
    if buyer_is_business:
        codes.append("recovery_indemnity")
    codes.append("no_discount")
    return tuple(codes)


@dataclass(frozen=True, slots=True)
class Document:
    """An invoice or credit note, fully computed, ready to be numbered, recorded and rendered."""

    kind: DocumentKind
    number: str
    series: str
    seq: int
    mode: Literal["live", "test"]
    seller_id: str
    client_id: str
    language: str
    currency: str
    issue_date: date
    due_date: date
    period_start: date | None
    period_end: date | None
    seller: Party
    buyer: Party
    buyer_is_business: bool
    vat_regime: VatRegime
    lines: tuple[Line, ...]
    payment_days: int
    late_penalty: str
    reference: str | None = None
    refers_to: dict[str, str] | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The French reform's mentions, printed and in the Factur-X XML.
    operation_category: OperationCategory = "services"
    vat_on_debits: bool = False
    delivery_address: tuple[str, ...] | None = None
    # Euros for one unit of `currency` ([accounting] exchange_rates), to state the VAT in euros.
    eur_rate: Decimal | None = None

    def vat_in_euros(self, vat: Decimal) -> dict[str, str | None] | None:
        """The VAT in the seller's accounting currency (EN 16931 BT-6, BT-111), for a French
        seller invoicing in another currency: the VAT must be stated in euros (VAT Directive
        art. 230). Zero VAT is 0.00 EUR at any rate; other VAT needs the rate (None without)."""
        if self.currency == "EUR" or self.seller.country.upper() != "FR":
            return None
        if vat == ZERO:
            return {"currency": "EUR", "rate": None, "amount": fmt_amount(ZERO, "EUR")}
        if self.eur_rate is None:
            return None
        amount = quantize(vat * self.eur_rate, "EUR")
        return {"currency": "EUR", "rate": str(self.eur_rate), "amount": fmt_amount(amount, "EUR")}

    def totals(self) -> Totals:
        """Computed totals (VAT applies only under the standard regime)."""
        return compute_totals(self.lines, self.currency, self.vat_regime == "standard")

    def to_record(self) -> dict[str, Any]:
        """The canonical JSON record: everything the PDF shows, amounts as exact strings."""
        t = self.totals()
        cur = self.currency
        return {
            "format": "facturier.document/1",
            "kind": self.kind,
            "number": self.number,
            "series": self.series,
            "seq": self.seq,
            "mode": self.mode,
            "seller_id": self.seller_id,
            "client_id": self.client_id,
            "language": self.language,
            "currency": cur,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "service_period": (
                {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()}
                if self.period_start and self.period_end
                else None
            ),
            "seller": self.seller.to_dict(),
            "buyer": self.buyer.to_dict(),
            "buyer_is_business": self.buyer_is_business,
            "vat_regime": self.vat_regime,
            "lines": [_line_record(c, cur) for c in t.lines],
            "vat_breakdown": [
                {"rate": str(r.rate), "base": fmt_amount(r.base, cur), "amount": fmt_amount(r.amount, cur)}
                for r in t.vat
            ],
            "total_excl_vat": fmt_amount(t.excl_vat, cur),
            "total_vat": fmt_amount(t.vat_amount, cur),
            "total_incl_vat": fmt_amount(t.incl_vat, cur),
            "payment_days": self.payment_days,
            "late_penalty": self.late_penalty,
            "recovery_indemnity": (
                fmt_amount(RECOVERY_INDEMNITY_EUR, "EUR") if self.buyer_is_business else None
            ),
            "mentions": list(legal_mentions(self.vat_regime, self.buyer_is_business, vat_mention(
                self.vat_regime, self.operation_category, self.seller.country, self.buyer.country,
            ))),
            "reference": self.reference,
            "refers_to": self.refers_to,
            "reason": self.reason,
            "operation_category": self.operation_category,
            "vat_on_debits": self.vat_on_debits,
            "delivery_address": list(self.delivery_address) if self.delivery_address else None,
            **self._vat_accounting(t.vat_amount),
        }

    def _vat_accounting(self, vat: Decimal) -> dict[str, Any]:
        """{"vat_accounting": ...} for a document in a foreign currency, else {} (the records of
        euro documents keep their keys)."""
        stated = self.vat_in_euros(vat)
        return {"vat_accounting": stated} if stated else {}
