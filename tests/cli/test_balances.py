"""`balances`: the per-client status in the table, in --json and in data/balance/<client>.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture
def issued(ws: Path) -> Path:
    """After the 2026-11-15 run: acme 827.88 EUR due 2026-12-15, northwind 1770.00 GBP due 2026-12-30."""
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def statuses(ws: Path, day: str) -> dict[str, str]:
    res = run_cli(ws, "balances", "--date", day, "--json")
    assert res.code == 0, res.text
    return {r["client"]: r["status"] for r in json.loads(res.out)["rows"]}


def test_status_of_each_client(issued: Path) -> None:
    assert statuses(issued, "2026-11-20") == {"acme": "unpaid", "northwind": "unpaid"}
    assert run_cli(issued, "pay", "acme", "900", "--date", "2026-11-18").code == 0  # 72.12 of credit
    assert run_cli(issued, "pay", "northwind", "500", "--date", "2026-11-18").code == 0  # partly paid
    assert statuses(issued, "2026-11-20") == {"acme": "credit", "northwind": "unpaid"}
    assert statuses(issued, "2027-01-05") == {"acme": "credit", "northwind": "overdue"}
    assert run_cli(issued, "pay", "northwind", "1270", "--date", "2026-11-19").code == 0
    assert statuses(issued, "2027-01-05") == {"acme": "credit", "northwind": "paid"}


def test_status_column_in_the_table(issued: Path) -> None:
    res = run_cli(issued, "balances", "--date", "2027-01-05")
    assert res.code == 0, res.text
    header, *rows = res.out.splitlines()[1:]
    assert header.split("\t")[:3] == ["client", "currency", "status"]
    assert [r.split("\t")[2] for r in rows] == ["overdue", "overdue"]


def test_status_in_the_balance_view(issued: Path) -> None:
    assert run_cli(issued, "pay", "acme", "900", "--date", "2026-11-18").code == 0
    view = json.loads((issued / "data/balance/acme.json").read_text())
    assert view["status"] == "credit" and view["currencies"][0]["status"] == "credit"
    north = json.loads((issued / "data/balance/northwind.json").read_text())
    assert north["status"] == "unpaid"  # at the view's as-of date, its latest fact (2026-11-15)
