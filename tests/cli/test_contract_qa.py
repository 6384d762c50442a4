"""Defects of a QA pass of the product against its contract (PRODUCT.md), each through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_demo, journal, run_cli

BATCH_INBOX = Path("data") / "inbox_batch" / "boulangerie-martin"


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


@pytest.mark.parametrize("year", ["1800", "99999", "0"])
def test_invoices_year_out_of_range_is_a_usage_error(issued: Path, year: str) -> None:
    """`invoices --year 99999` listed nothing and exited 0; every other --year is 1900-2999."""
    result = run_cli(issued, "invoices", "--year", year)
    assert result.code == 2, result.text
    assert "is not a year from 1900 to 2999" in result.err


def test_a_row_with_other_problems_is_still_held_to_the_series_date_order(issued: Path) -> None:
    """A row dated before the series' last invoice was reported only once its other problems were
    fixed: the file came back rejected a second time for a problem it already had."""
    inbox = issued / BATCH_INBOX
    inbox.mkdir(parents=True, exist_ok=True)
    for old in inbox.glob("*.csv"):
        old.unlink()
    (inbox / "a.csv").write_text("reference,date,customer_name,customer_address,description,unit_price\n"
                                 "R1,2026-11-10,A,1 rue X,Pain,2\n")
    assert run_cli(issued, "batch", "--date", "2026-11-15").code == 0
    (inbox / "b.csv").write_text("reference,date,customer_name,customer_address,description,unit_price,quantity\n"
                                 "R2,2026-11-01,A,1 rue X,Pain,2,0\n")
    before = journal(issued)
    result = run_cli(issued, "batch", "--date", "2026-11-15")
    assert result.code == 1
    errors = (inbox / "rejected" / "b.csv.errors.txt").read_text()
    assert "b.csv:2:quantity:" in errors
    assert "b.csv:2:date: 2026-11-01 is before 2026-11-10" in errors
    assert [e["type"] for e in journal(issued)[len(before):]] == ["batch.rejected"]
