"""Bank parsers called directly: real-bank shapes accepted, the rest refused with a clear message."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.adapters.bank import FORMATS, PARSERS, detect_format, parse_statement
from facturier.adapters.bank_camt import parse_camt
from facturier.adapters.bank_mt940 import parse_mt940
from facturier.adapters.bank_ofx import parse_ofx
from facturier.core.errors import InputError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank"


def camt(entry: str, version: str = "053.001.02", container: str = "Stmt", root: str = "BkToCstmrStmt",
         prolog: str = "") -> bytes:
    """A minimal CAMT document holding one entry."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}'
            f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{version}"><{root}>'
            f"<GrpHdr><MsgId>M1</MsgId></GrpHdr><{container}><Id>S1</Id>{entry}</{container}>"
            f"</{root}></Document>").encode()


def entry(amount: str = "827.88", dates: str = "<BookgDt><Dt>2026-11-19</Dt></BookgDt>",
          extra: str = "", indicator: str = "CRDT") -> str:
    return (f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>'
            f"{dates}<AcctSvcrRef>R1</AcctSvcrRef>{extra}</Ntry>")


# --- the registry and the shared record (issue 9 item 7) ---

def test_every_format_has_an_explicit_parser() -> None:
    assert set(FORMATS) == {"camt053", "camt054", "camt052", "ofx", "mt940", "csv"}
    assert PARSERS["camt054"] is parse_camt and PARSERS["mt940"] is parse_mt940


@pytest.mark.parametrize("module", ["bank_camt", "bank_ofx", "bank_mt940", "bank_csv"])
def test_parsers_do_not_import_the_registry(module: str) -> None:
    # The record lives in bank_record: a parser never needs adapters.bank (no import circle).
    code = (f"import sys, facturier.adapters.{module}; "
            "sys.exit('facturier.adapters.bank' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- detection ---

@pytest.mark.parametrize("content, fmt", [
    ((FIXTURES / "notification.camt054.xml").read_bytes(), "camt054"),
    ((FIXTURES / "statement.camt053.xml").read_bytes(), "camt053"),
    (camt("", "052.001.02", "Rpt", "BkToCstmrAcctRpt"), "camt052"),
    ((FIXTURES / "asn.mt940.txt").read_bytes(), "mt940"),
    (b":61:2611181118C500,00NTRFACME-1//BANKREF1\n:86:VIR ACME\n", "mt940"),  # a fragment
    (b"\xef\xbb\xbf:20:STMT\n:25:X\n", "mt940"),
    ((FIXTURES / "investment.ofx").read_bytes(), "ofx"),
    (b"Date;Montant\n19/11/2026;1,00\n", "csv"),
])
def test_detect_format(content: bytes, fmt: str) -> None:
    assert detect_format(content) == fmt


def test_foreign_xml_is_not_taken_for_csv() -> None:
    with pytest.raises(InputError, match="neither CAMT"):
        detect_format(b"<?xml version='1.0'?><invoice><total>1</total></invoice>")


# --- CAMT (issue 10 item 16 and "real bank files") ---

@pytest.mark.parametrize("content, message", [
    (camt(entry("1,00")), "not a plain amount"),
    (camt(entry("NaN")), "not a plain amount"),
    (camt(entry("1E+2")), "not a plain amount"),
    (camt(entry("-100.00")), "negative"),
    (camt(entry("100.005")), "more decimals than EUR"),
    (camt(entry(dates="")), "no booking date"),
    (camt(entry(dates="<BookgDt><Dt>19/11/2026</Dt></BookgDt>")), "not a date"),
    (camt(entry(), prolog='<!DOCTYPE Document [<!ENTITY x "2026-0001">]>'), "DTD or entity"),
    (camt(entry(), prolog="<!DOCTYPE Document SYSTEM 'camt.dtd'>"), "DTD or entity"),
    ((b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
      b"<GrpHdr><MsgId>M</MsgId></GrpHdr></BkToCstmrStmt></Document>"), "without a statement"),
])
def test_camt_refusals_are_input_errors(content: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_camt(content)


def test_camt_error_names_the_entry() -> None:
    with pytest.raises(InputError, match=r"entry 1 \(R1\)"):
        parse_camt(camt(entry("1,00")))


@pytest.mark.parametrize("dates, day", [
    ("<BookgDt><Dt>2014-01-05+01:00</Dt></BookgDt>", date(2014, 1, 5)),  # a valid xs:date
    ("<BookgDt><Dt>2014-01-05Z</Dt></BookgDt>", date(2014, 1, 5)),
    ("<BookgDt><DtTm>2014-01-05T23:30:00-05:00</DtTm></BookgDt>", date(2014, 1, 5)),
    ("<ValDt><Dt>2014-01-06</Dt></ValDt>", date(2014, 1, 6)),  # no booking date: value date
])
def test_camt_dates_as_banks_write_them(dates: str, day: date) -> None:
    (tx,) = parse_camt(camt(entry(dates=dates)))
    assert tx.date == day


def test_camt_debits_reversals_and_pending_entries_are_not_credits() -> None:
    entries = (entry(indicator="DBIT") + entry(extra="<RvslInd>true</RvslInd>")
               + entry().replace("<Sts>BOOK</Sts>", "<Sts><Cd>PDNG</Cd></Sts>"))
    assert parse_camt(camt(entries)) == []


def test_camt054_notification_reads_additional_transaction_info() -> None:
    (tx,) = parse_camt((FIXTURES / "notification.camt054.xml").read_bytes())
    assert (tx.date, tx.amount, tx.currency, tx.bank_id) == (date(2026, 11, 19), Decimal("827.88"), "EUR", "NTF-0001")
    assert "2026-0001" in tx.text and tx.counterparty == "ACME SARL"  # Dbtr/Pty/Nm (version 8)


def test_camt053_v8_structured_reference_and_offset_date() -> None:
    (tx,) = parse_camt((FIXTURES / "statement-v8.camt053.xml").read_bytes())
    assert tx.date == date(2026, 11, 19) and "RF18539007547034" in tx.text and "2026-0001" in tx.text


def test_camt052_report_entries_are_read() -> None:
    content = camt(entry(), "052.001.02", "Rpt", "BkToCstmrAcctRpt")
    assert [tx.amount for tx in parse_camt(content)] == [Decimal("827.88")]


# --- OFX ---

def ofx_with_amount(amount: str) -> bytes:
    text = (FIXTURES / "statement.ofx").read_text(encoding="utf-8")
    return text.replace("<TRNAMT>1770.00", f"<TRNAMT>{amount}").encode()


@pytest.mark.parametrize("amount, message", [
    ("1E+2", "not a plain amount"), ("NaN", "not a plain amount"), ("100.005", "more decimals than GBP"),
])
def test_ofx_amount_rule(amount: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_ofx(ofx_with_amount(amount))


def test_ofx_decimal_comma_is_read() -> None:
    assert parse_ofx(ofx_with_amount("1770,00"))[0].amount == Decimal("1770.00")


def test_ofx_investment_statement_is_refused() -> None:
    with pytest.raises(InputError, match="investment statement"):
        parse_ofx((FIXTURES / "investment.ofx").read_bytes())


def test_ofx_unclosed_transaction_list_is_read_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    (tx,) = parse_ofx((FIXTURES / "unclosed-list.ofx").read_bytes())
    assert (tx.amount, tx.currency, tx.bank_id, tx.date) == (Decimal("1770.00"), "GBP", "OFX-NB-0001",
                                                             date(2026, 11, 18))
    assert capfd.readouterr().err == ""  # ofxtools' warnings about long fields stay silent


# --- MT940 ---

def test_asn_statement_with_an_iban_as_customer_reference(capfd: pytest.CaptureFixture[str]) -> None:
    txs = parse_mt940((FIXTURES / "asn.mt940.txt").read_bytes())
    assert [(t.date, t.amount, t.counterparty) for t in txs] == [
        (date(2026, 11, 18), Decimal("827.88"), "acme sarl"), (date(2026, 11, 19), Decimal("64.50"), "j de vries")]
    assert "Facture 2026-0001" in txs[0].text
    assert txs[0].bank_id is None  # the payer's IBAN is not a transaction id
    assert capfd.readouterr().err == ""  # no regex debugging from mt-940


def test_ing_statement_with_a_long_statement_number(capfd: pytest.CaptureFixture[str]) -> None:
    txs = parse_mt940((FIXTURES / "ing.mt940.txt").read_bytes())
    assert [(t.amount, t.bank_id, t.counterparty) for t in txs] == [
        (Decimal("827.88"), "00000000000005", "ACME SARL"), (Decimal("20.00"), "00000000000007", "J Jansen")]
    assert "BNPAFRPP" in txs[0].text  # a subfield wrapped at 65 characters is joined back
    assert "SUM" not in txs[1].text and "-}" not in txs[1].text  # statement totals stay out
    assert capfd.readouterr().err == ""


def test_mt940_library_errors_are_described_not_dumped(capfd: pytest.CaptureFixture[str]) -> None:
    content = b":20:S1\n:25:X\n:28C:1/1\n:60F:C261101EUR1,00\n:61:26111811XYZC500,00NTRF\n:62F:C261119EUR1,00\n"
    with pytest.raises(InputError) as caught:
        parse_mt940(content)
    assert "object at" not in str(caught.value) and ":61: statement line" in str(caught.value)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("content, message", [
    (b":61:2611181118C500,00NTRFACME-1//BANKREF1\n:86:VIR\n", "fragment"),
    (b":20:S\n:25:X\n:28C:1/1\n:34F:EURD0,00\n:13D:2611191815+0100\n:61:2611190119C1,00NTRFNONREF\n", "MT942"),
])
def test_mt940_fragments_and_interim_reports_are_refused(content: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_statement(content, detect_format(content))


def test_mt940_amount_rule() -> None:
    content = (FIXTURES / "statement.mt940").read_bytes().replace(b"C500,00", b"C500,005")
    with pytest.raises(InputError, match="more decimals than EUR"):
        parse_mt940(content)


def test_camt_batch_booking_gives_one_credit_per_transaction() -> None:
    details = "".join(
        f'<TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><Amt Ccy="EUR">{amount}</Amt>'
        f"<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr></RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"
        for i, (amount, name, text) in enumerate([("827.88", "ACME SARL", "Facture 2026-0001"),
                                                  ("400.00", "Dupont", "Commande 77")]))
    txs = parse_camt(camt(entry("1227.88", extra=f"<NtryDtls><Btch><NbOfTxs>2</NbOfTxs></Btch>{details}</NtryDtls>")))
    assert [(t.amount, t.counterparty, t.text, t.bank_id) for t in txs] == [
        (Decimal("827.88"), "ACME SARL", "Facture 2026-0001", "R1/1"),
        (Decimal("400.00"), "Dupont", "Commande 77", "R1/2")]


def test_camt_batch_that_does_not_add_up_stays_one_credit() -> None:
    details = ('<TxDtls><Amt Ccy="EUR">800.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">27.00</Amt></TxDtls>')
    (tx,) = parse_camt(camt(entry("827.88", extra=f"<NtryDtls>{details}</NtryDtls>")))
    assert tx.amount == Decimal("827.88") and tx.bank_id == "R1"
