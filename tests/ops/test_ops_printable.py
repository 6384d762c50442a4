"""`check` refuses every configuration text a document cannot print; issuing never reaches Typst with one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.ops.batch.rows import BatchContext, FileCheck, iter_rows
from tests.conftest import journal, run_cli

EMOJI = "\U0001f600"
DEMO_PENALTY = 'late_penalty = { fr = "trois fois le taux d\'intérêt légal"'


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_check_refuses_an_emoji_in_a_late_penalty_table(ws: Path) -> None:
    _edit(ws / "facturier.toml", DEMO_PENALTY, f'late_penalty = {{ fr = "trois fois le taux légal {EMOJI}"')
    res = run_cli(ws, "check")
    assert res.code == 1, res.text
    assert "Traceback" not in res.text
    problems = [line for line in res.out.splitlines() if "U+1F600" in line]
    assert len(problems) == 1  # once, though every French client's invoice prints it
    assert problems[0].startswith("facturier.toml: terms.late_penalty: ")
    assert "trois fois le taux légal" in problems[0]


def test_check_refuses_an_emoji_in_the_issuer_email_it_prints(ws: Path) -> None:
    _edit(ws / "facturier.toml", 'email = "billing@palks.example"', f'email = "billing{EMOJI}@palks.example"')
    res = run_cli(ws, "check")
    assert res.code == 1, res.text
    assert any(line.startswith("facturier.toml: issuer: ") and "U+1F600" in line for line in res.out.splitlines())


def test_check_refuses_an_emoji_in_a_batch_client_late_penalty_table(ws: Path) -> None:
    _edit(ws / "batch_clients" / "boulangerie-martin.toml", 'late_penalty = "trois fois le taux d\'intérêt légal"',
          f'late_penalty = {{ fr = "taux légal {EMOJI}" }}')
    res = run_cli(ws, "check")
    assert res.code == 1, res.text
    assert any(line.startswith("batch_clients/boulangerie-martin.toml: late_penalty: ") and "U+1F600" in line
               for line in res.out.splitlines())


def test_run_with_an_unprintable_late_penalty_names_it_and_issues_nothing(ws: Path) -> None:
    _edit(ws / "facturier.toml", DEMO_PENALTY, f'late_penalty = {{ fr = "trois fois le taux légal {EMOJI}"')
    res = run_cli(ws, "run", "--date", "2026-11-15")
    assert res.code == 1
    assert "Traceback" not in res.text and "U+1F600" in res.text
    assert "legal mentions" in res.text and "glyph" in res.text
    assert not [e for e in journal(ws) if e["type"] == "invoice.issued"]


def test_the_demo_workspace_prints_everything(ws: Path) -> None:
    res = run_cli(ws, "check")
    assert res.code == 0, res.text


@pytest.mark.parametrize("column", ["reference", "customer_name", "customer_address", "description",
                                    "customer_country", "customer_vat_id", "customer_siren"])
def test_an_emoji_in_any_printed_csv_column_is_a_row_problem(tmp_path: Path, column: str) -> None:
    values = {"reference": "R-1", "customer_name": "Café du Parc", "customer_address": "12 rue du Parc | 69003 Lyon",
              "description": "Croissants", "customer_country": "FR", "customer_vat_id": "FR44732829320",
              "customer_siren": "732829320", "unit_price": "1.50"}
    values[column] = values[column][:3] + EMOJI + values[column][3:]
    path = tmp_path / "orders.csv"
    path.write_text(",".join(values) + "\n" + ",".join(values.values()) + "\n", encoding="utf-8")
    check = FileCheck()
    context = BatchContext(seller_id="bm", seller_country="FR", currency="EUR", default_vat_rate=Decimal("5.5"),
                           payment_days=15, numbering="BM-{year}-{seq:05d}", test=False, run_date=date(2026, 11, 20))
    assert list(iter_rows(path, context, check)) == []
    assert [str(p).split(": ", 1)[0] for p in check.problems] == [f"orders.csv:2:{column}"]
