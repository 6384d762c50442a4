"""End to end: the demo's issued PDFs are Factur-X e-invoices, and `verify --einvoice` checks them."""

from __future__ import annotations

import re
from pathlib import Path

import facturx
import pikepdf
import pytest
from lxml import etree

from facturier.ops import einvoice
from tests.conftest import copy_demo, journal, run_cli

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def issued_pdfs(ws: Path) -> dict[str, Path]:
    """Document number -> PDF path, for every issued invoice and credit note."""
    return {e["number"]: ws / e["files"]["pdf"]["path"] for e in journal(ws)
            if e["type"] in ("invoice.issued", "credit_note.issued")}


def xml_of(pdf: Path) -> etree._Element:
    name, xml = facturx.get_xml_from_pdf(pdf.read_bytes(), check_xsd=True)
    assert name == "factur-x.xml"
    return etree.fromstring(xml)


def test_demo_invoices_batch_and_credit_notes_are_valid_e_invoices(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "batch", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "credit", "2026-0001", "--amount", "100.00", "--date", "2026-11-20").code == 0
    assert run_cli(ws, "credit", "BM-2026-00002", "--date", "2026-11-20").code == 0
    pdfs = issued_pdfs(ws)
    assert len(pdfs) == 3 + 5 + 2
    for pdf in pdfs.values():
        xml_of(pdf)
    credit = xml_of(pdfs["AV-2026-0001"])
    assert credit.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert credit.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "2026-0001"
    batch = xml_of(pdfs["BM-2026-00003"])  # the batch client is the seller
    assert batch.findtext(".//ram:SellerTradeParty/ram:Name", namespaces=NS) == "Boulangerie Martin"
    reverse = xml_of(pdfs["2026-0002"])
    assert reverse.findtext(".//ram:ExemptionReasonCode", namespaces=NS) == "VATEX-EU-AE"
    shown = run_cli(ws, "show", "2026-0002", "--xml")
    assert shown.code == 0 and "<ram:ID>2026-0002</ram:ID>" in shown.out
    assert etree.fromstring(shown.out.strip().encode()).findtext(".//ram:GrandTotalAmount", namespaces=NS) == "1770.00"
    result = run_cli(ws, "verify", "--einvoice")
    assert result.code == 0, result.text
    assert "E-invoices OK: 10 Factur-X file(s) pass the XSD and the EN 16931 schematrons" in result.out


def test_many_files_are_checked_by_a_pool_with_the_same_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = copy_demo(tmp_path / "ws", with_inbox=True)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert run_cli(ws, "batch", "--date", "2026-11-15").code == 0
    monkeypatch.setattr(einvoice, "INLINE_BELOW", 0)
    monkeypatch.setattr(einvoice, "CHUNK", 3)
    report = einvoice.verify_einvoices(ws, journal(ws), workers=2)
    assert report.files == 8 and report.errors == []
    assert len(report.warnings) == 8  # PEPPOL-EN16931-R008, the required but empty delivery block


def test_a_franchise_issuer_s_invoices_are_valid_e_invoices(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    config = (ws / "facturier.toml").read_text(encoding="utf-8")
    config = config.replace('vat_regime = "standard"', 'vat_regime = "franchise"')
    (ws / "facturier.toml").write_text(re.sub(r"(?m)^vat_id = .*\n", "", config), encoding="utf-8")
    acme = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    (ws / "clients" / "acme.toml").write_text(acme.replace('vat_regime = "standard"\n', ""), encoding="utf-8")
    result = run_cli(ws, "run", "--date", "2026-11-15")
    assert result.code == 0, result.text
    xml = xml_of(issued_pdfs(ws)["2026-0001"])
    assert xml.findtext(".//ram:ExemptionReasonCode", namespaces=NS) == "VATEX-FR-FRANCHISE"
    assert xml.findtext(".//ram:ExemptionReason", namespaces=NS) == "TVA non applicable, art. 293 B du CGI"
    result = run_cli(ws, "verify", "--einvoice")
    assert result.code == 0, result.text


def test_verify_einvoice_reports_a_broken_xml_by_file_and_rule(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    pdf = issued_pdfs(ws)["2026-0001"]
    with pikepdf.open(pdf, allow_overwriting_input=True) as doc:
        stream = doc.Root.AF[0].EF.F
        xml = stream.read_bytes()
        stream.write(re.sub(rb"<ram:GrandTotalAmount>[^<]+", b"<ram:GrandTotalAmount>1.00", xml))
        doc.save(pdf)
    result = run_cli(ws, "verify", "--einvoice")
    assert result.code == 1
    assert "INVALID: data/invoices/acme/2026/2026-0001.pdf: BR-CO-15: [BR-CO-15]-Invoice total amount" in result.out
    assert "data/invoices/acme/2026/2026-0001.pdf: content changed" in result.out  # and verify still sees it
    assert "E-invoice check FAILED" in result.err
    assert "Traceback" not in result.text
