"""The pieces `remind` plugs in from the connectors: a CSV sheet as the source, its
write-back driven by the journal's history, and payment links from a URL template."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.adapters.sheets import SheetError
from facturier.config import load_workspace
from facturier.core.dunning import group_reminders, plan_reminders
from facturier.ops.connectors import payment_link_of, sheet_source_receivables, write_back
from facturier.ops.state_access import read_state

TODAY = date(2026, 12, 1)
HEADER = ("invoice_id,client_name,client_email,amount,currency,due_date,sent_date,status,notes,"
          "last_stage_sent,last_sent_at")


def sheet_workspace(ws: Path, rows: list[str], extra: str = "") -> Path:
    (ws / "invoices.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text() + f'\n[collections]\nsource = "csv"\nsource_path = "invoices.csv"\n{extra}\n')
    return ws


def test_journal_history_wins_and_the_write_back_catches_up(ws: Path) -> None:
    sheet_workspace(ws, ["INV-1,ACME,ap@acme.example,1000,EUR,2026-11-10,,overdue,,,",
                         "INV-2,Bee,b@b.example,50,EUR,2026-11-20,,open,,7,2026-11-27",
                         "INV-3,Sea,c@c.example,70,EUR,2026-10-01,,paid,,,"])
    workspace = load_workspace(ws)
    # The journal: INV-2's stage 14 was drafted yesterday, but its write-back failed.
    journal = {"INV-2": (14, date(2026, 11, 30))}
    history = lambda number: journal.get(number, (None, None))
    sheet = sheet_source_receivables(workspace, TODAY, history)
    plan = plan_reminders(sheet.receivables, TODAY, workspace.config.collections.stage_tuple())
    assert [(d.number, d.stage) for d in plan.due] == [("INV-1", 21)]  # INV-2 at 14 already
    journal["INV-1"] = (21, TODAY)  # what remind journals once the draft is stored
    assert write_back(sheet, history) == []
    lines = (ws / "invoices.csv").read_text().splitlines()
    assert lines[1].endswith(",overdue,,21,2026-12-01")
    assert lines[2].endswith(",open,,14,2026-11-30")
    assert lines[3].endswith(",paid,,,")
    again = sheet_source_receivables(load_workspace(ws), TODAY, history)
    assert write_back(again, history) == []  # nothing behind any more: the file is untouched
    assert (ws / "invoices.csv").read_text().splitlines() == lines


def test_a_sheet_with_bad_rows_gives_nothing_unless_skipped(ws: Path) -> None:
    sheet_workspace(ws, ["INV-1,ACME,ap@acme.example,1000,EUR,2026-11-10,,overdue,,,",
                         "INV-2,Bee,not-an-address,50,EUR,2026-11-20,,overdue,,,"])
    workspace = load_workspace(ws)
    with pytest.raises(SheetError, match="invoices.csv:3:client_email: 'not-an-address' is not a valid email"):
        sheet_source_receivables(workspace, TODAY, lambda n: (None, None))
    kept = sheet_source_receivables(workspace, TODAY, lambda n: (None, None), skip_bad_rows=True)
    assert [r.number for r in kept.receivables] == ["INV-1"] and len(kept.skipped) == 1


def test_template_payment_link_in_a_single_invoice_reminder(ws: Path) -> None:
    sheet_workspace(ws, ["INV-1,ACME,ap@acme.example,1000.5,EUR,2026-11-10,,overdue,,,"],
                    '\n[collections.payment_link]\nprovider = "template"\n'
                    'url = "https://pay.example/{number}?amount={amount}&currency={currency}"')
    workspace = load_workspace(ws)
    sheet = sheet_source_receivables(workspace, TODAY, lambda n: (None, None))
    [group] = group_reminders(plan_reminders(sheet.receivables, TODAY).due)
    state = read_state(ws)
    try:
        link, warnings = payment_link_of(workspace, state, None)
        assert link(group) == "(payment link created when drafting)"  # a dry run creates nothing
    finally:
        state.close()
    assert warnings == [] and group.remaining == Decimal("1000.50")
