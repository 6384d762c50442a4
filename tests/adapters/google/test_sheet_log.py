"""The sheet's Log tab (issue 26) through googleapiclient's HttpMockSequence: one values.append
per run, retried with backoff, a warning when it cannot be written; and `remind` with a Google
Sheet source logging its drafts there while data/logs/reminders.csv stays."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

import pytest

pytest.importorskip("googleapiclient")

from facturier.adapters.drafts import MemoryDrafts
from facturier.adapters.google.auth import GoogleSession
from facturier.adapters.google.sheet_log import LogRow, SheetLog
from facturier.config import load_workspace
from facturier.config.google import SHEETS
from facturier.ops.collections.remind import remind
from tests.adapters.google.conftest import Sleeps, error, mock, ok, write_token
from tests.conftest import copy_demo, journal

ROWS = [LogRow("2026-12-01T09:15:00Z", "INV-1", 42, "ap@acme.example"),
        LogRow("2026-12-01T09:15:00Z", "=HYPERLINK(\"x\")", 7, "b@b.example")]


def sheet_log(tmp_path: Path, http: Any, sleeps: Sleeps) -> SheetLog:
    token = write_token(tmp_path / "t.json", scopes=(SHEETS,))
    values = GoogleSession(token, (SHEETS,), http).service("sheets", "v4").spreadsheets().values
    return SheetLog(values, "sheet-id-1", "Log", sleeps)


def test_one_append_per_run_raw_after_the_last_row(tmp_path: Path) -> None:
    http = mock(ok({"spreadsheetId": "sheet-id-1", "updates": {"updatedRows": 2}}))
    assert sheet_log(tmp_path, http, Sleeps()).append(ROWS) == []
    [(uri, method, body, _)] = http.request_sequence
    url = urlparse(uri)
    assert method == "POST" and unquote(url.path) == "/v4/spreadsheets/sheet-id-1/values/'Log'!A:D:append"
    assert parse_qs(url.query)["valueInputOption"] == ["RAW"]  # a formula-like id stays text
    assert parse_qs(url.query)["insertDataOption"] == ["INSERT_ROWS"]
    assert json.loads(body)["values"] == [["2026-12-01T09:15:00Z", "INV-1", 42, "ap@acme.example"],
                                          ["2026-12-01T09:15:00Z", "=HYPERLINK(\"x\")", 7, "b@b.example"]]


def test_the_append_is_retried_with_backoff(tmp_path: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(503, "backendError", "The service is currently unavailable.", status_text="UNAVAILABLE"),
                error(429, "rateLimitExceeded", "Quota exceeded", status_text="RESOURCE_EXHAUSTED"),
                ok({"updates": {"updatedRows": 2}}))
    assert sheet_log(tmp_path, http, sleeps).append(ROWS) == []
    assert sleeps == [1.0, 2.0] and len(http.request_sequence) == 3


def test_a_missing_tab_is_a_warning_naming_it(tmp_path: Path) -> None:
    http = mock(error(400, "badRequest", "Unable to parse range: 'Log'!A:D", status_text="INVALID_ARGUMENT"))
    [warning] = sheet_log(tmp_path, http, Sleeps()).append(ROWS)
    assert "the 'Log' tab was not written" in warning and "Unable to parse range" in warning
    assert "does the spreadsheet have a tab named 'Log'?" in warning and "INV-1" in warning
    assert sheet_log(tmp_path, mock(), Sleeps()).append([]) == []  # nothing drafted: no call


VALUES = [
    ["invoice_id", "client_name", "client_email", "amount", "currency", "due_date", "sent_date", "status",
     "notes", "last_stage_sent", "last_sent_at"],
    ["INV-1", "ACME", "ap@acme.example", 1200.5, "EUR", "2026-10-20", "", "Overdue", "", 14, "2026-11-03"],
    ["INV-2", "Bee", "b@b.example", 90, "EUR", "2026-11-20", "", "open"],
    ["INV-3", "Sea", "c@c.example", 300, "EUR", "2026-10-01", "", "paid"],
]


def test_remind_from_a_google_sheet_logs_its_drafts_to_the_log_tab(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from facturier.adapters.sheets import open_sheet_source
    from facturier.ops.collections import receivables

    ws = copy_demo(tmp_path / "ws")
    token = write_token(tmp_path / "home" / "google-token.json", scopes=(SHEETS,))
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[google]\ntoken_file = "{token}"\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'
                 'source = "sheets"\nspreadsheet_id = "sheet-id-1"\nrange = "Invoices!A1:K"\nlog_tab = "Log"\n')
    http = mock(ok({"range": "Invoices!A1:K1000", "values": VALUES}),  # the read
                ok({"updates": {"updatedRows": 2}}),  # the Log tab, once
                ok({"values": [["invoice_id"], ["INV-1"], ["INV-2"], ["INV-3"]]}),  # write-back: keys again
                ok({"totalUpdatedCells": 4}))
    monkeypatch.setattr(receivables, "open_sheet_source",
                        lambda config, root: open_sheet_source(config, root, http=http, sleep=Sleeps()))
    day = date(2026, 12, 1)
    before = datetime.now(UTC).replace(microsecond=0)
    report = remind(load_workspace(ws), day, datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Europe/Paris")),
                    store=MemoryDrafts())
    assert [a.message for a in report.alerts] == []
    assert {e["number"]: e["stage"] for e in journal(ws) if e["type"] == "reminder.drafted"} == {"INV-1": 42,
                                                                                              "INV-2": 7}
    _, (append_uri, _, append_body, _), _, _ = http.request_sequence
    assert unquote(urlparse(append_uri).path).endswith("/values/'Log'!A:D:append")
    rows = json.loads(append_body)["values"]
    assert [r[1:] for r in rows] == [["INV-1", 42, "ap@acme.example"], ["INV-2", 7, "b@b.example"]]
    stamp = datetime.strptime(rows[0][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    csv_lines = (ws / "data" / "logs" / "reminders.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0] == "timestamp,invoice_id,stage,email" and len(csv_lines) == 3  # the CSV metrics stay


def test_a_log_tab_needs_a_google_sheet_and_asks_for_the_write_scope(tmp_path: Path) -> None:
    from facturier.config.google import SHEETS_READONLY, google_scopes
    from tests.conftest import run_cli

    ws = copy_demo(tmp_path / "ws")
    toml = ws / "facturier.toml"
    base = toml.read_text(encoding="utf-8")
    toml.write_text(base + '\n[collections]\nsource = "csv"\nsource_path = "x.csv"\nlog_tab = "Log"\n',
                    encoding="utf-8")
    result = run_cli(ws, "check")
    assert result.code == 1 and 'log_tab is a tab of the Google Sheet source: it needs source = "sheets"' in result.out
    toml.write_text(base + '\n[collections]\nsource = "sheets"\nspreadsheet_id = "s"\nwrite_back = false\n',
                    encoding="utf-8")
    assert google_scopes(load_workspace(ws).config) == (SHEETS_READONLY,)
    toml.write_text(base + '\n[collections]\nsource = "sheets"\nspreadsheet_id = "s"\nwrite_back = false\n'
                    'log_tab = "Log"\n', encoding="utf-8")
    assert google_scopes(load_workspace(ws).config) == (SHEETS,)
