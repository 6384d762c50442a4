"""import-bank on real-format statements: matching, unmatched lines, duplicates, dry run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import CSV_MAPPING
from tests.conftest import journal, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank"
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


@pytest.mark.parametrize(("text", "client"), [
    ("VIR NORTHWIND TRADERS NOV", "northwind"),  # "Northwind Traders Ltd": banks drop the legal form
    ("VIR SEPA Northwind Traders Limited", "northwind"),  # Ltd spelt out
    ("VIR NORTHWINDTRADERS", None),  # whole words only
    ("PRLV NORTHWIND TRADERSHIP", None),
])
def test_match_by_name_without_its_legal_form(issued: Path, tmp_path: Path, text: str, client: str | None) -> None:
    statement = tmp_path / "legal.csv"
    statement.write_text(f"Date;Montant;Libellé;Id\n19/11/2026;1770,00;{text};L1\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(statement))
    assert res.code == 0, res.text
    assert [p["client"] for p in bank_payments(issued)] == ([client] if client else []), res.out


def test_two_clients_of_one_name_and_amount_are_left_to_a_human(ws: Path, tmp_path: Path) -> None:
    # "ACME SARL" and "ACME SAS", each with one open invoice of 827.88: "VIR ACME" names both.
    text = (ws / "clients" / "acme.toml").read_text(encoding="utf-8")
    (ws / "clients" / "acme-sas.toml").write_text(text.replace('name = "ACME SARL"', 'name = "ACME SAS"'),
                                                  encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(CSV_MAPPING)
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    statement = tmp_path / "twins.csv"
    statement.write_text("Date;Montant;Libellé;Id\n19/11/2026;827,88;VIR ACME;T1\n"
                         "19/11/2026;827,88;VIR ACME SAS;T2\n", encoding="utf-8")
    res = run_cli(ws, "import-bank", str(statement))
    assert "1 matched, 1 unmatched" in res.out, res.out
    [payment] = bank_payments(ws)
    assert payment["client"] == "acme-sas" and payment["bank_id"] == "T2"


@pytest.mark.parametrize("name", ["vir\nement.csv", "vir\rement.csv", "vir\tement.csv", "vir\u202eement.csv"])
def test_a_statement_name_with_control_characters_is_refused(issued: Path, tmp_path: Path, name: str) -> None:
    # The file name is journalled as the payments' `source`.
    statement = tmp_path / name
    statement.write_text("Date;Montant;Libellé;Id\n19/11/2026;827,88;Facture 2026-0001;X1\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(statement))
    assert res.code == 1 and "its name contains U+" in res.err and "Traceback" not in res.text, res.text
    assert bank_payments(issued) == []


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
    (":20:STMT1214\n:25:FR7630006000011234567890189\n:28C:1/1\n:60F:C261101EUR1000,00\n"
     ":61:2611181118C500,00NTRFACME-1//BANKREF1\n"),
    (FIXTURES / "statement.camt053.xml").read_text(encoding="utf-8"),  # wrong format forced
])
def test_truncated_or_foreign_mt940_is_refused(issued: Path, tmp_path: Path, content: str) -> None:
    path = tmp_path / "releve.sta"
    path.write_text(content, encoding="utf-8")
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(path), "--format", "mt940")
    assert res.code == 1 and "MT940" in res.err and "Traceback" not in res.text, res.text
    assert (issued / "data/journal.jsonl").read_bytes() == before


# --- issue 10: one amount rule, crash-free parsers, real bank files, likely duplicates ---

CAMT_ENTRY = """<?xml version="1.0" encoding="UTF-8"?>{prolog}
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>S1</Id>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>{dates}
<AcctSvcrRef>R1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>ACME SARL</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>Facture 2026-0001</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""
BOOKED = "<BookgDt><Dt>2026-11-19</Dt></BookgDt>"


def write_camt(path: Path, amount: str = "827.88", dates: str = BOOKED, prolog: str = "") -> Path:
    path.write_text(CAMT_ENTRY.format(amount=amount, dates=dates, prolog=prolog), encoding="utf-8")
    return path


def refused(ws: Path, path: Path, *args: str) -> str:
    """import-bank on a bad file: exit 1, `Error: <file>: ...`, no traceback, nothing written."""
    before = (ws / "data/journal.jsonl").read_bytes()
    res = run_cli(ws, "import-bank", str(path), *args)
    assert res.code == 1 and "Traceback" not in res.text, res.text
    assert f"Error: {path}: " in " ".join(res.err.split()), res.err
    assert (ws / "data/journal.jsonl").read_bytes() == before
    return res.err


@pytest.mark.parametrize("amount, message", [
    ("-100.00", "negative"),  # used to become a negative payment that raised the balance
    ("100.005", "more decimals than EUR"),  # used to be rounded to 100.01
    ("1E+2", "not a plain amount"),  # used to be taken as 100
    ("1,00", "not a plain amount"),  # used to be a traceback
    ("NaN", "not a plain amount"),  # used to be a traceback
])
def test_camt_amount_rule_is_the_pay_rule(issued: Path, tmp_path: Path, amount: str, message: str) -> None:
    assert message in refused(issued, write_camt(tmp_path / "releve.xml", amount))


@pytest.mark.parametrize("body, message", [
    ("19/11/2026;100,005;Facture 2026-0001;Z1\n", "more decimals than EUR"),  # matched to a EUR client
    ("19/11/2026;10,0001;Facture 2026-0001;Z1\n", "more decimals than"),  # no client currency has 4
])
def test_csv_amount_decimals_are_refused_not_rounded(issued: Path, tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "releve.csv"
    path.write_text("Date;Montant;Libellé;Id\n" + body, encoding="utf-8")
    assert message in refused(issued, path)


@pytest.mark.parametrize("dates, prolog, message", [
    ("", "", "no booking date"),
    (BOOKED, '<!DOCTYPE Document [<!ENTITY inv "2026-0001">]>', "DTD or entity"),
    (BOOKED, "<!DOCTYPE Document SYSTEM 'http://example.invalid/camt.dtd'>", "DTD or entity"),
])
def test_broken_camt_is_a_clear_error(issued: Path, tmp_path: Path, dates: str, prolog: str, message: str) -> None:
    assert message in refused(issued, write_camt(tmp_path / "releve.xml", dates=dates, prolog=prolog))


def test_camt_date_with_an_offset_is_read(issued: Path, tmp_path: Path) -> None:
    # `2026-11-19+01:00` is a valid xs:date: the day the bank booked it, not a traceback.
    path = write_camt(tmp_path / "releve.xml", dates="<BookgDt><Dt>2026-11-19+01:00</Dt></BookgDt>")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "1 matched" in res.out, res.text
    assert bank_payments(issued)[0]["date"] == "2026-11-19"


def test_camt_without_statement_is_refused(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
                    "<GrpHdr><MsgId>M</MsgId></GrpHdr></BkToCstmrStmt></Document>", encoding="utf-8")
    assert "without a statement" in refused(issued, path)  # used to say "0 matched"


def test_ofx_investment_statement_is_a_clear_error(issued: Path) -> None:
    assert "investment statement" in refused(issued, FIXTURES / "investment.ofx")


@pytest.mark.parametrize("name, fmt, bank_id", [
    ("asn.mt940.txt", "mt940", None),  # ASN: IBAN as customer reference, SWIFT envelope
    ("ing.mt940.txt", "mt940", "00000000000005"),  # ING: 6-digit statement number, /REMI/ subfields
    ("notification.camt054.xml", "camt054", "NTF-0001"),  # <Ntfctn>, invoice only in AddtlTxInf
    ("unclosed-list.ofx", "ofx", "OFX-NB-0001"),  # <BANKTRANLIST> never closed
])
def test_real_bank_shapes_are_imported_and_matched(issued: Path, name: str, fmt: str, bank_id: str | None) -> None:
    res = run_cli(issued, "import-bank", str(FIXTURES / name))
    assert res.code == 0 and "1 matched" in res.out, res.text
    assert res.err == ""  # no library debugging or warnings
    (pay,) = bank_payments(issued)
    assert pay["source"].startswith(f"bank:{fmt}:") and pay["bank_id"] == bank_id
    assert pay["allocation"][0]["number"] in ("2026-0001", "2026-0002")


def test_camt_additional_transaction_info_is_used_for_matching(issued: Path) -> None:
    res = run_cli(issued, "import-bank", str(FIXTURES / "statement-v8.camt053.xml"))
    assert res.code == 0 and "1 matched" in res.out, res.text
    (pay,) = bank_payments(issued)
    assert pay["allocation"] == [{"number": "2026-0001", "amount": "400.00"}]


@pytest.mark.parametrize("content", [
    b":61:2611181118C500,00NTRFACME-1//BANKREF1\n:86:VIR ACME SARL FACTURE 2026-0001\n",
    (FIXTURES / "notification.camt054.xml").read_bytes(),  # camt.054 used to be read as CSV
])
def test_fragments_are_not_taken_for_csv(issued: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "releve.txt"
    path.write_bytes(content)
    res = run_cli(issued, "import-bank", str(path))
    assert "CSV" not in res.text and "Traceback" not in res.text, res.text


PARTIAL_CSV = "Date;Montant;Libellé;Id\n19/11/2026;400,00;VIR ACME SARL facture 2026-0001;CSV-77\n"


def test_same_credit_in_camt_then_csv_is_a_likely_duplicate(issued: Path, tmp_path: Path) -> None:
    assert "1 matched" in run_cli(issued, "import-bank", str(FIXTURES / "statement-v8.camt053.xml")).out
    path = tmp_path / "releve.csv"
    path.write_text(PARTIAL_CSV, encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0, res.text  # runs from cron: no prompt, no failure
    assert "likely duplicate\tacme\t2026-0001" in res.out and "1 likely duplicate" in res.out, res.text
    assert "--accept-duplicates" in res.err
    assert len(bank_payments(issued)) == 1
    accepted = run_cli(issued, "import-bank", str(path), "--accept-duplicates")
    assert accepted.code == 0 and "1 matched" in accepted.out, accepted.text
    assert [p["amount"] for p in bank_payments(issued)] == ["400.00", "400.00"]


def test_a_payment_recorded_by_hand_is_a_likely_duplicate_of_the_bank_credit(issued: Path, tmp_path: Path) -> None:
    assert run_cli(issued, "pay", "acme", "400.00", "--date", "2026-11-19", "--ref", "VIR-77").code == 0
    path = tmp_path / "releve.csv"
    path.write_text(PARTIAL_CSV, encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path), "--dry-run")
    assert "\tlikely duplicate\tacme\t2026-0001" in res.out and len(bank_payments(issued)) == 1, res.text


def test_a_different_payer_or_reference_is_not_a_likely_duplicate(issued: Path, tmp_path: Path) -> None:
    assert "1 matched" in run_cli(issued, "import-bank", str(FIXTURES / "statement-v8.camt053.xml")).out
    path = tmp_path / "releve.csv"
    # Same day and amount, but another invoice number: a second real transfer.
    path.write_text("Date;Montant;Libellé;Id\n19/11/2026;400,00;VIR ACME SARL facture 2026-0003;CSV-78\n",
                    encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert "0 likely duplicate" in res.out and "\tlikely duplicate\t" not in res.out, res.text
    assert res.err == ""



def test_a_later_credit_of_the_statement_sees_what_the_earlier_ones_paid(issued: Path, tmp_path: Path) -> None:
    # 2026-0001 (827.88) is paid by the first two credits; the third, of its whole amount and
    # naming it, finds nothing left open and goes to a human (a stale list of open invoices
    # would match it again and pay the invoice twice).
    path = tmp_path / "releve.csv"
    path.write_text("Date;Montant;Libellé;Id\n19/11/2026;400,00;facture 2026-0001;A1\n"
                    "19/11/2026;427,88;facture 2026-0001;A2\n20/11/2026;827,88;facture 2026-0001;A3\n",
                    encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "2 matched, 1 unmatched, 0 duplicate" in res.out, res.text
    assert [p["bank_id"] for p in bank_payments(issued)] == ["A1", "A2"]
