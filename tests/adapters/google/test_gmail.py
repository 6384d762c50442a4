"""Gmail drafts and the Gmail transport against googleapiclient's HttpMockSequence, with the
bundled discovery documents: exact request bodies, threading, backoff, permission errors."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from facturier.adapters.drafts import (
    DraftRefused,
    DraftStoreOptions,
    DraftStoreUnavailable,
    open_draft_store,
)
from facturier.adapters.drafts.gmail import GmailDrafts, GmailThread, same_subject
from facturier.adapters.google.auth import GoogleSession
from facturier.adapters.google.gmail import GmailMailer
from facturier.adapters.mail import MailConnectionError, MailRefused
from facturier.config.collections import CollectionsConfig
from facturier.config.google import GMAIL_COMPOSE, GoogleConfig
from tests.adapters.google.conftest import Sleeps, error, mock, ok

DRAFTS = "https://gmail.googleapis.com/gmail/v1/users/me/drafts"
SEND = "https://gmail.googleapis.com/gmail/v1/users/me/messages/send"


def reminder(in_reply_to: str | None = "<inv-42@studio.example>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Studio <billing@studio.example>"
    msg["To"] = "compta@acme.example"
    msg["Subject"] = "Friendly reminder: invoice 2026-0042"
    msg["Message-ID"] = "<rem-42-7@studio.example>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["X-Facturier-Ref"] = "2026-0042-stage07"
    msg.set_content("Hello ACME,\n\nInvoice 2026-0042 is 7 days overdue.\n")
    return msg


def drafts_store(token: Path, http: Any, sleeps: Sleeps | None = None, threads: Any = None) -> GmailDrafts:
    def service() -> Any:
        return GoogleSession(token, (GMAIL_COMPOSE,), http).service("gmail", "v1")
    return GmailDrafts(service, threads, sleeps if sleeps is not None else Sleeps())


def decoded(raw: str) -> email.message.EmailMessage:
    parsed = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


def body_of(request: tuple[str, str, Any, dict[str, str]]) -> dict[str, Any]:
    data = request[2]
    return json.loads(data.decode() if isinstance(data, bytes) else data)


def test_draft_is_created_with_the_raw_message_and_the_gmail_thread(token: Path) -> None:
    http = mock(ok({"id": "r-123", "message": {"id": "m-1", "threadId": "t-invoice"}}))
    threads = {"<inv-42@studio.example>": GmailThread("t-invoice", "Invoice 2026-0042 from Studio")}
    store = drafts_store(token, http, threads=threads.get)
    receipt = store.create(reminder())
    assert (receipt.store, receipt.draft_id, receipt.message_id, receipt.existing) == \
        ("gmail", "r-123", "<rem-42-7@studio.example>", False)
    [(uri, method, _, headers)] = http.request_sequence
    assert (method, uri.split("?")[0]) == ("POST", DRAFTS)
    assert headers["authorization"] == "Bearer ya29.access"
    body = body_of(http.request_sequence[0])
    assert set(body) == {"message"} and set(body["message"]) == {"raw", "threadId"}
    assert body["message"]["threadId"] == "t-invoice"
    sent = decoded(body["message"]["raw"])
    assert sent["In-Reply-To"] == "<inv-42@studio.example>"
    assert sent["References"] == "<inv-42@studio.example>"
    assert sent["Message-ID"] == "<rem-42-7@studio.example>"
    # Gmail threads a draft only when its subject matches the thread's.
    assert sent["Subject"] == "Re: Invoice 2026-0042 from Studio"
    assert "7 days overdue" in sent.get_content()


def test_without_a_gmail_thread_the_draft_keeps_its_subject_and_headers(token: Path) -> None:
    http = mock(ok({"id": "r-1", "message": {"id": "m-1", "threadId": "t-new"}}))
    drafts_store(token, http).create(reminder())
    body = body_of(http.request_sequence[0])
    assert set(body["message"]) == {"raw"}
    sent = decoded(body["message"]["raw"])
    assert sent["Subject"] == "Friendly reminder: invoice 2026-0042"
    assert sent["In-Reply-To"] == "<inv-42@studio.example>"
    assert sent.as_bytes() == reminder().as_bytes()


def test_rate_limits_back_off_then_look_the_draft_up_before_creating_again(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(
        error(429, "rateLimitExceeded", "Too many concurrent requests for user", status_text="RESOURCE_EXHAUSTED"),
        ok({"resultSizeEstimate": 0}),                       # drafts.list: not created
        error(403, "userRateLimitExceeded", "User-rate limit exceeded", status_text="PERMISSION_DENIED"),
        ok({"resultSizeEstimate": 0}),
        ok({"id": "r-9", "message": {"id": "m-9", "threadId": "t-9"}}),
    )
    receipt = drafts_store(token, http, sleeps).create(reminder())
    assert receipt.draft_id == "r-9" and not receipt.existing
    assert sleeps == [1.0, 2.0]
    methods = [(m, urlparse(u).path.rsplit("/", 1)[-1]) for u, m, _, _ in http.request_sequence]
    assert methods == [("POST", "drafts"), ("GET", "drafts"), ("POST", "drafts"), ("GET", "drafts"),
                       ("POST", "drafts")]
    query = parse_qs(urlparse(http.request_sequence[1][0]).query)
    assert query["q"] == ["rfc822msgid:rem-42-7@studio.example"]


def test_a_create_whose_answer_was_lost_is_not_repeated(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(503, "backendError", "Backend Error", status_text="UNAVAILABLE"),
                ok({"drafts": [{"id": "r-lost", "message": {"id": "m-lost", "threadId": "t"}}]}))
    receipt = drafts_store(token, http, sleeps).create(reminder())
    assert (receipt.draft_id, receipt.existing) == ("r-lost", True)
    assert len(http.request_sequence) == 2 and sleeps == [1.0]


def test_retries_stop_after_five_with_doubling_waits(token: Path) -> None:
    sleeps = Sleeps()
    answers = [error(429, "rateLimitExceeded", status_text="RESOURCE_EXHAUSTED")]
    for _ in range(5):
        answers += [ok({}), error(429, "rateLimitExceeded", status_text="RESOURCE_EXHAUSTED")]
    with pytest.raises(DraftStoreUnavailable, match="429 .*still failing after 5 retries"):
        drafts_store(token, mock(*answers), sleeps).create(reminder())
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_retry_after_is_honoured(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(429, "rateLimitExceeded", headers={"retry-after": "7"}), ok({}), ok({"id": "r"}))
    drafts_store(token, http, sleeps).create(reminder())
    assert sleeps == [7.0]


def test_insufficient_permissions_is_not_retried_and_says_what_to_do(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                      status_text="PERMISSION_DENIED"))
    with pytest.raises(DraftStoreUnavailable) as caught:
        drafts_store(token, http, sleeps).create(reminder())
    text = str(caught.value)
    assert "403" in text and "insufficientPermissions" in text and "facturier auth google" in text
    assert len(http.request_sequence) == 1 and sleeps == []


@pytest.mark.parametrize("status,reason", [(400, "invalidArgument"), (404, "notFound"), (413, "tooLarge")])
def test_other_client_errors_are_never_retried(token: Path, status: int, reason: str) -> None:
    sleeps = Sleeps()
    http = mock(error(status, reason, "Invalid To header"))
    with pytest.raises(DraftRefused, match=f"{status} \\({reason}\\)"):
        drafts_store(token, http, sleeps).create(reminder())
    assert len(http.request_sequence) == 1 and sleeps == []


def test_find_looks_the_draft_up_by_message_id(token: Path) -> None:
    http = mock(ok({"drafts": [{"id": "r-5", "message": {"id": "m", "threadId": "t"}}]}), ok({}))
    store = drafts_store(token, http)
    found = store.find("<rem-42-7@studio.example>")
    assert found is not None and found.draft_id == "r-5"
    assert store.find("<other@studio.example>") is None


def test_registry_opens_gmail_drafts_with_the_configured_token(token: Path, tmp_path: Path) -> None:
    http = mock(ok({"id": "r-1"}))
    options = DraftStoreOptions(google=GoogleConfig(token_file=str(token)), http=http, sleep=Sleeps())
    store = open_draft_store(CollectionsConfig(drafts="gmail"), tmp_path, {}, options)
    assert store.create(reminder()).draft_id == "r-1"


def test_not_signed_in_is_a_clear_error(tmp_path: Path) -> None:
    options = DraftStoreOptions(google=GoogleConfig(token_file=str(tmp_path / "none.json")))
    store = open_draft_store(CollectionsConfig(drafts="gmail"), tmp_path, {}, options)
    with pytest.raises(DraftStoreUnavailable, match="not signed in to Google .*run `facturier auth google`"):
        store.create(reminder())


def test_same_subject_follows_reply_prefixes() -> None:
    assert same_subject("Re: Invoice 1", "invoice  1")
    assert same_subject("RE: Fwd: Invoice 1", "Invoice 1")
    assert not same_subject("Reminder: Invoice 1", "Invoice 1")


# --- the Gmail transport (messages.send) ------------------------------------------------------

def invoice_email() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Studio <billing@studio.example>"
    msg["To"] = "compta@acme.example"
    msg["Subject"] = "Invoice 2026-0042 from Studio"
    msg["Message-ID"] = "<inv-42@studio.example>"
    msg.set_content("Please find the invoice attached.")
    return msg


def mailer(token: Path, http: Any, sleeps: Sleeps | None = None) -> GmailMailer:
    return GmailMailer(lambda: GoogleSession(token, (GMAIL_COMPOSE,), http).service("gmail", "v1"),
                       sleeps if sleeps is not None else Sleeps())


def test_send_posts_the_raw_message_and_returns_gmail_ids(token: Path) -> None:
    http = mock(ok({"id": "m-77", "threadId": "t-77", "labelIds": ["SENT"]}))
    receipt = mailer(token, http).send_receipt(invoice_email())
    assert receipt.message_id == "<inv-42@studio.example>"
    assert receipt.journal_fields == {"gmail_message_id": "m-77", "gmail_thread_id": "t-77",
                                      "gmail_subject": "Invoice 2026-0042 from Studio"}
    [(uri, method, _, _)] = http.request_sequence
    assert (method, uri.split("?")[0]) == ("POST", SEND)
    body = body_of(http.request_sequence[0])
    assert list(body) == ["raw"] and decoded(body["raw"]).as_bytes() == invoice_email().as_bytes()


def test_send_is_not_repeated_after_a_server_error(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(500, "backendError", status_text="INTERNAL"))
    with pytest.raises(MailConnectionError, match="500"):
        mailer(token, http, sleeps).send(invoice_email())
    assert len(http.request_sequence) == 1 and sleeps == []


def test_send_retries_rate_limits_and_refuses_bad_requests(token: Path) -> None:
    sleeps = Sleeps()
    http = mock(error(429, "rateLimitExceeded"), ok({"id": "m", "threadId": "t"}),
                error(400, "invalidArgument", "Invalid To header"))
    transport = mailer(token, http, sleeps)
    assert transport.send(invoice_email()) == "<inv-42@studio.example>"
    with pytest.raises(MailRefused, match="400 .*Invalid To header"):
        transport.send(invoice_email())
    assert sleeps == [1.0]


def test_a_large_message_goes_as_a_media_upload(token: Path) -> None:
    big = invoice_email()
    big.add_attachment(bytes(range(256)) * 20000, maintype="application", subtype="zip", filename="2026-11.zip")
    http = mock(ok({"id": "m-big", "threadId": "t-big"}))
    receipt = mailer(token, http).send_receipt(big)
    assert receipt.journal_fields["gmail_message_id"] == "m-big"
    [(uri, method, body, headers)] = http.request_sequence
    assert method == "POST" and uri.startswith("https://gmail.googleapis.com/upload/gmail/v1/users/me/messages/send")
    assert "uploadType=multipart" in uri and headers["content-type"].startswith("multipart/related")
    assert b"Content-Type: message/rfc822" in body and big.as_bytes() in body


class InterruptedGmail(GmailDrafts):
    """Gmail drafts whose connection drops mid-create: the outcome is unknown, left in flight."""

    def create(self, draft: EmailMessage) -> Any:
        from facturier.adapters.drafts import DraftInterrupted

        raise DraftInterrupted("the connection dropped while creating the draft")


@pytest.mark.parametrize(("listed", "found"), [({"drafts": [{"id": "r-9", "message": {"id": "m"}}]}, True),
                                               ({}, False)])
def test_remind_settles_an_interrupted_gmail_draft_by_searching_the_drafts(
        token: Path, tmp_path: Path, listed: dict[str, Any], found: bool) -> None:
    """The next `remind` asks Gmail (drafts.list, q=rfc822msgid:) for the draft in flight:
    found, it is journalled drafted with Gmail's draft id; not found, left for --retry."""
    from datetime import date, datetime

    from facturier.config import load_workspace
    from facturier.ops.collections.remind import remind
    from tests.collections_workspace import base_workspace, numbers_of, of_type

    ws = base_workspace(tmp_path)
    acme = numbers_of(ws)["acme"]
    workspace, day, now = load_workspace(ws), date(2026, 12, 22), datetime(2026, 12, 22, 10)
    first = remind(workspace, day, now, client="acme", store=InterruptedGmail(lambda: None, None, Sleeps()))
    assert first.failed and [e["store"] for e in of_type(ws, "reminder.drafting")] == ["gmail"]
    http = mock(ok(listed))
    report = remind(workspace, day, now, client="acme", store=drafts_store(token, http))
    [(uri, _, _, _)] = http.request_sequence
    [drafting] = of_type(ws, "reminder.drafting")
    assert uri.startswith(DRAFTS) and parse_qs(urlparse(uri).query)["q"] == [
        f"rfc822msgid:{drafting['message_id'].strip('<>')}"]
    done = of_type(ws, "reminder.drafted")
    if found:
        assert not report.failed and [(d["number"], d["draft_id"]) for d in done] == [(acme, "r-9")]
        assert any(f"{acme}: the reminder interrupted on 2026-12-22 (stage 7) was found in the gmail store (r-9)" in n
                   for n in report.notes) and report.rows == []
    else:
        assert report.failed and not done
        assert any("does not hold it" in a.message and f"--retry {acme}" in a.message for a in report.alerts)
