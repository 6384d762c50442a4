"""Layout limits a user can reach: very long words stay on the page, table rows stay whole."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import typst
from PIL import Image
from pypdf import PdfReader

from facturier.render.pdf import BUNDLED_TEMPLATES, PdfRenderer
from facturier.render.view import build_view

Record = dict[str, Any]
LONG = "X" * 100  # no space, no hyphen: nowhere Typst would break a line on its own
RIGHT_MARGIN_MM = 15  # the template's margin is 18 mm; a little slack for antialiasing
A4_WIDTH_MM = 210


def _with_long_names(record: Record, number: str = "2026-0001") -> Record:
    record = {**record, "number": number, "mode": "live", "reference": "R" + LONG}  # live: no watermark
    record["seller"] = {**record["seller"], "name": "S" + LONG}
    record["buyer"] = {**record["buyer"], "name": "B" + LONG, "address": ["A" + LONG]}
    record["lines"] = [{**record["lines"][0], "description": "D" + LONG}, *record["lines"][1:]]
    return record


def _pages_png(template: str, key: str, data: Any) -> list[bytes]:
    """The pages of a compile as PNG images (same template, same layout as the PDF)."""
    compiler = typst.Compiler(BUNDLED_TEMPLATES / template, root=BUNDLED_TEMPLATES,
                              font_paths=typst.Fonts(include_system_fonts=False), ignore_system_fonts=True)
    pages = compiler.compile(format="png", ppi=50, sys_inputs={key: json.dumps(data)})
    return [pages] if isinstance(pages, bytes) else list(pages or [])


def _ink_in_right_margin(png: bytes) -> bool:
    """Whether anything is drawn in the right margin, where only overflowing text can be."""
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    band = image.crop((width - width * RIGHT_MARGIN_MM // A4_WIDTH_MM, 0, width, height))
    darkest, _ = band.getextrema()
    return bool(darkest < 250)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _unbroken(text: str) -> str:
    return "".join(text.split())


def test_a_long_unbroken_name_is_wrapped_within_the_page(record: Record, renderer: PdfRenderer) -> None:
    record = _with_long_names(record)
    text = _unbroken(pdf_text(renderer.render(record)))
    for word in ("S" + LONG, "B" + LONG, "A" + LONG, "D" + LONG, "R" + LONG):
        assert word in text  # wrapped, not cut: every character is still there, in order
    assert not any(_ink_in_right_margin(png) for png in _pages_png("invoice.typ", "view", build_view(record)))


def test_a_long_unbroken_name_is_wrapped_within_the_page_of_a_sheet(record: Record, retotal: Any) -> None:
    record = {**record, "lines": record["lines"][:1]}  # one page each, so the sheet is split
    retotal(record)
    records = [_with_long_names(record, f"2026-000{i}") for i in (1, 2)]
    pdfs = PdfRenderer().render_many(records)
    assert all(len(PdfReader(io.BytesIO(pdf)).pages) == 1 for pdf in pdfs)  # rendered as a sheet
    assert all("B" + LONG in _unbroken(pdf_text(pdf)) for pdf in pdfs)
    pages = _pages_png("invoices.typ", "views", [build_view(r) for r in records])
    assert len(pages) == 2 and not any(_ink_in_right_margin(png) for png in pages)


def test_a_wrapped_word_extracts_as_one_word(record: Record, renderer: PdfRenderer) -> None:
    # Cut into boxes, not with invisible break characters: those would also land in the
    # text mapping of the same glyphs elsewhere on the page ("Total" read as "To\u200btal").
    record["buyer"] = {**record["buyer"], "email": None, "name": "facturation.comptabilite@" + "x" * 40}
    text = pdf_text(renderer.render(record))
    assert "\u200b" not in text and "Total TTC" in text


def test_a_table_row_never_splits_across_pages(record: Record, renderer: PdfRenderer, retotal: Any) -> None:
    rows = 30
    filler = " ".join(["prestation"] * 40)  # four lines of description per row
    record["lines"] = [{**record["lines"][0], "description": f"R{i:02d}start {filler} R{i:02d}end"}
                       for i in range(rows)]
    retotal(record)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(renderer.render(record))).pages]
    assert len(pages) > 2
    for i in range(rows):
        on = [n for n, text in enumerate(pages) if f"R{i:02d}start" in text or f"R{i:02d}end" in text]
        assert len(on) == 1, f"row {i} is split over pages {on}"



def test_a_long_hyphenated_word_still_breaks_at_its_hyphens(record: Record, renderer: PdfRenderer,
                                                             retotal: Any) -> None:
    record["lines"] = [{**record["lines"][0], "description": "Abonnement-annuel-maintenance-serveurs-et-sauvegardes"}]
    retotal(record)
    text = pdf_text(renderer.render(record))
    assert "Abonnement-annuel-maintenance-serveurs-et-sauvegardes" in _unbroken(text)
    assert "sauvegarde\ns" not in text  # never cut inside a word part when a hyphen is there


def test_a_long_word_with_a_quote_or_a_backslash_is_wrapped_on_a_sheet(record: Record, retotal: Any) -> None:
    # A sheet skips the long-word rule when its JSON has no long run (templates/invoices.typ);
    # a quote or a backslash, escaped in the JSON, must not hide a long word from that check.
    record = {**record, "lines": record["lines"][:1], "mode": "live"}
    retotal(record)
    records = []
    # Each side of the quote or backslash is shorter than a long word (25), the whole is not.
    for i, name in enumerate(("X" * 24 + '"' + "X" * 24, "X" * 24 + "\\" + "X" * 24), start=1):
        records.append({**record, "number": f"2026-000{i}", "buyer": {**record["buyer"], "name": name}})
    for one in records:
        pages = _pages_png("invoices.typ", "views", [build_view(one), build_view({**one, "number": "2026-0009"})])
        assert len(pages) == 2 and not any(_ink_in_right_margin(png) for png in pages)


def test_a_sheet_without_long_words_renders_as_with_the_long_word_rule(record: Record, retotal: Any,
                                                                       tmp_path: Any) -> None:
    # Skipping the rule where it matches nothing changes no byte of the documents.
    record = {**record, "lines": record["lines"][:1]}
    retotal(record)
    views = [build_view({**record, "number": f"2026-000{i}"}) for i in (1, 2, 3)]
    for view in views:
        view["payment"] = None
    for name in ("invoice.typ", "invoices.typ", "qr-slot.png"):
        (tmp_path / name).write_bytes((BUNDLED_TEMPLATES / name).read_bytes())
    forced = tmp_path / "invoices.typ"
    forced.write_text(forced.read_text(encoding="utf-8").replace("long-words: long-words", "long-words: true"),
                      encoding="utf-8")
    payload = json.dumps(views)
    assert "long-words: true" in forced.read_text(encoding="utf-8")

    def compiled(folder: Any) -> bytes:
        compiler = typst.Compiler(folder / "invoices.typ", root=folder,
                                  font_paths=typst.Fonts(include_system_fonts=False), ignore_system_fonts=True)
        pdf = compiler.compile(format="pdf", sys_inputs={"views": payload}, pdf_standards=["a-3b"],
                               timestamp=datetime(2026, 11, 3, tzinfo=UTC))  # not the clock: same bytes
        assert isinstance(pdf, bytes)
        return pdf

    assert compiled(BUNDLED_TEMPLATES) == compiled(tmp_path)
