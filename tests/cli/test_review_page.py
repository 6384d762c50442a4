"""The review page of `remind` (issue 26, item 1): `exports/review-<date>.html`, checked in
headless Chromium (it renders offline, every "Open draft" link points at the draft, the
numbers are those of `remind --json`), for the outbox, a real Dovecot's Drafts mailbox and
Gmail (googleapiclient's HTTP double)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest

from facturier.ops.collections.review import decode_mutf7, imap_link
from tests.chromium import find_chromium, render_page
from tests.collections_workspace import base_workspace, clone, configure, numbers_of, set_text
from tests.conftest import journal, run_cli

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs "
                                    "Debian's chromium); the review page's browser test needs it")
HOSTILE = 'Atelier <img src=x onerror=alert(1)> & "Co" </p><script>alert(2)</script>'
OPEN = '[collections]\ndry_run = false\nwindow = "00:00-24:00"\n'
LINKS = ("Array.from(document.querySelectorAll('a')).map(a => [a.closest('tr').dataset.invoice, a.href, "
         "a.textContent])")
DRAFT_ROWS = ("Array.from(document.querySelectorAll('tr.draft')).map(tr => [tr.dataset.invoice, "
              "tr.cells[2].innerText, tr.cells[3].innerText, tr.cells[4].innerText])")
ALONE_ROWS = ("Array.from(document.querySelectorAll('tr.alone')).map(tr => [tr.dataset.invoice, "
              "tr.cells[2].innerText, tr.cells[5].innerText])")
ACTIVE = "[document.images.length, document.scripts.length, document.querySelectorAll('[onerror]').length]"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def edit(ws: Path) -> None:
        set_text(ws, "clients/client0.toml", 'name = "Client 0"', f"name = '{HOSTILE}'")

    return base_workspace(tmp_path_factory.mktemp("review"), extra=2, edit=edit)


@pytest.fixture
def ws(base: Path, tmp_path: Path) -> Path:
    return clone(base, tmp_path / "ws")


def remind_json(ws: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], Path]:
    result = run_cli(ws, "remind", *args, "--json", env=env)
    assert result.code == 0, result.text
    data = json.loads(result.out)
    [note] = [n for n in data["notes"] if n.startswith("Review page: ")]
    return data, Path(note.removeprefix("Review page: "))


def embedded(page: Path) -> dict[str, Any]:
    found = re.search(r'id="facturier-review">(.*?)</script>', page.read_text(encoding="utf-8"), re.DOTALL)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def browse(page: Path) -> dict[str, Any]:
    """The page in headless Chromium: no error, nothing fetched; its links, rows and active content."""
    assert CHROMIUM is not None
    seen = render_page(CHROMIUM, page, expressions={"links": LINKS, "drafts": DRAFT_ROWS, "alone": ALONE_ROWS,
                                                    "active": ACTIVE})
    assert seen.console_errors == [] and seen.failed == []
    assert seen.foreign_requests(page.resolve().as_uri()) == []
    assert seen.png.startswith(b"\x89PNG") and seen.pdf.startswith(b"%PDF-")
    return {**seen.values, "text": seen.text}


def same_numbers(rows: list[dict[str, Any]], shown: list[list[str]]) -> None:
    """The page's draft rows are the JSON's, highest amounts first, with the same figures."""
    expected = sorted(rows, key=lambda r: (-float(r["amount"]), -int(r["days_overdue"]), r["invoice"]))
    assert [s[0] for s in shown] == [r["invoice"] for r in expected]
    for row, (_, amount, days, stage) in zip(expected, shown, strict=True):
        assert amount.replace("\u00a0", " ") == f"{row['amount']} {row['currency']}"
        assert (days, stage) == (str(row["days_overdue"]), str(row["stage"]))


@needs_chromium
def test_the_page_lists_the_drafts_with_their_files_and_the_invoices_left_alone(ws: Path) -> None:
    n = numbers_of(ws)
    assert run_cli(ws, "dispute", n["client1"], "--reason", "<b>late</b>", "--date", "2027-01-06").code == 0
    data, page = remind_json(ws, "--date", "2027-01-06")
    assert page == ws / "exports" / "review-2027-01-06.html"
    seen = browse(page)
    same_numbers(data["rows"], seen["drafts"])
    assert len(data["rows"]) == 3 and {r["status"] for r in data["rows"]} == {"drafted"}
    # Every link opens the draft file the run wrote for that invoice (a relative file link).
    by_invoice = {r["invoice"]: r["draft"] for r in data["rows"]}
    assert sorted(invoice for invoice, _, _ in seen["links"]) == sorted(by_invoice)
    for invoice, href, label in seen["links"]:
        assert label == "Open draft" and href.startswith("file://")
        target = Path(unquote(urlsplit(href).path))
        assert target == ws / "data" / "drafts" / by_invoice[invoice] and target.is_file()
        assert b"X-Unsent: 1" in target.read_bytes()
    assert 'href="../data/drafts/' in page.read_text(encoding="utf-8")
    # The disputed invoice is left alone, with its amount and the reason.
    [(number, amount, reason)] = seen["alone"]
    assert (number, amount.replace("\u00a0", " "), reason) == (n["client1"], "827.88 EUR", "disputed")
    # Client names and draft texts are text, never markup.
    assert HOSTILE in seen["text"] and seen["active"] == [0, 1, 0]
    assert "Bonjour" in seen["text"] and "Retard de paiement : facture" in seen["text"]


@needs_chromium
def test_a_dry_run_writes_the_page_without_links_and_a_later_run_keeps_the_days_drafts(ws: Path) -> None:
    preview, page = remind_json(ws, "--date", "2027-01-06", "--dry-run")
    seen = browse(page)
    same_numbers(preview["rows"], seen["drafts"])
    assert seen["links"] == [] and "dry run: nothing drafted" in seen["text"]
    assert "not drafted (dry run)" in seen["text"] and not (ws / "data" / "drafts").exists()
    real, _ = remind_json(ws, "--date", "2027-01-06")
    assert len(browse(page)["links"]) == len(real["rows"]) == 4
    # A second run of the day (here a dry run) drafts nothing new: the page still opens the drafts.
    again, _ = remind_json(ws, "--date", "2027-01-06", "--dry-run")
    assert again["rows"] == []
    seen = browse(page)
    assert sorted(i for i, _, _ in seen["links"]) == sorted(r["invoice"] for r in real["rows"])
    assert "by an earlier run today" in seen["text"] and seen["alone"] == []
    printed = run_cli(ws, "remind", "--date", "2027-01-07", "--dry-run")
    assert f"Review page: {ws / 'exports' / 'review-2027-01-07.html'}" in printed.out


def test_imap_urls_follow_rfc_5092() -> None:
    from facturier.config.collections import ImapConfig

    config = ImapConfig(host="mail.example", username="billing@palks.example", password_env="X")
    assert imap_link(config, "Brouillons perso/42") == \
        "imap://billing%40palks.example@mail.example:993/Brouillons%20perso/;UID=42"
    assert imap_link(config, "INBOX/Drafts/<r.1@x>") == "imap://billing%40palks.example@mail.example:993/INBOX/Drafts"
    v6 = ImapConfig(host="::1", port=1143, security="none", username="u", password_env="X")
    assert imap_link(v6, "Entw&APw-rfe/7") == "imap://u@[::1]:1143/Entw%C3%BCrfe/;UID=7"
    assert decode_mutf7("&AMk-cole") == "École" and decode_mutf7("Q&-A") == "Q&A"
    assert decode_mutf7("~peter/mail/&ZeVnLIqe-/&U,BTFw-") == "~peter/mail/日本語/台北"


@pytest.fixture
def dovecot() -> Iterator[Any]:
    from tests.dovecot_server import dovecot_instance

    yield from dovecot_instance(special_use=True)


@needs_chromium
def test_imap_links_open_the_draft_in_the_drafts_mailbox(base: Path, tmp_path: Path, dovecot: Any) -> None:
    from tests.cli.test_remind_imap import ENV, imap_section, read_drafts

    ws = clone(base, tmp_path / "ws")
    configure(ws, imap_section(dovecot))
    data, page = remind_json(ws, "--date", "2027-01-06", env=ENV)
    seen = browse(page)
    same_numbers(data["rows"], seen["drafts"])
    by_uid = {uid: msg for uid, _, msg in read_drafts(dovecot)}
    assert len(seen["links"]) == len(by_uid) == 4
    for invoice, href, _ in seen["links"]:
        url = urlsplit(href)
        assert (url.scheme, url.hostname, url.port, unquote(url.username or "")) == \
            ("imap", "127.0.0.1", dovecot.port, "billing")
        mailbox, uid = re.fullmatch(r"/(.+)/;UID=(\d+)", url.path).groups()  # type: ignore[union-attr]
        assert unquote(mailbox) == "Brouillons perso"  # the mailbox flagged \Drafts, in UTF-8
        assert invoice.split(", ")[0] in str(by_uid[int(uid)]["Subject"])


def test_gmail_links_open_the_draft_itself(tmp_path: Path) -> None:
    pytest.importorskip("googleapiclient")
    from facturier.adapters.drafts.gmail import GmailDrafts
    from facturier.adapters.google.auth import GoogleSession
    from facturier.config import load_workspace
    from facturier.config.google import GMAIL_COMPOSE
    from facturier.ops.collections.remind import remind
    from facturier.ops.collections.review import ReviewSource, draft_link, write_review_page
    from tests.adapters.google.conftest import mock, ok, write_token

    token = write_token(tmp_path / "token.json")
    ws_root = base_workspace(tmp_path, collections=OPEN + 'drafts = "gmail"\n', edit=lambda ws: (
        ws / "facturier.toml").write_text((ws / "facturier.toml").read_text(encoding="utf-8")
                                         + f'\n[google]\ntoken_file = "{token}"\n', encoding="utf-8"))
    ws = load_workspace(ws_root)
    http = mock(ok({"id": "r-1", "message": {"id": "m2", "threadId": "t1"}}))
    store = GmailDrafts(lambda: GoogleSession(token, (GMAIL_COMPOSE,), http).service("gmail", "v1"),
                        sleep=lambda s: None)
    day, review = date(2026, 12, 22), ReviewSource()
    report = remind(ws, day, datetime(2026, 12, 22, 10, tzinfo=ZoneInfo(ws.config.timezone)), store=store,
                    review=review)
    page = write_review_page(ws, report, review, day, dry_run=False)
    [(_, _, body, _)] = http.request_sequence
    raw = json.loads(body)["message"]["raw"]
    draft = email.message_from_bytes(base64.urlsafe_b64decode(raw), policy=email.policy.default)
    [line] = embedded(page)["drafts"]
    assert (line["draft"], line["status"]) == ("r-1", "drafted")
    url = urlsplit(line["link"])
    assert (url.scheme, url.netloc, url.path) == ("https", "mail.google.com", "/mail/")
    # The draft's message, as drafts.create answered it: Gmail opens it in its compose window.
    assert url.fragment == "drafts?compose=m2"
    assert f'href="{line["link"]}"' in page.read_text(encoding="utf-8")
    drafted = [e for e in journal(ws_root) if e["type"] == "reminder.drafted"]
    assert drafted and {e["gmail_message_id"] for e in drafted} == {"m2"}
    # Without Gmail's message id (an entry of an earlier version), the draft is found by its
    # Message-ID, with the query the Gmail store itself uses (drafts.list q=rfc822msgid:).
    fallback = urlsplit(draft_link(ws, "gmail", "r-1", str(draft["Message-ID"])))
    assert unquote(fallback.fragment) == "search/rfc822msgid:" + str(draft["Message-ID"]).strip("<>")


def test_a_page_that_cannot_be_written_is_a_warning_and_the_run_still_reports(ws: Path) -> None:
    (ws / "exports").write_text("not a folder", encoding="utf-8")
    result = run_cli(ws, "remind", "--date", "2027-01-06")
    assert result.code == 0, result.text
    assert "4 of 4 draft(s) made on 2027-01-06." in result.out and "Review page:" not in result.out
    assert "WARNING: the review page was not written:" in result.err and "exports" in result.err
    assert "Traceback" not in result.text


def test_a_page_edited_by_hand_carries_over_only_what_this_module_writes(ws: Path) -> None:
    _, page = remind_json(ws, "--date", "2027-01-06")
    text = page.read_text(encoding="utf-8")
    forged = text.replace('"link": "../data/drafts/', '"link": "javascript:alert(1)//', 1)
    assert forged != text
    page.write_text(forged, encoding="utf-8")
    remind_json(ws, "--date", "2027-01-06", "--dry-run")
    links = [line["link"] for line in embedded(page)["drafts"]]
    assert len(links) == 3 and all(link.startswith("../data/drafts/") for link in links)
    assert "javascript:" not in page.read_text(encoding="utf-8")
    page.write_text("<html>garbage", encoding="utf-8")
    remind_json(ws, "--date", "2027-01-06", "--dry-run")  # an unreadable page is simply replaced
    assert embedded(page)["drafts"] == []


def test_the_page_reuses_what_the_run_rendered_and_read(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale the page cost more than the drafts (bench_remind: 10,000 drafts 3.7 s -> 6.3 s):
    each draft's body was parsed back out of its message, each template's text read and searched
    again for every draft, and the open invoices read from the ledger a second time for the
    invoices left alone. The page is made from what the run already has, and says the same."""
    from email.message import EmailMessage

    from facturier.ops.collections import receivables
    from facturier.render import reminders

    counts = {"receivable": 0, "template text": 0, "get_body": 0}

    def counted(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)
        return call

    class Leftover:
        search = staticmethod(counted("template text", reminders._LEFTOVER.search))

    monkeypatch.setattr(receivables, "_receivable", counted("receivable", receivables._receivable))
    monkeypatch.setattr(reminders, "_LEFTOVER", Leftover())
    monkeypatch.setattr(EmailMessage, "get_body", counted("get_body", EmailMessage.get_body))
    n = numbers_of(ws)
    assert run_cli(ws, "dispute", n["client1"], "--reason", "late", "--date", "2027-01-06").code == 0
    data, page = remind_json(ws, "--date", "2027-01-06")
    drafted = [r for r in data["rows"] if r["status"] == "drafted"]
    assert len(drafted) == 3
    # Each open invoice read once (3 drafted, 1 left alone), each template's text searched once.
    assert counts["receivable"] == 4
    assert counts["template text"] == len({(r["stage"], r["client"] == "Northwind Traders") for r in drafted})
    assert counts["get_body"] == 0
    figures = embedded(page)
    [alone] = figures["left_alone"]
    assert (alone["invoice"], alone["reason"]) == (n["client1"], "disputed")
    # The excerpt is the draft's text as written to the outbox file.
    for line in figures["drafts"]:
        message = email.message_from_bytes((ws / "data" / "drafts" / line["draft"]).read_bytes(),
                                           policy=email.policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        text = [x.rstrip() for x in str(body.get_content()).splitlines() if x.strip()][:4]
        assert line["excerpt"] == "\n".join(text) and line["excerpt"]
