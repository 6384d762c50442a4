"""The PDF as a reader sees it: text read back with pypdf, metadata with pikepdf."""

from __future__ import annotations

import copy
import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pypdf import PdfReader

from facturier.core.errors import FacturierError
from facturier.render.pdf import BUNDLED_TEMPLATES, PdfRenderer, render_records

Record = dict[str, Any]
RenderText = Callable[[Record], str]


def test_french_invoice_shows_amounts_dates_and_mentions(
    record: Record, render_text: RenderText
) -> None:
    text = render_text(record)
    for expected in [
        "Facture",
        "2026-0001",
        "15 novembre 2026",
        "15 décembre 2026",
        "Période de prestation du 1 novembre 2026 au 30 novembre 2026",
        "Prix unitaire HT",
        "Total HT 1 087,50 €",
        "Total TTC 1 185,00 €",
        "SIREN 123 456 782",
        "N° TVA intracommunautaire : FR32123456782",
        "pénalités au taux de : trois fois le taux d'intérêt légal",
        "Indemnité forfaitaire pour frais de recouvrement : 40,00 €",
        "Pas d'escompte pour paiement anticipé",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
    ]:
        assert expected in text, expected
    assert "TEST" not in text


def test_english_usd_invoice(english_usd: Record, render_text: RenderText) -> None:
    text = render_text(english_usd)
    for expected in [
        "Invoice",
        "November 15, 2026",
        "Unit price excl. VAT",
        "$1,234.56",
        "Total incl. VAT $2,126.47",
        "Late payment penalties: three times the legal rate",
        "Fixed compensation for recovery costs: €40.00",
        "No discount for early payment",
    ]:
        assert expected in text, expected
    assert "Facture" not in text


def test_franchise_regime_mention(record: Record, render_text: RenderText) -> None:
    record["vat_regime"] = "franchise"
    record["seller"]["vat_id"] = None
    record["mentions"] = ["vat_franchise", "late_penalty", "no_discount"]
    assert "TVA non applicable, art. 293 B du CGI" in render_text(record)


def test_reverse_charge_mentions_both_vat_numbers(record: Record, render_text: RenderText) -> None:
    record["vat_regime"] = "reverse_charge"
    record["buyer"].update(country="DE", vat_id="DE136695976", siren=None)
    record["mentions"] = ["reverse_charge", "late_penalty", "recovery_indemnity", "no_discount"]
    text = render_text(record)
    assert "Autoliquidation" in text
    assert "N° TVA du vendeur : FR32123456782" in text
    assert "N° TVA du client : DE136695976" in text


def test_credit_note_refers_to_original(record: Record, render_text: RenderText) -> None:
    record.update(kind="credit_note", number="AV-2026-0001")
    record["refers_to"] = {"number": "2026-0001", "date": "2026-11-15"}
    text = render_text(record)
    assert "Avoir" in text
    assert "Avoir sur la facture n° 2026-0001 du 15 novembre 2026" in text


def test_customer_reference_is_shown(english_usd: Record, render_text: RenderText) -> None:
    english_usd["reference"] = "PO-7781"
    assert "Reference PO-7781" in render_text(english_usd)


def test_test_mode_watermark_on_every_page(record: Record, renderer: PdfRenderer, retotal: Any) -> None:
    record["mode"] = "test"
    record["lines"] = [copy.deepcopy(record["lines"][0]) for _ in range(80)]
    retotal(record)
    reader = PdfReader(io.BytesIO(renderer.render(record)))
    assert len(reader.pages) > 1
    assert all("TEST" in page.extract_text() for page in reader.pages)


def test_long_invoice_repeats_table_header(record: Record, renderer: PdfRenderer, retotal: Any) -> None:
    record["lines"] = [copy.deepcopy(record["lines"][0]) for _ in range(80)]
    retotal(record)
    reader = PdfReader(io.BytesIO(renderer.render(record)))
    assert len(reader.pages) > 1
    assert all("Prix unitaire HT" in page.extract_text() for page in reader.pages)


def test_same_record_gives_identical_bytes(record: Record) -> None:
    # Two separate renderers: no state carried between them can explain the equality.
    assert PdfRenderer().render(record) == PdfRenderer().render(record)


def test_pdf_declares_pdfa_3b(record: Record, renderer: PdfRenderer) -> None:
    with pikepdf.open(io.BytesIO(renderer.render(record))) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "B"


def test_override_template_is_used(record: Record, tmp_path: Path) -> None:
    custom = (BUNDLED_TEMPLATES / "invoice.typ").read_text(encoding="utf-8")
    custom = custom.replace("  // ---- Legal mentions ----",
                            "  [Merci de votre confiance]\n  // ---- Legal mentions ----")
    (tmp_path / "invoice.typ").write_text(custom, encoding="utf-8")
    renderer = PdfRenderer(tmp_path)
    assert renderer.template == tmp_path / "invoice.typ"
    text = PdfReader(io.BytesIO(renderer.render(record))).pages[0].extract_text()
    assert "Merci de votre confiance" in text


def test_directory_without_template_falls_back_to_bundled(tmp_path: Path) -> None:
    assert PdfRenderer(tmp_path).template == BUNDLED_TEMPLATES / "invoice.typ"


def test_broken_override_names_the_file(record: Record, tmp_path: Path) -> None:
    (tmp_path / "invoice.typ").write_text("#let view = json(bytes(sys.inputs.view))\n#view.nope\n")
    with pytest.raises(FacturierError) as info:
        PdfRenderer(tmp_path).render(record)
    message = str(info.value)
    assert str(tmp_path / "invoice.typ") in message
    assert "nope" in message


def test_render_record_reuses_one_renderer_per_directory(record: Record, tmp_path: Path) -> None:
    from facturier.render import pdf as pdf_module

    first = render_records([record])
    assert render_records([record]) == first
    render_records([record], str(tmp_path))
    pids = {pid for pid, _ in pdf_module._RENDERERS}
    assert pids == {os.getpid()}
    assert {directory for _, directory in pdf_module._RENDERERS} >= {None, str(tmp_path)}


def test_forked_after_use_fails_instead_of_hanging(
    record: Record, renderer: PdfRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facturier.render import pdf as pdf_module

    renderer.render(record)
    # Pretend this process was forked from one (pid 1) that had already used Typst.
    monkeypatch.setattr(pdf_module, "_typst_used_by_pid", 1)
    with pytest.raises(FacturierError, match="get_context\\('spawn'\\)"):
        renderer.render(record)


def test_render_ordered_pool_gives_the_same_bytes_in_input_order(
    record: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facturier.render.pool import GROUP_SIZE, render_ordered

    monkeypatch.setenv("FACTURIER_WORKERS", "2")
    records = [{**record, "number": f"2026-{i:04d}"} for i in range(1, 11)]
    # The parent has used Typst (fork would hang); the pool renders sheets of GROUP_SIZE.
    expected = [pdf for i in range(0, len(records), GROUP_SIZE) for pdf in render_records(records[i:i + GROUP_SIZE])]
    results = list(render_ordered(((r["number"], r) for r in records), None, expected=len(records)))
    assert [tag for tag, _ in results] == [r["number"] for r in records]
    assert [pdf for _, pdf in results] == expected


def _titles(pdf: bytes) -> tuple[str, str, str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        pages = re.search(rb"<xmpTPg:NPages>(\d+)<", doc.Root.Metadata.read_bytes())
        assert pages is not None
        return str(doc.docinfo["/Title"]), doc.open_metadata()["dc:title"], pages[1].decode()


def test_a_sheet_splits_into_one_pdfa_per_document_with_its_own_title(record: Record) -> None:
    records = [{**record, "number": f"2026-{i:04d}"} for i in range(1, 5)]
    pdfs = PdfRenderer().render_many(records)
    assert len(pdfs) == 4
    for pdf, rec in zip(pdfs, records, strict=True):
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1
        text = reader.pages[0].extract_text()
        assert rec["number"] in text and f"Facture {rec['number']} Page 1 / 1" in text
        assert _titles(pdf) == (f"Facture {rec['number']}",) * 2 + ("1",)
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            assert (doc.open_metadata()["pdfaid:part"], doc.pdf_version) == ("3", "1.7")
            assert "/OutputIntents" in doc.Root
            assert doc.check_pdf_syntax() == []  # qpdf's structural check
    assert PdfRenderer().render_many(records) == pdfs  # deterministic


def test_a_document_longer_than_a_page_makes_the_sheet_render_one_by_one(record: Record, retotal: Any) -> None:
    long = retotal({**record, "number": "2026-0002", "lines": record["lines"] * 40})
    records = [{**record, "number": "2026-0001"}, long, {**record, "number": "2026-0003"}]
    renderer = PdfRenderer()
    pdfs = renderer.render_many(records)
    assert pdfs == [renderer.render(r) for r in records]
    assert len(PdfReader(io.BytesIO(pdfs[1])).pages) > 1


def test_documents_of_different_dates_share_a_sheet_but_not_of_different_sellers(record: Record) -> None:
    from facturier.render.pool import compile_groups

    records = [record, {**record, "issue_date": "2026-11-16"}, {**record, "issue_date": "2026-11-16", "language": "en"},
               {**record, "seller": {**record["seller"], "name": "Other"}}]
    groups = list(compile_groups(enumerate(records), size=16))
    assert [[i for i, _ in g] for g in groups] == [[0, 1, 2], [3]]
    assert [len(g) for g in compile_groups(enumerate([record] * 20), size=16)] == [16, 4]


def _dates(pdf: bytes) -> set[str]:
    """Every date the PDF states: document information, XMP, the Factur-X attachment's /Params."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        found = {str(doc.docinfo["/CreationDate"]), str(doc.docinfo["/ModDate"])}
        xmp = doc.Root.Metadata.read_bytes()
        found |= {d.decode() for d in re.findall(rb"<xmp:(?:Create|Modify)Date>([^<]+)<", xmp)}
        found |= {d.decode() for d in re.findall(rb"(\d{4}-\d\d-\d\dT[0-9:]+\+00:00)", xmp)}
        params = doc.Root.Names.EmbeddedFiles.Names[1].EF.F.Params
        found |= {str(params.CreationDate), str(params.ModDate)}
        return found


def test_each_document_of_a_sheet_carries_its_own_dates(record: Record) -> None:
    records = [{**record, "number": "2026-0001"}, {**record, "number": "2026-0002", "issue_date": "2026-11-16"},
               {**record, "number": "2026-0003"}]
    pdfs = PdfRenderer().render_many(records)
    assert [_titles(pdf)[0] for pdf in pdfs] == ["Facture 2026-0001", "Facture 2026-0002", "Facture 2026-0003"]
    assert _dates(pdfs[0]) == _dates(pdfs[2]) == {"D:20261115000000Z", "2026-11-15T00:00:00+00:00"}
    assert _dates(pdfs[1]) == {"D:20261116000000Z", "2026-11-16T00:00:00+00:00"}
    assert "16 novembre 2026" in PdfReader(io.BytesIO(pdfs[1])).pages[0].extract_text()
    with pikepdf.open(io.BytesIO(pdfs[1])) as doc:
        assert doc.check_pdf_syntax() == []
    assert PdfRenderer().render_many(records) == pdfs  # deterministic


def test_a_mixed_language_sheet_gives_each_pdf_its_own_language(record: Record) -> None:
    records = [{**record, "number": "2026-0001"}, {**record, "number": "2026-0002", "language": "en"}]
    french, english = PdfRenderer().render_many(records)
    assert _titles(english) == ("Invoice 2026-0002", "Invoice 2026-0002", "1")
    for pdf, lang in ((french, "fr"), (english, "en")):
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            assert str(doc.Root.Lang) == lang
            assert f"<dc:language><rdf:Bag><rdf:li>{lang}</rdf:li></rdf:Bag>".encode() in doc.Root.Metadata.read_bytes()
    assert "Invoice 2026-0002 Page 1 of 1" in PdfReader(io.BytesIO(english)).pages[0].extract_text()


def test_a_sheet_whose_metadata_cannot_be_rewritten_is_not_split(record: Record) -> None:
    from facturier.render.pdf import split_compiled

    sheet = PdfRenderer().render(record)  # one page titled "Facture 2026-0001"
    assert split_compiled(sheet, [("Facture 2026-0001", "fr")]) is not None
    assert split_compiled(sheet, [("Facture autre", "fr")]) is None


def test_each_pdf_of_a_sheet_holds_its_own_document_and_nothing_of_the_others(record: Record) -> None:
    # The splitter reuses one output for the documents of a sheet: what an earlier document
    # had (its page, XMP, Factur-X XML, QR code) must not be written into the next one's file.
    records = [{**record, "number": f"2026-{i:04d}", "total_incl_vat": record["total_incl_vat"]} for i in (1, 2, 3)]
    pdfs = PdfRenderer().render_many(records)
    counts = []
    for pdf, rec in zip(pdfs, records, strict=True):
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            counts.append(len(doc.objects))
            texts = b"".join(obj.read_bytes() for obj in doc.objects if isinstance(obj, pikepdf.Stream)
                             and obj.get("/Subtype") != pikepdf.Name.Image)
            texts += b"".join(str(v).encode() for v in doc.docinfo.values())
            assert rec["number"].encode() in texts
            assert not [o["number"] for o in records if o is not rec and o["number"].encode() in texts]
            [attachment] = doc.attachments.values()
            assert f"<ram:ID>{rec['number']}</ram:ID>".encode() in attachment.get_file().read_bytes()
    assert len(set(counts)) == 1  # the same objects in each file, none left over from another
