"""The payment QR code on an invoice scans to the right SEPA transfer (read with zbarimg)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typst

from facturier.render.pdf import BUNDLED_SAMPLE, BUNDLED_TEMPLATES
from facturier.render.view import build_view

SAMPLE = BUNDLED_SAMPLE


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_payment_qr_scans_to_the_epc_payload(tmp_path: Path) -> None:
    record = json.loads(SAMPLE.read_text(encoding="utf-8"))
    record["seller"]["name"] = "Palks Studio — Léa & Fils"  # UTF-8 survives the round trip
    compiler = typst.Compiler(
        BUNDLED_TEMPLATES / "invoice.typ", root=BUNDLED_TEMPLATES,
        font_paths=typst.Fonts(include_system_fonts=False), ignore_system_fonts=True,
    )
    png = compiler.compile(format="png", ppi=150, sys_inputs={"view": json.dumps(build_view(record))})
    page = tmp_path / "page.png"
    page.write_bytes(png if isinstance(png, bytes) else png[0])
    scan = subprocess.run(["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True)
    lines = scan.stdout.splitlines()
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[4:8] == ["AGRIFRPP", "Palks Studio — Léa & Fils", "FR7630006000011234567890189", "EUR1185.00"]
    assert lines[-1] == "2026-0001"
