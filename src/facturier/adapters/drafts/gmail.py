"""Drafts created with the Gmail API (`users.drafts.create`, scope gmail.compose).

The draft is the reminder as a raw RFC 5322 message. It threads under the invoice email:
`In-Reply-To`/`References` are already set by the composer; when the invoice was sent
through Gmail (`[mail] transport = "gmail"` journalled its thread id), the draft also
carries that `threadId`, and, since Gmail adds a message to a thread only when the
subjects match, its subject becomes `Re: <the invoice email's subject>`; the body stays as
the stage's template wrote it.

Idempotency: before creating again after a failed attempt (429, rate-limit 403, 5xx, a
dropped connection), the store looks for a draft with the reminder's Message-ID
(`drafts.list` with `q=rfc822msgid:<id>`): a create whose answer was lost is never
repeated, so one reminder never leaves two drafts. Other 4xx are never retried.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

from facturier.adapters.drafts.base import (
    DraftReceipt,
    DraftRefused,
    DraftStore,
    DraftStoreUnavailable,
    message_id_of,
)
from facturier.adapters.google.api import Sleep, call
from facturier.adapters.google.errors import (
    GoogleApiError,
    GoogleAuthError,
    GoogleError,
    GooglePermissionError,
)
from facturier.adapters.google.gmail import raw_message

_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|tr|aw)\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class GmailThread:
    """The Gmail conversation of a sent invoice email: its thread id and its subject."""

    thread_id: str
    subject: str = ""


ThreadLookup = Callable[[str], GmailThread | None]


def same_subject(a: str, b: str) -> bool:
    """Gmail's rule, as far as it is documented: equal once reply prefixes are set aside."""
    def bare(text: str) -> str:
        return " ".join(_REPLY_PREFIX.sub("", text).split()).casefold()
    return bare(a) == bare(b)


def threaded_copy(draft: EmailMessage, thread: GmailThread) -> EmailMessage:
    """The draft with a subject Gmail accepts in that thread (`Re: <subject>`), else itself."""
    subject = str(draft["Subject"] or "")
    if not thread.subject or same_subject(subject, thread.subject):
        return draft
    threaded = copy.deepcopy(draft)
    del threaded["Subject"]
    threaded["Subject"] = f"Re: {_REPLY_PREFIX.sub('', thread.subject).strip()}"
    return threaded


class GmailDrafts(DraftStore):
    """`users.drafts.create` in the signed-in account; the client is built on first use."""

    name = "gmail"

    def __init__(self, service: Callable[[], Any], threads: ThreadLookup | None = None,
                 sleep: Sleep = time.sleep) -> None:
        self._make_service = service
        self._service: Any = None
        self._threads = threads or (lambda message_id: None)
        self._sleep = sleep

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Create the draft, threaded; a retry looks the draft up by Message-ID first."""
        message_id = message_id_of(draft)
        body = self._body(draft)
        try:
            request = self._gmail().users().drafts().create(userId="me", body=body)
            answer = call(request, what="Gmail drafts.create", sleep=self._sleep, repeatable=True,
                          before_retry=lambda: self._find(message_id))
        except GoogleError as exc:
            raise _translated(exc) from None
        if isinstance(answer, DraftReceipt):
            return replace(answer, message_id=message_id, existing=True)
        return DraftReceipt(self.name, str(answer.get("id", "")), message_id,
                            gmail_message_id=_message_of(answer))

    def _body(self, draft: EmailMessage) -> dict[str, Any]:
        parent = str(draft["In-Reply-To"] or "").strip()
        thread = self._threads(parent) if parent else None
        if thread is None:
            return {"message": {"raw": raw_message(draft)}}
        return {"message": {"raw": raw_message(threaded_copy(draft, thread)), "threadId": thread.thread_id}}

    def find(self, message_id: str) -> DraftReceipt | None:
        """The draft with this Message-ID (`drafts.list`, `q=rfc822msgid:`), if any."""
        try:
            return self._find(message_id)
        except GoogleError as exc:
            raise _translated(exc) from None

    def _find(self, message_id: str) -> DraftReceipt | None:
        query = f"rfc822msgid:{message_id.strip().strip('<>')}"
        request = self._gmail().users().drafts().list(userId="me", q=query, maxResults=10)
        answer = call(request, what="Gmail drafts.list", sleep=self._sleep, repeatable=True)
        drafts = answer.get("drafts") or []
        if not drafts:
            return None
        return DraftReceipt(self.name, str(drafts[0].get("id", "")), message_id,
                            gmail_message_id=_message_of(drafts[0]))

    def _gmail(self) -> Any:
        if self._service is None:
            self._service = self._make_service()
        return self._service


def _translated(exc: GoogleError) -> Exception:
    """Gmail's errors as the draft store tree: nothing stored, retried on the next run."""
    if isinstance(exc, (GoogleAuthError, GooglePermissionError)) or not isinstance(exc, GoogleApiError):
        return DraftStoreUnavailable(str(exc))
    return DraftRefused(str(exc))


def _message_of(draft: Any) -> str:
    """The id of a draft resource's message (`{"id": ..., "message": {"id": ...}}`), or ""."""
    message = draft.get("message") if isinstance(draft, dict) else None
    return str(message.get("id", "")) if isinstance(message, dict) else ""
