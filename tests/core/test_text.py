"""printable (names safe to print) and spreadsheet_cell (formula injection), as pure functions."""

from __future__ import annotations

import pytest

from facturier.core.text import printable, spreadsheet_cell


@pytest.mark.parametrize(("raw", "shown"), [
    ("orders.csv", "orders.csv"),
    ("Pâtisserie été.csv", "Pâtisserie été.csv"),
    ("a\nb.csv", "a\\nb.csv"),
    ("a\rb\tc", "a\\rb\\tc"),
    ("\x1b[31mred", "\\x1b[31mred"),
    ("rtl\u202eoverride", "rtl\\u202eoverride"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("line\u2028sep", "line\\u2028sep"),
    ("bytes\udcff.csv", "bytes\\udcff.csv"),  # an undecodable byte kept by surrogateescape
    ("no\u00a0break", "no\u00a0break"),  # a visible space stays
])
def test_printable_escapes_control_and_invisible_characters(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert "\n" not in printable(raw) and printable(raw).encode("utf-8")


@pytest.mark.parametrize("cell", ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://evil.example/?p=1","Facture 2026-0001")'])
def test_formula_cells_get_a_quote_prefix(cell: str) -> None:
    assert spreadsheet_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["ACME SARL", "2026-0001", "", "R=9", " =1"])
def test_plain_text_is_unchanged(cell: str) -> None:
    assert spreadsheet_cell(cell) == cell
