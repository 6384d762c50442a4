"""docs/templates.md states the figures the code uses."""

from __future__ import annotations

from pathlib import Path

from facturier.render.pool import GROUP_SIZE

DOC = Path(__file__).resolve().parents[2] / "docs" / "templates.md"


def test_the_documented_sheet_size_is_the_one_used() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"compiles up to {GROUP_SIZE} consecutive" in text
    assert f"this template, {GROUP_SIZE} documents per compile" in text
