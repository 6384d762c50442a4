"""QA of the money paths from the command line: import-bank, credit notes, usage, exports, FEC."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import CSV_MAPPING
from tests.cli.test_bank import bank_payments
from tests.conftest import journal, run_cli

HEADER = "Date;Montant;Libellé;Id\n"
GOOD = "19/11/2026;827,88;Facture 2026-0001;G{n}\n"


def refused_all(ws: Path, path: Path, *args: str) -> list[str]:
    """import-bank on a bad file: exit 1, no traceback, nothing written; the error's lines."""
    before = (ws / "data/journal.jsonl").read_bytes()
    res = run_cli(ws, "import-bank", str(path), *args)
    assert res.code == 1 and "Traceback" not in res.text, res.text
    assert (ws / "data/journal.jsonl").read_bytes() == before
    assert bank_payments(ws) == []
    return [line for line in res.err.splitlines() if line.strip()]


def test_every_bad_csv_line_is_named_at_once(issued: Path, tmp_path: Path) -> None:
    # A 300-line statement with five bad lines, a blank line among them: all five are named,
    # with the file's own line numbers, and nothing is imported (the good lines included).
    lines = [GOOD.format(n=n) for n in range(300)]
    lines[9] = "19/11/2026;12,3,4;VIR X;B1\n"          # file line 11: bad amount
    lines[49] = "31/02/2026;10,00;VIR Y;B2\n"          # line 51: bad date
    lines[99] = "19/11/2026;abc;VIR Z;B3\n"            # line 101: bad amount and
    lines[149] = "19/11/2026;10,00\n"                  # line 151: short row
    lines[199] = "19/12/2099;10,00;VIR W;B4\n"         # line 201: in the future
    lines.insert(120, "\n")                            # a blank line: later lines move down one
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    err = refused_all(issued, path)
    assert err[0] == f"Error: {path}: 5 problems, nothing imported:", err
    assert err[1:] == [
        f"{path}: CSV statement line 11: bad amount '12,3,4'",
        f"{path}: CSV statement line 51: bad date '31/02/2026'",
        f"{path}: CSV statement line 101: bad amount 'abc'",
        f"{path}: CSV statement line 152: no value for column(s) Libellé, Id",
        f"{path}: CSV statement line 202: statement transaction dated 2099-12-19 is in the future",
    ], err


def test_bad_amount_and_bad_date_on_one_line_are_both_named(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "2026-11-19;1.000,00,0;VIR;X\n", encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0] and "line 2: bad amount" in err[1] and "line 2: bad date" in err[2], err


def test_the_list_of_problems_is_capped(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "19/11/2026;x;VIR;X\n" * 250, encoding="utf-8")
    err = refused_all(issued, path)
    assert err[0] == f"Error: {path}: 250 problems, nothing imported (the first 100 listed):", err[0]
    assert len(err) == 101 and err[-1].endswith("line 101: bad amount 'x'")


def test_one_bad_line_reads_as_before(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + GOOD.format(n=1) + "19/11/2026;x;VIR;X\n", encoding="utf-8")
    assert refused_all(issued, path) == [f"Error: {path}: CSV statement line 3: bad amount 'x'"]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId></GrpHdr>{statements}</BkToCstmrStmt></Document>
"""
NTRY = """<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>{date}
<AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><RmtInf><Ustrd>Facture 2026-0001</Ustrd></RmtInf>
</TxDtls></NtryDtls></Ntry>"""
DAY = "<BookgDt><Dt>2026-11-19</Dt></BookgDt>"


def test_every_bad_camt_entry_is_named_across_statements(issued: Path, tmp_path: Path) -> None:
    first = NTRY.format(amount="1E+2", date=DAY, ref="R1") + NTRY.format(amount="10.00", date=DAY, ref="R2")
    second = NTRY.format(amount="10.00", date="", ref="R3") + NTRY.format(amount="10.00", date=DAY, ref="R4")
    path = tmp_path / "releve.xml"
    path.write_text(CAMT.format(statements=f"<Stmt><Id>S1</Id>{first}</Stmt><Stmt><Id>S2</Id>{second}</Stmt>"),
                    encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0], err
    assert "CAMT entry 1 (R1): amount" in err[1] and "CAMT entry 3 (R3): no booking date" in err[2], err


def test_every_bad_ofx_transaction_is_named(issued: Path, tmp_path: Path) -> None:
    source = (Path(__file__).resolve().parent.parent / "fixtures/bank/statement.ofx").read_text(encoding="utf-8")
    path = tmp_path / "releve.ofx"
    path.write_text(source.replace("<TRNAMT>1770.00", "<TRNAMT>1E3").replace("<TRNAMT>300.00", "<TRNAMT>NaN"),
                    encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0] and "OFX-0001" in err[1] and "OFX-0003" in err[2], err


def test_every_credit_with_too_many_decimals_for_its_client_is_named(issued: Path, tmp_path: Path) -> None:
    # A CSV does not say its currency: the decimals are checked once each credit is matched.
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "19/11/2026;100,005;Facture 2026-0001;Z1\n" + GOOD.format(n=1)
                    + "19/11/2026;1,005;Facture 2026-0001;Z2\n", encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0] and "line 2: amount" in err[1] and "line 4: amount" in err[2], err


def test_a_field_over_the_csv_size_limit_is_named_not_a_traceback(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "19/11/2026;x;VIR;X\n" + '19/11/2026;1,00;"' + "A" * 200_000 + '";Y\n',
                    encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0] and "line 2: bad amount" in err[1] and "line 3: field larger" in err[2], err


@pytest.fixture
def two_months(issued: Path) -> Path:
    """acme has 2026-0001 (Oct) and 2026-0003 (Nov) open, 827.88 each."""
    assert run_cli(issued, "run", "--date", "2026-12-15").code == 0
    numbers = [e["number"] for e in journal(issued) if e["type"] == "invoice.issued" and e["client"] == "acme"
               and e["mode"] == "live"]
    assert numbers[:2] == ["2026-0001", "2026-0003"], numbers
    return issued


@pytest.mark.parametrize(("amount", "allocation"), [
    ("1655,76", [("2026-0001", "827.88"), ("2026-0003", "827.88")]),   # both, exactly
    ("1000,00", [("2026-0001", "827.88"), ("2026-0003", "172.12")]),   # oldest first, then partial
])
def test_one_transfer_for_two_invoices_is_matched(two_months: Path, tmp_path: Path, amount: str,
                                                  allocation: list[tuple[str, str]]) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + f"17/12/2026;{amount};VIR ACME factures 2026-0001 et 2026-0003;T1\n",
                    encoding="utf-8")
    res = run_cli(two_months, "import-bank", str(path))
    assert res.code == 0 and "1 matched, 0 unmatched" in res.out, res.text
    [payment] = bank_payments(two_months)
    assert [(a["number"], a["amount"]) for a in payment["allocation"]] == allocation
    assert payment["unallocated"] == "0.00"


def test_two_invoices_named_and_more_than_both_is_left_to_a_human(two_months: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "17/12/2026;1700,00;VIR ACME 2026-0001 2026-0003;T1\n", encoding="utf-8")
    res = run_cli(two_months, "import-bank", str(path))
    assert res.code == 0 and "0 matched, 1 unmatched" in res.out, res.text


def test_a_named_invoice_of_exactly_the_amount_is_the_one_settled(two_months: Path, tmp_path: Path) -> None:
    # 2026-0001 is half paid: the 413.94 transfer naming both is the rest of 2026-0001.
    assert run_cli(two_months, "pay", "acme", "413.94", "--date", "2026-11-20", "--invoice", "2026-0001").code == 0
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "17/12/2026;413,94;VIR ACME 2026-0003 reste 2026-0001;T1\n", encoding="utf-8")
    assert run_cli(two_months, "import-bank", str(path)).code == 0
    [_, payment] = bank_payments(two_months)
    assert payment["allocation"] == [{"number": "2026-0001", "amount": "413.94"}]


@pytest.mark.parametrize(("body", "message"), [
    ("", "CSV statement: empty file, no header row"),
    ("Date,Montant,Libellé,Id\n19/11/2026,10,x,1\n",  # exported with another delimiter
     ("CSV statement: missing column(s) Date, Montant, Libellé, Id (the header holds 'Date,Montant,Libellé,Id', "
      "split on the [bank.csv] delimiter ';')")),
])
def test_an_unreadable_csv_header_says_what_was_read(issued: Path, tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "releve.csv"
    path.write_text(body, encoding="utf-8")
    assert " ".join(refused_all(issued, path)) == f"Error: {path}: {message}"  # a long line may wrap


def fec_rows(ws: Path, year: str = "2026") -> list[list[str]]:
    res = run_cli(ws, "export", "fec", "--year", year)
    assert res.code == 0, res.text
    text = (ws / "exports" / f"732829320FEC{year}1231.txt").read_bytes().decode("utf-8")
    return [line.split("\t") for line in text.split("\r\n")[1:] if line]


def test_one_fec_label_per_account_when_an_account_books_two_rates(ws: Path) -> None:
    # ACME's hosting line at 5.5 %: 706000 and 445710 book 20 % and 5.5 % the same year.
    client = ws / "clients" / "acme.toml"
    client.write_text(client.read_text(encoding="utf-8").replace('unit_price = "39.90"\n',
                                                                  'unit_price = "39.90"\nvat_rate = "5.5"\n'),
                      encoding="utf-8")
    (ws / "clients" / "northwind.toml").unlink()
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    labels: dict[str, set[str]] = {}
    for row in fec_rows(ws):
        labels.setdefault(row[4], set()).add(row[5])
    assert labels == {"411000": {"Clients"}, "706000": {"Prestations de services"},
                      "445710": {"TVA collectée"}}, labels
    # With an account per rate, each label names its rate, as before.
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[accounting]\nrevenue_by_rate = { "5.5" = "706055" }\nvat_by_rate = { "5.5" = "445715" }\n')
    labels = {}
    for row in fec_rows(ws):
        labels.setdefault(row[4], set()).add(row[5])
    assert labels["706000"] == {"Prestations TVA 20 %"} and labels["706055"] == {"Prestations TVA 5,5 %"}
    assert labels["445715"] == {"TVA collectée 5,5 %"}


def test_two_clients_on_one_fec_account_are_refused(ws: Path) -> None:
    # With clients = "accounts", acme-sas and acmesas would both be 411ACMESAS: one receivable
    # for two clients in the accountant's books.
    for name in ("acme-sas", "acmesas"):
        (ws / "clients" / f"{name}.toml").write_text((ws / "clients" / "acme.toml").read_text(encoding="utf-8"),
                                                     encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[accounting]\nclients = "accounts"\nexchange_rates = { GBP = "1.17" }\n')
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    res = run_cli(ws, "export", "fec", "--year", "2026")
    assert res.code == 1 and "Traceback" not in res.text, res.text
    assert "clients acme-sas and acmesas would both be account 411ACMESAS" in " ".join(res.err.split()), res.err
    assert not list((ws / "exports").glob("*FEC*"))


def test_an_invoice_of_zero_is_a_two_line_entry_in_the_fec(ws: Path) -> None:
    # A 100 % discount: the invoice of 0.00 is in the file, as 411 and 706 at 0,00, never as
    # one account alone.
    with (ws / "clients" / "acme.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[[discounts]]\npercent = "100"\nfrom = 2026-11-01\nmonths = 1\n')
    (ws / "clients" / "northwind.toml").unlink()
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    rows = fec_rows(ws)
    assert [(r[4], r[8], r[11], r[12]) for r in rows] == [("411000", "2026-0001", "0,00", "0,00"),
                                                          ("706000", "2026-0001", "0,00", "0,00")]


def test_an_ofx_transaction_in_another_currency_is_read_in_it(issued: Path, tmp_path: Path) -> None:
    # A GBP statement whose transaction says <CURRENCY><CURSYM>EUR: 1770.00 EUR is not the
    # 1770.00 GBP northwind owes (it used to settle 2026-0002).
    source = (Path(__file__).resolve().parent.parent / "fixtures/bank/statement.ofx").read_text(encoding="utf-8")
    path = tmp_path / "releve.ofx"
    path.write_text(source.replace("<MEMO>INVOICE 2026-0002",
                                   "<MEMO>INVOICE 2026-0002<CURRENCY><CURRATE>0.85<CURSYM>EUR</CURRENCY>"),
                    encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "1770.00\tEUR" in res.out and "0 matched, 2 unmatched" in res.out, res.text
    assert bank_payments(issued) == []


def test_a_decimal_point_under_a_decimal_comma_mapping_is_refused_not_multiplied(issued: Path,
                                                                                 tmp_path: Path) -> None:
    # [bank.csv] decimal_separator = ",": 827.88 used to be read as 82788.00 and 1.5 as 15.00.
    path = tmp_path / "releve.csv"
    path.write_text(HEADER + "19/11/2026;827.88;Facture 2026-0001;Q1\n19/11/2026;1.000.000,00;x;Q2\n"
                    "19/11/2026;1.5;VIR ACME;Q3\n", encoding="utf-8")
    err = refused_all(issued, path)
    assert "2 problems" in err[0] and "line 2: bad amount '827.88'" in err[1] and "line 4: bad amount '1.5'" in err[2]
    grouped = tmp_path / "grouped.csv"  # dots grouping thousands are still read
    grouped.write_text(HEADER + "19/11/2026;1.000.000,00;x;Q2\n", encoding="utf-8")
    res = run_cli(issued, "import-bank", str(grouped), "--dry-run")
    assert res.code == 0 and "1000000.00" in res.out, res.text


@pytest.fixture
def discounted(ws: Path) -> Path:
    """acme's 2026-0001: 450.00 and 200.00 at 20 %, 39.90 at 5.5 %, a 10 % discount (lines 4, 5)."""
    client = ws / "clients" / "acme.toml"
    text = client.read_text(encoding="utf-8").replace('unit_price = "39.90"\n',
                                                      'unit_price = "39.90"\nvat_rate = "5.5"\n')
    client.write_text(text + '\n[[discounts]]\npercent = "10"\nfrom = 2026-11-01\nmonths = 1\n', encoding="utf-8")
    (ws / "clients" / "northwind.toml").unlink()
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


@pytest.mark.parametrize("lines", [("4",), ("1", "4")])
def test_a_discount_line_is_never_credited_alone(discounted: Path, lines: tuple[str, ...]) -> None:
    # Crediting the 5.5 % discount line made a credit note of -4.21: it raised what the client
    # owes and let the 5.5 % rate be credited beyond what it was invoiced.
    args = [a for n in lines for a in ("--line", n)]
    res = run_cli(discounted, "credit", "2026-0001", *args, "--date", "2026-11-20")
    assert res.code == 1 and "-4.21 EUR at 5.5% VAT: a credit note lowers what the client owes" in res.err, res.text
    assert not [e for e in journal(discounted) if e["type"] == "credit_note.issued"]


def test_a_discounted_line_names_its_discount_line(discounted: Path) -> None:
    res = run_cli(discounted, "credit", "2026-0001", "--line", "2", "--date", "2026-11-20")
    assert res.code == 1 and "credit its discount with it (--line 4), or use --amount" in res.err, res.text
    ok = run_cli(discounted, "credit", "2026-0001", "--line", "2", "--line", "4", "--date", "2026-11-20")
    assert ok.code == 0 and "37.89" in ok.out, ok.text


def test_a_wrongly_encoded_csv_names_the_line(issued: Path, tmp_path: Path) -> None:
    # It said "position 4031", no help in a 300-line file saved as Latin-1.
    path = tmp_path / "releve.csv"
    latin = "19/11/2026;1,00;VIR été;E\n".encode("latin-1")
    path.write_bytes(HEADER.encode() + GOOD.format(n=1).encode() * 200 + latin)
    [err] = refused_all(issued, path)
    assert "CSV statement line 202: not valid utf-8 text (byte 'e9' cannot be decoded)" in err, err


OVERLAP = """:20:STMT{n}
:25:FR7630006000011234567890189
:28C:{n}/1
:60F:C26111{d}EUR1000,00
{lines}:62F:C26112{n}EUR1075,00
-
"""
DUPONT = ":61:2611191119C75,00NTRFNONREF\n:86:VIR DUPONT\n"


def test_a_credit_in_two_overlapping_statements_of_one_file_is_listed_once(issued: Path, tmp_path: Path) -> None:
    # The 19th is in both statements: its unmatched credit was listed twice, inviting two `pay`s.
    path = tmp_path / "releve.sta"
    path.write_text(OVERLAP.format(n=1, d=8, lines=DUPONT) + OVERLAP.format(n=2, d=9, lines=DUPONT),
                    encoding="utf-8")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "0 matched, 1 unmatched, 1 duplicate" in res.out, res.text


def test_the_fec_of_a_busy_year_books_every_document_and_payment_once_balanced(discounted: Path,
                                                                             tmp_path: Path) -> None:
    # Partial, two-invoice, over- and foreign payments; partial, per-line and remaining credit
    # notes over two VAT rates: every document and payment is one balanced entry, once.
    ws = discounted
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(CSV_MAPPING)
    assert run_cli(ws, "run", "--date", "2026-12-15").code == 0
    statement = tmp_path / "releve.csv"
    statement.write_text(HEADER + "17/12/2026;1000,00;VIR ACME 2026-0001 2026-0002;T1\n", encoding="utf-8")
    for args in (("pay", "acme", "100.00", "--date", "2026-11-20", "--invoice", "2026-0001"),
                 ("credit", "2026-0001", "--line", "2", "--line", "4", "--date", "2026-11-21"),
                 ("credit", "2026-0001", "--amount", "50.00", "--date", "2026-11-22"),
                 ("import-bank", str(statement)),
                 ("credit", "2026-0002", "--date", "2026-12-20"),
                 ("pay", "acme", "2000.00", "--date", "2026-12-21", "--ref", "OVER")):
        res = run_cli(ws, *args)
        assert res.code == 0, (args, res.text)
    from tests.ops.test_fec import fec_problems

    content = (ws / "exports" / "732829320FEC20261231.txt")
    assert run_cli(ws, "export", "fec", "--year", "2026").code == 0
    assert fec_problems(content.read_bytes()) == []
    rows = fec_rows(ws)
    entries: dict[tuple[str, str], list[list[str]]] = {}
    for row in rows:
        entries.setdefault((row[0], row[2]), []).append(row)
    docs = sorted(e["number"] for e in journal(ws) if e["type"] in ("invoice.issued", "credit_note.issued")
                  and e["mode"] == "live")
    assert sorted(lines[0][8] for (j, _), lines in entries.items() if j == "VT") == docs
    payments = [e for e in journal(ws) if e["type"] == "payment.recorded"]
    assert len([k for k in entries if k[0] == "BQ"]) == len(payments) == 3
    assert all(len({r[4] for r in lines}) >= 2 and len({r[3] for r in lines}) == 1 for lines in entries.values())
    labels: dict[str, set[str]] = {}
    for row in rows:
        labels.setdefault(row[4], set()).add(row[5])
    assert all(len(names) == 1 for names in labels.values()), labels
    bank = sum(Decimal(r[11].replace(",", ".")) for r in rows if r[4] == "512000")
    assert bank == sum(Decimal(p["amount"]) for p in payments) == Decimal("3100.00")


def test_a_fixed_discount_over_several_rates_never_exceeds_its_amount(ws: Path) -> None:
    # 0.05 over 1.00 at 2.1 %, 5.5 % and 10 % and 0.01 at 20 %: each share rounded up to 0.02
    # made a discount of 0.06.
    client = ws / "clients" / "acme.toml"
    text = client.read_text(encoding="utf-8")
    text = text[:text.index("[[lines]]")] + "".join(
        f'[[lines]]\ndescription = "L{rate}"\nunit_price = "{price}"\nvat_rate = "{rate}"\n\n'
        for rate, price in (("2.1", "1.00"), ("5.5", "1.00"), ("10", "1.00"), ("20", "0.01")))
    client.write_text(text + '[[discounts]]\namount = "0.05"\nfrom = 2026-11-01\nmonths = 1\n', encoding="utf-8")
    (ws / "clients" / "northwind.toml").unlink()
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    [invoice] = [e for e in journal(ws) if e["type"] == "invoice.issued" and e["client"] == "acme"]
    assert invoice["total_excl_vat"] == "2.96", invoice  # 3.01 - 0.05


def test_a_csv_with_lone_cr_line_ends_is_read(issued: Path, tmp_path: Path) -> None:
    # A spreadsheet saved on a Mac ends lines with a lone CR: it was a csv.Error traceback.
    path = tmp_path / "releve.csv"
    path.write_bytes(HEADER.replace("\n", "\r").encode() + b"19/11/2026;827,88;Facture 2026-0001;P1\r")
    res = run_cli(issued, "import-bank", str(path))
    assert res.code == 0 and "1 matched" in res.out and "Traceback" not in res.text, res.text


def test_an_unreadable_csv_header_is_named_not_a_traceback(issued: Path, tmp_path: Path) -> None:
    path = tmp_path / "releve.csv"
    path.write_text('Date;"' + "M" * 200_000 + '"\n', encoding="utf-8")
    [err] = refused_all(issued, path)
    assert "CSV statement line 1: field larger than field limit" in err, err


def test_ofx_transactions_are_numbered_across_the_statements_of_a_file(issued: Path, tmp_path: Path) -> None:
    # Two accounts' statements in one file: the second one's first transaction is number 4,
    # not a second "transaction 1".
    source = (Path(__file__).resolve().parent.parent / "fixtures/bank/statement.ofx").read_text(encoding="utf-8")
    start, end = source.index("<STMTTRNRS>"), source.index("</STMTTRNRS>") + len("</STMTTRNRS>")
    second = source[start:end].replace("OFX-000", "OFX-100").replace("<TRNAMT>1770.00", "<TRNAMT>1E3")
    path = tmp_path / "releve.ofx"
    path.write_text(source[:end] + second + source[end:], encoding="utf-8")
    [err] = refused_all(issued, path)
    assert "OFX transaction 4 (OFX-1001): amount: '1E3'" in err, err
