"""The FEC over generated years: a structural checker written from the text of art. A47 A-1 LPF,
independent of the exporter, and the file's totals against `export revenues` and `receipts`."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings

from facturier.config.accounting import AccountingConfig
from facturier.ops.reports.exports import receipt_rows, revenue_rows
from facturier.ops.reports.fec import fec_of_state
from facturier.store.journal import open_state
from tests.ledger_gen import FACTS, Fact, entries_for, write_journal

COLUMNS = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
           "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
           "ValidDate", "Montantdevise", "Idevise"]
DATE = re.compile(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")
AMOUNT = re.compile(r"-?\d+,\d\d")
RATE = Decimal("1.1650")


def fec_problems(content: bytes) -> list[str]:
    """Every departure from the FEC format found in a file (empty: the file is well formed)."""
    problems: list[str] = []
    text = content.decode("utf-8")
    lines = text.split("\r\n")
    if lines[-1] != "":
        problems.append("the file does not end with a line end")
    lines = lines[:-1]
    if lines[0].split("\t") != COLUMNS:
        problems.append(f"header {lines[0]!r}")
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    numbers: dict[str, list[int]] = defaultdict(list)
    for n, line in enumerate(lines[1:], start=2):
        f = line.split("\t")
        if len(f) != 18:
            problems.append(f"line {n}: {len(f)} columns")
            continue
        row = dict(zip(COLUMNS, f))
        for col in ("EcritureDate", "PieceDate", "ValidDate"):
            if not DATE.fullmatch(row[col]):
                problems.append(f"line {n}: {col} {row[col]!r}")
        if row["DateLet"] and not DATE.fullmatch(row["DateLet"]):
            problems.append(f"line {n}: DateLet {row['DateLet']!r}")
        if bool(row["EcritureLet"]) != bool(row["DateLet"]):
            problems.append(f"line {n}: EcritureLet without DateLet or the reverse")
        for col in ("Debit", "Credit"):
            if not AMOUNT.fullmatch(row[col]) or row[col].startswith("-"):
                problems.append(f"line {n}: {col} {row[col]!r}")
        if bool(row["Montantdevise"]) != bool(row["Idevise"]):
            problems.append(f"line {n}: Montantdevise without Idevise or the reverse")
        if row["Montantdevise"] and not AMOUNT.fullmatch(row["Montantdevise"]):
            problems.append(f"line {n}: Montantdevise {row['Montantdevise']!r}")
        if not row["CompteNum"] or not row["JournalCode"] or not row["EcritureLib"] or not row["PieceRef"]:
            problems.append(f"line {n}: a mandatory field is empty")
        if row["Debit"] != "0,00" and row["Credit"] != "0,00":
            problems.append(f"line {n}: both a debit and a credit")
        key = (row["JournalCode"], row["EcritureNum"])
        sums[key][0] += Decimal(row["Debit"].replace(",", "."))
        sums[key][1] += Decimal(row["Credit"].replace(",", "."))
        num = int(row["EcritureNum"])
        if not numbers[row["JournalCode"]] or numbers[row["JournalCode"]][-1] != num:
            numbers[row["JournalCode"]].append(num)
    for key, (debit, credit) in sums.items():
        if debit != credit:
            problems.append(f"entry {key}: debit {debit} != credit {credit}")
    for journal, nums in numbers.items():
        if nums != list(range(1, len(nums) + 1)):
            problems.append(f"journal {journal}: EcritureNum not sequential")
    return problems


def rows_of(content: bytes) -> list[dict[str, str]]:
    lines = content.decode("utf-8").split("\r\n")[1:-1]
    return [dict(zip(COLUMNS, line.split("\t"))) for line in lines]


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ".")) if text else Decimal(0)


def in_currency(r: dict[str, str], currency: str) -> Decimal:
    """A line's amount in its document's currency (Montantdevise, or euros for EUR)."""
    return amount(r["Montantdevise"]) if currency != "EUR" else amount(r["Debit"]) + amount(r["Credit"])


def sign(r: dict[str, str]) -> int:
    return 1 if amount(r["Debit"]) else -1


def export_year(tmp: Path, facts: list[Fact], year: int) -> tuple[bytes, object]:
    path = tmp / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    state = open_state(path)
    config = AccountingConfig(exchange_rates={"GBP": RATE})
    return fec_of_state(state, tmp, config, "732829320", year).content, state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS)
# A credit note of 0.00 (30 % of 0.01): its zero amounts were printed '-0,00'.
@example(facts=[Fact(client=0, day=0, cents=1, rate=0, paid=(), credit=0, batch=False),
                Fact(client=0, day=0, cents=1, rate=0, paid=(), credit=30, batch=False)])
def test_every_generated_year_gives_a_well_formed_fec_matching_the_exports(tmp_path: Path, facts: list[Fact]) -> None:
    for year in (2025, 2026):
        content, state = export_year(tmp_path, facts, year)
        assert fec_problems(content) == []
        rows = rows_of(content)
        # Sales: 411 lines of VT carry the documents' totals incl. VAT (credit notes negative),
        # in euros for EUR documents and in Montantdevise for the others.
        revenues = revenue_rows(state, year, None)  # type: ignore[arg-type]
        receipts = receipt_rows(state, year, None)  # type: ignore[arg-type]
        for cur in ("EUR", "GBP"):
            vt_411 = sum((sign(r) * in_currency(r, cur) for r in rows if r["JournalCode"] == "VT"
                          and r["CompteNum"].startswith("411") and (r["Idevise"] or "EUR") == cur), Decimal(0))
            assert vt_411 == sum((Decimal(r["amount_incl_vat"]) for r in revenues if r["currency"] == cur), Decimal(0))
            vt_706 = sum((-sign(r) * in_currency(r, cur) for r in rows if r["JournalCode"] == "VT"
                          and r["CompteNum"].startswith("7") and (r["Idevise"] or "EUR") == cur), Decimal(0))
            assert vt_706 == sum((Decimal(r["amount_excl_vat"]) for r in revenues if r["currency"] == cur), Decimal(0))
            bq_512 = sum((sign(r) * in_currency(r, cur) for r in rows if r["JournalCode"] == "BQ"
                          and r["CompteNum"].startswith("512") and (r["Idevise"] or "EUR") == cur), Decimal(0))
            assert bq_512 == sum((Decimal(r["amount"]) for r in receipts if r["currency"] == cur), Decimal(0))
        # Batch sellers' documents are not the issuer's sales.
        assert not any("bakery" in r["CompAuxNum"] for r in rows)
        state.close()  # type: ignore[attr-defined]


def test_lettering_marks_fully_settled_invoices_only(tmp_path: Path) -> None:
    facts = [Fact(0, 10, 10000, 0, (100,), 0, False), Fact(0, 20, 10000, 0, (50,), 0, False),
             Fact(0, 30, 10000, 0, (), 100, False)]
    content, _ = export_year(tmp_path, facts, 2025)
    rows = rows_of(content)
    lettered = {(r["PieceRef"], r["EcritureLet"], r["DateLet"]) for r in rows if r["EcritureLet"]}
    assert lettered == {("2025-00000", "2025-00000", "20250116"), ("VIR 0-0", "2025-00000", "20250116"),
                        ("2025-00002", "2025-00002", "20250210"), ("AV-2025-00002", "2025-00002", "20250210")}

