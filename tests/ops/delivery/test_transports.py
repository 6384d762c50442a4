"""Invoice sending through the transport registry, in process: the in-memory transport, and
Gmail's messages.send through googleapiclient's HttpMockSequence, journalled with its ids."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from facturier.adapters import mail as mail_adapter
from facturier.adapters.mail import MailRefused, MemoryMailer
from facturier.config import load_workspace
from facturier.ops.delivery.send import plan_deliveries
from facturier.store.ledger import Ledger
from tests.conftest import journal, run_cli

NOV15 = date(2026, 11, 15)


@pytest.fixture
def issued(ws: Path) -> Path:
    """The demo's November invoices issued, none sent (acme's auto_send off for the run)."""
    acme = ws / "clients" / "acme.toml"
    acme.write_text(acme.read_text().replace("auto_send = true", "auto_send = false"))
    assert run_cli(ws, "run", "--date", "2026-11-15").code == 0
    acme.write_text(acme.read_text().replace("auto_send = false", "auto_send = true"))
    assert not [e for e in journal(ws) if e["type"] == "invoice.sent"]
    return ws


def with_transport(root: Path, transport: str) -> Any:
    ws = load_workspace(root)
    mail = ws.config.mail.model_copy(update={"transport": transport})  # "memory" is set in code only
    return replace(ws, config=ws.config.model_copy(update={"mail": mail}))


def test_memory_transport_through_the_registry(issued: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mailer = MemoryMailer()
    monkeypatch.setitem(mail_adapter.TRANSPORTS, "memory", lambda mail, root, google: mailer)
    ws = with_transport(issued, "memory")
    with Ledger(issued) as ledger:
        report = plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    [msg] = mailer.sent
    assert msg["To"] == "compta@acme.example" and mailer.closed
    assert [r["status"] for r in report.rows] == ["sent"]
    [sent] = [e for e in journal(issued) if e["type"] == "invoice.sent"]
    assert sent["transport"] == "memory" and sent["message_id"] == str(msg["Message-ID"])
    assert set(sent) == {"seq", "at", "type", "number", "client", "message_id", "to", "transport", "prev", "hash"}


def test_a_refused_message_is_journalled_as_failed_and_retried(issued: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mailer = MemoryMailer()
    mailer.fail_with = MailRefused("the server refused the message: 550 no such user")
    monkeypatch.setitem(mail_adapter.TRANSPORTS, "memory", lambda mail, root, google: mailer)
    ws = with_transport(issued, "memory")
    with Ledger(issued) as ledger:
        report = plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    assert [r["status"] for r in report.rows] == ["failed"] and mailer.sent == []
    assert [e["type"] for e in journal(issued)][-2:] == ["invoice.sending", "invoice.send_failed"]
    with Ledger(issued) as ledger:  # the next allowed run sends it
        plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    assert len(mailer.sent) == 1


def test_gmail_transport_journals_gmail_ids_as_new_keys(issued: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("googleapiclient")
    from facturier.adapters.google.gmail import open_gmail_mailer
    from tests.adapters.google.conftest import mock, ok, write_token

    token = write_token(tmp_path / "home" / "token.json")
    http = mock(ok({"id": "18c0ffee", "threadId": "18c0ffee", "labelIds": ["SENT"]}))
    toml = issued / "facturier.toml"
    toml.write_text(toml.read_text().replace('transport = "outbox"', 'transport = "gmail"', 1)
                    + f'\n[google]\ntoken_file = "{token}"\n')
    ws = load_workspace(issued)
    assert ws.config.mail.transport == "gmail"
    monkeypatch.setitem(mail_adapter.TRANSPORTS, "gmail",
                        lambda mail, root, google: open_gmail_mailer(root, google, http=http, sleep=lambda s: None))
    with Ledger(issued) as ledger:
        plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    [sent] = [e for e in journal(issued) if e["type"] == "invoice.sent"]
    assert sent["transport"] == "gmail"
    assert (sent["gmail_message_id"], sent["gmail_thread_id"]) == ("18c0ffee", "18c0ffee")
    assert sent["gmail_subject"] == "Facture 2026-0001 - Palks Studio"
    [(uri, method, body, _)] = http.request_sequence
    assert uri.startswith("https://gmail.googleapis.com/gmail/v1/users/me/messages/send") and method == "POST"
    raw = base64.urlsafe_b64decode(json.loads(body)["raw"])
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(msg["Message-ID"]) == sent["message_id"]
    assert [p.get_filename() for p in msg.iter_attachments()] == ["2026-0001.pdf"]
    assert run_cli(issued, "verify").code == 0


def test_the_gmail_thread_of_a_sent_invoice_is_found_by_its_message_id(issued: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a Gmail draft of a later reminder threads with, read back from the ledger state."""
    pytest.importorskip("googleapiclient")
    from facturier.adapters.google.gmail import open_gmail_mailer
    from facturier.ops.gmail_threads import gmail_threads
    from facturier.ops.state_access import read_state
    from tests.adapters.google.conftest import mock, ok, write_token

    token = write_token(tmp_path / "token.json")
    monkeypatch.setitem(mail_adapter.TRANSPORTS, "gmail", lambda mail, root, google: open_gmail_mailer(
        root, google, http=mock(ok({"id": "m1", "threadId": "t1"})), sleep=lambda s: None))
    ws = with_transport(issued, "gmail")
    ws = replace(ws, config=ws.config.model_copy(update={"google": ws.config.google.model_copy(
        update={"token_file": str(token)})}))
    with Ledger(issued) as ledger:
        plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    [sent] = [e for e in journal(issued) if e["type"] == "invoice.sent"]
    state = read_state(issued)
    try:
        thread = gmail_threads(state)(sent["message_id"])
        assert thread is not None and (thread.thread_id, thread.subject) == ("t1", "Facture 2026-0001 - Palks Studio")
        assert gmail_threads(state)("<other@x.example>") is None
    finally:
        state.close()
    (issued / "data" / "state.sqlite").unlink()
    state = read_state(issued)  # rebuilt from the journal
    try:
        assert gmail_threads(state)(sent["message_id"]) is not None
    finally:
        state.close()


def test_remind_drafts_into_the_gmail_thread_of_the_invoice(issued: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Invoice sent through Gmail, then `remind` drafts through Gmail: the draft carries the
    invoice's threadId, answers its Message-ID, and takes the subject Gmail threads by."""
    pytest.importorskip("googleapiclient")
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from facturier.adapters.drafts.gmail import GmailDrafts
    from facturier.adapters.google.auth import GoogleSession
    from facturier.adapters.google.gmail import open_gmail_mailer
    from facturier.config.google import GMAIL_COMPOSE
    from facturier.ops.collections.remind import remind
    from facturier.ops.gmail_threads import gmail_threads
    from facturier.ops.state_access import read_state
    from tests.adapters.google.conftest import mock, ok, write_token

    token = write_token(tmp_path / "token.json")
    monkeypatch.setitem(mail_adapter.TRANSPORTS, "gmail", lambda mail, root, google: open_gmail_mailer(
        root, google, http=mock(ok({"id": "m1", "threadId": "t-inv"})), sleep=lambda s: None))
    toml = issued / "facturier.toml"
    toml.write_text(toml.read_text().replace('transport = "outbox"', 'transport = "gmail"', 1)
                    + f'\n[google]\ntoken_file = "{token}"\n'
                    + '\n[collections]\ndry_run = false\nwindow = "00:00-24:00"\ndrafts = "gmail"\n')
    ws = load_workspace(issued)
    with Ledger(issued) as ledger:
        plan_deliveries(ws, ledger.state, NOV15).apply(ledger)
    [sent] = [e for e in journal(issued) if e["type"] == "invoice.sent"]
    http = mock(ok({"id": "r-1", "message": {"id": "m2", "threadId": "t-inv"}}))
    state = read_state(issued)
    try:
        store = GmailDrafts(lambda: GoogleSession(token, (GMAIL_COMPOSE,), http).service("gmail", "v1"),
                            gmail_threads(state), sleep=lambda s: None)
        day = date(2026, 12, 22)
        report = remind(ws, day, datetime(2026, 12, 22, 10, 0, tzinfo=ZoneInfo(ws.config.timezone)), store=store)
    finally:
        state.close()
    assert [r["status"] for r in report.rows if r["invoice"] == "2026-0001"] == ["drafted"]
    [(uri, method, body, _)] = http.request_sequence
    assert method == "POST" and uri.startswith("https://gmail.googleapis.com/gmail/v1/users/me/drafts")
    message = json.loads(body)["message"]
    assert message["threadId"] == "t-inv"
    draft = email.message_from_bytes(base64.urlsafe_b64decode(message["raw"]), policy=email.policy.default)
    assert draft["In-Reply-To"] == sent["message_id"] and draft["References"] == sent["message_id"]
    assert draft["Subject"] == "Re: Facture 2026-0001 - Palks Studio"
    [drafted] = [e for e in journal(issued) if e["type"] == "reminder.drafted"]
    assert (drafted["store"], drafted["draft_id"], drafted["stage"]) == ("gmail", "r-1", 7)
