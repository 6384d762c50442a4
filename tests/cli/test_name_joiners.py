"""Zero-width joiners (U+200C ZWNJ, U+200D ZWJ) in Persian and Indic names: spelling between two
letters, so accepted everywhere a name enters (configuration, batch CSV, free-text options) and
printed as is on the invoice; anywhere else still an invisible character, refused like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_demo, journal, pdf_text, run_cli

PERSIAN = "Ketab \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "می‌خواهم": ZWNJ between two letters
HINDI = "\u0915\u094d\u200d\u0937 Traders"  # "क्‍ष": ZWJ after a virama (a mark)


def _letters(text: str) -> str:
    """PDF text without the stray control codes pypdf reads for the glyphs of a shaped cluster."""
    return "".join(c for c in text if c == "\n" or c >= " ")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return copy_demo(tmp_path / "ws")


def _edit(ws: Path, old: str, new: str) -> None:
    path = ws / "clients" / "acme.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_name_with_joiners_between_letters_is_checked_issued_and_printed(ws: Path) -> None:
    _edit(ws, 'name = "ACME SARL"', f'name = "{PERSIAN}"')
    _edit(ws, '"1 avenue Foch"', f'"{HINDI}", "1 avenue Foch"')
    check = run_cli(ws, "check")
    assert check.code == 0, check.text
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    [issued] = [e for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "acme"]
    [pdf] = (ws / "data" / "invoices" / "acme").rglob("*.pdf")
    text = _letters(pdf_text(pdf))
    assert PERSIAN in text and HINDI in text, text
    show = run_cli(ws, "show", issued["number"])
    assert show.code == 0 and "\\u200c" not in show.out and "Traceback" not in show.text, show.text


@pytest.mark.parametrize(("name", "shown"), [
    ("ACME\u200c", "U+200C"),  # at the end: next to nothing
    ("AC\u200d ME", "U+200D"),  # next to a space
    ("AC\u200c\u200dME", "U+200C"),  # two in a row
    ("12\u200c34", "U+200C"),  # between digits
    ("ACME\u202eLRAS", "U+202E"),  # a bidi override, never allowed
])
def test_joiners_elsewhere_and_other_format_characters_are_still_refused(ws: Path, name: str, shown: str) -> None:
    _edit(ws, 'name = "ACME SARL"', f'name = "{name}"')
    check = run_cli(ws, "check")
    assert check.code == 1 and f"clients/acme.toml: name: contains {shown}" in check.out, check.text
    assert "Traceback" not in check.text


def test_free_text_options_take_joiners_between_letters_only(ws: Path) -> None:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    ok = run_cli(ws, "pay", "acme", "10", "--date", "2026-11-18", "--ref", PERSIAN)
    assert ok.code == 0, ok.text
    assert [e["reference"] for e in journal(ws) if e["type"] == "payment.recorded"] == [PERSIAN]
    bad = run_cli(ws, "pay", "acme", "10", "--date", "2026-11-18", "--ref", "VIR\u200c")
    assert bad.code == 1 and "Error: --ref: contains U+200C (ZERO WIDTH NON-JOINER)" in bad.err, bad.text
    assert "only between two letters" in bad.err
    assert len([e for e in journal(ws) if e["type"] == "payment.recorded"]) == 1


def test_a_batch_row_with_a_joined_name_is_issued(ws: Path) -> None:
    inbox = ws / "data" / "inbox_batch" / "boulangerie-martin"
    inbox.mkdir(parents=True, exist_ok=True)
    header = "reference,date,customer_name,customer_address,description,unit_price"
    (inbox / "orders.csv").write_text(f"{header}\nR1,2026-11-02,{HINDI},1 rue A | 69001 Lyon,Pain,1\n"
                                      f"R2,2026-11-02,{PERSIAN}\u200c,1 rue A | 69001 Lyon,Pain,1\n",
                                      encoding="utf-8")
    refused = run_cli(ws, "batch", "--date", "2026-11-20")
    errors = (inbox / "rejected" / "orders.csv.errors.txt").read_text(encoding="utf-8")
    assert refused.code == 1 and errors.startswith("orders.csv:3:customer_name: contains U+200C"), errors
    (inbox / "orders.csv").write_text(f"{header}\nR1,2026-11-02,{HINDI},1 rue A | 69001 Lyon,Pain,1\n",
                                      encoding="utf-8")
    done = run_cli(ws, "batch", "--date", "2026-11-20")
    assert done.code == 0, done.text
    [pdf] = (ws / "data" / "invoices_batch" / "boulangerie-martin").rglob("*.pdf")
    assert HINDI in _letters(pdf_text(pdf))
