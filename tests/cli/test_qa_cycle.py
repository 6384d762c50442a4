"""QA regressions on the monthly cycle and the batch service: bad input never crashes or loses data."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import copy_demo, journal, pdf_text, run_cli


def _issued(ws: Path) -> Path:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def test_verify_reports_a_directory_in_place_of_an_invoice_file(ws: Path) -> None:
    _issued(ws)
    pdf = ws / "data" / "invoices" / "acme" / "2026" / "2026-0001.pdf"
    pdf.unlink()
    pdf.mkdir()
    res = run_cli(ws, "verify")
    assert res.code == 1
    assert "Traceback" not in res.text
    assert "data/invoices/acme/2026/2026-0001.pdf" in res.text
