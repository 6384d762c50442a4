"""`remind` with QuickBooks Online as the source (issue 26), end to end through the real CLI,
python-quickbooks and intuit-oauth, against a loopback server answering QuickBooks' JSON.

The acceptance: the QuickBooks source drafts the same reminders as a CSV sheet holding the
same invoices."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("quickbooks")
pytest.importorskip("intuitlib")

from facturier.adapters.drafts import iter_outbox
from tests.conftest import copy_demo, journal, run_cli
from tests.quickbooks_server import ENV, QuickBooksServer, QuickBooksState, customer, invoice

DEC1 = ("--date", "2026-12-01")
HEADER = ("invoice_id;client_name;client_email;amount;currency;due_date;sent_date;status;notes;"
          "last_stage_sent;last_sent_at")
# The same invoices, as a CSV sheet and as QuickBooks holds them.
CSV_ROWS = [
    "1037;ACME SAS;ap@acme.example;1200.5;EUR;2026-10-20;2026-09-20;open;;;",
    "1038;Bee Ltd;billing@bee.example;90;EUR;2026-11-20;2026-10-21;open;;;",
    "1039;Sea GmbH;c@sea.example;300.25;USD;2026-11-03;2026-10-04;open;;;",
    "1040;ACME SAS;ap@acme.example;55;EUR;2026-12-15;2026-11-15;open;;;",  # not due yet
]


def qb_state() -> QuickBooksState:
    state = QuickBooksState()
    state.customers = [customer("1", "ACME SAS", "ap@acme.example"), customer("2", "Bee Ltd", "other@bee.example"),
                       customer("3", "Sea GmbH", "c@sea.example", currency="USD")]
    state.invoices = [
        invoice("1037", "1", "1200.50", "2026-10-20", txn="2026-09-20"),
        # The invoice's BillEmail wins over the customer's address.
        invoice("1038", "2", "90", "2026-11-20", txn="2026-10-21", email="billing@bee.example"),
        invoice("1039", "3", "300.25", "2026-11-03", txn="2026-10-04", currency="USD"),
        invoice("1040", "1", "55", "2026-12-15", txn="2026-11-15"),
        invoice("1041", "2", "0", "2026-09-01"),  # paid: Balance 0, not asked for
    ]
    return state


@pytest.fixture
def qb() -> Any:
    with QuickBooksServer(qb_state()) as server:
        yield server


def qb_ws(tmp_path: Path, server: QuickBooksServer, name: str = "qb") -> tuple[Path, Path]:
    ws = copy_demo(tmp_path / name)
    token = tmp_path / "home" / ".config" / "facturier" / "quickbooks-token.json"
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write(server.toml(str(token)))
    return ws, token


def csv_ws(tmp_path: Path) -> Path:
    ws = copy_demo(tmp_path / "csv")
    (ws / "invoices.csv").write_text("\n".join([HEADER, *CSV_ROWS]) + "\n", encoding="utf-8")
    with (ws / "facturier.toml").open("a", encoding="utf-8") as fh:
        fh.write('\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\nsource = "csv"\n'
                 'source_path = "invoices.csv"\n')
    return ws


def drafts(ws: Path) -> list[tuple[str, str, str]]:
    """(To, Subject, text) of every outbox draft, sorted."""
    return sorted((str(m["To"]), str(m["Subject"]), m.get_body(("plain",)).get_content())
                  for _, m in iter_outbox(ws / "data" / "drafts"))


def drafted(ws: Path) -> dict[str, int]:
    return {e["number"]: e["stage"] for e in journal(ws) if e["type"] == "reminder.drafted"}


def test_quickbooks_drafts_the_same_reminders_as_a_csv_sheet_of_the_same_invoices(
        tmp_path: Path, qb: QuickBooksServer) -> None:
    ws, _token = qb_ws(tmp_path, qb)
    env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
    csv = csv_ws(tmp_path)
    qb_dry, csv_dry = (run_cli(w, "remind", *DEC1, "--dry-run", "--json", env=env) for w in (ws, csv))
    assert qb_dry.code == 0 and csv_dry.code == 0, qb_dry.text + csv_dry.text
    assert json.loads(qb_dry.out)["rows"] == json.loads(csv_dry.out)["rows"]
    assert len(json.loads(qb_dry.out)["rows"]) == 3
    for w in (ws, csv):
        result = run_cli(w, "remind", *DEC1, env=env)
        assert result.code == 0, result.text
    assert drafted(ws) == drafted(csv) == {"1037": 42, "1038": 7, "1039": 28}
    assert drafts(ws) == drafts(csv)
    assert {to for to, _, _ in drafts(ws)} == {"ap@acme.example", "billing@bee.example", "c@sea.example"}
    # The query QuickBooks documents, paged; the customers asked by id.
    assert qb.state.queries[0] == "select * from Invoice where Balance > '0' STARTPOSITION 1 MAXRESULTS 1000"
    assert "select * from Customer where Id in ('1', '2', '3')" in qb.state.queries
    # Nothing written to QuickBooks: the journal keeps the stages; a second run drafts nothing more.
    again = run_cli(ws, "remind", *DEC1, env=ENV)
    assert again.code == 0, again.text
    assert len(drafts(ws)) == 3
    assert run_cli(ws, "verify").code == 0


def test_the_token_is_saved_0600_outside_the_workspace_and_rotated(tmp_path: Path, qb: QuickBooksServer) -> None:
    ws, token = qb_ws(tmp_path, qb)
    result = run_cli(ws, "remind", *DEC1, "--dry-run", env={**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"})
    assert result.code == 0, result.text
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    saved = json.loads(token.read_text(encoding="utf-8"))
    assert (saved["access_token"], saved["refresh_token"]) == ("AT-1", "RT-2")  # Intuit rotated it
    assert saved["scope"] == "com.intuit.quickbooks.accounting"
    assert qb.state.token_requests == [{"grant_type": ["refresh_token"], "refresh_token": ["RT-1"]}]
    # The next run uses the saved access token (no refresh), even with the first one still set.
    again = run_cli(ws, "remind", *DEC1, "--dry-run", env={**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"})
    assert again.code == 0, again.text
    assert len(qb.state.token_requests) == 1
    # An access token QuickBooks no longer takes (401) is refreshed once with the saved refresh token.
    qb.state.fail_next_query_with = 401
    third = run_cli(ws, "remind", *DEC1, "--dry-run", env=ENV)
    assert third.code == 0, third.text
    assert qb.state.token_requests[-1]["refresh_token"] == ["RT-2"]
    assert json.loads(token.read_text(encoding="utf-8"))["refresh_token"] == "RT-3"
    assert not any(p.name.startswith("quickbooks-token") for p in ws.rglob("*"))


def test_sign_in_problems_are_one_clear_line(tmp_path: Path, qb: QuickBooksServer) -> None:
    ws, token = qb_ws(tmp_path, qb)
    none = run_cli(ws, "remind", *DEC1, "--dry-run", env=ENV)
    assert none.code == 1 and "not signed in to QuickBooks" in none.err and "QUICKBOOKS_REFRESH_TOKEN" in none.err
    no_id = run_cli(ws, "remind", *DEC1, "--dry-run", env={"QUICKBOOKS_REFRESH_TOKEN": "RT-1"})
    assert no_id.code == 1 and "QUICKBOOKS_CLIENT_ID is not set" in no_id.err
    refused = run_cli(ws, "remind", *DEC1, "--dry-run", env={**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-old"})
    assert refused.code == 1 and "invalid_grant" in refused.err
    assert run_cli(ws, "remind", *DEC1, "--dry-run", env={**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}).code == 0
    os.chmod(token, 0o644)
    open_token = run_cli(ws, "remind", *DEC1, "--dry-run", env=ENV)
    assert open_token.code == 1 and "readable by others (mode 0644)" in open_token.err
    checked = run_cli(ws, "check", env={})
    assert checked.code == 0, checked.text
    assert "collections.quickbooks.client_id_env: the environment variable QUICKBOOKS_CLIENT_ID is not set" \
        in checked.out
    assert "readable by others" in checked.out
    for result in (none, no_id, refused, open_token, checked):
        assert "Traceback" not in result.text


def test_an_invoice_without_an_email_is_named_by_its_number(tmp_path: Path) -> None:
    state = qb_state()
    state.customers[2] = customer("3", "Sea GmbH", None, currency="USD")
    with QuickBooksServer(state) as server:
        ws, _ = qb_ws(tmp_path, server)
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        result = run_cli(ws, "remind", *DEC1, env=env)
        assert result.code == 1
        assert ("QuickBooks invoice 1039: BillEmail (or the customer's PrimaryEmailAddr): is empty"
                in result.err), result.err
        assert not (ws / "data" / "drafts").exists()
        skipped = run_cli(ws, "remind", *DEC1, "--skip-bad-rows", env=env)
        assert skipped.code == 0, skipped.text
        assert drafted(ws) == {"1037": 42, "1038": 7}


def test_config_problems_name_the_key(tmp_path: Path, qb: QuickBooksServer) -> None:
    ws, _ = qb_ws(tmp_path, qb)
    toml = ws / "facturier.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace(qb.base + "/v3", "http://quickbooks.example/v3"), encoding="utf-8")
    bad = run_cli(ws, "check")
    assert bad.code == 1
    assert "collections.quickbooks.api_base" in bad.out and "only https to an intuit.com host" in bad.out
    toml.write_text(text.split("[collections.quickbooks]")[0], encoding="utf-8")
    missing = run_cli(ws, "check")
    assert missing.code == 1 and 'source = "quickbooks" needs a [collections.quickbooks] table' in missing.out


def test_an_unreachable_or_unreadable_quickbooks_is_one_line(tmp_path: Path, qb: QuickBooksServer) -> None:
    import socket

    ws, _ = qb_ws(tmp_path, qb)
    env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
    toml = ws / "facturier.toml"
    text = toml.read_text(encoding="utf-8")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    toml.write_text(text.replace(qb.base, f"http://127.0.0.1:{port}"), encoding="utf-8")
    down = run_cli(ws, "remind", *DEC1, "--dry-run", env=env)
    assert down.code == 1 and down.err.startswith("Error: cannot reach Intuit's sign-in service"), down.err
    toml.write_text(text.replace("/v3", "/elsewhere"), encoding="utf-8")
    wrong = run_cli(ws, "remind", *DEC1, "--dry-run", env=env)
    assert wrong.code == 1 and "QuickBooks query" in wrong.err and "610" in wrong.err, wrong.err
    for result in (down, wrong):
        assert "Traceback" not in result.text and len(result.err.strip().splitlines()) == 1


def test_show_names_a_quickbooks_invoice_and_its_reminders(tmp_path: Path, qb: QuickBooksServer) -> None:
    ws, _token = qb_ws(tmp_path, qb)
    env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
    assert run_cli(ws, "remind", *DEC1, env=env).code == 0
    shown = run_cli(ws, "show", "1039", env=ENV)
    assert shown.code == 0, shown.text
    assert "QuickBooks Online" in shown.out and "c@sea.example" in shown.out
    unknown = run_cli(ws, "show", "9999", env=ENV)
    assert unknown.code != 0 and "QuickBooks Online" in unknown.text and "Traceback" not in unknown.text


def test_an_invoice_whose_customer_quickbooks_does_not_return_says_so(tmp_path: Path) -> None:
    # Invoice 1042's customer 9 is not in QuickBooks' answer (deleted, made inactive or merged):
    # one plain problem naming the customer and what to do, not the empty cells it leaves.
    state = qb_state()
    state.invoices.append(invoice("1042", "9", "75", "2026-10-15", txn="2026-09-15"))
    with QuickBooksServer(state) as server:
        ws, _ = qb_ws(tmp_path, server)
        env = {**ENV, "QUICKBOOKS_REFRESH_TOKEN": "RT-1"}
        result = run_cli(ws, "remind", *DEC1, env=env)
        assert result.code == 1, result.text
        assert ("QuickBooks invoice 1042: CustomerRef: its customer 9 was not found in QuickBooks"
                in result.err), result.err
        assert "make that customer active again or give the invoice an active customer" in result.err
        assert "BillEmail" not in result.err and "CurrencyRef" not in result.err, result.err
        assert "Traceback" not in result.text and not (ws / "data" / "drafts").exists()
        skipped = run_cli(ws, "remind", *DEC1, "--skip-bad-rows", env=env)
        assert skipped.code == 0, skipped.text
        assert drafted(ws) == {"1037": 42, "1038": 7, "1039": 28}
        shown = run_cli(ws, "show", "1042", env=ENV)
        assert shown.code == 0, shown.text
        assert "Client: not known: its customer 9 was not found in QuickBooks" in shown.out, shown.out
        assert "<>" not in shown.out and "ref 9" not in shown.out
        fine = run_cli(ws, "show", "1039", env=ENV)
        assert fine.code == 0 and "Client: Sea GmbH <c@sea.example>" in fine.out, fine.text
