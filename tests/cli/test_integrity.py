"""verify, rebuild, invalid workspaces, exports, listings."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import journal, run_cli


@pytest.fixture
def issued_ws(ws: Path) -> Path:
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


def test_verify_passes_on_an_untouched_workspace(issued_ws: Path) -> None:
    r = run_cli(issued_ws, "verify")
    assert r.code == 0, r.text
    assert "Integrity OK: 5 journal entries, 6 files verified, 6 views match the journal." in r.out


@pytest.mark.parametrize("suffix", [".pdf", ".json"])
def test_verify_detects_one_changed_byte(issued_ws: Path, suffix: str) -> None:
    path = issued_ws / f"data/invoices/acme/2026/2026-0001{suffix}"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    r = run_cli(issued_ws, "verify")
    assert r.code == 1
    assert f"data/invoices/acme/2026/2026-0001{suffix}: content changed" in r.out


def test_verify_detects_a_deleted_invoice(issued_ws: Path) -> None:
    (issued_ws / "data/invoices/acme/2026/2026-0001.pdf").unlink()
    r = run_cli(issued_ws, "verify")
    assert r.code == 1
    assert "2026-0001.pdf: missing" in r.out


def test_verify_detects_a_changed_journal_line(issued_ws: Path) -> None:
    path = issued_ws / "data/journal.jsonl"
    path.write_text(path.read_text().replace('"827.88"', '"828.88"', 1))
    r = run_cli(issued_ws, "verify")
    assert r.code == 1
    assert "line 1: hash does not match" in r.out or "line 2: hash does not match" in r.out
    # Every writing command refuses a broken journal, writing nothing.
    r = run_cli(issued_ws, "run", "--date", "2026-12-15")
    assert r.code == 1 and "run 'facturier verify'" in r.err


def test_verify_detects_a_forged_extra_invoice(issued_ws: Path) -> None:
    (issued_ws / "data/invoices/acme/2026/2026-0099.pdf").write_bytes(b"%PDF-fake")
    r = run_cli(issued_ws, "verify")
    assert r.code == 1 and "2026-0099.pdf: not recorded in the journal" in r.out


def test_rebuild_regenerates_views_byte_identically(issued_ws: Path) -> None:
    views = sorted((issued_ws / "data/revenues").glob("*.json"))
    before = {p.name: p.read_bytes() for p in views}
    assert set(before) == {"acme.json", "northwind.json"}  # test mode is never revenue
    for p in views:
        p.unlink()
    r = run_cli(issued_ws, "rebuild")
    assert r.code == 0
    assert {p.name: p.read_bytes() for p in (issued_ws / "data/revenues").glob("*.json")} == before
    acme = json.loads(before["acme.json"])
    assert acme["totals"]["EUR"]["amount_incl_vat"] == "827.88"
    assert acme["history"][0]["number"] == "2026-0001"


def test_verify_names_a_view_edited_by_hand_until_rebuild(issued_ws: Path) -> None:
    assert run_cli(issued_ws, "pay", "acme", "100.00", "--date", "2026-11-20").code == 0
    view = issued_ws / "data/payments/acme.json"
    whole = view.read_bytes()
    view.write_bytes(whole.replace(b'"amount": "100.00"', b'"amount": "1000.00"'))
    r = run_cli(issued_ws, "verify")
    assert r.code == 1 and "Integrity check FAILED: 1 problem(s)." in r.err
    assert ("BROKEN: data/payments/acme.json differs from the journal (edited by hand, or left "
            "behind by an interrupted command?)") in r.out
    assert "record a payment with 'facturier pay CLIENT AMOUNT --date D'" in r.out
    assert "'facturier rebuild' rewrites the views" in r.out
    assert run_cli(issued_ws, "rebuild").code == 0
    assert view.read_bytes() == whole
    r = run_cli(issued_ws, "verify")
    assert r.code == 0, r.text
    assert "6 views match the journal" in r.out


def test_verify_reports_a_deleted_view_and_one_the_journal_does_not_give(issued_ws: Path) -> None:
    balance = issued_ws / "data/balance/acme.json"
    whole = balance.read_bytes()
    balance.unlink()
    stray = issued_ws / "data/revenues/ghost.json"
    stray.write_bytes((issued_ws / "data/revenues/acme.json").read_bytes())
    r = run_cli(issued_ws, "verify")
    assert r.code == 1
    assert "BROKEN: data/balance/acme.json is missing" in r.out
    assert "BROKEN: data/revenues/ghost.json is not a view the journal gives" in r.out
    assert run_cli(issued_ws, "rebuild").code == 0
    assert balance.read_bytes() == whole and not stray.exists()
    assert run_cli(issued_ws, "verify").code == 0


def test_a_rerun_of_the_month_writes_the_views_a_killed_run_left_behind(issued_ws: Path) -> None:
    """A run killed after its commits and before its views (the state records the clients whose
    views are pending in the transaction that applies the entries): the next run of the month,
    with nothing left to issue, brings those views up to date."""
    import sqlite3

    views = {p: p.read_bytes() for p in issued_ws.glob("data/*/acme.json")}
    assert len(views) == 3
    for p in views:
        p.unlink()
    db = sqlite3.connect(issued_ws / "data" / "state.sqlite")
    with db:
        db.execute("INSERT INTO views_pending VALUES ('acme')")  # what the killed run left
    db.close()
    assert run_cli(issued_ws, "verify").code == 1
    r = run_cli(issued_ws, "run", "--date", "2026-11-20")
    assert r.code == 0 and "already invoiced" in r.out
    assert {p: p.read_bytes() for p in views} == views
    assert run_cli(issued_ws, "verify").code == 0


def test_invalid_workspace_is_refused_by_every_command(issued_ws: Path) -> None:
    client = issued_ws / "clients/acme.toml"
    client.write_text(client.read_text().replace('unit_price = "450.00"', "unit_price = 450.0"))
    snapshot = (issued_ws / "data/journal.jsonl").read_bytes()
    commands = (["run", "--date", "2026-12-15"], ["rebuild"], ["invoices"], ["verify"], ["show", "2026-0001"],
                ["export", "revenues", "--year", "2026"], ["purge-logs", "--older-than", "1"])
    for args in commands:
        r = run_cli(issued_ws, *args)
        assert r.code == 1, args
        assert "clients/acme.toml: lines[0].unit_price" in r.err
    assert (issued_ws / "data/journal.jsonl").read_bytes() == snapshot
    r = run_cli(issued_ws, "check")
    assert r.code == 1 and "clients/acme.toml: lines[0].unit_price" in r.out


def test_check_renders_a_template_override(ws: Path) -> None:
    (ws / "templates").mkdir(exist_ok=True)
    (ws / "templates/invoice.typ").write_text("#let view = json(bytes(sys.inputs.view))\n#view.nosuchkey\n")
    r = run_cli(ws, "check")
    assert r.code == 1
    assert "templates/invoice.typ: (file): cannot render with template" in r.out
    (ws / "templates/invoice.typ").write_text("#let view = json(bytes(sys.inputs.view))\n#view.number\n")
    assert run_cli(ws, "check").code == 0


def test_init_creates_a_workspace_that_passes_check(tmp_path: Path) -> None:
    r = run_cli(tmp_path, "init", str(tmp_path / "new"))
    assert r.code == 0, r.text
    assert run_cli(tmp_path / "new", "check").code == 0
    assert run_cli(tmp_path, "init", str(tmp_path / "new")).code == 1  # never overwrites


def test_revenue_export_plain_and_excel(issued_ws: Path) -> None:
    assert run_cli(issued_ws, "run", "--date", "2026-12-15").code == 0
    out = issued_ws / "rev.csv"
    r = run_cli(issued_ws, "export", "revenues", "--year", "2026", "--month", "11", "--out", str(out))
    assert r.code == 0, r.text
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["invoice_number"] for r in rows] == ["2026-0001", "2026-0002"]  # no TEST-, no December
    assert rows[0] == {
        "invoice_date": "2026-11-15", "invoice_number": "2026-0001", "client_id": "acme",
        "client_name": "ACME SARL", "currency": "EUR", "amount_excl_vat": "689.90",
        "vat_amount": "137.98", "amount_incl_vat": "827.88",
    }
    r = run_cli(issued_ws, "export", "revenues", "--year", "2026", "--excel")
    excel = (issued_ws / "exports/revenues-2026-excel.csv").read_bytes()
    assert excel.startswith(b"\xef\xbb\xbf")
    assert b"689,90;137,98;827,88" in excel
    assert excel.count(b"\r\n") == 5  # header + 4 live invoices
    again = run_cli(issued_ws, "export", "revenues", "--year", "2026", "--excel")
    assert again.code == 0 and (issued_ws / "exports/revenues-2026-excel.csv").read_bytes() == excel


def test_invoices_and_show(issued_ws: Path) -> None:
    r = run_cli(issued_ws, "invoices", "--client", "acme", "--json")
    rows = json.loads(r.out)["rows"]
    assert [row["number"] for row in rows] == ["2026-0001"]
    r = run_cli(issued_ws, "show", "2026-0001")
    assert r.code == 0 and "ACME SARL" in r.out and "827.88" in r.out
    r = run_cli(issued_ws, "invoices", "--client", "nosuch")
    assert r.code == 1 and "unknown client 'nosuch'" in r.err
    r = run_cli(issued_ws, "invoices", "--client", "atelier-lumiere")  # configured, nothing issued yet
    assert r.code == 0 and "No document matches" in r.out
    r = run_cli(issued_ws, "show", "2099-0001")
    assert r.code == 1 and "no invoice or credit note numbered '2099-0001'" in r.err


def test_bad_date_is_a_clear_error(issued_ws: Path) -> None:
    r = run_cli(issued_ws, "run", "--date", "2026-13-45")
    assert r.code == 2 and "'2026-13-45' is not a date in the form YYYY-MM-DD" in r.err  # usage error
    assert len(journal(issued_ws)) == 5  # 3 issued + acme's invoice.sending and invoice.sent


def test_purge_logs_touches_only_logs(issued_ws: Path) -> None:
    import os

    old = issued_ws / "data/logs/acme.log"
    os.utime(old, (0, 0))
    r = run_cli(issued_ws, "purge-logs", "--older-than", "30")
    assert r.code == 0 and not old.exists()
    assert (issued_ws / "data/logs/facturier.log").exists()
    assert run_cli(issued_ws, "verify").code == 0
