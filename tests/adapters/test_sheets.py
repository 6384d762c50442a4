"""Sheet sources: a CSV file on disk, and Google Sheets through googleapiclient's HttpMockSequence."""

from __future__ import annotations

import codecs
import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import pytest

pytest.importorskip("googleapiclient")

from facturier.adapters.google.auth import GoogleSession
from facturier.adapters.google.errors import GooglePermissionError
from facturier.adapters.sheets import (
    CsvSheetSource,
    GoogleSheetSource,
    SheetError,
    WriteBack,
    sheet_receivables,
    split_range,
)
from facturier.config.google import SHEETS
from tests.adapters.google.conftest import Sleeps, error, mock, ok, write_token

TODAY = date(2026, 12, 1)
HEADER = ("invoice_id;client_name;client_email;amount;currency;due_date;sent_date;status;notes;"
          "last_stage_sent;last_sent_at")


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    path = tmp_path / "invoices.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode(encoding))
    return path


def test_csv_write_back_keeps_delimiter_encoding_bom_and_newlines(tmp_path: Path) -> None:
    text = (HEADER + "\r\n"
            "INV-1;Café Crème;ap@cafe.example;120,50;EUR;15/10/2026;;Overdue;« note »;;\r\n"
            "INV-2;Bee;b@b.example;10;EUR;2026-11-01;;paid;;;\r\n")
    path = csv_file(tmp_path, text, "cp1252")
    source = CsvSheetSource(path)
    parsed = source.read(TODAY)
    assert parsed.ok and [(r.invoice_id, r.row, r.client_name) for r in parsed.rows] == [("INV-1", 2, "Café Crème")]
    assert source.write_back([WriteBack("INV-1", 2, 42, TODAY)]) == []
    expected = text.replace("« note »;;", "« note »;42;2026-12-01")
    assert path.read_bytes() == expected.encode("cp1252")


def test_csv_with_bom_and_commas_round_trips(tmp_path: Path) -> None:
    text = HEADER.replace(";", ",") + "\nINV-1,ACME,a@acme.example,5,EUR,2026-10-01,,overdue,\"a, b\",7,2026-10-08\n"
    path = csv_file(tmp_path, text, bom=True)
    source = CsvSheetSource(path)
    [row] = source.read(TODAY).rows
    assert (row.last_stage, row.last_sent_on, row.notes) == (7, date(2026, 10, 8), "a, b")
    source.write_back([WriteBack("INV-1", 2, 42, TODAY)])
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert data[3:].decode() == text.replace("7,2026-10-08", "42,2026-12-01")


def test_csv_sorted_since_the_read_is_written_into_the_right_row(tmp_path: Path) -> None:
    rows = ["INV-1;A;a@a.example;5;EUR;2026-10-01;;overdue;;;", "INV-2;B;b@b.example;6;EUR;2026-10-02;;overdue;;;"]
    path = csv_file(tmp_path, "\n".join([HEADER, *rows]) + "\n")
    source = CsvSheetSource(path)
    source.read(TODAY)
    path.write_text("\n".join([HEADER, rows[1], rows[0]]) + "\n")  # the user sorted the file
    problems = source.write_back([WriteBack("INV-1", 2, 42, TODAY), WriteBack("INV-9", 4, 7, TODAY)])
    assert problems == [("invoices.csv: INV-9: not written back: the invoice is no longer in the sheet; "
                         "stage 7 of 2026-12-01 stays recorded in the journal")]
    lines = path.read_text().splitlines()
    assert lines[1] == rows[1] and lines[2] == rows[0].replace(";;;", ";;42;2026-12-01")


def test_bad_rows_draft_nothing_unless_skipped(tmp_path: Path, demo_config: Any) -> None:
    path = csv_file(tmp_path, (f"{HEADER}\n"
                               "INV-1;A;a@a.example;5;EUR;2026-10-01;;overdue;;;\n"
                               "INV-2;B;b@b.example;five;EUR;2026-10-02;;overdue;;;\n"))
    source = CsvSheetSource(path)
    with pytest.raises(SheetError, match="1 problem\\(s\\) in the sheet; nothing is drafted.*\n"
                                         "invoices.csv:3:amount: 'five' is not a plain amount"):
        sheet_receivables(demo_config, tmp_path, TODAY, source=source)
    kept = sheet_receivables(demo_config, tmp_path, TODAY, skip_bad_rows=True, source=source)
    assert ([r.number for r in kept.receivables] == ["INV-1"]
            and {k: r.row for k, r in kept.rows.items()} == {"INV-1": 2})
    assert kept.skipped == [("invoices.csv:3:amount: 'five' is not a plain amount (digits and one '.' or ',' "
                             "as decimal mark; no currency sign or thousands separator)")]


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SheetError, match="invoices.csv: cannot be read"):
        CsvSheetSource(tmp_path / "invoices.csv").read(TODAY)


# --- Google Sheets ---------------------------------------------------------------------------

VALUES = [
    ["invoice_id", "client_name", "client_email", "amount", "currency", "due_date", "sent_date", "status",
     "notes", "last_stage_sent", "last_sent_at"],
    ["INV-1", "ACME", "ap@acme.example", 1200.5, "EUR", 46310, 46280, "Overdue"],
    ["INV-2", "Bee", "b@b.example", 90, "EUR", 46000, "", "Paid", "", 42, 46100],
    ["INV-3", "Sea", "c@c.example", 300, "EUR", "2026-11-20", "", "open"],
]


def sheets(tmp_path: Path, http: Any, a1: str = "Invoices!A1:K", sleeps: Sleeps | None = None) -> GoogleSheetSource:
    token = write_token(tmp_path / "t.json", scopes=(SHEETS,))
    return GoogleSheetSource(lambda: GoogleSession(token, (SHEETS,), http).service("sheets", "v4"),
                             "sheet-id-1", a1, True, sleeps if sleeps is not None else Sleeps())


def test_sheet_read_asks_for_unformatted_values_and_serial_dates(tmp_path: Path) -> None:
    http = mock(ok({"range": "Invoices!A1:K1000", "majorDimension": "ROWS", "values": VALUES}))
    parsed = sheets(tmp_path, http).read(TODAY)
    assert [(r.invoice_id, r.row, r.due_on) for r in parsed.rows] == [
        ("INV-1", 2, date(2026, 10, 15)), ("INV-3", 4, date(2026, 11, 20))]
    [(uri, method, _, _)] = http.request_sequence
    url = urlparse(uri)
    assert method == "GET" and unquote(url.path) == "/v4/spreadsheets/sheet-id-1/values/Invoices!A1:K"
    assert parse_qs(url.query) == {"majorDimension": ["ROWS"], "valueRenderOption": ["UNFORMATTED_VALUE"],
                                   "dateTimeRenderOption": ["SERIAL_NUMBER"], "alt": ["json"]}


def test_write_back_rereads_the_key_column_and_finds_moved_rows(tmp_path: Path) -> None:
    http = mock(ok({"range": "Invoices!A1:K1000", "values": VALUES}),
                # Sorted since: INV-3 is now row 2, INV-1 row 4.
                ok({"range": "'Invoices'!A1:A1000", "values": [["invoice_id"], ["INV-3"], ["INV-2"], ["INV-1"]]}),
                ok({"spreadsheetId": "sheet-id-1", "totalUpdatedCells": 4}))
    source = sheets(tmp_path, http)
    source.read(TODAY)
    assert source.write_back([WriteBack("INV-1", 2, 42, TODAY), WriteBack("INV-3", 4, 7, TODAY)]) == []
    _, reread, update = http.request_sequence
    assert unquote(urlparse(reread[0]).path).endswith("/values/'Invoices'!A1:A")
    assert update[1] == "POST" and urlparse(update[0]).path.endswith("/values:batchUpdate")
    assert json.loads(update[2]) == {"valueInputOption": "RAW", "data": [
        {"range": "'Invoices'!J4", "values": [[42]]}, {"range": "'Invoices'!K4", "values": [["2026-12-01"]]},
        {"range": "'Invoices'!J2", "values": [[7]]}, {"range": "'Invoices'!K2", "values": [["2026-12-01"]]}]}


def test_write_back_into_a_range_that_starts_elsewhere(tmp_path: Path) -> None:
    shifted = [["", *row] for row in VALUES]  # the table starts in column B, row 3
    http = mock(ok({"range": "'My Invoices'!B3:L1000", "values": [row[1:] for row in shifted]}),
                ok({"values": [["invoice_id"], ["INV-1"]]}), ok({}))
    source = sheets(tmp_path, http, "'My Invoices'!B3:L")
    [first, _] = source.read(TODAY).rows
    assert first.row == 4
    source.write_back([WriteBack("INV-1", 4, 7, TODAY)])
    body = json.loads(http.request_sequence[2][2])
    assert [d["range"] for d in body["data"]] == ["'My Invoices'!K4", "'My Invoices'!L4"]
    assert unquote(urlparse(http.request_sequence[1][0]).path).endswith("/values/'My Invoices'!B3:B")


def test_a_key_on_two_rows_is_not_written(tmp_path: Path) -> None:
    http = mock(ok({"values": VALUES}), ok({"values": [["invoice_id"], ["INV-9"], ["INV-1"], ["INV-1"]]}))
    source = sheets(tmp_path, http)
    source.read(TODAY)
    problems = source.write_back([WriteBack("INV-1", 2, 7, TODAY)])
    assert problems == [("Invoices: INV-1: not written back: the invoice is on several rows (3, 4); "
                         "stage 7 of 2026-12-01 stays recorded in the journal")]
    assert len(http.request_sequence) == 2  # no batchUpdate


def test_read_only_scope_is_told_as_insufficient_permissions(tmp_path: Path) -> None:
    http = mock(ok({"values": VALUES}), ok({"values": [["invoice_id"], ["INV-1"]]}),
                error(403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                      status_text="PERMISSION_DENIED"))
    source = sheets(tmp_path, http)
    source.read(TODAY)
    with pytest.raises(GooglePermissionError, match="403 .*insufficientPermissions.*facturier auth google"):
        source.write_back([WriteBack("INV-1", 2, 7, TODAY)])
    assert len(http.request_sequence) == 3


def test_empty_read_says_what_to_check(tmp_path: Path) -> None:
    parsed = sheets(tmp_path, mock(ok({"range": "Invoices!A1:K1000"}))).read(TODAY)
    assert "the range is empty: check the spreadsheet id, the range and that the sheet is shared" in \
        str(parsed.problems[0])


def test_quota_is_retried_with_backoff(tmp_path: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(429, "rateLimitExceeded", "Quota exceeded for quota metric 'Read requests'",
                      status_text="RESOURCE_EXHAUSTED"), ok({"values": VALUES}))
    assert len(sheets(tmp_path, http, sleeps=sleeps).read(TODAY).rows) == 2
    assert sleeps == [1.0]


@pytest.mark.parametrize("a1,expected", [("Invoices!A1:Z", ("Invoices", "A", 1)), ("Invoices", ("Invoices", "A", 1)),
                                         ("'It''s'!C5:H", ("It's", "C", 5)), ("Sheet1!B:K", ("Sheet1", "B", 1))])
def test_split_range(a1: str, expected: tuple[str, str, int]) -> None:
    assert split_range(a1) == expected


@pytest.fixture
def demo_config(ws: Path) -> Any:
    from facturier.config import load_workspace

    return load_workspace(ws).config


def test_csv_write_back_replaces_the_file_by_rename(tmp_path: Path) -> None:
    """A new file renamed over the old one: a reader (or a crash) sees the old or the new file."""
    path = csv_file(tmp_path, HEADER + "\nINV-1;A;a@a.example;5;EUR;2026-10-01;;overdue;;;\n")
    source = CsvSheetSource(path)
    source.read(TODAY)
    before = path.stat().st_ino
    with path.open("rb") as old_reader:
        source.write_back([WriteBack("INV-1", 2, 7, TODAY)])
        assert old_reader.read().decode().splitlines()[1].endswith(";overdue;;;")  # still the old file
    assert path.stat().st_ino != before
    assert path.read_text().splitlines()[1].endswith(";overdue;;7;2026-12-01")
    assert [p.name for p in tmp_path.iterdir()] == ["invoices.csv"]  # no temp file left behind


def test_find_locates_a_paid_row_of_a_google_sheet_as_show_needs(tmp_path: Path) -> None:
    """`show INV-2` of a sheet invoice: the row is found whatever its status, numbered as the
    spreadsheet numbers it (the range starts at row 3 here)."""
    http = mock(ok({"range": "'My Invoices'!B3:L1000", "values": VALUES}))
    source = sheets(tmp_path, http, "'My Invoices'!B3:L")
    row, cells = source.find("INV-2") or (0, {})
    assert row == 5 and cells["status"] == "Paid" and cells["amount"] == "90" and cells["last_stage_sent"] == "42"
    assert source.where() == "the Google sheet sheet-id-1 (range 'My Invoices'!B3:L)"


def test_csv_write_back_keeps_the_mode_and_refuses_a_file_moved_out_by_a_link(tmp_path: Path) -> None:
    import os
    import stat

    from facturier.adapters.sheets import contained_path

    root = tmp_path / "ws"
    root.mkdir()
    path = root / "invoices.csv"
    path.write_text(HEADER + "\nINV-1;ACME;a@acme.example;5;EUR;2026-10-01;;overdue;;;\n", encoding="utf-8")
    os.chmod(path, 0o600)
    source = CsvSheetSource(contained_path(root, "invoices.csv"), root=root.resolve())
    source.read(TODAY)
    assert source.write_back([WriteBack("INV-1", 2, 42, TODAY)]) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Between the read and the write-back, the file is swapped for a link out of the workspace.
    outside = tmp_path / "outside.csv"
    outside.write_text("untouched", encoding="utf-8")
    path.unlink()
    path.symlink_to(outside)
    with pytest.raises(SheetError, match="leads out of the workspace"):  # the caller warns: ops.connectors
        source.write_back([WriteBack("INV-1", 2, 42, TODAY)])
    assert outside.read_text(encoding="utf-8") == "untouched"
