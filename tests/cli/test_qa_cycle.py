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


def test_an_amount_beyond_the_sepa_qr_limit_is_issued_without_a_qr_code(ws: Path) -> None:
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace('unit_price = "450.00"', 'unit_price = "1500000000.00"'))
    res = run_cli(ws, "run", "--date", "2026-11-15")
    assert res.code == 0, res.text
    assert "Traceback" not in res.text
    numbers = [e["number"] for e in journal(ws) if e["type"] == "invoice.issued"]
    assert numbers == ["2026-0001", "2026-0002", "TEST-2026-0001"]
    text = pdf_text(ws / "data" / "invoices" / "acme" / "2026" / "2026-0001.pdf")
    assert "Scanner pour payer" not in text
    assert "1 800 000 287,88" in text
