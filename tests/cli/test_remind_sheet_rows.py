"""Issue 24: who a sheet row is (language, country, business), what `show` says of a sheet
invoice, and sheet input that once gave a traceback, reached a draft's headers, or made the
write-back replace a file outside the workspace. Through the real CLI, on a CSV sheet."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from facturier.adapters.drafts import iter_outbox
from tests.cli.test_remind_sheets import DEC1, HEADER
from tests.conftest import copy_demo, journal, run_cli

COMMA_HEADER = HEADER.replace(";", ",")
ACME = "INV-1042;Acme Corp;ap@acme.example;1200.50;USD;2026-10-20;2026-09-20;overdue;;;"


def sheet_ws(tmp_path: Path, rows: list[str], collections: str = "", header: str = HEADER) -> Path:
    """The demo (a French issuer) reminding the rows of invoices.csv, drafting for real."""
    ws = copy_demo(tmp_path / "ws")
    (ws / "invoices.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 f'source_path = "invoices.csv"\n{collections}')
    return ws


def bodies(ws: Path) -> dict[str, str]:
    """To -> the text of each draft."""
    return {m["To"]: m.get_body(("plain",)).get_content() for _, m in iter_outbox(ws / "data" / "drafts")}


def test_a_sheet_row_without_columns_is_english_without_french_legal_mentions(tmp_path: Path) -> None:
    """A USD invoice of "Acme Corp" from a sheet, with a French issuer: once a French draft
    citing L441-10 and the 40 EUR indemnity; now English, its amount in English notation."""
    ws = sheet_ws(tmp_path, [ACME])
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 0, result.text
    body = bodies(ws)["ap@acme.example"]
    assert body.startswith("Hello Acme Corp,")
    assert "1,200.50 USD" in body
    assert "L441-10" not in body and "40" not in body.replace("1042", "") and "€" not in body


def test_row_columns_choose_the_language_and_the_french_regime(tmp_path: Path) -> None:
    header = HEADER + ";language;country;business"
    rows = ["INV-1;Dupont SA;c@dupont.example;1200.50;EUR;2026-10-20;;overdue;;;;fr;FR;yes",
            "INV-2;Jean Martin;jean@martin.example;90;EUR;2026-10-20;;overdue;;;;fr;FR;no",
            "INV-3;Acme Corp;ap@acme.example;1200.50;USD;2026-10-20;;overdue;;;;en;US;yes"]
    ws = sheet_ws(tmp_path, rows, header=header)
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 0, result.text
    drafts = bodies(ws)
    dupont = drafts["c@dupont.example"]
    assert dupont.startswith("Bonjour Dupont SA,") and "1\u202f200,50 EUR" in dupont
    assert "L441-10" in dupont and "40,00\u00a0€" in dupont
    consumer = drafts["jean@martin.example"]
    assert consumer.startswith("Bonjour Jean Martin,") and "L441-10" not in consumer
    assert "L441-10" not in drafts["ap@acme.example"] and "1,200.50 USD" in drafts["ap@acme.example"]


def test_collections_defaults_make_rows_french_and_check_warns_when_unset(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, [ACME.replace("USD", "EUR")], 'language = "fr"\ncountry = "FR"\n')
    checked = run_cli(ws, "check")
    assert checked.code == 0 and "collections.language" not in checked.text, checked.text
    assert run_cli(ws, "remind", *DEC1).code == 0
    body = bodies(ws)["ap@acme.example"]
    assert body.startswith("Bonjour Acme Corp,") and "L441-10" in body
    plain = sheet_ws(tmp_path / "plain", [ACME])
    warned = run_cli(plain, "check")
    assert warned.code == 0, warned.text
    assert "warning: facturier.toml: collections.language: not set" in warned.out
    reminded = run_cli(plain, "remind", *DEC1, "--dry-run")
    assert reminded.code == 0 and "Note: facturier.toml: collections.language: not set" in reminded.out


def test_init_writes_the_sheet_defaults_commented(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init", str(tmp_path / "new")).code == 0
    text = (tmp_path / "new" / "facturier.toml").read_text(encoding="utf-8")
    for line in ('# source = "csv"', '# language = "en"', '# country = "US"', "# business = true"):
        assert line in text, line
    assert run_cli(tmp_path / "new", "check").code == 0


def test_show_says_a_sheet_invoice_lives_in_the_sheet(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, ["INV-7;Bee;b@b.example;90;EUR;2026-11-25;;open;;;", ACME])
    assert run_cli(ws, "remind", *DEC1).code == 0
    shown = run_cli(ws, "show", "INV-1042")
    assert shown.code == 0, shown.text
    assert "INV-1042 is not an invoice of this workspace's ledger: it lives in the CSV sheet invoices.csv, row 3" \
        in shown.out
    assert "Acme Corp <ap@acme.example>" in shown.out and "1200.50 USD" in shown.out
    assert "Reminder: stage 42 on 2026-12-01 (drafted" in shown.out
    as_json = json.loads(run_cli(ws, "show", "INV-1042", "--json").out)
    assert as_json["document"] is None and as_json["sheet"]["row"] == 3
    assert [r["stage"] for r in as_json["collections"]["reminders"]] == [42]
    missing = run_cli(ws, "show", "INV-9")
    assert missing.code == 1 and "no row of the CSV sheet invoices.csv" in missing.err


@pytest.mark.parametrize(("cell", "column", "shown"), [
    ('"INV-1\nBcc: boss@acme.example"', "invoice_id", "U+000A"),
    ("INV-\x1b[31m1", "invoice_id", "U+001B"),
    ("INV-\u202e1", "invoice_id", "U+202E"),
    ("INV-1\x00", "invoice_id", "U+0000"),
])
def test_control_characters_in_a_sheet_never_reach_a_draft(tmp_path: Path, cell: str, column: str,
                                                           shown: str) -> None:
    ws = sheet_ws(tmp_path, [f"{cell};Acme;ap@acme.example;100;EUR;2026-10-20;;overdue;;;"])
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 1 and "Traceback" not in result.text, result.text
    assert f"invoices.csv:2:{column}: contains {shown}" in result.err
    assert not (ws / "data" / "drafts").exists()


def test_a_name_with_control_characters_is_refused_and_skipping_leaves_it_out(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, ["INV-1;Ac\u202eme\x1b;ap@acme.example;100;EUR;2026-10-20;;overdue;;;", ACME])
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 1 and "invoices.csv:2:client_name: contains U+202E" in result.err
    skipped = run_cli(ws, "remind", *DEC1, "--skip-bad-rows")
    assert skipped.code == 0, skipped.text
    assert set(bodies(ws)) == {"ap@acme.example"} and "\x1b" not in bodies(ws)["ap@acme.example"]


@pytest.mark.parametrize(("amount", "due"), [("\u0661\u0662\u0660\u0660", "2026-10-20"),
                                             ("1200", "2026-10-20Tgarbage")])
def test_foreign_digits_and_date_garbage_are_located_problems(tmp_path: Path, amount: str, due: str) -> None:
    ws = sheet_ws(tmp_path, [f"INV-1;Acme;ap@acme.example;{amount};EUR;{due};;overdue;;;"])
    result = run_cli(ws, "check")
    assert result.code == 1, result.text
    column = "amount" if amount != "1200" else "due_date"
    assert f"invoices.csv:2:{column}: " in result.out


@pytest.mark.parametrize(("data", "message"), [
    (b"invoice_id,client_name\nINV-\x81,x\n", "invoices.csv:2: byte 0x81 at offset 27 is neither UTF-8 nor"),
    ("invoice_id,client_name\nINV-1,x\n".encode("utf-16") + b"\x00",
     "invoices.csv:3: the file starts with a UTF-16 mark but ends in the middle of a character"),
])
def test_a_csv_that_is_not_text_is_a_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    ws = sheet_ws(tmp_path, [])
    (ws / "invoices.csv").write_bytes(data)
    for command in (("check",), ("remind", *DEC1)):
        result = run_cli(ws, *command)
        assert result.code == 1 and "Traceback" not in result.text, result.text
        assert message in result.text
    assert (ws / "invoices.csv").read_bytes() == data


@pytest.mark.parametrize("path", ["../outside.csv", "sub/../../outside.csv", "ABSOLUTE"])
def test_a_sheet_path_out_of_the_workspace_is_refused(tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text(f"{HEADER}\n{ACME}\n", encoding="utf-8")
    given = str(outside) if path == "ABSOLUTE" else path
    ws = sheet_ws(tmp_path, [ACME])
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"invoices.csv"', json.dumps(given)), encoding="utf-8")
    checked = run_cli(ws, "check")
    assert checked.code == 1 and "collections.source_path: " in checked.out and "outside the workspace" in checked.out
    assert run_cli(ws, "remind", *DEC1).code == 1
    assert outside.read_text(encoding="utf-8") == f"{HEADER}\n{ACME}\n"


def test_a_link_out_of_the_workspace_is_refused_at_check_and_run(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "invoices.csv").write_text(f"{HEADER}\n{ACME}\n", encoding="utf-8")
    ws = sheet_ws(tmp_path, [ACME])
    (ws / "invoices.csv").unlink()
    (ws / "sheets").symlink_to(outside, target_is_directory=True)
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"invoices.csv"', '"sheets/invoices.csv"'),
                    encoding="utf-8")
    checked = run_cli(ws, "check")
    assert checked.code == 1 and "leads out of the workspace" in checked.out, checked.text
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 1 and "leads out of the workspace" in result.err
    assert (outside / "invoices.csv").read_text(encoding="utf-8") == f"{HEADER}\n{ACME}\n"


def test_the_write_back_keeps_the_file_s_permissions(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, [ACME])
    sheet = ws / "invoices.csv"
    os.chmod(sheet, 0o664)
    assert run_cli(ws, "remind", *DEC1).code == 0
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o664
    assert sheet.read_text(encoding="utf-8").splitlines()[1].endswith(";overdue;;42;2026-12-01")
    assert [e["number"] for e in journal(ws) if e["type"] == "reminder.drafted"] == ["INV-1042"]


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T0/B0/SECRET here", "https://[::1/services/SECRET"])
def test_a_malformed_slack_url_is_a_warning_and_its_secret_is_never_printed(tmp_path: Path, url: str) -> None:
    ws = sheet_ws(tmp_path, [ACME], '[collections.slack]\nwebhook_env = "SLACK_WEBHOOK"\nmin_stage = 7\n')
    result = run_cli(ws, "remind", *DEC1, env={"SLACK_WEBHOOK": url})
    assert result.code == 0 and "Traceback" not in result.text, result.text
    assert "the URL in SLACK_WEBHOOK" in result.text and "SECRET" not in result.text
    assert [e["number"] for e in journal(ws) if e["type"] == "reminder.drafted"] == ["INV-1042"]
    checked = run_cli(ws, "check", env={"SLACK_WEBHOOK": url})
    assert checked.code == 0 and "warning: facturier.toml: collections.slack.webhook_env: the URL in SLACK_WEBHOOK" \
        in checked.out and "SECRET" not in checked.text


@pytest.mark.parametrize("text", ["20261201", "2026-W49-2", "2026-12-01T09:00", "\u0662\u0660\u0662\u0666-12-01"])
def test_command_line_dates_are_strict_iso_dates(tmp_path: Path, text: str) -> None:
    """--date and --until took a week date or a basic-format date (date.fromisoformat's
    leniency); a date from the command line is YYYY-MM-DD with the digits 0-9, as in config."""
    ws = sheet_ws(tmp_path, [ACME])
    remind = run_cli(ws, "remind", "--date", text, "--dry-run")
    assert remind.code == 2 and "is not a date in the form YYYY-MM-DD" in remind.err
    promise = run_cli(ws, "promise", "INV-1042", "--until", text)
    assert promise.code == 1 and f"--until: {text!r} is not a date in the form YYYY-MM-DD" in promise.err


def test_the_formal_notice_of_a_foreign_sheet_row_cites_no_french_law(tmp_path: Path) -> None:
    from tests.conftest import pdf_text

    ws = sheet_ws(tmp_path, [ACME], 'formal_notice = true\npenalty_rate = "12.15"\n')
    assert run_cli(ws, "remind", *DEC1).code == 0
    [message] = [m for _, m in iter_outbox(ws / "data" / "drafts")]
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == "formal-notice-INV-1042.pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf.get_content())
    text = pdf_text(path)
    assert "Formal notice to pay" in text and "Acme Corp" in text
    assert "L441-10" not in text and "D441-5" not in text and "fixed recovery" not in text.lower()
    assert "Indemnity" not in text  # no indemnity column of "-" either


def test_a_drafting_window_in_other_digits_is_a_problem(tmp_path: Path) -> None:
    ws = copy_demo(tmp_path / "ws")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\nwindow = "\u0660\u0668:\u0660\u0660-\u0661\u0668:\u0660\u0660"\n')
    result = run_cli(ws, "check")
    assert result.code == 1 and "facturier.toml: collections.window: " in result.out, result.text


def test_show_of_a_google_sheet_invoice_that_cannot_be_read_now(tmp_path: Path) -> None:
    """Without a Google sign-in the sheet cannot be read: a number the journal reminded is still
    said to live in the sheet, with the reason; any other number is an error naming both."""
    ws = sheet_ws(tmp_path, [ACME])
    assert run_cli(ws, "remind", *DEC1).code == 0
    toml = ws / "facturier.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'source = "csv"\n', 'source = "sheets"\nspreadsheet_id = "sheet-id-1"\n')
        + '\n[google]\ntoken_file = "no-token.json"\n', encoding="utf-8")
    shown = run_cli(ws, "show", "INV-1042")
    assert shown.code == 0, shown.text
    assert "it lives in the Google sheet sheet-id-1 (range Invoices!A1:Z)" in shown.out
    assert "The sheet cannot be read now: not signed in to Google" in shown.out
    other = run_cli(ws, "show", "INV-9")
    assert other.code == 1 and "the Google sheet sheet-id-1 (range Invoices!A1:Z) cannot be read now" in other.err
