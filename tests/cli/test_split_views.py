"""Views of a client with a long history, split per year: what they hold, what a command
rewrites, and what `verify` and `rebuild` make of them (the threshold lowered to 2 items)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from facturier.ops import balance_views
from facturier.store import views
from tests.conftest import run_cli

MONTHS = ("2024-11-15", "2024-12-15", "2025-01-15", "2025-02-15")


def split_at(monkeypatch: pytest.MonkeyPatch, items: int) -> None:
    monkeypatch.setattr(views, "SPLIT_AT", items)
    monkeypatch.setattr(balance_views, "SPLIT_AT", items)


def ok(ws: Path, *args: str) -> str:
    res = run_cli(ws, *args)
    assert res.code == 0, res.text
    return res.out


def read(ws: Path, rel: str) -> Any:
    return json.loads((ws / "data" / rel).read_text())


@pytest.fixture
def history(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """acme invoiced over two years (4 invoices) and paid 3 times, its views split."""
    split_at(monkeypatch, 2)
    for day in MONTHS:
        ok(ws, "run", "--date", day)
    for amount, day in (("100", "2024-12-20"), ("50", "2025-01-20"), ("25", "2025-02-20")):
        ok(ws, "pay", "acme", amount, "--date", day)
    return ws


def whole(ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the workspace with every view in one file (the threshold out of reach)."""
    copy = tmp_path / "whole"
    shutil.copytree(ws, copy)
    split_at(monkeypatch, 10_000)
    ok(copy, "rebuild")
    split_at(monkeypatch, 2)
    return copy


def test_a_long_history_is_split_per_year_and_holds_what_the_one_file_held(
        history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = whole(history, tmp_path, monkeypatch)
    revenues, payments, balance = (read(history, f"{k}/acme.json") for k in ("revenues", "payments", "balance"))
    assert revenues["years"] == payments["years"] == balance["years"] == ["2024", "2025"]
    assert "history" not in revenues and "payments" not in payments
    old = read(one, "revenues/acme.json")
    assert {k: v for k, v in revenues.items() if k != "years"} == {k: v for k, v in old.items() if k != "history"}
    assert [h for y in ("2024", "2025") for h in read(history, f"revenues/acme/{y}.json")["history"]] == old["history"]
    assert [p for y in ("2024", "2025") for p in read(history, f"payments/acme/{y}.json")["payments"]] \
        == read(one, "payments/acme.json")["payments"]
    old_balance = read(one, "balance/acme.json")
    assert balance["as_of"] == old_balance["as_of"] == "2025-02-20"
    assert balance["currencies"] == [{k: v for k, v in c.items() if k != "invoices"}
                                     for c in old_balance["currencies"]]
    listed = [i for y in ("2024", "2025") for c in read(history, f"balance/acme/{y}.json")["currencies"]
              for i in c["invoices"]]
    assert listed == old_balance["currencies"][0]["invoices"]
    assert run_cli(history, "verify").code == 0


def test_a_command_rewrites_the_years_its_facts_change_and_verify_names_an_edited_year(
        history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old_year = history / "data/payments/acme/2024.json"
    edited = old_year.read_text().replace('"100.00"', '"999.00"')
    old_year.write_text(edited)
    ok(history, "pay", "acme", "10", "--date", "2025-02-25")  # a 2025 payment: 2024 is not rebuilt
    assert old_year.read_text() == edited
    assert len(read(history, "payments/acme/2025.json")["payments"]) == 3
    res = run_cli(history, "verify")
    assert res.code != 0
    assert "data/payments/acme/2024.json differs from the journal" in res.text
    assert "facturier pay CLIENT AMOUNT" in res.text
    ok(history, "rebuild")
    assert run_cli(history, "verify").code == 0
    one = whole(history, tmp_path, monkeypatch)
    assert [p for y in ("2024", "2025") for p in read(history, f"payments/acme/{y}.json")["payments"]] \
        == read(one, "payments/acme.json")["payments"]


def test_the_balance_years_follow_payments_of_old_invoices_and_the_moving_as_of(
        history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # paid in 2025, allocated to the oldest open invoice (2024): its year is rewritten
    ok(history, "pay", "acme", "2000", "--date", "2025-03-20")
    one = whole(history, tmp_path, monkeypatch)
    listed = [i for y in ("2024", "2025") for c in read(history, f"balance/acme/{y}.json")["currencies"]
              for i in c["invoices"]]
    assert listed == read(one, "balance/acme.json")["currencies"][0]["invoices"]
    assert run_cli(history, "verify").code == 0


def test_views_written_in_one_file_are_split_by_the_next_command_and_deleted_years_come_back(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    split_at(monkeypatch, 10_000)
    for day in MONTHS[:3]:
        ok(ws, "run", "--date", day)
    assert "history" in read(ws, "revenues/acme.json")
    split_at(monkeypatch, 2)  # as if the history had just grown past the threshold
    res = run_cli(ws, "verify")
    assert res.code != 0
    assert "data/revenues/acme.json lists the whole history in one file" in res.text
    assert "the next command that writes this client's views, or 'facturier rebuild', splits it" in res.text
    assert "data/revenues/acme/2024.json" not in res.text  # its years are not each named missing
    ok(ws, "run", "--date", MONTHS[3])
    assert read(ws, "revenues/acme.json")["years"] == ["2024", "2025"]
    assert run_cli(ws, "verify").code == 0
    (ws / "data/balance/acme/2024.json").unlink()
    ok(ws, "pay", "acme", "1", "--date", "2025-02-25")
    assert (ws / "data/balance/acme/2024.json").is_file()
    assert run_cli(ws, "verify").code == 0


def test_years_a_command_journalled_but_never_wrote_are_written_by_the_next_one(
        history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command stopped between its journal commit and its views (a kill, a full disk) leaves
    the years its entries changed pending with them: the next command writes them."""
    from facturier.ops import views as ops_views

    def stopped(*args: object, **kwargs: object) -> set[str]:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(ops_views, "write_views", stopped)
        res = run_cli(history, "pay", "acme", "7", "--date", "2024-12-28")  # a 2024 payment
        assert res.code != 0
    assert not any(p["amount"] == "7.00" for p in read(history, "payments/acme/2024.json")["payments"])
    assert run_cli(history, "verify").code != 0  # the 2024 year is behind the journal
    ok(history, "pay", "northwind", "1", "--date", "2025-02-26")  # another client: acme's years come first
    assert any(p["amount"] == "7.00" for p in read(history, "payments/acme/2024.json")["payments"])
    assert run_cli(history, "verify").code == 0


def test_with_a_credit_pool_a_command_rewrites_only_the_balance_years_the_pool_moves(
        history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool (a payment beyond every open invoice) settles the oldest open invoices: a new
    invoice it settles moves its own year, not the years of the invoices paid long ago."""
    owed = read(history, "balance/acme.json")["currencies"][0]["balance"]
    ok(history, "pay", "acme", str(Decimal(owed) + 100), "--date", "2025-02-25")  # 100.00 of credit left
    assert read(history, "balance/acme.json")["currencies"][0]["credit"] == "100.00"
    old_year = history / "data/balance/acme/2024.json"
    edited = old_year.read_text().replace('"paid"', '"edited"')
    old_year.write_text(edited)
    ok(history, "run", "--date", "2025-03-15")  # a 2025 invoice, 100.00 of it settled by the pool
    ok(history, "pay", "acme", "10", "--date", "2025-03-20")  # allocated past the pool's share
    assert old_year.read_text() == edited  # 2024: settled on its own before and after
    found = run_cli(history, "verify").text
    assert "data/balance/acme/2024.json differs from the journal" in found
    assert "acme/2025.json" not in found  # the years written are those of the state
    ok(history, "rebuild")
    one = whole(history, tmp_path, monkeypatch)
    listed = [i for y in ("2024", "2025") for c in read(history, f"balance/acme/{y}.json")["currencies"]
              for i in c["invoices"]]
    assert listed == read(one, "balance/acme.json")["currencies"][0]["invoices"]
    newest = listed[-1]
    assert (newest["status"], Decimal(newest["paid"])) == ("partial", Decimal("110.00"))
    assert run_cli(history, "verify").code == 0
