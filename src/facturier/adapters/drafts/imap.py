"""Drafts appended over IMAP to the mailbox flagged \\Drafts (RFC 6154), with imaplib."""

from __future__ import annotations

import base64
import imaplib
import os
import re
import ssl
import time
from collections.abc import Mapping
from contextlib import suppress
from email.message import EmailMessage
from typing import Any

from facturier.adapters.drafts.base import (
    DraftCredentialsError,
    DraftError,
    DraftInterrupted,
    DraftReceipt,
    DraftRefused,
    DraftStore,
    DraftStoreUnavailable,
    message_id_of,
)
from facturier.config.collections import ImapConfig
from facturier.config.mail import env_label

FALLBACK_MAILBOX = "Drafts"
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)')


class ImapDrafts(DraftStore):
    """APPEND with `\\Draft` to the mailbox flagged `\\Drafts` (RFC 6154), found after login."""

    name = "imap"

    def __init__(self, config: ImapConfig, password: str,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.config = config
        self._password = password
        self._ssl_context = ssl_context
        self._conn: imaplib.IMAP4 | None = None
        self.mailbox: str | None = None  # wire form, as sent in commands

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Search the mailbox for the Message-ID first, then APPEND only when it is absent."""
        message_id = message_id_of(draft)
        existing = self.find(message_id)
        if existing is not None:
            return DraftReceipt(existing.store, existing.draft_id, message_id, existing.uid, existing=True)
        conn, mailbox = self._session()
        when = imaplib.Time2Internaldate(time.time())
        try:
            typ, data = conn.append(mailbox, r"(\Draft \Seen)", when, draft.as_bytes())
        except (imaplib.IMAP4.abort, OSError) as exc:
            self._drop()
            raise DraftInterrupted(f"IMAP connection lost while appending the draft: {_describe(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise DraftRefused(f"the IMAP server refused the draft: {_describe(exc)}") from None
        if typ != "OK":
            raise DraftRefused(f"the IMAP server refused the draft: {_text(data)}")
        uid = _appenduid(data)
        return DraftReceipt(self.name, self._draft_id(uid, message_id), message_id, uid)

    def find(self, message_id: str) -> DraftReceipt | None:
        """UID SEARCH HEADER Message-ID in the drafts mailbox; the newest match."""
        conn, _ = self._session()
        try:
            typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", _quote(message_id))
        except (imaplib.IMAP4.error, OSError) as exc:
            self._drop()
            raise DraftStoreUnavailable(f"IMAP search failed: {_describe(exc)}") from None
        uids = [int(uid) for uid in b" ".join(d for d in data if isinstance(d, bytes)).split()]
        if typ != "OK" or not uids:
            return None
        return DraftReceipt(self.name, self._draft_id(uids[-1], message_id), message_id, uids[-1])

    def _draft_id(self, uid: int | None, message_id: str) -> str:
        return f"{_unquote(self.mailbox or FALLBACK_MAILBOX)}/{uid if uid is not None else message_id}"

    def _session(self) -> tuple[imaplib.IMAP4, str]:
        """The logged-in connection with the drafts mailbox selected, opened on first use."""
        if self._conn is None or self.mailbox is None:
            self._connect()
        assert self._conn is not None and self.mailbox is not None
        return self._conn, self.mailbox

    def _connect(self) -> None:
        cfg = self.config
        try:
            conn = self._open()
        except (imaplib.IMAP4.error, OSError) as exc:
            raise DraftStoreUnavailable(f"cannot connect to IMAP {cfg.host}:{cfg.effective_port()}: "
                                        f"{_describe(exc)}") from None
        self._conn = conn
        try:
            self._login_and_select(conn)
        except (imaplib.IMAP4.error, OSError) as exc:
            self._drop()
            raise DraftStoreUnavailable(f"IMAP {cfg.host}: {_describe(exc)}") from None
        except DraftError:
            self._drop()
            raise

    def _open(self) -> imaplib.IMAP4:
        cfg = self.config
        context = self._ssl_context or ssl.create_default_context()
        if cfg.security == "ssl":
            return imaplib.IMAP4_SSL(cfg.host, cfg.effective_port(), ssl_context=context, timeout=cfg.timeout)
        conn = imaplib.IMAP4(cfg.host, cfg.effective_port(), timeout=cfg.timeout)
        if cfg.security == "starttls":
            conn.starttls(ssl_context=context)
        return conn

    def _login_and_select(self, conn: imaplib.IMAP4) -> None:
        try:
            conn.login(self.config.username, self._password)
        except imaplib.IMAP4.error as exc:
            raise DraftStoreUnavailable(f"IMAP login refused for {self.config.username!r}: "
                                        f"{_describe(exc)}") from None
        mailbox = _quote_mailbox(self.config.mailbox) if self.config.mailbox else _drafts_mailbox(conn)
        typ, data = conn.select(mailbox)
        if typ != "OK" and mailbox == FALLBACK_MAILBOX and not self.config.mailbox:
            conn.create(mailbox)  # a server with no drafts folder at all: make the usual one
            typ, data = conn.select(mailbox)
        if typ != "OK":
            raise DraftStoreUnavailable(f"IMAP mailbox {_unquote(mailbox)} cannot be opened: {_text(data)}")
        self.mailbox = mailbox

    def _drop(self) -> None:
        conn, self._conn, self.mailbox = self._conn, None, None
        if conn is not None:
            with suppress(imaplib.IMAP4.error, OSError):
                conn.shutdown()

    def close(self) -> None:
        """LOGOUT politely; a server already gone is not an error at this point."""
        conn, self._conn, self.mailbox = self._conn, None, None
        if conn is None:
            return
        with suppress(imaplib.IMAP4.error, OSError):
            conn.logout()


def _drafts_mailbox(conn: imaplib.IMAP4) -> str:
    """The mailbox flagged \\Drafts: asked with LIST-EXTENDED, else plain LIST, else `Drafts`."""
    for pattern in ('"*" RETURN (SPECIAL-USE)', '"*"'):
        try:
            typ, data = conn.list('""', pattern)
        except imaplib.IMAP4.error:  # BAD: the server does not know RETURN (SPECIAL-USE)
            continue
        if typ == "OK":
            found = _flagged_drafts(data)
            if found is not None:
                return found
    return FALLBACK_MAILBOX


def _flagged_drafts(lines: list[Any]) -> str | None:
    for line in lines:
        head, literal = (line[0], line[1]) if isinstance(line, tuple) else (line, None)
        match = _LIST_LINE.match(head or b"")
        if match is None or b"\\drafts" not in match["flags"].lower().split():
            continue
        name = literal if literal is not None else match["name"]
        text = name.decode("ascii", "replace")
        return _quote(text) if literal is not None else text
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(name: str) -> str:
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


def _quote_mailbox(name: str) -> str:
    """A configured mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + encoded.replace(b"/", b",").decode("ascii") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return _quote("".join(out))


def _appenduid(data: list[Any]) -> int | None:
    """The UID from `[APPENDUID validity uid]` (RFC 4315), when the server gives one."""
    for item in data:
        match = _APPENDUID.search(item or b"")
        if match:
            return int(match.group(1))
    return None


def _text(data: list[Any]) -> str:
    return " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes)) or "no reason given"


def _describe(exc: BaseException) -> str:
    # imaplib errors carry the server's text; they never hold the password.
    return str(exc) or type(exc).__name__


def imap_password(config: ImapConfig, environ: Mapping[str, str] | None = None) -> str:
    """The IMAP password from the environment variable named by password_env."""
    env = os.environ if environ is None else environ
    value = env.get(config.password_env)
    if not value:
        raise DraftCredentialsError(f"[collections.imap] password_env: "
                                    f"{env_label(config.password_env, 'password_env')} is not set")
    return value
