"""`[mail] transport = "gmail"`: invoice emails sent with the Gmail API's `messages.send`.

The message goes as a raw RFC 5322 message (base64url), exactly the bytes the SMTP
transport would send, from the account that `facturier auth google` signed in with. Gmail
answers with its message and thread ids; they are journalled with the delivery
(`gmail_message_id`, `gmail_thread_id`, and `gmail_subject` since Gmail threads a reply
only when its subject matches), so reminders drafted later go into the same conversation.

A message over 4 MiB (a batch ZIP attached) goes as a media upload (`message/rfc822`,
multipart), since a JSON `raw` body is limited to a few megabytes; Gmail's own limit is 35 MB.

Retries: 429 and rate-limit 403 only (the request was refused, nothing was sent). A 5xx
or a dropped connection leaves the outcome unknown: it is a `MailConnectionError` like a
dropped SMTP connection, never resent within the run.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from facturier.adapters.google.api import Sleep, call
from facturier.adapters.google.errors import GoogleApiError, GoogleError
from facturier.adapters.mail import (
    MailConnectionError,
    MailRefused,
    MailTransport,
    SendReceipt,
    message_id_of,
)

RAW_LIMIT = 4 * 1024 * 1024


def raw_message(message: EmailMessage) -> str:
    """The message as Gmail's `raw` field: base64url of its RFC 5322 bytes."""
    return base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")


class GmailMailer(MailTransport):
    """Sends through `users.messages.send`; the API client is built on the first message."""

    name = "gmail"

    def __init__(self, service: Callable[[], Any], sleep: Sleep = time.sleep) -> None:
        self._make_service = service
        self._service: Any = None
        self._sleep = sleep

    def send(self, message: EmailMessage) -> str:
        """Send one message; its Message-ID once Gmail accepted it."""
        return self.send_receipt(message).message_id

    def send_receipt(self, message: EmailMessage) -> SendReceipt:
        """Send one message; its Message-ID and Gmail's ids for the journal."""
        message_id = message_id_of(message)
        try:
            service = self._service or self._connect()
            request = self._request(service, message)
            answer = call(request, what="Gmail messages.send", sleep=self._sleep)
        except GoogleApiError as exc:
            if exc.status == 403 or exc.status == 401:
                raise MailConnectionError(str(exc)) from None
            raise MailRefused(str(exc)) from None
        except GoogleError as exc:
            raise MailConnectionError(str(exc)) from None
        fields = {"gmail_message_id": str(answer.get("id", "")), "gmail_thread_id": str(answer.get("threadId", "")),
                  "gmail_subject": str(message["Subject"] or "")}
        return SendReceipt(message_id, {k: v for k, v in fields.items() if v})

    @staticmethod
    def _request(service: Any, message: EmailMessage) -> Any:
        data = message.as_bytes()
        if len(data) <= RAW_LIMIT:
            return service.users().messages().send(userId="me", body={"raw": raw_message(message)})
        from googleapiclient.http import MediaInMemoryUpload

        media = MediaInMemoryUpload(data, mimetype="message/rfc822", resumable=False)
        return service.users().messages().send(userId="me", body={}, media_body=media)

    def _connect(self) -> Any:
        self._service = self._make_service()
        return self._service


def open_gmail_mailer(root: Path, google: Any = None, scopes: tuple[str, ...] | None = None,
                      http: Any = None, sleep: Sleep = time.sleep) -> GmailMailer:
    """The Gmail transport for a workspace: the token is loaded (and checked) when first used."""
    from facturier.adapters.google.auth import GoogleSession, token_path
    from facturier.config.google import GMAIL_COMPOSE, GoogleConfig

    config = google if google is not None else GoogleConfig()
    wanted = scopes if scopes is not None else (GMAIL_COMPOSE,)

    def service() -> Any:
        return GoogleSession(token_path(config, root), wanted, http).service("gmail", "v1")

    return GmailMailer(service, sleep)
