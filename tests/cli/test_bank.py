"""import-bank on real-format statements: matching, unmatched lines, duplicates, dry run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import journal, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank"
CSV_MAPPING = """
[bank.csv]
delimiter = ";"
date_column = "Date"
amount_column = "Montant"
text_column = "Libellé"
id_column = "Id"
date_format = "%d/%m/%Y"
decimal_separator = ","
"""


@pytest.fixture
def issued(ws: Path) -> Path:
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(CSV_MAPPING)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def bank_payments(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "payment.recorded"]


@pytest.mark.parametrize("name, fmt, matched", [
    ("statement.camt053.xml", "camt053", ("acme", "2026-0001", "827.88", "CAMT-0001")),
    ("statement.ofx", "ofx", ("northwind", "2026-0002", "1770.00", "OFX-0001")),
    ("statement.mt940", "mt940", ("acme", "2026-0001", "500.00", "BANKREF1")),
    ("statement.csv", "csv", ("acme", "2026-0001", "827.88", "CSV-1")),
])
def test_import_matches_and_lists_unmatched(issued: Path, name: str, fmt: str, matched: tuple[str, ...]) -> None:
    res = run_cli(issued, "import-bank", str(FIXTURES / name))  # format detected from content
    assert res.code == 0, res.text
    assert "1 matched, 1 unmatched, 0 duplicate" in res.out
    (pay,) = bank_payments(issued)
    client, number, amount, bank_id = matched
    assert (pay["client"], pay["allocation"][0]["number"], pay["amount"]) == (client, number, amount)
    assert pay["bank_id"] == bank_id and pay["source"].startswith(f"bank:{fmt}:") and pay["bank_key"]
    again = run_cli(issued, "import-bank", str(FIXTURES / name), "--format", fmt)
    assert "0 matched, 1 unmatched, 1 duplicate" in again.out
    assert len(bank_payments(issued)) == 1


def test_dry_run_writes_nothing(issued: Path) -> None:
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(FIXTURES / "statement.camt053.xml"), "--dry-run")
    assert res.code == 0 and "dry run" in res.out and "matched\tacme\t2026-0001" in res.out
    assert (issued / "data/journal.jsonl").read_bytes() == before


def test_duplicate_without_bank_id_by_date_amount_text(issued: Path, tmp_path: Path) -> None:
    statement = tmp_path / "noid.csv"
    statement.write_text("Date;Montant;Libellé;Id\n19/11/2026;827,88;Facture 2026-0001;\n", encoding="utf-8")
    assert "1 matched" in run_cli(issued, "import-bank", str(statement)).out
    assert "1 duplicate" in run_cli(issued, "import-bank", str(statement)).out
    assert len(bank_payments(issued)) == 1


def test_match_by_client_name_and_exact_amount(issued: Path, tmp_path: Path) -> None:
    statement = tmp_path / "byname.csv"
    statement.write_text("Date;Montant;Libellé;Id\n19/11/2026;1770,00;NORTHWIND TRADERS LTD NOV;N1\n"
                         "19/11/2026;827,87;ACME SARL;N2\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(statement))
    assert "1 matched, 1 unmatched" in res.out  # the cent-short ACME credit needs a human
    assert bank_payments(issued)[0]["allocation"] == [{"number": "2026-0002", "amount": "1770.00"}]


def test_amount_above_open_is_not_matched_by_number(issued: Path, tmp_path: Path) -> None:
    statement = tmp_path / "over.csv"
    statement.write_text("Date;Montant;Libellé;Id\n19/11/2026;900,00;Facture 2026-0001;X\n", encoding="utf-8")
    assert "0 matched, 1 unmatched" in run_cli(issued, "import-bank", str(statement)).out


def test_bad_files_are_clear_errors(issued: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><oops", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(bad))
    assert res.code == 1 and "CAMT.053" in res.err
    assert run_cli(issued, "import-bank", str(bad), "--format", "qif").code == 1


@pytest.mark.parametrize("body, message", [
    (b"Date;Montant;Libell\xe9;Id\n19/11/2026;827,88;VIR \xe9t\xe9;L1\n", "utf-8"),
    ("Date;Montant;Libellé;Id\n19/11/2026;827,88\n".encode(), "line 2"),
    ("Date;Montant;Libellé;Id\n19/11/2026;NaN;x;N1\n".encode(), "line 2: bad amount"),
    ("Date;Montant;Libellé;Id\n19/11/2026;Infinity;ACME SARL;N1\n".encode(), "line 2: bad amount"),
    ("Date;Montant;Libellé;Id\n19/11/2026;1e3;ACME SARL;N1\n".encode(), "line 2: bad amount"),
])
def test_broken_csv_statement_is_a_clear_error(issued: Path, tmp_path: Path, body: bytes, message: str) -> None:
    path = tmp_path / "releve.csv"
    path.write_bytes(body)
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(path), "--format", "csv")
    assert res.code == 1 and "Traceback" not in res.text, res.text
    assert message in res.err.lower() or message in res.err, res.err
    assert (issued / "data/journal.jsonl").read_bytes() == before


def test_distinct_bank_ids_with_the_same_text_are_all_recorded(issued: Path, tmp_path: Path) -> None:
    # Two real 400.00 transfers the same day with the same text but different bank ids are two
    # payments; the date+amount+text key only identifies transactions that have no bank id.
    path = tmp_path / "releve.csv"
    path.write_text("Date;Montant;Libellé;Id\n19/11/2026;400,00;facture 2026-0001;A1\n"
                    "19/11/2026;400,00;facture 2026-0001;A2\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "2 matched, 0 unmatched, 0 duplicate" in res.out, res.text
    assert [p["bank_id"] for p in bank_payments(issued)] == ["A1", "A2"]
    again = run_cli(issued, "import-bank", str(path))
    assert "0 matched, 0 unmatched, 2 duplicate" in again.out and len(bank_payments(issued)) == 2


def test_statement_without_ids_is_deduplicated_by_key(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text("Date;Montant;Libellé;Id\n19/11/2026;400,00;facture 2026-0001;\n", encoding="utf-8")
    assert "1 matched" in run_cli(issued, "import-bank", str(path)).out
    assert "1 duplicate" in run_cli(issued, "import-bank", str(path)).out
    assert len(bank_payments(issued)) == 1


def test_a_bad_line_late_in_the_statement_records_nothing(issued: Path, tmp_path: Path) -> None:
    # A failed import is safer than a partial one: the matched first line must not stay recorded.
    path = tmp_path / "releve.csv"
    path.write_text("Date;Montant;Libellé;Id\n19/11/2026;400,00;facture 2026-0001;A1\n"
                    "19/12/2099;400,00;facture 2026-0001;A2\n", encoding="utf-8")
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 1 and "in the future" in res.err, res.text
    assert (issued / "data/journal.jsonl").read_bytes() == before


@pytest.mark.parametrize("content", [
    # cut after the first credit: no closing balance, the rest of the statement is missing
    ":20:STMT1214\n:25:FR7630006000011234567890189\n:28C:1/1\n:60F:C261101EUR1000,00\n"
    ":61:2611181118C500,00NTRFACME-1//BANKREF1\n",
    (FIXTURES / "statement.camt053.xml").read_text(encoding="utf-8"),  # wrong format forced
])
def test_truncated_or_foreign_mt940_is_refused(issued: Path, tmp_path: Path, content: str) -> None:
    path = tmp_path / "releve.sta"
    path.write_text(content, encoding="utf-8")
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(path), "--format", "mt940")
    assert res.code == 1 and "MT940" in res.err and "Traceback" not in res.text, res.text
    assert (issued / "data/journal.jsonl").read_bytes() == before
