"""pay, balances, invoices --status, credit and the receipts/payments exports, through the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import journal, pdf_text, run_cli


@pytest.fixture
def issued(ws: Path) -> Path:
    """Demo workspace after the 2026-11-15 run: 2026-0001 (acme 827.88 EUR), 2026-0002 (northwind)."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def payments_of(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "payment.recorded"]


def balance_json(ws: Path, day: str) -> dict:
    res = run_cli(ws, "balances", "--date", day, "--json")
    assert res.code == 0, res.text
    return {r["client"]: r for r in json.loads(res.out)["rows"]}


def test_partial_then_overpayment(issued: Path) -> None:
    assert run_cli(issued, "pay", "acme", "500", "--date", "2026-11-18", "--ref", "VIR1").code == 0
    assert run_cli(issued, "pay", "acme", "400.00", "--date", "2026-11-19", "--method", "cheque").code == 0
    first, second = payments_of(issued)
    assert first["allocation"] == [{"number": "2026-0001", "amount": "500.00"}]
    assert first["unallocated"] == "0.00" and first["reference"] == "VIR1"
    assert second["allocation"] == [{"number": "2026-0001", "amount": "327.88"}]
    assert second["unallocated"] == "72.12" and second["method"] == "cheque"
    acme = balance_json(issued, "2026-11-20")["acme"]
    assert (acme["paid"], acme["balance"], acme["credit"]) == ("900.00", "-72.12", "72.12")
    view = json.loads((issued / "data/balance/acme.json").read_text())
    assert view["currencies"][0]["invoices"][0]["status"] == "paid"
    assert len(json.loads((issued / "data/payments/acme.json").read_text())["payments"]) == 2


@pytest.mark.parametrize("args, message", [
    (("acme", "10", "--date", "2099-01-01"), "in the future"),
    (("acme", "0", "--date", "2026-11-18"), "must be positive"),
    (("--date", "2026-11-18", "--", "acme", "-5"), "must be positive"),
    (("acme", "10.001", "--date", "2026-11-18"), "more decimals"),
    (("nobody", "10", "--date", "2026-11-18"), "unknown client"),
    (("acme", "10", "--date", "2026-11-18", "--currency", "USD"), "not USD"),
    (("acme", "10", "--date", "2026-11-18", "--invoice", "2026-0002"), "not an invoice of client"),
    (("acme", "10", "--date", "2026-11-18", "--invoice", "2026-9999"), "no invoice numbered"),
    (("sandbox", "10", "--date", "2026-11-18"), "test mode"),
    (("acme", "10", "--date", "2026-11-18", "--method", "bitcoin"), "--method"),
])
def test_refused_payments(issued: Path, args: tuple[str, ...], message: str) -> None:
    res = run_cli(issued, "pay", *args)
    assert res.code == 1 and message in res.err, res.text
    assert payments_of(issued) == []


@pytest.mark.parametrize("amount", ["1e3", "1E-2", "1_000", "\u0661\u0662", "12,50", "0x10", "1 000"])
def test_amounts_in_other_notations_are_refused(issued: Path, amount: str) -> None:
    # Digits and one '.' only: scientific notation, underscores and non-ASCII digits are not
    # "fixed" into a number the user may not have meant.
    res = run_cli(issued, "pay", "acme", amount, "--date", "2026-11-18")
    assert res.code == 1 and "AMOUNT" in res.err and "Traceback" not in res.text, res.text
    assert payments_of(issued) == []
    res = run_cli(issued, "credit", "2026-0001", "--amount", amount, "--date", "2026-11-18")
    assert res.code == 1 and "--amount" in res.err, res.text
    assert not any(e["type"] == "credit_note.issued" for e in journal(issued))


FREE_TEXT = [  # every free-text argument that the journal keeps, with the option the error names
    (("pay", "acme", "10", "--date", "2026-11-18", "--ref", "{}"), "--ref"),
    (("credit", "2026-0001", "--amount", "1", "--date", "2026-11-18", "--reason", "{}"), "--reason"),
    (("dispute", "2026-0001", "--date", "2026-11-18", "--reason", "{}"), "--reason"),
    (("charge", "acme", "5", "--date", "2026-11-18", "--description", "{}"), "--description"),
    (("usage", "record", "acme", "api_calls", "1", "--date", "2026-11-18", "--id", "{}"), "--id"),
    (("usage", "record", "acme", "api_calls", "1", "--date", "2026-11-18", "--id", "k", "--key", "{}"), "--key"),
]


@pytest.mark.parametrize(("args", "option"), FREE_TEXT)
@pytest.mark.parametrize("text", ["VIR\r42", "VIR\n42", "VIR\t42", "VIR\x0042", "VIR\u202e24", "VIR\x1b[2J"])
def test_control_characters_in_journalled_text_are_refused(issued: Path, args: tuple[str, ...], option: str,
                                                           text: str) -> None:
    # A CR, LF or TAB in a reference would forge lines in `show`, the logs and the exports.
    before = journal(issued)
    res = run_cli(issued, *(a.format(text) if a == "{}" else a for a in args))
    assert res.code == 1 and f"Error: {option}: contains U+" in res.err and "Traceback" not in res.text, res.text
    assert journal(issued) == before


def test_named_invoice_already_paid_is_refused(issued: Path) -> None:
    assert run_cli(issued, "pay", "acme", "827.88", "--date", "2026-11-18", "--invoice", "2026-0001").code == 0
    res = run_cli(issued, "pay", "acme", "1", "--date", "2026-11-19", "--invoice", "2026-0001")
    assert res.code == 1 and "nothing left to pay" in res.err


def test_statuses_aging_and_invoices_filter(issued: Path) -> None:
    assert run_cli(issued, "pay", "acme", "100", "--date", "2026-11-18").code == 0
    rows = balance_json(issued, "2027-02-20")  # acme due 2026-12-15 -> 67 days; northwind due 12-30 -> 52
    assert rows["acme"]["61-90"] == "727.88" and rows["acme"]["current"] == "0.00"
    assert rows["northwind"]["31-60"] == "1770.00"
    res = run_cli(issued, "invoices", "--status", "partial", "--date", "2026-11-20")
    assert "2026-0001" in res.out and "2026-0002" not in res.out
    res = run_cli(issued, "invoices", "--status", "unpaid", "--date", "2026-11-20")
    assert "2026-0002" in res.out and "2026-0001" not in res.out
    res = run_cli(issued, "invoices", "--status", "overdue", "--date", "2027-01-01")
    assert "2026-0001" in res.out and "2026-0002" in res.out and "TEST-" not in res.out
    assert run_cli(issued, "invoices", "--status", "late").code == 1


def test_dso_definition(issued: Path) -> None:
    # Countback: the days of most recent sales that make up what is outstanding. On the day an
    # invoice is issued it is 0 (the average-balance formula said 90.0 there), then the
    # invoice's age while it stays unpaid, whatever else was invoiced in the last 90 days.
    assert balance_json(issued, "2026-11-15")["acme"]["dso"] == "0.0"
    assert balance_json(issued, "2026-11-20")["acme"]["dso"] == "5.0"
    assert balance_json(issued, "2027-01-14")["acme"]["dso"] == "60.0"
    assert run_cli(issued, "pay", "acme", "413.94", "--date", "2026-11-18").code == 0
    assert balance_json(issued, "2026-11-20")["acme"]["dso"] == "2.5"  # half of it: half the days
    assert run_cli(issued, "run", "--date", "2026-12-15").code == 0  # December's invoice, as large
    assert balance_json(issued, "2026-12-15")["acme"]["dso"] == "15.0"  # (Nov 15: half of 30 days)
    assert run_cli(issued, "pay", "acme", "1241.82", "--date", "2026-12-16").code == 0
    assert balance_json(issued, "2026-12-20")["acme"]["dso"] == "0.0"  # all paid, invoiced lately
    assert balance_json(issued, "2027-06-30")["acme"]["dso"] in (None, "")  # nothing owed, nothing invoiced lately


def test_views_rebuild_byte_identical(issued: Path) -> None:
    run_cli(issued, "pay", "acme", "900", "--date", "2026-11-18")
    run_cli(issued, "credit", "2026-0002", "--amount", "120", "--date", "2026-11-19")
    before = {p: p.read_bytes() for d in ("balance", "payments") for p in (issued / "data" / d).glob("*.json")}
    assert len(before) == 4
    for d in ("balance", "payments"):
        shutil.rmtree(issued / "data" / d)
    assert run_cli(issued, "rebuild").code == 0
    assert {p: p.read_bytes() for p in before} == before


def test_full_credit_note(issued: Path) -> None:
    res = run_cli(issued, "credit", "2026-0001", "--reason", "Erreur de tarif", "--date", "2026-11-20")
    assert res.code == 0, res.text
    entry = journal(issued)[-1]
    assert entry["type"] == "credit_note.issued" and entry["number"] == "AV-2026-0001"
    assert entry["refers_to"] == "2026-0001" and entry["total_incl_vat"] == "827.88"
    text = pdf_text(issued / entry["files"]["pdf"]["path"])
    assert "Avoir" in text and "2026-0001" in text and "Erreur de tarif" in text
    assert balance_json(issued, "2026-11-20")["acme"]["balance"] == "0.00"
    again = run_cli(issued, "credit", "2026-0001", "--date", "2026-11-20")
    assert again.code == 1 and "fully credited" in again.err
    run_cli(issued, "export", "revenues", "--year", "2026")
    rows = list(csv.DictReader(io.StringIO((issued / "exports/revenues-2026.csv").read_text())))
    assert [r["amount_incl_vat"] for r in rows if r["client_id"] == "acme"] == ["827.88", "-827.88"]


def test_partial_credits_never_exceed_the_invoice(issued: Path) -> None:
    assert run_cli(issued, "credit", "2026-0002", "--amount", "770", "--date", "2026-11-20").code == 0
    res = run_cli(issued, "credit", "2026-0002", "--amount", "1000.01", "--date", "2026-11-20")
    assert res.code == 1 and "only 1000.00 GBP" in res.err
    assert run_cli(issued, "credit", "2026-0002", "--date", "2026-11-21").code == 0  # the rest
    credits = [e for e in journal(issued) if e["type"] == "credit_note.issued"]
    assert [(c["number"], c["total_incl_vat"]) for c in credits] == [("AV-2026-0001", "770.00"),
                                                                      ("AV-2026-0002", "1000.00")]
    text = pdf_text(issued / credits[0]["files"]["pdf"]["path"])
    assert "Credit note" in text and "2026-0002" in text  # northwind writes in English


def test_partial_credit_with_vat_is_exact(issued: Path) -> None:
    assert run_cli(issued, "credit", "2026-0001", "--amount", "120.00", "--date", "2026-11-20").code == 0
    entry = journal(issued)[-1]
    assert (entry["total_excl_vat"], entry["total_vat"], entry["total_incl_vat"]) == ("100.00", "20.00", "120.00")


def test_test_invoice_gets_test_credit_note(issued: Path) -> None:
    assert run_cli(issued, "credit", "TEST-2026-0001", "--date", "2026-11-20").code == 0
    assert journal(issued)[-1]["number"] == "TEST-AV-2026-0001"
    assert run_cli(issued, "credit", "2099-0001").code == 1


def test_receipts_and_payments_exports(issued: Path) -> None:
    run_cli(issued, "pay", "northwind", "2000", "--date", "2026-11-18", "--ref", "R9")
    run_cli(issued, "pay", "acme", "27.88", "--date", "2026-11-19", "--method", "card")
    assert run_cli(issued, "export", "receipts", "--year", "2026", "--month", "11").code == 0
    rows = list(csv.DictReader(io.StringIO((issued / "exports/receipts-2026-11.csv").read_text())))
    # One row per receipt (issue 10 item 9): the 2000.00 that settled 1770.00 and left 230.00
    # of credit is one row of 2000.00, no longer two rows of 1770.00 and 230.00.
    assert [(r["invoice_number"], r["invoices"], r["amount"], r["unallocated"], r["currency"]) for r in rows] == [
        ("2026-0002", "2026-0002:1770.00", "2000.00", "230.00", "GBP"),
        ("2026-0001", "2026-0001:27.88", "27.88", "0.00", "EUR")]
    assert rows[0]["client_name"] == "Northwind Traders Ltd" and rows[0]["reference"] == "R9"
    assert run_cli(issued, "export", "payments", "--year", "2026", "--excel").code == 0
    raw = (issued / "exports/payments-2026-excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"2000,00;" in raw
    assert run_cli(issued, "export", "receipts", "--year", "2026", "--month", "12").code == 0
    assert (issued / "exports/receipts-2026-12.csv").read_text().count("\n") == 1


def test_receipt_settling_several_invoices_is_one_row(issued: Path) -> None:
    assert run_cli(issued, "run", "--date", "2026-12-15").code == 0  # acme's 2026-0003, 827.88 again
    assert run_cli(issued, "pay", "acme", "2600.00", "--date", "2026-12-20", "--ref", "VIR-77").code == 0
    assert run_cli(issued, "pay", "acme", "15.00", "--date", "2026-12-21").code == 0  # nothing open: all credit
    assert run_cli(issued, "export", "receipts", "--year", "2026", "--month", "12", "--excel").code == 0
    raw = (issued / "exports/receipts-2026-12-excel.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(raw), delimiter=";"))
    assert [(r["invoice_number"], r["invoices"], r["amount"], r["unallocated"], r["reference"]) for r in rows] == [
        ("", "2026-0001:827.88 2026-0003:827.88", "2600,00", "944,24", "VIR-77"),
        ("", "", "15,00", "15,00", "")]


@pytest.mark.parametrize("amount", [".5", "5.", "1e2", "1_000"])
def test_pay_takes_amounts_in_the_form_a_bank_statement_must_use(issued: Path, amount: str) -> None:
    res = run_cli(issued, "pay", "acme", amount, "--date", "2026-11-18")
    assert res.code == 1 and "AMOUNT" in res.err and "Traceback" not in res.text


def test_a_payment_dated_back_is_allocated_from_the_rows_it_reaches(issued: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A payment recorded late (dated before the client's latest fact), with or without
    --invoice, is allocated as the account stood at its date, from the rows it reaches with the
    later facts taken back: never by taking back or replaying the client's whole account (3.4 s
    and 426 MB for a pay two days back on a client with 250,000 invoices)."""
    from facturier.store.state.client_accounts import Accounts

    assert run_cli(issued, "pay", "acme", "900.00", "--date", "2026-11-25").code == 0  # 72.12 left as credit

    def whole(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole account was taken back or replayed")

    monkeypatch.setattr(Accounts, "rewound", whole)
    monkeypatch.setattr(Accounts, "replayed", whole)
    res = run_cli(issued, "pay", "acme", "100.00", "--date", "2026-11-20")
    assert res.code == 0, res.text
    res = run_cli(issued, "pay", "acme", "50.00", "--date", "2026-11-21", "--invoice", "2026-0001")
    assert res.code == 0, res.text
    monkeypatch.undo()
    late, named = payments_of(issued)[1:]
    # On 11-20 and 11-21 the 900.00 of 11-25 was not paid yet: the invoice was open, no credit.
    assert (late["allocation"], late["unallocated"]) == ([{"number": "2026-0001", "amount": "100.00"}], "0.00")
    assert (named["allocation"], named["unallocated"]) == ([{"number": "2026-0001", "amount": "50.00"}], "0.00")
    assert balance_json(issued, "2026-11-30")["acme"]["credit"] == "222.12"
    assert run_cli(issued, "verify").code == 0
