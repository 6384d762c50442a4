"""Existing workspaces keep working: workspaces written by earlier versions, replayed with this one.

Each folder of tests/fixtures/old_workspaces/ holds a small `workspace/` written by an earlier
version (its name says which: the day and the issues landed; the commit is in its README) and
`printed/`, what that version printed for it (balances --json, the CSV exports). This version
must read them without a refusal, print the same numbers for the same facts, verify them, and
carry on: next month's invoice takes the next number, nothing is issued or sent again.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.pa_server import ENV as PA_ENV
from tests.pa_server import LoopbackPA

OLD = Path(__file__).resolve().parent.parent / "fixtures" / "old_workspaces"
VERSIONS = sorted(p.name for p in OLD.iterdir() if (p / "workspace").is_dir())


@pytest.fixture(params=VERSIONS)
def old(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    """(a copy of the old workspace, the folder of what its version printed)."""
    ws = tmp_path / "ws"
    shutil.copytree(OLD / request.param / "workspace", ws)
    return ws, OLD / request.param / "printed"


def journal(ws: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (ws / "data/journal.jsonl").read_text().splitlines()]


def numbers(ws: Path) -> list[str]:
    return [str(e["number"]) for e in journal(ws) if e["type"] in ("invoice.issued", "credit_note.issued")]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_verify_accepts_the_views_an_earlier_version_wrote(old: tuple[Path, Path]) -> None:
    """Views are derived: those an earlier version wrote (another layout, fewer keys) are no
    integrity failure. verify says so in a note, and the next writing command rewrites them."""
    ws, _ = old
    other_layout = not (ws / "data/state.sqlite").exists()  # views written before the SQLite state
    first = run_cli(ws, "verify")
    assert first.code == 0, first.text
    assert "BROKEN" not in first.text
    noted = "written before data/state.sqlite was built from the journal (by an earlier version"
    assert (noted in first.out) == other_layout
    assert first.out.count("acme's views were written before") == int(other_layout)  # one note per client
    again = run_cli(ws, "verify")  # the state is built now: the views are still the old ones
    assert again.code == 0, again.text
    assert (noted in again.out) == other_layout
    assert run_cli(ws, "run", "--date", "2026-11-30").code == 0  # nothing to issue: views rewritten
    after = run_cli(ws, "verify")
    assert after.code == 0, after.text
    assert "earlier version" not in after.out and "views match the journal" in after.out


def test_a_view_edited_by_hand_after_the_upgrade_is_still_broken(old: tuple[Path, Path]) -> None:
    """The note is for views older than the state only: once written, an edit is a problem again."""
    ws, _ = old
    assert run_cli(ws, "rebuild").code == 0
    view = ws / "data/balance/acme.json"
    view.write_text(view.read_text().replace('"paid"', '"edited"', 1))
    r = run_cli(ws, "verify")
    assert r.code == 1
    assert "BROKEN: data/balance/acme.json differs from the journal" in r.out


def test_the_same_facts_print_the_same_numbers(old: tuple[Path, Path], tmp_path: Path) -> None:
    """What the earlier version printed for its facts is what this one prints: the balances'
    amounts (DSO aside: countback since issue 24, docs/payments.md) and the CSV exports."""
    ws, printed = old
    assert run_cli(ws, "check").code == 0
    r = run_cli(ws, "balances", "--date", "2026-11-30", "--json")
    assert r.code == 0, r.text
    now = {row["client"]: row for row in json.loads(r.out)["rows"]}
    for before in json.loads((printed / "balances.json").read_text())["rows"]:
        assert {k: now[before["client"]][k] for k in before if k != "dso"} == \
            {k: v for k, v in before.items() if k != "dso"}
    kinds = ["revenues", "payments"] + (["receipts"] if "issues-2-5" not in printed.parent.name else [])
    for kind in kinds:
        out = tmp_path / f"{kind}.csv"
        assert run_cli(ws, "export", kind, "--year", "2026", "--out", str(out)).code == 0
        assert rows(out) == rows(printed / f"{kind}.csv"), kind
    listed = json.loads(run_cli(ws, "invoices", "--json").out)["rows"]
    assert [row["number"] for row in listed] == \
        [row["number"] for row in json.loads((printed / "invoices.json").read_text())["rows"]]
    for number in numbers(ws):
        shown = run_cli(ws, "show", number)
        assert shown.code == 0 and number in shown.out, shown.text


def test_the_next_months_carry_on_without_reissuing_or_reusing_a_number(old: tuple[Path, Path]) -> None:
    ws, _ = old
    before = numbers(ws)
    sent_before = sum(1 for e in journal(ws) if e["type"] == "invoice.sent")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0  # the old version's last run, again
    assert numbers(ws) == before
    r = run_cli(ws, "run", "--date", "2026-12-15")
    assert r.code == 0, r.text
    new = numbers(ws)[len(before):]
    assert new and new[0] == f"2026-{len([n for n in before if not n.startswith('AV-')]) + 1:04d}"
    assert len(set(numbers(ws))) == len(numbers(ws))
    assert sum(1 for e in journal(ws) if e["type"] == "invoice.sent") <= sent_before + 1
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-20").code == 0
    assert run_cli(ws, "remind", "--date", "2026-12-28", "--dry-run").code == 0
    assert run_cli(ws, "rebuild").code == 0
    r = run_cli(ws, "verify")
    assert r.code == 0 and "note:" not in r.out, r.text


def test_documents_issued_before_factur_x_are_held_not_transmitted(tmp_path: Path, pa: LoopbackPA) -> None:
    """An earlier version's invoices are plain PDFs (no factur-x.xml): with `since` before them,
    transmit holds each with the reason (and `show` says so) instead of sending a PDF no
    platform can take as an e-invoice; the next invoice, issued with Factur-X, is transmitted."""
    ws = tmp_path / "ws"
    shutil.copytree(OLD / "2026-11-21-issues-2-5" / "workspace", ws)
    (ws / "facturier.toml").write_text((ws / "facturier.toml").read_text(encoding="utf-8") + pa.config(),
                                       encoding="utf-8")
    r = run_cli(ws, "transmit", "--date", "2026-12-01", env=PA_ENV)
    assert r.code == 0, r.text
    old_numbers = numbers(ws)
    held = [line.split("\t")[0] for line in r.out.splitlines() if "\theld\t" in line]
    assert held == ["2026-0001", "2026-0002", "AV-2026-0001"]
    assert "issued before Facturier embedded Factur-X" in r.out
    assert pa.state.flows == []
    shown = run_cli(ws, "show", "2026-0001", env=PA_ENV)
    assert "E-invoicing: held (issued before Facturier embedded Factur-X" in shown.out, shown.text
    assert not any(e["type"] == "einvoice.transmitting" for e in journal(ws))
    r = run_cli(ws, "run", "--date", "2026-12-15", env=PA_ENV)
    assert r.code == 0, r.text
    sent = [f.name for f in pa.state.flows]
    assert sent == [f"{n}.pdf" for n in numbers(ws) if n not in old_numbers and not n.startswith("TEST-")]
