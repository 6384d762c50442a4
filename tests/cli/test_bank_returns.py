"""import-bank and returned transfers: a credit the bank took back is named in a warning (with
the payment it appears to return), nothing is recorded for it, the other lines are imported."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import journal, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bank"
ADVICE = "Facturier does not yet record reversals (see docs/payments.md, Returned transfers)"


def payments(ws: Path) -> list[dict]:
    return [e for e in journal(ws) if e["type"] == "payment.recorded"]


def warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("WARNING: ")]


def test_camt_return_names_the_payment_it_takes_back(issued: Path) -> None:
    assert run_cli(issued, "import-bank", str(FIXTURES / "statement.camt053.xml")).code == 0
    res = run_cli(issued, "import-bank", str(FIXTURES / "returns.camt053.xml"))
    assert res.code == 0, res.text
    tied, untied = warnings(res.err)
    # where, what, which payment (by its amount and remittance: the return quotes its text), what to do
    assert tied.startswith("WARNING: returns.camt053.xml: CAMT entry 1 (CAMT-0107): returned transfer "
                           "of EUR 827.88 on 2026-11-23 (Facture 2026-0001 merci")
    assert "ref ACME-E2E-1" in tied and "nothing recorded" in tied
    assert ("appears to return the payment of acme (ACME SARL) on 2026-11-17, EUR 827.88, settling 2026-0001"
            in tied)
    assert "unpaid again, follow it up with the client" in tied and ADVICE in tied
    # a reversal (RvslInd) of a credit never recorded: named, without a payment
    assert untied.startswith("WARNING: returns.camt053.xml: CAMT entry 3 (CAMT-0109): returned transfer "
                             "of EUR 99.00 on 2026-11-24 (Order 555")
    assert "matches no payment recorded before" in untied and ADVICE in untied
    # the other line is imported as always; nothing is written for the returns
    assert "1 matched, 0 unmatched" in res.out
    recorded = payments(issued)
    assert [(p["client"], p["amount"], p["bank_id"]) for p in recorded] == [
        ("acme", "827.88", "CAMT-0001"), ("northwind", "1770.00", "CAMT-0108")]
    # no state: importing the same statement again warns again
    again = run_cli(issued, "import-bank", str(FIXTURES / "returns.camt053.xml"))
    assert again.code == 0 and len(warnings(again.err)) == 2 and "1 duplicate" in again.out
    assert len(payments(issued)) == 2


def test_mt940_reversal_of_credit_tied_by_reference(issued: Path) -> None:
    first = run_cli(issued, "import-bank", str(FIXTURES / "statement.mt940"))
    assert "1 matched" in first.out and payments(issued)[0]["bank_id"] == "BANKREF1"
    res = run_cli(issued, "import-bank", str(FIXTURES / "returns.mt940"))
    assert res.code == 0, res.text
    tied, untied = warnings(res.err)
    assert tied.startswith("WARNING: returns.mt940: MT940 statement line 1: returned transfer of EUR 500.00 "
                           "on 2026-11-23 (RETOUR VIR ACME SARL /RTRN/AC04 COMPTE CLOS; ref BANKREF1, RET-0001)")
    assert "the payment of acme (ACME SARL) on 2026-11-18, EUR 500.00, settling 2026-0001" in tied
    assert untied.startswith("WARNING: returns.mt940: MT940 statement line 3: returned transfer of EUR 75.00")
    assert "matches no payment recorded before" in untied
    # the balance of 2026-0001 (the returned 500.00 still counts) is matched and recorded
    assert "1 matched, 0 unmatched" in res.out
    assert [p["amount"] for p in payments(issued)] == ["500.00", "327.88"]


def test_dry_run_warns_and_writes_nothing(issued: Path) -> None:
    assert run_cli(issued, "import-bank", str(FIXTURES / "statement.camt053.xml")).code == 0
    before = (issued / "data/journal.jsonl").read_bytes()
    res = run_cli(issued, "import-bank", str(FIXTURES / "returns.camt053.xml"), "--dry-run")
    assert res.code == 0 and "dry run" in res.out and "matched\tnorthwind\t2026-0002" in res.out
    assert len(warnings(res.err)) == 2 and "settling 2026-0001" in warnings(res.err)[0]
    assert (issued / "data/journal.jsonl").read_bytes() == before


def test_return_within_the_statement_of_its_credit(issued: Path, tmp_path: Path) -> None:
    # the credit and its return on one statement: the credit is recorded, the return names it
    text = (FIXTURES / "returns.mt940").read_text(encoding="utf-8")
    credit = ":61:2611181118C500,00NTRFACME-1//BANKREF1\n:86:VIR ACME SARL FACTURE 2026-0001 ACOMPTE\n"
    statement = tmp_path / "both.mt940"
    statement.write_text(text.replace(":61:2611231123RC", credit + ":61:2611231123RC", 1)
                         .replace(":62F:C261124EUR1307,88", ":62F:C261124EUR1807,88"), encoding="utf-8")
    res = run_cli(issued, "import-bank", str(statement))
    assert res.code == 0, res.text
    assert "statement line 2: returned transfer" in res.err and "EUR 500.00, settling 2026-0001" in res.err
    assert [p["amount"] for p in payments(issued)] == ["500.00", "327.88"]


def test_plain_debits_are_not_returns(issued: Path) -> None:
    # statement.mt940 has a D fee line, statement.camt053.xml a DBIT fee entry: no warning
    for name in ("statement.mt940", "statement.camt053.xml"):
        res = run_cli(issued, "import-bank", str(FIXTURES / name))
        assert res.code == 0 and "returned transfer" not in res.err, res.text


def test_return_of_a_payment_recorded_by_hand_tied_by_its_reference(issued: Path) -> None:
    paid = run_cli(issued, "pay", "acme", "827.88", "--date", "2026-11-20", "--ref", "ACME-E2E-1")
    assert paid.code == 0, paid.text
    res = run_cli(issued, "import-bank", str(FIXTURES / "returns.camt053.xml"))
    assert res.code == 0, res.text
    assert ("appears to return the payment of acme (ACME SARL) on 2026-11-20, EUR 827.88, settling 2026-0001"
            in warnings(res.err)[0])


def test_a_payment_of_another_amount_and_text_is_not_named(issued: Path) -> None:
    # the recorded 500.00 is neither quoted by the 99.00 reversal nor of its amount
    assert run_cli(issued, "import-bank", str(FIXTURES / "statement.mt940")).code == 0
    res = run_cli(issued, "import-bank", str(FIXTURES / "returns.camt053.xml"))
    assert "matches no payment recorded before" in warnings(res.err)[1]
