"""`facturier export fec` on the demo: the file the accountant receives, and its errors."""

from __future__ import annotations

import csv
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import DEMO, run_cli
from tests.ops.test_fec import amount, fec_problems, rows_of

DAY = "2026-11-15"


@pytest.fixture
def books(tmp_path: Path) -> Path:
    """The demo after a run, a batch, payments (one partial, one in GBP) and a credit note."""
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    with open(ws / "facturier.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[accounting]\nexchange_rates = { GBP = "1.1650" }\nrevenue_by_rate = { "0" = "706100" }\n')
    for args in (("run", "--date", DAY), ("batch", "--date", DAY), ("pay", "acme", "500.00", "--date", "2026-11-20"),
                 ("pay", "northwind", "1770.00", "--date", "2026-11-25"),
                 ("credit", "2026-0001", "--amount", "100.00", "--date", "2026-11-28")):
        r = run_cli(ws, *args)
        assert r.code == 0, r.text
    return ws


def export_sum(ws: Path, name: str, column: str, currency: str) -> Decimal:
    r = run_cli(ws, "export", name, "--year", "2026", "--out", str(ws / f"{name}.csv"))
    assert r.code == 0, r.text
    rows = csv.DictReader(io.StringIO((ws / f"{name}.csv").read_text(encoding="utf-8")))
    return sum((Decimal(row[column]) for row in rows if row["currency"] == currency), Decimal(0))


def test_the_fec_is_named_after_the_siren_and_closing_date_and_matches_the_exports(books: Path) -> None:
    r = run_cli(books, "export", "fec", "--year", "2026")
    assert r.code == 0, r.text
    assert "Left out 5 batch-service document(s)" in r.out and "Left out 1 test-mode" in r.out
    path = books / "exports" / "732829320FEC20261231.txt"
    content = path.read_bytes()
    assert fec_problems(content) == []
    rows = rows_of(content)
    eur = [r for r in rows if not r["Idevise"]]
    gbp = [r for r in rows if r["Idevise"] == "GBP"]
    vt_411 = sum((amount(r["Debit"]) - amount(r["Credit"]) for r in eur
                  if r["JournalCode"] == "VT" and r["CompteNum"] == "411000"), Decimal(0))
    assert vt_411 == export_sum(books, "revenues", "amount_incl_vat", "EUR") == Decimal("727.88")
    vat = sum((amount(r["Credit"]) - amount(r["Debit"]) for r in eur if r["CompteNum"] == "445710"), Decimal(0))
    assert vat == export_sum(books, "revenues", "vat_amount", "EUR")
    bank = sum((amount(r["Debit"]) for r in eur if r["CompteNum"] == "512000"), Decimal(0))
    assert bank == export_sum(books, "receipts", "amount", "EUR") == Decimal("500.00")
    # The GBP invoice: 706100 (its 0 % rate has its own account), euros at the configured rate.
    gbp_sales = [r for r in gbp if r["CompteNum"] == "706100"]
    assert [(r["Credit"], r["Montantdevise"]) for r in gbp_sales] == [("2062,05", "1770,00")]
    assert export_sum(books, "receipts", "amount", "GBP") == sum(
        (amount(r["Montantdevise"]) for r in gbp if r["CompteNum"] == "512000"), Decimal(0))
    # Paid in full: the invoice and its payment carry the same letter and date.
    assert {(r["JournalCode"], r["EcritureLet"], r["DateLet"]) for r in gbp if r["CompteNum"] == "411000"} == {
        ("VT", "2026-0002", "20261125"), ("BQ", "2026-0002", "20261125")}
    assert not any(r["CompAuxNum"] == "boulangerie-martin" for r in rows)


def test_a_foreign_currency_without_a_rate_is_a_clear_error(books: Path) -> None:
    toml = books / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('exchange_rates = { GBP = "1.1650" }', ""),
                    encoding="utf-8")
    r = run_cli(books, "export", "fec", "--year", "2026")
    assert r.code == 1 and "Traceback" not in r.text
    assert "2026 has amounts in GBP" in r.err and "[accounting] exchange_rates" in r.err
    assert not (books / "exports" / "732829320FEC20261231.txt").exists()


def test_account_numbers_are_checked_with_the_rest_of_the_configuration(books: Path) -> None:
    toml = books / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[accounting]", '[accounting]\nbank = "411000"'),
                    encoding="utf-8")
    r = run_cli(books, "export", "fec", "--year", "2026")
    assert r.code == 1
    assert "facturier.toml: accounting.bank: '411000' is not a bank (class 5) account" in r.err


def test_accounts_per_client_instead_of_auxiliary_ids(books: Path) -> None:
    toml = books / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("[accounting]", '[accounting]\nclients = "accounts"'),
                    encoding="utf-8")
    assert run_cli(books, "export", "fec", "--year", "2026", "--out", str(books / "f.txt")).code == 0
    rows = rows_of((books / "f.txt").read_bytes())
    assert {r["CompteNum"] for r in rows if r["CompteNum"].startswith("411")} == {"411ACME", "411NORTHWIND"}
    assert all(r["CompAuxNum"] == "" for r in rows)


def test_text_that_a_spreadsheet_would_run_is_shown_as_text_in_the_fec(tmp_path: Path) -> None:
    """A client name `=HYPERLINK(...)` and a payment reference starting with a tab then `=`
    land in the FEC as text (a leading `'`), never as a formula, and the FEC stays valid."""
    ws = tmp_path / "ws"
    shutil.copytree(DEMO, ws)
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace('name = "ACME SARL"', 'name = "=HYPERLINK(\\"http://x.example\\")"'))
    with open(ws / "facturier.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[accounting]\nexchange_rates = { GBP = "1.1650" }\n')
    assert run_cli(ws, "run", "--date", DAY).code == 0
    assert run_cli(ws, "pay", "acme", "10.00", "--date", "2026-11-20", "--ref", "=1+1").code == 0
    assert run_cli(ws, "export", "fec", "--year", "2026").code == 0
    content = (ws / "exports" / "732829320FEC20261231.txt").read_bytes()
    assert fec_problems(content) == []
    for row in rows_of(content):
        for field in ("CompAuxLib", "EcritureLib", "PieceRef", "CompteLib"):
            assert not row[field].startswith(("=", "+", "-", "@")), (field, row[field])
    assert any(r["CompAuxLib"].startswith("'=HYPERLINK") for r in rows_of(content))
