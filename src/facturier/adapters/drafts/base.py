"""The draft store boundary: one base class stating the contract, one exception tree."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import ClassVar, Self

from facturier.core.errors import FacturierError

REF_HEADER = "X-Facturier-Ref"  # the same header as adapters.mail.REF_HEADER


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
    after an answer was lost), so nothing new was stored. `gmail_message_id` is the id Gmail
    gives the draft's message (`drafts.create` and `drafts.list` answer it): the review page's
    link opens the draft itself with it.
    """

    store: str
    draft_id: str
    message_id: str
    uid: int | None = None
    existing: bool = False
    gmail_message_id: str = ""  # Gmail: the draft's message, which Gmail's web page opens


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


def raw_header(draft: EmailMessage, name: str) -> str | None:
    """A header's value as stored, without parsing it (fetching a header through the email
    policy parses it anew each time: a tenth of the cost of a draft, for an id we wrote)."""
    wanted = name.lower()
    for key, value in draft.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def message_id_of(draft: EmailMessage) -> str:
    """The draft's Message-ID; a draft without one cannot be found again, so it is refused."""
    message_id = raw_header(draft, "Message-ID")
    if not message_id or not message_id.strip():
        raise DraftRefused("the draft has no Message-ID: it could not be found again after a crash")
    return str(message_id).strip()
