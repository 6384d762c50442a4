"""Draft stores: the outbox read back with the standard library, IMAP against a real Dovecot."""

from __future__ import annotations

import email
import imaplib
import re
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from facturier.adapters.drafts import (
    DRAFT_STORES,
    DraftCredentialsError,
    DraftRefused,
    DraftStoreUnavailable,
    ImapDrafts,
    MemoryDrafts,
    OutboxDrafts,
    iter_outbox,
    open_draft_store,
)
from facturier.config.collections import CollectionsConfig, ImapConfig
from facturier.core.dunning import group_reminders
from facturier.render.reminders import (
    SAMPLE_CREDITOR,
    reminder_email,
    reminder_env,
    render_reminder,
    sample_group,
)
from tests.dovecot_server import PASSWORD, USER, Dovecot, dovecot_instance
from tests.smtp_server import free_port

STAMP = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def draft(number: int = 0, stage: int = 21, language: str = "fr") -> EmailMessage:
    """A real reminder draft for invoice 2026-00(42 + number), as remind would build it."""
    sample = sample_group(language, stage).dues[0]
    due = replace(sample, receivable=replace(sample.receivable, number=f"2026-{42 + number:04d}"))
    group = group_reminders([due])[0]
    rendered = render_reminder(reminder_env(), group, SAMPLE_CREDITOR)
    return reminder_email(rendered, group, sender="Palks Studio <billing@palks.example>", when=STAMP)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


# --- memory -------------------------------------------------------------------------------

def test_memory_store_is_idempotent_and_can_fail() -> None:
    with MemoryDrafts() as store:
        message = draft()
        first = store.create(message)
        assert not first.existing and store.find(first.message_id) == first
        assert store.create(message).existing and len(store.drafts()) == 1
        store.fail_with = DraftStoreUnavailable("down")
        with pytest.raises(DraftStoreUnavailable):
            store.create(draft(1))
        assert store.create(draft(1)).existing is False
    assert store.closed


def test_a_draft_without_message_id_is_refused() -> None:
    message = draft()
    del message["Message-ID"]
    with pytest.raises(DraftRefused, match="no Message-ID"):
        MemoryDrafts().create(message)


# --- outbox -------------------------------------------------------------------------------

def test_outbox_writes_a_draft_mail_clients_open(tmp_path: Path) -> None:
    store = OutboxDrafts(tmp_path / "drafts", clock=lambda: STAMP)
    message = draft()
    receipt = store.create(message)
    assert receipt.draft_id == "20261201T093000-2026-0042-stage21.eml"
    assert (receipt.store, receipt.uid, receipt.message_id) == ("outbox", None, message["Message-ID"])
    data = (tmp_path / "drafts" / receipt.draft_id).read_bytes()
    assert data.startswith(b"X-Unsent: 1\n")
    parsed = parse(data)
    assert parsed.defects == []
    assert parsed["X-Unsent"] == "1" and parsed["To"] == "compta@acme.example"
    assert parsed["Subject"] == message["Subject"] and parsed["In-Reply-To"] == "<invoice-0@palks.example>"
    body = parsed.get_body(("plain",))
    assert body is not None and "2026-0042" in body.get_content()
    assert message["X-Unsent"] is None  # the caller's message is left as it was
    assert [p.name for p, _ in iter_outbox(tmp_path / "drafts")] == [receipt.draft_id]


def test_outbox_never_writes_a_draft_twice_even_in_a_later_run(tmp_path: Path) -> None:
    directory = tmp_path / "drafts"
    message = draft()
    first = OutboxDrafts(directory, clock=lambda: STAMP).create(message)
    later = OutboxDrafts(directory, clock=lambda: datetime(2026, 12, 2, tzinfo=UTC))
    again = later.create(message)
    assert again.existing and again.draft_id == first.draft_id
    assert len(list(directory.glob("*.eml"))) == 1
    assert later.find(str(message["Message-ID"])) is not None and later.find("<nope@x>") is None


def test_outbox_keeps_two_drafts_of_one_ref_in_one_second(tmp_path: Path) -> None:
    directory = tmp_path / "drafts"
    store = OutboxDrafts(directory, clock=lambda: STAMP)
    one, two = draft(), draft()
    assert store.create(one).draft_id == "20261201T093000-2026-0042-stage21.eml"
    second = store.create(two)
    assert second.draft_id == "20261201T093000-2026-0042-stage21-2.eml"
    assert OutboxDrafts(directory, clock=lambda: STAMP).create(two).existing


def test_outbox_groups_durability_when_asked(tmp_path: Path) -> None:
    directory = tmp_path / "drafts"
    with OutboxDrafts(directory, clock=lambda: STAMP, durable=False) as store:
        receipts = [store.create(draft(i)) for i in range(3)]
        store.flush()
        store.flush()  # nothing new: a no-op
    assert sorted(p.name for p in directory.glob("*.eml")) == sorted(r.draft_id for r in receipts)
    assert not list(directory.glob(".*.tmp"))
    MemoryDrafts().flush()  # every store answers flush


def test_outbox_that_cannot_be_written_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "drafts").write_text("a file, not a folder")
    with pytest.raises(DraftStoreUnavailable, match="cannot write"):
        OutboxDrafts(tmp_path / "drafts").create(draft())


# --- registry -----------------------------------------------------------------------------

def imap_config(port: int, **changes: object) -> ImapConfig:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "username": USER,
              "password_env": "FACTURIER_IMAP_PASSWORD", **changes}
    return ImapConfig.model_validate(values)


def test_registry_opens_the_configured_store(tmp_path: Path) -> None:
    assert sorted(DRAFT_STORES) == ["gmail", "imap", "outbox"]
    outbox = open_draft_store(CollectionsConfig(), tmp_path, environ={})
    assert isinstance(outbox, OutboxDrafts) and outbox.directory == tmp_path / "data" / "drafts"
    imap = CollectionsConfig.model_validate({"drafts": "imap", "imap": imap_config(1).model_dump()})
    with pytest.raises(DraftCredentialsError, match="FACTURIER_IMAP_PASSWORD is not set"):
        open_draft_store(imap, tmp_path, environ={})
    assert isinstance(open_draft_store(imap, tmp_path, environ={"FACTURIER_IMAP_PASSWORD": "x"}), ImapDrafts)
    from facturier.adapters.drafts.gmail import GmailDrafts

    assert isinstance(open_draft_store(CollectionsConfig(drafts="gmail"), tmp_path, environ={}), GmailDrafts)


# --- IMAP against Dovecot -----------------------------------------------------------------

@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the module; its drafts folder flagged \\Drafts is "Brouillons perso"."""
    yield from dovecot_instance(special_use=True)


@pytest.fixture
def imap(dovecot: Dovecot) -> Iterator[Dovecot]:
    """The module's Dovecot with every mailbox emptied before the test."""
    conn = dovecot.client()
    for mailbox in ('"Brouillons perso"', "INBOX", "Drafts"):
        typ, count = conn.select(mailbox)
        if typ == "OK" and count[0] != b"0":
            conn.store("1:*", "+FLAGS", "(\\Deleted)")
            conn.expunge()
    conn.logout()
    yield dovecot


def read_mailbox(server: Dovecot, mailbox: str) -> list[tuple[int, str, EmailMessage]]:
    """(UID, flags, message) of every message in a mailbox, read over IMAP."""
    conn = server.client()
    try:
        typ, _ = conn.select(mailbox, readonly=True)
        assert typ == "OK", mailbox
        _, data = conn.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        found = []
        for item in data:
            if isinstance(item, tuple):
                head = item[0].decode()
                uid = int(re.search(r"UID (\d+)", head).group(1))  # type: ignore[union-attr]
                flags = re.search(r"FLAGS \(([^)]*)\)", head).group(1)  # type: ignore[union-attr]
                found.append((uid, flags, parse(item[1])))
        return found
    finally:
        conn.logout()


def test_imap_draft_lands_in_the_special_use_drafts_mailbox(imap: Dovecot) -> None:
    message = draft(language="en", stage=28)
    with ImapDrafts(imap_config(imap.port), PASSWORD) as store:
        receipt = store.create(message)
    assert receipt.store == "imap" and receipt.uid is not None
    assert receipt.draft_id == f"Brouillons perso/{receipt.uid}"
    [(uid, flags, stored)] = read_mailbox(imap, '"Brouillons perso"')
    assert uid == receipt.uid and "\\Draft" in flags.split()
    assert stored["Message-ID"] == message["Message-ID"] and stored["Subject"] == message["Subject"]
    assert stored["In-Reply-To"] == "<invoice-0@palks.example>"
    body = stored.get_body(("plain",))
    assert body is not None and "Action needed" not in body.get_content()  # the subject, not the body
    assert "is still outstanding:" in body.get_content()
    assert read_mailbox(imap, "INBOX") == []


def test_imap_never_appends_a_message_id_twice(imap: Dovecot) -> None:
    message = draft()
    with ImapDrafts(imap_config(imap.port), PASSWORD) as store:
        first = store.create(message)
        again = store.create(message)
    with ImapDrafts(imap_config(imap.port), PASSWORD) as later:  # the next run, after a lost answer
        found = later.find(str(message["Message-ID"]))
        retried = later.create(message)
    assert again.existing and retried.existing and found is not None
    assert first.uid == again.uid == retried.uid == found.uid
    assert len(read_mailbox(imap, '"Brouillons perso"')) == 1


def test_a_configured_mailbox_wins(imap: Dovecot) -> None:
    with ImapDrafts(imap_config(imap.port, mailbox="INBOX"), PASSWORD) as store:
        receipt = store.create(draft())
    assert receipt.draft_id.startswith("INBOX/")
    assert len(read_mailbox(imap, "INBOX")) == 1


def test_a_wrong_password_or_no_server_is_unavailable(imap: Dovecot) -> None:
    with pytest.raises(DraftStoreUnavailable, match="login refused for 'billing'"):
        ImapDrafts(imap_config(imap.port), "wrong").create(draft())
    with pytest.raises(DraftStoreUnavailable, match="cannot connect to IMAP 127.0.0.1"):
        ImapDrafts(imap_config(free_port()), PASSWORD).create(draft())


def test_without_special_use_the_drafts_folder_is_drafts() -> None:
    for server in dovecot_instance(special_use=False):
        with ImapDrafts(imap_config(server.port), PASSWORD) as store:
            receipt = store.create(draft())
        assert receipt.draft_id.startswith("Drafts/")
        [(_, flags, _)] = read_mailbox(server, "Drafts")
        assert "\\Draft" in flags.split()


def test_a_server_dying_mid_run_stores_nothing_more_and_the_next_run_completes() -> None:
    for server in dovecot_instance():
        one, two = draft(0), draft(1)
        store = ImapDrafts(imap_config(server.port), PASSWORD)
        store.create(one)
        server.stop()
        with pytest.raises(DraftStoreUnavailable):
            store.create(two)
        store.close()  # the connection is gone: closing is still quiet
        server.restart()
        with ImapDrafts(imap_config(server.port), PASSWORD) as retry:
            assert retry.create(one).existing  # drafted before the crash: not appended again
            assert not retry.create(two).existing
        ids = sorted(str(m["Message-ID"]) for _, _, m in read_mailbox(server, '"Brouillons perso"'))
        assert ids == sorted([str(one["Message-ID"]), str(two["Message-ID"])])


def test_a_dead_socket_is_translated_and_the_next_draft_reconnects(imap: Dovecot) -> None:
    store = ImapDrafts(imap_config(imap.port), PASSWORD)
    store.create(draft())
    assert store._conn is not None
    store._conn.shutdown()  # the socket dies under the store's feet
    with pytest.raises(DraftStoreUnavailable) as raised:  # never imaplib.IMAP4.abort or OSError
        store.create(draft(1))
    assert not isinstance(raised.value, (imaplib.IMAP4.error, OSError))
    assert not store.create(draft(1)).existing  # a new connection, opened on demand
    store.close()
    assert len(read_mailbox(imap, '"Brouillons perso"')) == 2


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_over_tls_verifies_the_certificate(security: str) -> None:
    for server in dovecot_instance(tls=True):
        assert server.cert is not None
        port = server.imaps_port if security == "ssl" else server.port
        config = imap_config(port, security=security)
        trusted = ssl.create_default_context(cafile=str(server.cert))
        with ImapDrafts(config, PASSWORD, ssl_context=trusted) as store:
            assert store.create(draft()).uid is not None
        with pytest.raises(DraftStoreUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            ImapDrafts(config, PASSWORD).create(draft(1))  # the system's CAs do not know it
        assert len(read_mailbox(server, '"Brouillons perso"')) == 1
