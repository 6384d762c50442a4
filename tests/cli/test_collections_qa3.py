"""QA pass 3 of collections (seed 003): the founder's daily `remind` over weeks of days, from
the ledger, a CSV sheet and QuickBooks (the loopback server of tests/quickbooks_server.py),
through the real CLI. Each test failed before the fix it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_demo, run_cli

HEADER = ("invoice_id;client_name;client_email;amount;currency;due_date;sent_date;status;notes;"
          "last_stage_sent;last_sent_at")


def csv_ws(tmp_path: Path, rows: list[str]) -> Path:
    ws = copy_demo(tmp_path / "ws")
    write_sheet(ws, rows)
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n')
    return ws


def write_sheet(ws: Path, rows: list[str]) -> None:
    (ws / "invoices.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def remind(ws: Path, day: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(ws, "remind", "--date", day, *args, env={"FACTURIER_TODAY": day, **(env or {})})


# --- 1. a draft waiting for an invoice the sheet or QuickBooks now says is paid ------------------

def test_a_sheet_draft_whose_row_is_paid_since_is_named_and_a_still_due_one_is_not(tmp_path: Path) -> None:
    rows = ["INV-1;ACME;ap@acme.example;1200.50;EUR;2026-11-20;2026-10-20;open;;;",
            "INV-2;Bee;b@bee.example;90;EUR;2026-11-20;2026-10-20;open;;;"]
    ws = csv_ws(tmp_path, rows)
    first = remind(ws, "2026-11-28")
    assert first.code == 0 and "2 of 2 draft(s)" in first.out, first.text
    # The client pays INV-1 before the owner reviewed the drafts: the sheet says paid.
    write_sheet(ws, [rows[0].replace(";open;", ";paid;"), rows[1]])
    for args in ((), ("--dry-run",)):
        result = remind(ws, "2026-11-29", *args)
        assert result.code == 0, result.text
        warned = [line for line in result.err.splitlines() if line.startswith("WARNING: do not send")]
        assert len(warned) == 1, result.text
        assert "-INV-1-stage07.eml" in warned[0] and "INV-1 is paid, void, removed or not yet due in the CSV " \
            "sheet invoices.csv now; delete the draft" in warned[0]
        assert "INV-2" not in result.err
    page = (ws / "exports" / "review-2026-11-29.html").read_text(encoding="utf-8")
    assert "INV-1 is paid, void, removed or not yet due" in page
    # The row removed from the sheet altogether: the same warning; the file gone, none.
    write_sheet(ws, [rows[1]])
    assert "INV-1 is paid" in remind(ws, "2026-11-30", "--dry-run").err
    for eml in (ws / "data" / "drafts").glob("*-INV-1-*.eml"):
        eml.unlink()
    assert "do not send" not in remind(ws, "2026-12-01", "--dry-run").err


def test_a_quickbooks_draft_of_an_invoice_paid_or_deleted_since_is_named(tmp_path: Path) -> None:
    pytest.importorskip("quickbooks")
    pytest.importorskip("intuitlib")
    from tests.quickbooks_server import ENV, QuickBooksServer, QuickBooksState, customer, invoice

    state = QuickBooksState()
    state.customers = [customer("1", "ACME SAS", "ap@acme.example"), customer("2", "Bee Ltd", "b@bee.example")]
    state.invoices = [invoice("1037", "1", "1200.50", "2026-11-20"), invoice("1038", "2", "90", "2026-11-20")]
    with QuickBooksServer(state) as qb:
        ws = copy_demo(tmp_path / "ws")
        with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write(qb.toml(str(tmp_path / "home" / "qb-token.json")))
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        assert "2 of 2 draft(s)" in remind(ws, "2026-11-27", env=env).out
        state.invoices[0]["Balance"] = 0  # paid in QuickBooks: no longer asked for
        del state.invoices[1]  # deleted in QuickBooks
        result = remind(ws, "2026-11-28", env=env)
        assert result.code == 0, result.text
        for number in ("1037", "1038"):
            assert (f"{number} is paid, void, removed or not yet due in QuickBooks Online (open invoices) now; "
                    "delete the draft") in result.err


# --- 2. a Slack webhook or Stripe that cannot be reached costs one wait a run, not one per draft --

class Dead:
    """A loopback port that accepts each connection and closes it unanswered, counting them."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def ledger_overdue(ws: Path) -> Path:
    """The demo's October invoices issued: acme's and northwind's both past a stage on 2026-12-20."""
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n')
    assert run_cli(ws, "run", "--date", "2026-10-15", env={"FACTURIER_TODAY": "2026-10-15"}).code == 0
    return ws


def test_a_dead_slack_webhook_is_asked_once_and_every_alert_left_out_is_named(ledger_overdue: Path) -> None:
    dead = Dead()
    try:
        with (ledger_overdue / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write('[collections.slack]\nwebhook_env = "SLACK_WEBHOOK"\nmin_stage = 7\n')
        result = remind(ledger_overdue, "2026-12-20", env={"SLACK_WEBHOOK": dead.url + "/services/T/B/X"})
    finally:
        dead.close()
    assert result.code == 0 and "2 of 2 draft(s)" in result.out, result.text
    assert dead.accepted == 1
    slack = [line for line in result.err.splitlines() if "Slack could not be reached" in line]
    assert len(slack) == 1 and "2026-0001, 2026-0002" in slack[0], result.text
    assert "not asked again" in slack[0] and "/services/T/B/X" not in result.text


def test_an_unreachable_stripe_is_asked_for_one_link_and_the_other_drafts_go_without(
        ledger_overdue: Path) -> None:
    pytest.importorskip("stripe")
    dead = Dead()
    try:
        with (ledger_overdue / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write(f'[collections.payment_link]\nprovider = "stripe"\napi_base = "{dead.url}"\n')
        result = remind(ledger_overdue, "2026-12-20", env={"STRIPE_SECRET_KEY": "sk_test_x"})
    finally:
        dead.close()
    assert result.code == 0 and "2 of 2 draft(s)" in result.out, result.text
    assert dead.accepted == 3  # the library's two retries for the first link, nothing for the second
    assert "2026-0001: drafted without a payment link" in result.err
    assert "2026-0002: drafted without a payment link: Stripe payment link for invoice 2026-0002: not asked, " \
        "Stripe could not be reached earlier in this run" in result.err


# --- 3. QuickBooks: credit a customer holds unapplied is not asked for again ----------------------

def test_a_quickbooks_credit_memo_left_unapplied_is_taken_off_the_customer_s_invoices(tmp_path: Path) -> None:
    pytest.importorskip("quickbooks")
    pytest.importorskip("intuitlib")
    from tests.quickbooks_server import ENV, QuickBooksServer, QuickBooksState, customer, invoice

    state = QuickBooksState()
    # ACME holds a 1,250.00 EUR credit memo not applied: its oldest invoice (1,000.00) is covered,
    # 250.00 comes off the next one; Bee holds none.
    state.customers = [customer("1", "ACME SAS", "ap@acme.example", credit="1250"),
                       customer("2", "Bee Ltd", "b@bee.example", currency="USD")]
    state.invoices = [invoice("1040", "1", "800", "2026-11-10"), invoice("1037", "1", "1000", "2026-10-20"),
                      invoice("1041", "2", "90.50", "2026-11-10", currency="USD")]
    with QuickBooksServer(state) as qb:
        ws = copy_demo(tmp_path / "ws")
        with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write(qb.toml(str(tmp_path / "home" / "qb-token.json")))
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        result = remind(ws, "2026-12-01", "--json", env=env)
        assert result.code == 0, result.text
        import json

        report = json.loads(result.out)
        amounts = {row["invoice"]: (row["amount"], row["currency"]) for row in report["rows"]}
        assert amounts == {"1040": ("550.00", "EUR"), "1041": ("90.50", "USD")}
        note = next(n for n in report["notes"] if "credit not applied" in n)
        assert "ACME SAS" in note and "taken off 1037, 1040" in note and "Bee" not in note
        draft = next((ws / "data" / "drafts").glob("*-1040-*.eml")).read_text(encoding="utf-8")
        assert "550.00" in draft and "800.00" not in draft
        shown = run_cli(ws, "show", "1037", env=env)
        assert shown.code == 0, shown.text
        assert "Amount due: 0 EUR" in shown.out and "covered by the customer's unapplied credit" in shown.out


# --- 4. a replayed day (--date) never drafts, now, a reminder for money paid since -----------------

def test_a_replayed_day_leaves_alone_what_was_paid_since_and_asks_only_what_remains_today(
        ledger_overdue: Path) -> None:
    ws = ledger_overdue
    today = {"FACTURIER_TODAY": "2026-12-21"}
    # acme pays 2026-0001 in full and northwind part of 2026-0002 on 2026-12-20; cron was down
    # since 2026-12-01, and the owner catches the missed days up on 2026-12-21.
    assert run_cli(ws, "pay", "acme", "827.88", "--date", "2026-12-20", env=today).code == 0
    assert run_cli(ws, "pay", "northwind", "770", "--currency", "GBP", "--date", "2026-12-20", env=today).code == 0
    import json

    result = run_cli(ws, "remind", "--date", "2026-12-07", "--json", env=today)
    assert result.code == 0, result.text
    rows = json.loads(result.out)["rows"]
    assert [(r["invoice"], r["stage"], r["amount"]) for r in rows] == [("2026-0002", 7, "1000.00")]
    assert "1 nothing left to pay" in json.loads(result.out)["notes"][0]
    assert not list((ws / "data" / "drafts").glob("*-2026-0001-*.eml"))
    draft = next((ws / "data" / "drafts").glob("*-2026-0002-*.eml")).read_text(encoding="utf-8")
    assert "1,000.00 GBP" in draft and "1,770.00" not in draft
    page = (ws / "exports" / "review-2026-12-07.html").read_text(encoding="utf-8")
    assert "2026-0002" in page and "2026-0001" not in page  # paid: done, not a draft nor left alone
    # On the day itself (nothing paid yet then, nothing replayed) the amounts are that day's.
    same_day = run_cli(ws, "remind", "--date", "2026-11-24", "--dry-run", "--json",
                       env={"FACTURIER_TODAY": "2026-11-24"})
    assert [(r["invoice"], r["amount"]) for r in json.loads(same_day.out)["rows"]] == [("2026-0001", "827.88")]


# --- 5. --retry of an interrupted hand-over never drafts for an invoice disputed or promised since -

@pytest.mark.parametrize("since", [("dispute", "--reason", "wrong hours"), ("promise", "--until", "2027-01-15")])
def test_retrying_an_interrupted_reminder_of_an_invoice_disputed_or_promised_since_drafts_nothing(
        tmp_path: Path, since: tuple[str, ...]) -> None:
    from tests.cli.test_remind import drafts, killed_mid_handover
    from tests.collections_workspace import base_workspace, numbers_of, of_type

    ws = base_workspace(tmp_path)
    acme = numbers_of(ws)["acme"]
    killed_mid_handover(ws, "2026-12-22", "before")  # the draft never landed; the run died
    assert not drafts(ws)
    verb, *rest = since
    assert run_cli(ws, verb, acme, *rest, "--date", "2026-12-23").code == 0  # the client answered meanwhile
    retry = run_cli(ws, "remind", "--retry", acme, env={"FACTURIER_TODAY": "2026-12-23"})
    assert retry.code == 0, retry.text
    assert not drafts(ws), retry.text  # no reminder for a disputed or promised invoice
    assert f"{acme}: " in retry.out and "its interrupted reminder is cancelled" in retry.out
    [failed] = of_type(ws, "reminder.draft_failed")
    assert failed["number"] == acme and failed["error"].startswith("cancelled: ")
    assert "in flight" not in run_cli(ws, "remind", "--date", "2026-12-23").text


# --- 6. an empty --retry / --confirm is an error, never a whole drafting run ------------------------

@pytest.mark.parametrize("option", ["--retry", "--confirm"])
def test_an_empty_retry_or_confirm_is_refused_and_drafts_nothing(ledger_overdue: Path, option: str) -> None:
    result = remind(ledger_overdue, "2026-12-20", option, "")  # `--retry "$N"` with N unset
    assert result.code == 1 and f"Error: {option}: empty; give the invoice number (or 'all')" in result.err
    assert not (ledger_overdue / "data" / "drafts").exists() or not list((ledger_overdue / "data" / "drafts").iterdir())


# --- 7. a file where the outbox drafts folder should be is named as such -------------------------

def test_a_file_in_place_of_the_drafts_folder_is_named_and_nothing_is_lost(ledger_overdue: Path) -> None:
    (ledger_overdue / "data" / "drafts").write_text("not a folder", encoding="utf-8")
    result = remind(ledger_overdue, "2026-12-20")
    assert result.code == 1, result.text
    assert "data/drafts is a file, not a folder; move it away" in result.err and "File exists" not in result.err
    assert "not attempted" in result.text  # the other draft waits for the next run
    (ledger_overdue / "data" / "drafts").unlink()
    again = remind(ledger_overdue, "2026-12-20")
    assert again.code == 0 and "2 of 2 draft(s)" in again.out, again.text


# --- 8. a CSV sheet that cannot be parsed names the line of the record ----------------------------

@pytest.mark.parametrize(("bad", "why"), [
    ('INV-2;"Bee;b@bee.example;90;EUR;2026-11-20;;open;;;', "unexpected end of data"),  # a quote never closed
    ('INV-2;"Bee"x;b@bee.example;90;EUR;2026-11-20;;open;;;', "expected after"),  # text after a closing quote
])
def test_a_csv_record_that_cannot_be_read_is_named_by_its_line(tmp_path: Path, bad: str, why: str) -> None:
    ws = csv_ws(tmp_path, ["INV-1;ACME;ap@acme.example;12;EUR;2026-11-20;;open;;;", bad,
                           "INV-3;Sea;c@sea.example;30;EUR;2026-11-20;;open;;;"])
    result = remind(ws, "2026-12-01", "--dry-run")
    assert result.code == 1 and "Traceback" not in result.err, result.text
    assert "Error: invoices.csv:3: not a readable CSV file (" in result.err and why in result.err
    assert "check the quotes of the record starting on line 3" in result.err


# --- 9. a combined draft never says every invoice is as overdue as the oldest ---------------------

def body(path: Path) -> str:
    """The text of an outbox draft, decoded."""
    import email
    import email.policy

    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_combined_draft_says_the_oldest_is_that_overdue_not_all_of_them(ledger_overdue: Path) -> None:
    ws = ledger_overdue
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write("combine = true\n")
    assert run_cli(ws, "run", "--date", "2026-11-15", env={"FACTURIER_TODAY": "2026-11-15"}).code == 0
    # northwind: 2026-0002 is 42 days overdue, 2026-0004 11 days: one draft, in the stage-42 tone.
    result = remind(ws, "2027-01-10")
    assert result.code == 0, result.text
    combined = body(next((ws / "data" / "drafts").glob("*-northwind-stage42.eml")))
    assert "for the amounts below, the oldest due 42 days ago:" in combined
    assert "amount below, due 42 days ago" not in combined
    # acme's, in French: 2026-0001 is 57 days overdue, 2026-0003 26.
    french = body(next((ws / "data" / "drafts").glob("*-acme-stage42.eml")))
    assert "les montants suivants, échus depuis 57 jours pour le plus ancien, restent dus :" in french


def test_a_combined_draft_with_one_invoice_paid_since_says_it_also_reminds_the_others(
        ledger_overdue: Path) -> None:
    ws = ledger_overdue
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write("combine = true\n")
    assert run_cli(ws, "run", "--date", "2026-11-15", env={"FACTURIER_TODAY": "2026-11-15"}).code == 0
    assert remind(ws, "2027-01-10").code == 0  # northwind's 2026-0002 and 2026-0004 in one draft
    paid = run_cli(ws, "pay", "northwind", "1770", "--currency", "GBP", "--date", "2027-01-11",
                   env={"FACTURIER_TODAY": "2027-01-11"})
    assert paid.code == 0, paid.text  # the oldest, 2026-0002, is paid; 2026-0004 is still due
    result = remind(ws, "2027-01-12")
    assert result.code == 0, result.text
    [warning] = [line for line in result.err.splitlines() if "2026-0002 is paid" in line]
    assert "-northwind-stage42.eml as it is" in warning
    assert "it also reminds 2026-0004, still due: edit it to leave 2026-0002 out, or delete it" in warning
    assert "2026-0004 is paid" not in result.err


# --- 10. QuickBooks throttling (429) or a passing server error is asked again -------------------

def test_quickbooks_throttling_is_waited_out_and_a_lasting_outage_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("quickbooks")
    pytest.importorskip("intuitlib")
    from tests.quickbooks_server import ENV, QuickBooksServer, QuickBooksState, customer, invoice

    state = QuickBooksState()
    state.customers = [customer("1", "ACME SAS", "ap@acme.example")]
    state.invoices = [invoice("1037", "1", "1200.50", "2026-11-20")]
    with QuickBooksServer(state) as qb:
        ws = copy_demo(tmp_path / "ws")
        with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write(qb.toml(str(tmp_path / "home" / "qb-token.json")))
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        state.failing_queries = [429, 503]  # throttled, then a passing outage: the third answer is good
        result = remind(ws, "2026-12-01", "--dry-run", env=env)
        assert result.code == 0 and "1037" in result.out, result.text
        state.failing_queries = [503, 503, 503]
        down = remind(ws, "2026-12-01", "--dry-run", env=env)
        assert down.code == 1 and "Traceback" not in down.err, down.text
        assert down.err.startswith("Error: QuickBooks query") and "503" in down.err


# --- 11. reminders --client with a sheet source takes the client the listing shows -----------------

def test_reminders_of_a_sheet_client_are_listed_by_the_address_the_listing_shows(tmp_path: Path) -> None:
    ws = csv_ws(tmp_path, ["INV-1;ACME;ap@acme.example;12;EUR;2026-11-20;;open;;;",
                           "INV-2;Bee;b@bee.example;90;EUR;2026-11-20;;open;;;"])
    assert remind(ws, "2026-11-28").code == 0
    listed = run_cli(ws, "reminders", "--client", "AP@acme.example")
    assert listed.code == 0, listed.text
    assert "INV-1\tap@acme.example\t7" in listed.out and "INV-2" not in listed.out
    nobody = run_cli(ws, "reminders", "--client", "nobody@x.example")
    assert nobody.code == 0 and "No reminder drafted for 'nobody@x.example'." in nobody.out, nobody.text


# --- 12. a replayed day never switches off the payment links of invoices issued since ----------

def test_a_replayed_day_leaves_the_stripe_links_of_later_invoices_on(ws: Path) -> None:
    pytest.importorskip("stripe")
    import threading
    from http.server import HTTPServer

    from tests.adapters.test_payment_links import FakeStripe
    from tests.conftest import journal

    FakeStripe.requests, FakeStripe.by_key, FakeStripe.links, FakeStripe.fail_next = [], {}, {}, None
    server = HTTPServer(("127.0.0.1", 0), FakeStripe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
            fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\n[collections.payment_link]\n'
                     f'provider = "stripe"\napi_base = "http://127.0.0.1:{server.server_port}"\n')
        for day in ("2026-09-15", "2026-10-15", "2026-11-15"):
            assert run_cli(ws, "run", "--date", day, env={"FACTURIER_TODAY": day}).code == 0
        env = {"STRIPE_SECRET_KEY": "sk_test_x", "FACTURIER_TODAY": "2027-01-10"}
        today = run_cli(ws, "remind", "--date", "2027-01-10", "--client", "northwind", env=env)
        assert today.code == 0, today.text
        linked = {e["number"] for e in journal(ws) if e["type"] == "payment_link.created"}
        assert len(linked) == 3  # northwind's September, October and November invoices
        # The owner replays 2026-11-01 (cron was down): acme's September invoice is due that
        # day; the November invoices were not issued yet then, but their links are live now.
        replay = run_cli(ws, "remind", "--date", "2026-11-01", env=env)
        assert replay.code == 0 and "drafted" in replay.out, replay.text
        assert not [e for e in journal(ws) if e["type"] == "payment_link.deactivated"]
        assert all(link["active"] for link in FakeStripe.links.values())
    finally:
        server.shutdown()
        server.server_close()
