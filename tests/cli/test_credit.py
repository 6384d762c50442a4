"""`credit` on a mixed-rate invoice: an amount spread over the rates, given lines, dry runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import journal, pdf_text, run_cli


@pytest.fixture
def mixed(ws: Path) -> Path:
    """acme's 2026-0001 with 650.00 at 20 % (lines 1 and 3) and 39.90 at 10 % (line 2): 823.89 incl."""
    toml = ws / "clients" / "acme.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'unit_price = "39.90"\n', 'unit_price = "39.90"\nvat_rate = "10"\n', 1), encoding="utf-8")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    assert any(e.get("number") == "2026-0001" and e["total_incl_vat"] == "823.89" for e in journal(ws))
    return ws


def credits_of(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "credit_note.issued"]


def record_of(ws: Path, entry: dict) -> dict:
    return json.loads((ws / entry["files"]["json"]["path"]).read_text(encoding="utf-8"))


def test_amount_is_spread_over_the_rates_pro_rata(mixed: Path) -> None:
    res = run_cli(mixed, "credit", "2026-0001", "--amount", "100.00", "--reason", "Geste commercial",
                  "--date", "2026-11-20")
    assert res.code == 0, res.text
    # The split is printed, one row per rate: 5.32 at 10 % and 94.68 at 20 % (shares of 43.89 / 780.00).
    assert "\t10\t4.84\t0.48\t5.32\t" in res.out and "\t20\t78.90\t15.78\t94.68\t" in res.out
    entry, = credits_of(mixed)
    assert (entry["total_excl_vat"], entry["total_vat"], entry["total_incl_vat"]) == ("83.74", "16.26", "100.00")
    record = record_of(mixed, entry)
    assert [(l["vat_rate"], l["amount_excl_vat"]) for l in record["lines"]] == [("10", "4.84"), ("20", "78.90")]
    assert [(v["rate"], v["base"], v["amount"]) for v in record["vat_breakdown"]] == [
        ("10", "4.84", "0.48"), ("20", "78.90", "15.78")]
    text = pdf_text(mixed / entry["files"]["pdf"]["path"])
    assert "Avoir partiel sur la facture 2026-0001" in text and "Total TTC 100,00 €" in text
    assert "10 % 4,84 € 0,48 €" in text and "20 % 78,90 € 15,78 €" in text


def test_the_rest_after_a_partial_credit_empties_each_rate(mixed: Path) -> None:
    assert run_cli(mixed, "credit", "2026-0001", "--amount", "100.00", "--date", "2026-11-20").code == 0
    res = run_cli(mixed, "credit", "2026-0001", "--amount", "723.90", "--date", "2026-11-20")
    assert res.code == 1 and "only 723.89 EUR" in res.err, res.text
    assert run_cli(mixed, "credit", "2026-0001", "--date", "2026-11-21").code == 0
    rest = record_of(mixed, credits_of(mixed)[-1])
    assert [(v["rate"], v["base"], v["amount"]) for v in rest["vat_breakdown"]] == [
        ("10", "35.06", "3.51"), ("20", "571.10", "114.22")]
    assert rest["total_incl_vat"] == "723.89"
    assert "fully credited" in run_cli(mixed, "credit", "2026-0001", "--line", "1", "--date", "2026-11-21").err


def test_lines_are_credited_in_full_and_once(mixed: Path) -> None:
    res = run_cli(mixed, "credit", "2026-0001", "--line", "2", "--date", "2026-11-20")
    assert res.code == 0, res.text
    entry = credits_of(mixed)[-1]
    assert entry["total_incl_vat"] == "43.89" and entry["credited_lines"] == [2]
    assert [l["description"] for l in record_of(mixed, entry)["lines"]] == ["Hébergement et sauvegardes"]
    again = run_cli(mixed, "credit", "2026-0001", "--line", "2", "--date", "2026-11-20")
    assert again.code == 1 and "line 2 was already credited" in again.err
    assert run_cli(mixed, "credit", "2026-0001", "--line", "3", "--line", "1", "--date", "2026-11-20").code == 0
    last = credits_of(mixed)[-1]
    assert last["total_incl_vat"] == "780.00" and last["credited_lines"] == [1, 3]
    assert [l["quantity"] for l in record_of(mixed, last)["lines"]] == ["1", "2.5"]  # invoice order
    assert "fully credited" in run_cli(mixed, "credit", "2026-0001", "--date", "2026-11-20").err


def test_a_line_never_takes_more_than_remains_at_its_rate(mixed: Path) -> None:
    assert run_cli(mixed, "credit", "2026-0001", "--amount", "100.00", "--date", "2026-11-20").code == 0
    res = run_cli(mixed, "credit", "2026-0001", "--line", "2", "--date", "2026-11-20")
    assert res.code == 1 and "43.89 EUR at 10% VAT, but only 38.57 remains creditable" in res.err, res.text
    assert len(credits_of(mixed)) == 1


@pytest.mark.parametrize("args, message", [
    (("--line", "4"), "the invoice has 3 line(s)"),
    (("--line", "1", "--line", "1"), "--line 1 is given twice"),
    (("--line", "1", "--amount", "10"), "either --amount or --line"),
    (("--amount", "3.00"), "3.00 cannot be split exactly into bases and VAT at 10%, 20%; try 2.99 or 3.01"),
])
def test_refused_credits(mixed: Path, args: tuple[str, ...], message: str) -> None:
    res = run_cli(mixed, "credit", "2026-0001", *args, "--date", "2026-11-20")
    assert res.code == 1 and message in res.err and "Traceback" not in res.text, res.text
    assert credits_of(mixed) == []


def test_single_rate_partial_credit_keeps_its_meaning(ws: Path) -> None:
    # One rate: the amount is incl. VAT and one line carries it; unsplittable amounts are refused.
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    res = run_cli(ws, "credit", "2026-0001", "--amount", "0.03", "--date", "2026-11-20")
    assert res.code == 1 and "into a base and 20% VAT; try 0.02 or 0.04" in res.err, res.text
    assert run_cli(ws, "credit", "2026-0001", "--amount", "60.00", "--date", "2026-11-20").code == 0
    entry = credits_of(ws)[-1]
    assert (entry["total_excl_vat"], entry["total_vat"]) == ("50.00", "10.00")
    assert len(record_of(ws, entry)["lines"]) == 1


def test_dry_run_prints_the_split_and_writes_nothing(mixed: Path) -> None:
    before = (mixed / "data" / "journal.jsonl").read_bytes()
    res = run_cli(mixed, "credit", "2026-0001", "--amount", "100.00", "--date", "2026-11-20", "--dry-run", "--json")
    assert res.code == 0, res.text
    out = json.loads(res.out)
    assert "dry run" in out["title"]
    assert [(r["number"], r["vat_rate"], r["total_incl_vat"]) for r in out["rows"]] == [
        ("AV-2026-0001", "10", "5.32"), ("AV-2026-0001", "20", "94.68")]
    res = run_cli(mixed, "credit", "2026-0001", "--line", "2", "--dry-run")
    assert res.code == 0 and "43.89" in res.out, res.text
    assert (mixed / "data" / "journal.jsonl").read_bytes() == before
    assert not (mixed / "data" / "credit_notes").exists()
    res = run_cli(mixed, "credit", "2026-0001", "--line", "9", "--dry-run")
    assert res.code == 1 and "the invoice has 3 line(s)" in res.err


def test_a_rest_with_no_exact_split_is_cleared_in_two_notes(mixed: Path) -> None:
    # 1.00 takes 0.05 + 0.01 VAT at 10 %: 39.85 of base stays there with 3.98 of VAT, and no base
    # gives 43.83 at 10 %. Refused with the way out, which then clears the invoice exactly.
    assert run_cli(mixed, "credit", "2026-0001", "--amount", "1.00", "--date", "2026-11-20").code == 0
    res = run_cli(mixed, "credit", "2026-0001", "--date", "2026-11-20")
    assert res.code == 1 and "Traceback" not in res.text, res.text
    assert "what remains of invoice 2026-0001 (822.89 EUR) cannot be credited in one credit note" in res.err
    assert "credit 822.88 with --amount, then the rest" in res.err
    assert run_cli(mixed, "credit", "2026-0001", "--amount", "822.88", "--date", "2026-11-20").code == 0
    assert run_cli(mixed, "credit", "2026-0001", "--date", "2026-11-20").code == 0
    assert [c["total_incl_vat"] for c in credits_of(mixed)] == ["1.00", "822.88", "0.01"]
    res = run_cli(mixed, "balances", "--date", "2026-11-20", "--json")
    acme, = [r for r in json.loads(res.out)["rows"] if r["client"] == "acme"]
    assert acme["balance"] == "0.00"
