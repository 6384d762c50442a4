"""Draft stores behind one small interface: `DraftStore.create(draft) -> DraftReceipt`.

Reminders are never sent by Facturier: they are handed to a draft store, where a human
reviews and sends them. `OutboxDrafts` writes `data/drafts/<timestamp>-<ref>.eml` files with
`X-Unsent: 1` (Thunderbird and Outlook open them as drafts), `ImapDrafts` appends them to the
mailbox's Drafts folder with the `\\Draft` flag, `MemoryDrafts` keeps them in memory for
tests. `DRAFT_STORES` maps `[collections] drafts` to the store; Gmail comes later.

Foreign errors (OSError, imaplib's) are translated here, at the edge, into the tree below,
so callers catch `DraftError` only:

    DraftError
    ├── DraftRefused            the store said no to this draft; the next one may still go
    ├── DraftStoreUnavailable   cannot connect, log in or open the mailbox: nothing stored
    │   └── DraftInterrupted    the connection dropped while a draft was in flight
    ├── DraftCredentialsError   the password's environment variable is not set
    └── DraftStoreUnsupported   a store named in the configuration that does not exist yet
"""

from __future__ import annotations

import base64
import imaplib
import os
import re
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from facturier.config.collections import CollectionsConfig, ImapConfig
from facturier.core.errors import FacturierError
from facturier.store.files import atomic_write, fsync_dir

REF_HEADER = "X-Facturier-Ref"  # the same header as adapters.mail.REF_HEADER
FALLBACK_MAILBOX = "Drafts"
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_LIST_LINE = re.compile(rb'\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)')


class DraftError(FacturierError):
    """A draft was not (or not surely) stored."""


class DraftRefused(DraftError):
    """The store refused this draft; the connection is still usable for the next one."""


class DraftStoreUnavailable(DraftError):
    """The store cannot be reached, refused the login, or has no drafts mailbox: nothing stored."""


class DraftInterrupted(DraftStoreUnavailable):
    """The connection dropped while a draft was handed over: it may or may not be stored."""


class DraftCredentialsError(DraftError):
    """The store's password is missing."""


class DraftStoreUnsupported(DraftError):
    """The configuration names a draft store that is not available (yet)."""


@dataclass(frozen=True, slots=True)
class DraftReceipt:
    """Where a draft is: the store, its id there, its Message-ID, and its IMAP UID if any.

    `existing` is True when the store already held a draft with that Message-ID (a retry
    after an answer was lost), so nothing new was stored.
    """

    store: str
    draft_id: str
    message_id: str
    uid: int | None = None
    existing: bool = False


class DraftStore(ABC):
    """Hands a reminder over to where a human will review and send it.

    The contract, the same for every store (the model of invoice sending):

    - **In flight.** The caller journals `reminder.drafting` (invoice, stage, store,
      Message-ID) *before* calling `create`. From then until `create` returns, the draft is
      in flight. A crash there leaves the entry without its `reminder.drafted`: the next run
      never redoes it on its own; it reports it, and the user settles it (`--confirm` when
      `find(message_id)` shows it landed, `--retry` otherwise).
    - **Completed.** `create` returned a `DraftReceipt`: the draft is stored. The caller then
      journals `reminder.drafted` with the receipt (store, draft id, Message-ID, UID).
    - **Failed.** `create` raised `DraftRefused` or `DraftStoreUnavailable`: nothing was
      stored; the caller raises an alert, journals nothing as drafted, and the next run
      retries. `DraftInterrupted` (the connection dropped mid-hand-over) is the one case
      where the outcome is unknown; it is settled like an in-flight draft.
    - **Idempotent.** Every draft carries its Message-ID, and `create` never stores a second
      draft with a Message-ID the store already holds: it returns that one's receipt with
      `existing = True`, so a retry after a lost answer never leaves two drafts.

    - **Grouped durability.** A store may defer durability to `flush()` (the outbox with
      `durable=False`: one `os.sync()` for a group instead of two fsyncs per file). Then a
      draft counts as completed only once `flush()` returned: journal `reminder.drafted`
      for the group after it. Stores that are durable on every `create` flush for free.

    Stores open their connection on first use and reuse it; `close` (or leaving a `with`
    block) releases it. Messages are never modified: stores add their own headers to the
    bytes they write.
    """

    name: ClassVar[str]

    @abstractmethod
    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Store one draft (it must have a Message-ID) and say where it is."""

    @abstractmethod
    def find(self, message_id: str) -> DraftReceipt | None:
        """The draft with this Message-ID if the store holds it: settles an in-flight draft."""

    def flush(self) -> None:
        """Make every draft created so far durable (nothing to do for most stores)."""

    def close(self) -> None:
        """Release the connection; a store already gone is not an error at this point."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def message_id_of(draft: EmailMessage) -> str:
    """The draft's Message-ID; a draft without one cannot be found again, so it is refused."""
    message_id = draft["Message-ID"]
    if not message_id:
        raise DraftRefused("the draft has no Message-ID: it could not be found again after a crash")
    return str(message_id).strip()


class MemoryDrafts(DraftStore):
    """Drafts kept in memory, for tests of the use cases; `fail_with` makes the next create fail."""

    name = "memory"

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.fail_with: DraftError | None = None
        self.closed = False

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Keep the draft's bytes under its Message-ID."""
        message_id = message_id_of(draft)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        existing = message_id in self.stored
        self.stored.setdefault(message_id, draft.as_bytes())
        return DraftReceipt(self.name, message_id, message_id, existing=existing)

    def find(self, message_id: str) -> DraftReceipt | None:
        """The receipt of a stored draft."""
        return DraftReceipt(self.name, message_id, message_id) if message_id in self.stored else None

    def drafts(self) -> list[EmailMessage]:
        """Every stored draft, parsed back, in the order stored."""
        return [_parse(data) for data in self.stored.values()]

    def close(self) -> None:
        self.closed = True


def _parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class OutboxDrafts(DraftStore):
    """`<directory>/<YYYYMMDDTHHMMSS>-<ref>.eml` with `X-Unsent: 1`, written atomically.

    With `durable=False`, files are renamed into place without their own fsyncs and `flush()`
    makes the whole group durable at once (like the ledger's `commit_group`).
    """

    name = "outbox"

    def __init__(self, directory: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 durable: bool = True) -> None:
        self.directory = directory
        self._clock = clock
        self._durable = durable
        self._unflushed = False
        self._by_ref: dict[str, list[Path]] | None = None

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Write the draft; the file appearing (atomic rename) is the hand-over."""
        message_id = message_id_of(draft)
        ref = _safe_name(str(draft[REF_HEADER] or "draft"))
        for path in self._refs().get(ref, []):
            if _file_message_id(path) == message_id:
                return DraftReceipt(self.name, path.name, message_id, existing=True)
        path = self._free_path(ref)
        try:
            # X-Unsent: 1 makes Outlook and Thunderbird open the file as an editable draft.
            atomic_write(path, b"X-Unsent: 1\n" + draft.as_bytes(), durable=self._durable)
        except OSError as exc:
            raise DraftStoreUnavailable(f"cannot write {path}: {exc.strerror or exc}") from None
        self._unflushed = not self._durable
        self._refs().setdefault(ref, []).append(path)
        return DraftReceipt(self.name, path.name, message_id)

    def flush(self) -> None:
        """One os.sync() and one folder fsync for every draft written since the last flush."""
        if not self._unflushed:
            return
        try:
            os.sync()
            fsync_dir(self.directory)
        except OSError as exc:
            raise DraftStoreUnavailable(f"cannot make {self.directory} durable: {exc.strerror or exc}") from None
        self._unflushed = False

    def find(self, message_id: str) -> DraftReceipt | None:
        """Scan every draft file's headers (only used to settle an in-flight draft)."""
        for paths in self._refs().values():
            for path in paths:
                if _file_message_id(path) == message_id:
                    return DraftReceipt(self.name, path.name, message_id)
        return None

    def _refs(self) -> dict[str, list[Path]]:
        """Draft files by ref, listed once per store (a run adds to it as it writes)."""
        if self._by_ref is None:
            self._by_ref = {}
            if self.directory.is_dir():
                for path in sorted(self.directory.glob("*.eml")):
                    for ref in _refs_of(path.name):
                        self._by_ref.setdefault(ref, []).append(path)
        return self._by_ref

    def _free_path(self, ref: str) -> Path:
        stamp = self._clock().strftime("%Y%m%dT%H%M%S")
        path, counter = self.directory / f"{stamp}-{ref}.eml", 1
        while path.exists():  # two drafts of one ref within a second keep both files
            counter += 1
            path = self.directory / f"{stamp}-{ref}-{counter}.eml"
        return path


def _safe_name(ref: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in ref)


def _refs_of(filename: str) -> set[str]:
    """The refs a draft file may have been written for: `<stamp>-<ref>.eml` or, for a second
    file in the same second, `<stamp>-<ref>-<n>.eml` (so both `x-2` and `x` are candidates)."""
    ref = filename.removesuffix(".eml").partition("-")[2]
    return {ref, re.sub(r"-\d+$", "", ref)}


def _file_message_id(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
    except OSError:
        return None
    value = headers["Message-ID"]
    return str(value).strip() if value else None


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
            try:
                conn.shutdown()
            except (imaplib.IMAP4.error, OSError):
                pass

    def close(self) -> None:
        """LOGOUT politely; a server already gone is not an error at this point."""
        conn, self._conn, self.mailbox = self._conn, None, None
        if conn is None:
            return
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


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
        raise DraftCredentialsError(f"[collections.imap] password_env: the environment variable "
                                    f"{config.password_env} is not set")
    return value


DraftStoreFactory = Callable[[CollectionsConfig, Path, Mapping[str, str]], DraftStore]


def _open_outbox(collections: CollectionsConfig, root: Path, environ: Mapping[str, str]) -> DraftStore:
    return OutboxDrafts(root / "data" / "drafts")


def _open_imap(collections: CollectionsConfig, root: Path, environ: Mapping[str, str]) -> DraftStore:
    if collections.imap is None:  # validation makes this unreachable; say so rather than crash
        raise DraftStoreUnavailable('[collections] drafts = "imap" needs a [collections.imap] table')
    return ImapDrafts(collections.imap, imap_password(collections.imap, environ))


def _open_gmail(collections: CollectionsConfig, root: Path, environ: Mapping[str, str]) -> DraftStore:
    raise DraftStoreUnsupported('[collections] drafts = "gmail" is not available yet; use "outbox" '
                                'or "imap" (Gmail serves IMAP too: host = "imap.gmail.com")')


# `[collections] drafts` -> the store; an explicit list, never filled by an import's side effect.
DRAFT_STORES: dict[str, DraftStoreFactory] = {
    "outbox": _open_outbox,
    "imap": _open_imap,
    "gmail": _open_gmail,
}


def open_draft_store(collections: CollectionsConfig, root: Path,
                     environ: Mapping[str, str] | None = None) -> DraftStore:
    """The store `[collections] drafts` names; IMAP reads its password now and connects later."""
    factory = DRAFT_STORES.get(collections.drafts)
    if factory is None:
        raise DraftStoreUnsupported(f"[collections] drafts = {collections.drafts!r} is not a draft store")
    return factory(collections, root, os.environ if environ is None else environ)


def iter_outbox(directory: Path) -> Iterator[tuple[Path, EmailMessage]]:
    """Every draft file of an outbox, parsed (for reviews and tests)."""
    for path in sorted(directory.glob("*.eml")):
        yield path, _parse(path.read_bytes())
