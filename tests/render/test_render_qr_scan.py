"""The payment QR code on each invoice scans to that invoice's SEPA transfer.

The bundled template draws a blank slot where the code goes and the renderer puts each
invoice's own code into it after the compile (render/pdf.py `fill_qr_slot`): these tests
read the code back from the finished PDFs, so a code put on the wrong invoice of a sheet,
a slot left blank or an image a viewer cannot draw fails here.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pikepdf
import pytest
import typst
import zxingcpp

from facturier.core.errors import FacturierError
from facturier.render.pdf import BUNDLED_SAMPLE, BUNDLED_TEMPLATES, PdfRenderer, fill_qr_slot
from facturier.render.qr import QR_SLOT_FILE, QR_SLOT_PIXELS, png_modules
from facturier.render.view import build_view

SAMPLE = BUNDLED_SAMPLE
Record = dict[str, Any]


def sample() -> Record:
    record: Record = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return record


def invoices(count: int) -> list[Record]:
    """`count` invoices of one sheet (same date and seller), each with its own number and amount."""
    records = []
    for i in range(count):
        record = copy.deepcopy(sample())
        record["number"] = f"2026-{i + 1:04d}"
        record["lines"] = record["lines"][:1]
        record["lines"][0].update(unit_price=f"{100 + i}.00", amount_excl_vat=f"{100 + i}.00")
        vat = f"{(100 + i) * 0.2:.2f}"
        record["vat_breakdown"] = [{"rate": "20", "base": f"{100 + i}.00", "amount": vat}]
        record.update(total_excl_vat=f"{100 + i}.00", total_vat=vat, total_incl_vat=f"{100 + i + float(vat):.2f}")
        records.append(record)
    return records


def _decoded(pdf: bytes) -> list[Any]:
    """Every image of the PDF as a PIL image (filters and predictor undone by qpdf)."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return [pikepdf.PdfImage(image).as_pil_image() for page in doc.pages for image in page.get_images().values()]


def scanned(pdf: bytes) -> list[str]:
    """The text of every QR code drawn in the PDF's images."""
    return [bytes(code.bytes).decode("utf-8") for image in _decoded(pdf) for code in zxingcpp.read_barcodes(image)]


def test_each_invoice_of_a_sheet_carries_its_own_code() -> None:
    records = invoices(5)
    records[2]["currency"] = "USD"  # no SEPA code for a dollar invoice, in the middle of the sheet
    pdfs = PdfRenderer().render_many(records)
    for record, pdf in zip(records, pdfs, strict=True):
        codes = scanned(pdf)
        if record["currency"] == "USD":
            assert codes == [] and _decoded(pdf) == []
            continue
        assert len(codes) == 1
        lines = codes[0].split("\n")
        assert lines[7] == f"EUR{record['total_incl_vat']}" and lines[-1] == record["number"]


def test_a_document_rendered_alone_carries_its_code_and_no_blank_slot_is_left() -> None:
    record = invoices(1)[0]
    pdf = PdfRenderer().render(record)
    assert scanned(pdf)[0].split("\n")[-1] == record["number"]
    assert all(image.size != (QR_SLOT_PIXELS, QR_SLOT_PIXELS) for image in _decoded(pdf))


def test_the_shipped_slot_image_is_the_blank_one() -> None:
    assert (BUNDLED_TEMPLATES / QR_SLOT_FILE).read_bytes() == png_modules(7, 7, b"\xff" * 49)  # 7 x 7 light modules


def test_a_pdf_without_the_slot_is_refused_rather_than_issued_without_its_code() -> None:
    record = invoices(1)[0]
    record["currency"] = "USD"  # rendered without any QR code: no slot drawn
    pdf = PdfRenderer().render(record)
    png = bytes(build_view(invoices(1)[0])["payment"]["qr_png"])
    with pikepdf.open(io.BytesIO(pdf)) as doc, pytest.raises(FacturierError, match="no payment QR code slot"):
        fill_qr_slot(doc, png, "Facture 2026-0001")


def test_an_override_copied_from_the_bundled_template_draws_the_code_itself(tmp_path: Path) -> None:
    shutil.copy(BUNDLED_TEMPLATES / "invoice.typ", tmp_path / "invoice.typ")  # no qr-slot.png beside it
    record = invoices(1)[0]
    assert scanned(PdfRenderer(tmp_path).render(record))[0].split("\n")[-1] == record["number"]


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_the_template_alone_draws_a_code_that_scans_to_the_epc_payload(tmp_path: Path) -> None:
    record = sample()
    record["seller"]["name"] = "Palks Studio — Léa & Fils"  # UTF-8 survives the round trip
    compiler = typst.Compiler(
        BUNDLED_TEMPLATES / "invoice.typ", root=BUNDLED_TEMPLATES,
        font_paths=typst.Fonts(include_system_fonts=False), ignore_system_fonts=True,
    )
    png = compiler.compile(format="png", ppi=150, sys_inputs={"view": json.dumps(build_view(record))})
    page = tmp_path / "page.png"
    page.write_bytes(png if isinstance(png, bytes) else png[0])
    scan = subprocess.run(["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True, check=False)
    lines = scan.stdout.splitlines()
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[4:8] == ["AGRIFRPP", "Palks Studio — Léa & Fils", "FR7630006000011234567890189", "EUR1185.00"]
    assert lines[-1] == "2026-0001"


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbarimg (Debian zbar-tools) or pdftoppm (Debian poppler-utils) is not installed")
def test_the_issued_pdfs_scan_once_rasterised_by_a_pdf_viewer(tmp_path: Path) -> None:
    records = invoices(3)
    for index, pdf in enumerate(PdfRenderer().render_many(records)):
        (tmp_path / f"{index}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / f"{index}.pdf"),
                        str(tmp_path / f"page{index}")], check=True)
        scan = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / f"page{index}.png")],
                              capture_output=True, text=True, check=False)
        lines = scan.stdout.splitlines()
        assert lines[7] == f"EUR{records[index]['total_incl_vat']}" and lines[-1] == records[index]["number"]
