"""`remind` with issue 12's connectors, end to end through the real CLI: a CSV sheet as the
source with write-back, payment links from a URL template, Slack alerts to a loopback server,
and bad rows that stop the run unless --skip-bad-rows."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from facturier.adapters.drafts import iter_outbox
from tests.conftest import copy_demo, journal, run_cli

HEADER = ("invoice_id;client_name;client_email;amount;currency;due_date;sent_date;status;notes;"
          "last_stage_sent;last_sent_at")
DEC1 = ("--date", "2026-12-01")


class Slack(BaseHTTPRequestHandler):
    texts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        import json

        Slack.texts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slack() -> Any:
    Slack.texts = []
    server = HTTPServer(("127.0.0.1", 0), Slack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/services/T/B/X"
    server.shutdown()
    server.server_close()


def sheet_ws(tmp_path: Path, rows: list[str]) -> Path:
    ws = copy_demo(tmp_path / "ws")
    (ws / "invoices.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n'
                 '[collections.slack]\nwebhook_env = "SLACK_WEBHOOK"\nmin_stage = 28\nmin_amount = "500"\n'
                 '[collections.payment_link]\nprovider = "template"\n'
                 'url = "https://pay.example/{number}?amount={amount}&currency={currency}"\n')
    return ws


ROWS = ["INV-1;ACME;ap@acme.example;1200,50;EUR;2026-10-20;2026-09-20;Overdue;;14;2026-11-03",
        "INV-2;Bee;b@b.example;90;EUR;2026-11-20;;open;;;",
        "INV-3;Sea;c@c.example;300;EUR;2026-10-01;;paid;;;"]


def test_remind_from_a_csv_sheet_drafts_links_alerts_and_writes_back(tmp_path: Path, slack: str) -> None:
    ws = sheet_ws(tmp_path, ROWS)
    env = {"SLACK_WEBHOOK": slack}
    result = run_cli(ws, "remind", *DEC1, env=env)
    assert result.code == 0, result.text
    drafts = {m["To"]: m for _, m in iter_outbox(ws / "data" / "drafts")}
    assert set(drafts) == {"ap@acme.example", "b@b.example"}
    acme = drafts["ap@acme.example"].get_body(("plain",)).get_content()
    assert "https://pay.example/INV-1?amount=1200.50&currency=EUR" in acme
    drafted = {e["number"]: e["stage"] for e in journal(ws) if e["type"] == "reminder.drafted"}
    assert drafted == {"INV-1": 42, "INV-2": 7}
    lines = (ws / "invoices.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].endswith(";Overdue;;42;2026-12-01") and lines[2].endswith(";open;;7;2026-12-01")
    assert lines[3].endswith(";paid;;;")
    assert Slack.texts == ["Reminder drafted: invoice INV-1 (ACME), 1200.50 EUR due, stage 42, 42 days overdue"]
    again = run_cli(ws, "remind", *DEC1, env=env)
    assert again.code == 0, again.text
    assert len(list(iter_outbox(ws / "data" / "drafts"))) == 2  # nothing twice
    assert run_cli(ws, "verify").code == 0


def test_a_sheet_with_a_bad_row_drafts_nothing_unless_skipped(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, [*ROWS, "INV-4;Dee;d@d.example;12.345;EUR;2026-10-01;;overdue;;;"])
    result = run_cli(ws, "remind", *DEC1)
    assert result.code == 1
    assert "invoices.csv:5:amount: 12.345 has more decimals than EUR allows" in result.err
    assert "Traceback" not in result.text and not (ws / "data" / "drafts").exists()
    skipped = run_cli(ws, "remind", *DEC1, "--skip-bad-rows")
    assert skipped.code == 0, skipped.text
    assert "invoices.csv:5:amount" in skipped.text
    assert {e["number"] for e in journal(ws) if e["type"] == "reminder.drafted"} == {"INV-1", "INV-2"}


def test_a_dry_run_with_skip_bad_rows_lists_the_rows_the_run_would_skip(tmp_path: Path) -> None:
    ws = sheet_ws(tmp_path, [*ROWS, "INV-4;Dee;d@d.example;12.345;EUR;2026-10-01;;overdue;;;"])
    preview = run_cli(ws, "remind", *DEC1, "--skip-bad-rows", "--dry-run")
    assert preview.code == 0, preview.text
    assert "row left out (--skip-bad-rows): invoices.csv:5:amount: 12.345 has more decimals" in preview.text
    assert not journal(ws) and not (ws / "data" / "drafts").exists()
    real = run_cli(ws, "remind", *DEC1, "--skip-bad-rows")
    left_out = [line for line in real.text.splitlines() if "row left out" in line]
    assert left_out and all(line in preview.text for line in left_out)


def test_the_formal_notice_of_a_sheet_row_names_the_sheet_s_client(tmp_path: Path) -> None:
    """formal_notice = true with a sheet source: the last stage's draft carries the notice,
    its debtor the sheet's client name (no client file exists for a sheet row); no traceback."""
    ws = sheet_ws(tmp_path, ROWS)
    text = (ws / "facturier.toml").read_text(encoding="utf-8")
    (ws / "facturier.toml").write_text(text.replace('source = "csv"\n', 'source = "csv"\nformal_notice = true\n'
                                                    'penalty_rate = "12.15"\nlanguage = "fr"\ncountry = "FR"\n'),
                                       encoding="utf-8")
    result = run_cli(ws, "remind", *DEC1, env={"SLACK_WEBHOOK": "http://127.0.0.1:9/x"})
    assert "Traceback" not in result.text and "KeyError" not in result.text, result.text
    drafts = {m["To"]: m for _, m in iter_outbox(ws / "data" / "drafts")}
    [pdf] = list(drafts["ap@acme.example"].iter_attachments())
    assert pdf.get_filename() == "mise-en-demeure-INV-1.pdf"
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf.get_content())
    from tests.conftest import pdf_text

    assert "ACME" in pdf_text(path) and "INV-1" in pdf_text(path)


def test_a_sheet_client_is_named_in_the_review_and_chosen_by_its_name(tmp_path: Path) -> None:
    """A sheet row has no client id: the review shows its client's name (not the email), and
    --client takes that name (any case) or one of its email addresses."""
    import json

    ws = sheet_ws(tmp_path, ROWS)
    dry = run_cli(ws, "remind", *DEC1, "--dry-run", "--json", env={"SLACK_WEBHOOK": "http://127.0.0.1:9/x"})
    assert dry.code == 0, dry.text
    rows = json.loads(dry.out)["rows"]
    assert {(r["invoice"], r["client"], r["email"]) for r in rows} >= {("INV-1", "ACME", "ap@acme.example")}
    for chosen in ("acme", "ACME", "ap@acme.example"):
        one = run_cli(ws, "remind", *DEC1, "--dry-run", "--json", "--client", chosen)
        assert one.code == 0, one.text
        assert [r["invoice"] for r in json.loads(one.out)["rows"]] == ["INV-1"]
    nobody = run_cli(ws, "remind", *DEC1, "--dry-run", "--client", "Nobody Ltd")
    assert nobody.code == 1 and "no row of the sheet is for 'Nobody Ltd'" in nobody.err


def test_a_very_long_invoice_id_is_drafted_and_nothing_is_left_in_flight(tmp_path: Path) -> None:
    """A 300-character sheet invoice_id made a draft file name too long for the file system:
    the draft failed on every run. File names are bounded (a cut and a digest of the id)."""
    long_id = "INV-" + "9" * 300
    row = f"{long_id};ACME;ap@acme.example;1200,50;EUR;2026-10-20;2026-09-20;Overdue;;14;2026-11-03"
    ws = sheet_ws(tmp_path, [row])
    result = run_cli(ws, "remind", *DEC1, env={"SLACK_WEBHOOK": "http://127.0.0.1:9/x"})
    assert "Traceback" not in result.text and "File name too long" not in result.text, result.text
    [(path, msg)] = list(iter_outbox(ws / "data" / "drafts"))
    assert len(path.name.encode()) < 255 and long_id in msg["Subject"]
    assert [e["type"] for e in journal(ws) if e["type"].startswith("reminder.")] == [
        "reminder.drafting", "reminder.drafted"]
