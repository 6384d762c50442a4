"""The report in a real browser: headless Chromium renders it to PNG and PDF, with no console
error and no request for anything but the file itself (skipped where Chromium is absent)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from tests.chromium import find_chromium, render_page
from tests.conftest import run_cli
from tests.report_books import build_books

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's "
                                "chromium); the report's browser test needs it")


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = build_books(tmp_path_factory.mktemp("browser") / "ws")
    r = run_cli(ws, "report", "--year", "2026", "--date", "2026-06-30")
    assert r.code == 0, r.text
    return ws / "exports" / "report-2026.html"


def test_the_report_renders_offline_without_errors_to_png_and_pdf(report: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    seen = render_page(CHROMIUM, report)
    assert seen.console_errors == []
    assert seen.failed == []
    assert seen.foreign_requests(report.resolve().as_uri()) == []
    assert seen.png.startswith(b"\x89PNG\r\n\x1a\n") and len(seen.png) > 50_000
    assert seen.pdf.startswith(b"%PDF-")
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(seen.pdf))
    assert len(pdf.pages) >= 3
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    pdf_text = plain("\n".join(page.extract_text() or "" for page in pdf.pages))
    text = plain(seen.text)
    figures = json.loads(re.search(r'id="facturier-figures">(.*?)</script>', report.read_text(encoding="utf-8"),
                                   re.DOTALL).group(1))  # type: ignore[union-attr]
    # The totals, as Babel writes them in French, on the screen and on paper.
    for shown in ("7 027,28 €", "2 827,88 €", "10 620,00 £GB", "1 000,00 £GB", "Rapport 2026 · Palks Studio"):
        assert shown in text
        assert shown in pdf_text
    assert f"Le journal se termine à l'entrée {figures['journal']['entry']}" in text
    assert figures["journal"]["hash"] in text.replace("\n", "")
    assert 'Atelier <img src=x onerror=alert(1)> & "Co" </td><script>alert(2)</script>' in text


def test_a_page_that_reaches_for_the_network_is_caught(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><p>hi</p><img src="http://assets.example/logo.png">'
                    '<script>console.error("boom")</script></body></html>', encoding="utf-8")
    seen = render_page(CHROMIUM, page)
    assert "http://assets.example/logo.png" in seen.foreign_requests(page.resolve().as_uri())
    assert seen.failed
    assert any("boom" in e for e in seen.console_errors)
