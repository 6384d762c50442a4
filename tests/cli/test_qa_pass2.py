"""Defects of an independent QA pass over issues 24 and 26 (2026-12-06), each through the CLI.

Every date that enters is held to the range Facturier computes with (1900-01-01 to
2999-12-31): a placeholder 0001-01-01 or 9999-12-31 was a traceback (`run`, `remind`,
`report`) or a fact recorded for good (`pay`, `dispute`, `charge`, a bank credit).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import copy_demo, journal, run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def flat(text: str) -> str:
    """Text with Rich's panel borders and line wrapping taken out."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def issued(tmp_path: Path) -> Path:
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    return ws


RANGE = "is out of the supported range (1900-01-01 to 2999-12-31)"


@pytest.mark.parametrize("args", [
    ("run", "--date", "0001-01-01", "--dry-run"),
    ("run", "--date", "9999-12-31", "--dry-run"),
    ("remind", "--date", "0001-01-01", "--dry-run"),
    ("balances", "--date", "9999-12-31"),
    ("pay", "acme", "10", "--date", "0001-01-01"),
    ("dispute", "2026-0001", "--date", "0001-01-01"),
    ("charge", "acme", "10", "--description", "x", "--date", "0001-01-01"),
])
def test_a_date_out_of_range_is_a_usage_error_and_records_nothing(issued: Path, args: tuple[str, ...]) -> None:
    """run/remind --date 0001-01-01 was a traceback; pay, dispute and charge recorded it."""
    before = journal(issued)
    result = run_cli(issued, *args)
    assert result.code == 2, result.text
    assert "Traceback" not in result.text and f"{args[args.index('--date') + 1]} {RANGE}" in flat(result.err)
    assert journal(issued) == before


@pytest.mark.parametrize("args", [("promise", "2026-0001", "--until", "9999-12-31"),
                                  ("reminders", "--since", "0001-01-01")])
def test_until_and_since_out_of_range_are_errors(issued: Path, args: tuple[str, ...]) -> None:
    before = journal(issued)
    result = run_cli(issued, *args)
    assert result.code == 1 and f"Error: {args[-2]}: {args[-1]} {RANGE}" in result.err
    assert journal(issued) == before


def test_report_year_beyond_the_range_is_a_usage_error(issued: Path) -> None:
    """report --year 9999 was a traceback (the year after it does not exist)."""
    result = run_cli(issued, "report", "--year", "9999")
    assert result.code == 2 and "Traceback" not in result.text and "2999" in result.err


@pytest.mark.parametrize("value", ['"0001-01-01"', "0001-01-01", '"3000-01-01"'])
def test_a_client_start_date_out_of_range_is_a_check_problem(tmp_path: Path, value: str) -> None:
    """start_date = 0001-01-01 passed check, then every run was a traceback (ValueError: year 0)."""
    ws = copy_demo(tmp_path / "ws")
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text(encoding="utf-8").replace("active = true", f"active = true\nstart_date = {value}"),
                    encoding="utf-8")
    checked = run_cli(ws, "check")
    assert checked.code == 1 and f"clients/acme.toml: start_date: {value.strip(chr(34))} {RANGE}" in checked.text
    ran = run_cli(ws, "run", "--date", "2026-11-15", "--dry-run")
    assert ran.code == 1 and "Traceback" not in ran.text


def test_a_bank_credit_dated_out_of_range_is_refused(issued: Path, tmp_path: Path) -> None:
    """An OFX credit dated 0001-01-01 was imported as an unmatched payment of year 1."""
    text = (FIXTURES / "bank" / "statement.ofx").read_text(encoding="utf-8")
    statement = tmp_path / "old.ofx"
    statement.write_text(re.sub(r"<DTPOSTED>\d{8}", "<DTPOSTED>00010101", text), encoding="utf-8")
    before = journal(issued)
    result = run_cli(issued, "import-bank", str(statement))
    assert result.code == 1 and f"statement transaction: 0001-01-01 {RANGE}" in result.err
    assert journal(issued) == before


def test_a_sheet_due_date_out_of_range_is_a_row_problem(tmp_path: Path) -> None:
    """A sheet row due 0001-01-01 was drafted as 739954 days overdue."""
    ws = copy_demo(tmp_path / "ws")
    (ws / "invoices.csv").write_text(
        "invoice_id,client_name,client_email,amount,currency,due_date,sent_date,status,notes,last_stage_sent,"
        "last_sent_at\n"
        "INV-1,Old Ltd,old@example.org,10,EUR,0001-01-01,2026-10-01,open,,,\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n')
    result = run_cli(ws, "remind", "--date", "2026-12-01")
    assert result.code == 1 and f"invoices.csv:2:due_date: 0001-01-01 {RANGE}" in result.err
    assert not list((ws / "data").glob("drafts/*.eml"))


def test_a_quickbooks_number_with_a_line_break_never_forges_a_line(tmp_path: Path) -> None:
    """A DocNumber "10\\n40" was printed as is: the problem's message went over two lines, the
    second looking like one of Facturier's own (`40: DocNumber: ...`)."""
    pytest.importorskip("quickbooks")
    from tests.quickbooks_server import ENV, QuickBooksServer, QuickBooksState, customer, invoice

    state = QuickBooksState(customers=[customer("1", "ACME SAS", "ap@acme.example")],
                            invoices=[invoice("10\n40", "1", "10", "2026-10-20")])
    with QuickBooksServer(state) as server:
        ws = copy_demo(tmp_path / "ws")
        with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write(server.toml(str(tmp_path / "home" / "token.json")))
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        strict = run_cli(ws, "remind", "--date", "2026-12-01", "--dry-run", env=env)
        skipped = run_cli(ws, "remind", "--date", "2026-12-01", "--dry-run", "--skip-bad-rows", env=env)
    assert strict.code == 1 and "QuickBooks invoice 10\\n40: DocNumber: contains U+000A" in strict.err
    assert "row left out (--skip-bad-rows): QuickBooks invoice 10\\n40: DocNumber" in skipped.err
    assert not any(line.startswith("40") for line in (strict.err + skipped.err).splitlines())


def sheet_ws(tmp_path: Path, rows: list[str]) -> Path:
    ws = copy_demo(tmp_path / "ws")
    header = ("invoice_id,client_name,client_email,amount,currency,due_date,sent_date,status,notes,"
              "last_stage_sent,last_sent_at")
    (ws / "invoices.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n')
    return ws


@pytest.mark.parametrize("how", [("--dry-run",), ("--dry-run", "--json"), ()])
def test_skip_bad_rows_names_every_row_it_leaves_out_in_a_dry_run_too(tmp_path: Path, how: tuple[str, ...]) -> None:
    """Issue 24 item 7: a dry run with --skip-bad-rows said nothing of the rows it would skip."""
    ws = sheet_ws(tmp_path, ["INV-1,Acme Corp,ap@acme.example,100,USD,2026-10-01,2026-09-01,open,,,",
                             "INV-2,Bee Ltd,b@bee.example,12.345,EUR,2026-10-01,2026-09-01,open,,,"])
    result = run_cli(ws, "remind", "--date", "2026-12-01", "--skip-bad-rows", *how)
    assert result.code == 0, result.text
    assert "row left out (--skip-bad-rows): invoices.csv:3:amount: 12.345 has more decimals than EUR allows" \
        in result.err


def test_an_outbox_that_cannot_be_written_is_a_failed_send_retried_by_the_next_run(tmp_path: Path) -> None:
    """`data/outbox` not a folder: the run stopped on `Error: .../outbox: File exists` after
    journalling invoice.sending, so the email was "in flight" and waited for a human's
    --confirm-sent or --retry, though nothing had been written (the write is atomic)."""
    ws = copy_demo(tmp_path / "ws")
    (ws / "data").mkdir(exist_ok=True)
    (ws / "data" / "outbox").write_text("in the way", encoding="utf-8")
    ran = run_cli(ws, "run", "--date", "2026-11-15")
    assert ran.code == 1 and "Traceback" not in ran.text
    assert "ERROR: 2026-0001: not sent, retried by the next run" in ran.err
    assert f"the outbox {ws / 'data' / 'outbox'} cannot be written" in ran.err
    assert [e["number"] for e in journal(ws) if e["type"] == "invoice.issued" and e["mode"] == "live"] == \
        ["2026-0001", "2026-0002"]
    (ws / "data" / "outbox").unlink()
    sent = run_cli(ws, "send", "--date", "2026-11-16")
    assert sent.code == 0, sent.text
    assert [e["number"] for e in journal(ws) if e["type"] == "invoice.sent"] == ["2026-0001"]
    assert len(list((ws / "data" / "outbox").glob("*-2026-0001.eml"))) == 1
    assert run_cli(ws, "verify").code == 0


HUGE = "99999999999999999999999999999"


@pytest.mark.parametrize("args", [
    ("pay", "acme", HUGE, "--date", "2026-12-01"),
    ("pay", "acme", "1000000000000000", "--date", "2026-12-01"),
    ("charge", "acme", HUGE, "--description", "x"),
    ("credit", "2026-0001", "--amount", HUGE),
])
def test_an_amount_too_large_to_round_is_an_error_not_a_traceback(issued: Path, args: tuple[str, ...]) -> None:
    """A 29-digit amount was decimal.InvalidOperation (pay, charge, credit --amount); 10^15
    was recorded as a payment."""
    before = journal(issued)
    result = run_cli(issued, *args)
    assert result.code == 1 and "Traceback" not in result.text, result.text
    assert "is too large (an amount stays below 1,000,000,000,000,000)" in result.err
    assert journal(issued) == before


def test_a_bank_credit_too_large_is_refused(issued: Path, tmp_path: Path) -> None:
    statement = tmp_path / "big.ofx"
    text = (FIXTURES / "bank" / "statement.ofx").read_text(encoding="utf-8")
    statement.write_text(text.replace("<TRNAMT>1770.00", f"<TRNAMT>{HUGE}.00"), encoding="utf-8")
    before = journal(issued)
    result = run_cli(issued, "import-bank", str(statement))
    assert result.code == 1 and "Traceback" not in result.text, result.text
    assert "is too large" in result.err
    assert journal(issued) == before


def test_labelled_blocks_spell_acronyms(issued: Path) -> None:
    """At 60 columns balances printed `Dso: 90.0` and invoices `Total incl vat: 827.88`."""
    narrow = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "60"}
    balances, listing = (run_cli(issued, *args, env=narrow) for args in (("balances", "--date", "2027-01-20"),
                                                                          ("invoices",)))
    balances.out, listing.out = (re.sub(r"\x1b\[[0-9;]*m", "", r.out) for r in (balances, listing))
    assert balances.code == 0 and re.search(r"^DSO: ", balances.out, re.MULTILINE), balances.out
    assert listing.code == 0 and "Total incl VAT: 827.88" in listing.out and "Dso" not in balances.out


def test_a_dry_run_after_a_real_run_does_not_say_the_days_drafts_would_be_made(issued: Path) -> None:
    """The dry run's page headed the drafts an earlier run made "Drafts that would be made (2)"
    under "0 draft(s) would be made"; checked in headless Chromium."""
    from tests.chromium import find_chromium, render_page

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed")
    with (issued / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n')
    assert run_cli(issued, "remind", "--date", "2027-01-06").code == 0
    again = run_cli(issued, "remind", "--date", "2027-01-06", "--dry-run")
    assert again.code == 0 and "0 draft(s) would be made" in again.out
    page = issued / "exports" / "review-2027-01-06.html"
    seen = render_page(chromium, page, expressions={
        "headings": "Array.from(document.querySelectorAll('h2')).map(h => h.innerText)",
        "links": "document.querySelectorAll('a.open').length"})
    assert seen.values["headings"][0] == "Drafts that would be made (0), drafts made earlier today (2)"
    assert seen.values["links"] == 2


def test_the_language_note_goes_once_every_row_says_its_language_and_country(tmp_path: Path) -> None:
    """The note says "or add the columns to the sheet"; with the columns filled on every row it
    still came on every remind and from check."""
    header = ("invoice_id,client_name,client_email,amount,currency,due_date,sent_date,status,notes,"
              "last_stage_sent,last_sent_at,language,country,business")
    ws = copy_demo(tmp_path / "ws")
    rows = ["INV-1,Café Dupont,c@dupont.example,100,EUR,2026-10-20,2026-09-20,open,,,,fr,FR,yes",
            "INV-2,Acme Corp,ap@acme.example,50,USD,2026-10-20,2026-09-20,open,,,,en,US,yes"]
    (ws / "invoices.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n')
    checked, reminded = run_cli(ws, "check"), run_cli(ws, "remind", "--date", "2026-12-01", "--dry-run")
    assert checked.code == 0 and reminded.code == 0, checked.text + reminded.text
    assert "collections.language" not in checked.text + reminded.text
    # One row without them: the defaults apply to it, and both say so again.
    with (ws / "invoices.csv").open("a", encoding="utf-8") as fh:
        fh.write("INV-3,Bee,b@bee.example,10,EUR,2026-10-20,2026-09-20,open,,,,,,\n")
    checked, reminded = run_cli(ws, "check"), run_cli(ws, "remind", "--date", "2026-12-01", "--dry-run")
    assert "warning: facturier.toml: collections.language: not set" in checked.out
    assert "Note: facturier.toml: collections.language: not set" in reminded.out


@pytest.mark.parametrize("args", [("report", "--year", "2026"), ("export", "revenues", "--year", "2026"),
                                  ("export", "fec", "--year", "2026")])
def test_out_naming_a_folder_is_a_usage_error(issued: Path, args: tuple[str, ...]) -> None:
    """`report --out /tmp` said `Error: /.tmp.cde94142c7aa.tmp: Is a directory` (a temporary
    file's name, at the root)."""
    folder = issued / "exports"
    folder.mkdir(exist_ok=True)
    result = run_cli(issued, *args, "--out", str(folder))
    assert result.code == 2 and "is a directory" in flat(result.err) and ".tmp" not in result.err


@pytest.mark.parametrize("width", [60, 80, 100, 200])
def test_no_help_text_is_cut_at_any_width(tmp_path: Path, width: int) -> None:
    """At 60 columns `report --help` showed `exports/report-<…` and the exports `<…`: the
    `[1900<=x<=2999]` range of --year widened the option column and a long path in the help
    text could not wrap."""
    from tests.cli.test_tables import all_commands

    for command in all_commands():
        result = run_cli(tmp_path, *command, "--help", env={"COLUMNS": str(width)})
        assert result.code == 0 and "…" not in result.out, (command, result.out)


@pytest.mark.parametrize("name", ["Brouillons&Z-", "Drafts&2D3-"])
def test_an_imap_mailbox_name_that_is_not_modified_utf7_still_gives_a_link(name: str) -> None:
    """The review page's IMAP link decoded the Drafts mailbox's name as modified UTF-7
    (RFC 3501) and raised binascii.Error / UnicodeDecodeError on a name that is not."""
    from facturier.config.collections import ImapConfig
    from facturier.ops.collections.review import imap_link

    config = ImapConfig(host="mail.example", username="u", password_env="X")
    link = imap_link(config, f"{name}/7")
    assert link.startswith("imap://u@mail.example:993/") and link.endswith("/;UID=7") and "%26" in link


@pytest.mark.parametrize("args", [
    ("pay", "northwind", "10", "--date", "2026-12-01", "--ref", "VIR\r\n123"),
    ("pay", "northwind", "10", "--date", "2026-12-01", "--ref", "a\tb"),
    ("dispute", "2026-0002", "--reason", "late\x1b[31m"),
    ("credit", "2026-0001", "--reason", "erreur\u202e"),
    ("charge", "acme", "10", "--description", "Line\nTwo"),
    ("charge", "acme", "10", "--description", "\u202eevil"),
])
def test_free_text_options_refuse_control_and_format_characters(issued: Path, args: tuple[str, ...]) -> None:
    """Issue 24 item 11's class: `pay --ref` took CR, LF and TAB, `charge --description` a line
    break or a right-to-left override (printed on the invoice), `dispute`/`credit --reason`
    ESC; all journalled. Every configuration value already refuses them."""
    before = journal(issued)
    result = run_cli(issued, *args)
    assert result.code == 1 and "control and format characters" in flat(result.err), result.text
    assert "Traceback" not in result.text and journal(issued) == before


def test_a_review_page_of_one_client_says_so(issued: Path) -> None:
    """`remind --client northwind` rewrote the day's review page with northwind's rows only,
    and nothing on it said the other clients were not looked at."""
    result = run_cli(issued, "remind", "--date", "2027-01-06", "--client", "northwind", "--dry-run")
    assert result.code == 0, result.text
    page = (issued / "exports" / "review-2027-01-06.html").read_text(encoding="utf-8")
    assert "Note: only &#39;northwind&#39; (--client): other clients&#39; invoices were not looked at" in page
    assert "2026-0001" not in page and "2026-0002" in page
    assert "Note: only 'northwind' (--client)" in result.out


@pytest.mark.parametrize("content", ["", "\n\n", ";;;\n"])
def test_an_empty_csv_sheet_is_told_as_a_file_not_a_google_range(tmp_path: Path, content: str) -> None:
    """An empty invoices.csv said "the range is empty: check the spreadsheet id, the range and
    that the sheet is shared with your account" (Google Sheets' words)."""
    ws = sheet_ws(tmp_path, [])
    (ws / "invoices.csv").write_text(content, encoding="utf-8")
    checked, reminded = run_cli(ws, "check"), run_cli(ws, "remind", "--date", "2026-12-01", "--dry-run")
    for result in (checked, reminded):
        assert result.code == 1 and "invoices.csv:1:(header): no header row: the file's first line must name " \
            "the columns" in result.text, result.text
        assert "spreadsheet id" not in result.text


@pytest.mark.parametrize("args", [("dispute", "INV-1"), ("promise", "INV-1", "--until", "2027-01-10")])
def test_dispute_of_a_sheet_row_says_where_its_reminders_come_from(tmp_path: Path, args: tuple[str, ...]) -> None:
    """`dispute INV-1042` of a sheet row said "no invoice numbered 'INV-1042'", though every
    reminder of it names that number: the user is told how to stop them instead."""
    ws = sheet_ws(tmp_path, ["INV-1,Acme Corp,ap@acme.example,100,USD,2026-10-01,2026-09-01,open,,,"])
    before = journal(ws)
    result = run_cli(ws, *args, "--date", "2026-12-01")
    assert result.code == 1 and "'INV-1' in this workspace's ledger" in result.err
    assert 'source = "csv"; to stop the reminders of a sheet row, change its status in the sheet' in result.err
    assert journal(ws) == before


@pytest.mark.parametrize("flag", ["--retry", "--confirm-sent"])
def test_send_retry_with_dry_run_sends_nothing(tmp_path: Path, flag: str) -> None:
    """`send --retry 2027-0003 --dry-run` emailed the invoice for real (--dry-run was ignored)."""
    ws = copy_demo(tmp_path / "ws")
    assert run_cli(ws, "run", "--date", "2026-11-16").code == 0  # after the send day: not emailed
    before, outbox = journal(ws), sorted((ws / "data").glob("outbox/*.eml"))
    result = run_cli(ws, "send", flag, "2026-0001", "--dry-run")
    assert result.code == 1 and "take no --dry-run" in result.err, result.text
    assert journal(ws) == before and sorted((ws / "data").glob("outbox/*.eml")) == outbox
