"""Mail transports behind one base class: `MailTransport.send(message) -> Message-ID`.

`OutboxMailer` writes each message as an RFC 5322 `.eml` file (the default: works with no
server); `SmtpMailer` hands it to an SMTP server over one reused connection; `GmailMailer`
(adapters/google/gmail.py) calls the Gmail API's `messages.send`; `MemoryMailer` keeps
messages in memory for in-process tests. `TRANSPORTS` maps `[mail] transport` to the
transport, an explicit registry that `open_mailer` reads.

The error tree, one base the callers catch (foreign errors are translated at the edge):

    MailError                   the message was not accepted: never journalled as sent
    ├── MailRefused             this message was refused; the transport is still usable
    └── MailConnectionError     cannot connect or log in, or the connection dropped:
                                stop this run, the next allowed run retries
    PasswordError               the transport's secret is missing or unsafe (before any send)
"""

from __future__ import annotations

import os
import smtplib
import ssl
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from facturier.config.google import GoogleConfig
from facturier.config.mail import MailConfig, SmtpConfig, env_label
from facturier.core.errors import FacturierError
from facturier.core.text import file_safe_ref
from facturier.store.files import atomic_write
from facturier.store.paths import WorkspacePaths

# A header naming what a message is about (invoice number, batch month, "alerts"); it names
# outbox files and lets a human trace a message back to the journal.
REF_HEADER = "X-Facturier-Ref"


class MailError(FacturierError):
    """A message was not accepted by the transport."""


class MailRefused(MailError):
    """The server refused this message; the connection is still usable for the next one."""


class MailConnectionError(MailError):
    """The server could not be reached, refused the login, or dropped the connection."""


class PasswordError(FacturierError):
    """The SMTP password source is missing or unsafe."""


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """A message the transport accepted: its Message-ID, and what the transport adds to the
    delivery's journal entry (Gmail: `gmail_message_id`, `gmail_thread_id`, `gmail_subject`,
    each when not empty: the fields `store.events.DeliveryEvent` declares for them)."""

    message_id: str
    journal_fields: dict[str, str] = field(default_factory=dict)


class MailTransport(ABC):
    """Hands a message over to the outside world; the contract every transport keeps:

    - `send` returns the Message-ID only once the transport accepted the message (the file
      is in place, the SMTP server said 250, Gmail answered with a message id); any other
      outcome raises a `MailError` subclass, so the caller never journals a send that did
      not happen. `MailRefused` concerns this message only; `MailConnectionError` means the
      transport is gone for this run.
    - `send_receipt` is `send` plus what the transport wants journalled with the delivery.
    - The connection opens on the first message and is reused; `close` (or leaving a
      `with` block) releases it and never raises for a server already gone.
    - Messages are not modified, except for a Message-ID added when missing.
    """

    name: ClassVar[str]

    @abstractmethod
    def send(self, message: EmailMessage) -> str:
        """Hand one message over; its Message-ID once accepted."""

    def send_receipt(self, message: EmailMessage) -> SendReceipt:
        """Hand one message over; its Message-ID and the extra journal fields."""
        return SendReceipt(self.send(message))

    def close(self) -> None:
        """Release the connection (nothing to do for most transports)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def message_id_of(message: EmailMessage) -> str:
    """The message's Message-ID, added (with the sender's domain) when missing."""
    if message["Message-ID"] is None:
        domain = str(message["From"] or "localhost").rsplit("@", 1)[-1].strip(">").strip()
        message["Message-ID"] = make_msgid(domain=domain or "localhost")
    return str(message["Message-ID"])


class OutboxMailer(MailTransport):
    """Writes `data/outbox/<YYYYMMDDTHHMMSS>-<ref>.eml`, openable in any mail client."""

    name = "outbox"

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def send(self, message: EmailMessage) -> str:
        """Write the message atomically (never a torn .eml); the file is the acceptance."""
        message_id = message_id_of(message)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        ref = file_safe_ref(str(message[REF_HEADER] or "message"))
        path = self.outbox / f"{stamp}-{ref}.eml"
        counter = 1
        while path.exists():  # a retry within the same second keeps both files
            counter += 1
            path = self.outbox / f"{stamp}-{ref}-{counter}.eml"
        try:
            atomic_write(path, message.as_bytes())
        except OSError as exc:
            # Written atomically: nothing is in the outbox, so the message was surely not
            # accepted (a failed send, retried by the next run), never an unknown outcome.
            raise MailConnectionError(f"the outbox {self.outbox} cannot be written: "
                                      f"{exc.strerror or exc}") from None
        return message_id



class MemoryMailer(MailTransport):
    """Messages kept in memory, for in-process tests; `fail_with` makes the next send fail."""

    name = "memory"

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_with: MailError | None = None
        self.closed = False

    def send(self, message: EmailMessage) -> str:
        """Keep the message (or raise the failure set for this one)."""
        message_id = message_id_of(message)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        self.sent.append(message)
        return message_id

    def close(self) -> None:
        self.closed = True


class SmtpMailer(MailTransport):
    """One SMTP connection per run, opened on the first message and reused after it."""

    name = "smtp"

    def __init__(self, config: SmtpConfig, password: str | None) -> None:
        self.config = config
        self._password = password
        self._conn: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> str:
        """Send one message; MailRefused leaves the connection open, MailConnectionError drops it."""
        message_id = message_id_of(message)
        conn = self._conn or self._connect()
        try:
            refused = conn.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise MailRefused(f"the SMTP server refused the message: {_describe(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailConnectionError(f"SMTP connection lost: {_describe(exc)}") from None
        if refused:
            # The others (often only the Bcc archive) got it, but a client recipient did not:
            # report it unsent so it is retried, accepting a duplicate for the others.
            raise MailRefused(f"the SMTP server refused {_describe(smtplib.SMTPRecipientsRefused(refused))}; "
                              "the other recipients did receive it")
        return message_id

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            conn = self._open(cfg)
            if cfg.username:
                conn.login(cfg.username, self._password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise MailConnectionError(f"SMTP login refused for {cfg.username!r}: {_describe(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailConnectionError(f"cannot connect to {cfg.host}:{cfg.port}: {_describe(exc)}") from None
        self._conn = conn
        return conn

    @staticmethod
    def _open(cfg: SmtpConfig) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        if cfg.security == "starttls":
            conn.starttls(context=context)
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """QUIT politely; a server already gone is not an error at this point."""
        if self._conn is None:
            return
        with suppress(smtplib.SMTPException, OSError):
            self._conn.quit()
        self._drop()


def _describe(exc: BaseException) -> str:
    # smtplib errors carry (code, bytes); never include credentials, which they do not hold.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {msg.decode(errors='replace')}"
                         for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def read_password(config: SmtpConfig, root: Path, environ: dict[str, str] | None = None) -> str | None:
    """The SMTP password from the named environment variable or an owner-only file; else refuse."""
    env = os.environ if environ is None else environ
    if config.password_env:
        value = env.get(config.password_env)
        if not value:
            raise PasswordError(f"[mail.smtp] password_env: {env_label(config.password_env, 'password_env')} "
                                "is not set")
        return value
    if config.password_file:
        return _password_from_file((root / os.path.expanduser(config.password_file)).resolve())
    return None


def _password_from_file(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        raise PasswordError(f"[mail.smtp] password_file: {path} cannot be read") from None
    if info.st_uid != os.getuid():
        raise PasswordError(f"[mail.smtp] password_file: {path} is not owned by the current user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise PasswordError(f"[mail.smtp] password_file: {path} is readable by others "
                            f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}")
    return path.read_text(encoding="utf-8").strip()


TransportFactory = Callable[[MailConfig, Path, GoogleConfig], MailTransport]


def _open_outbox(mail: MailConfig, root: Path, google: GoogleConfig) -> MailTransport:
    return OutboxMailer(WorkspacePaths(root).outbox)


def _open_smtp(mail: MailConfig, root: Path, google: GoogleConfig) -> MailTransport:
    if mail.smtp is None:  # validation makes this unreachable; say so rather than crash
        raise MailConnectionError('[mail] transport = "smtp" needs a [mail.smtp] table with host')
    return SmtpMailer(mail.smtp, read_password(mail.smtp, root))


def _open_gmail(mail: MailConfig, root: Path, google: GoogleConfig) -> MailTransport:
    from facturier.adapters.google.gmail import open_gmail_mailer  # only when Gmail is used

    return open_gmail_mailer(root, google)


# `[mail] transport` -> the transport; an explicit list, never filled by an import's side effect.
# "memory" is for tests that build the configuration in code (the TOML accepts the others).
TRANSPORTS: dict[str, TransportFactory] = {
    "outbox": _open_outbox,
    "smtp": _open_smtp,
    "gmail": _open_gmail,
    "memory": lambda mail, root, google: MemoryMailer(),
}


def open_mailer(mail: MailConfig, root: Path, google: GoogleConfig | None = None,
                transports: dict[str, TransportFactory] | None = None) -> MailTransport:
    """The transport chosen by `[mail] transport`; secrets are read now, connections made later."""
    registry = TRANSPORTS if transports is None else transports
    factory = registry.get(mail.transport)
    if factory is None:
        raise MailConnectionError(f"[mail] transport = {mail.transport!r} is not a mail transport "
                                  f"({', '.join(sorted(registry))})")
    return factory(mail, root, google if google is not None else GoogleConfig())
