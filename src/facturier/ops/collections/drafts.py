"""A planned reminder as the email a human will review: rendered, threaded, with its Message-ID."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from typing import TYPE_CHECKING

import jinja2

from facturier.core.dunning import ClientReminder
from facturier.render.reminders import (
    Creditor,
    creditor_from_config,
    reminder_email,
    reminder_env,
    render_reminder,
)

if TYPE_CHECKING:
    from facturier.config import Workspace

# (group, creditor, day) -> [(filename, PDF bytes)]: the formal notice of the last stage.
Attacher = Callable[[ClientReminder], list[tuple[str, bytes]]]


@dataclass(frozen=True, slots=True)
class Draft:
    """One reminder ready to hand over: the group it reminds, its subject, the message, its
    Message-ID (chosen before the hand-over, journalled with `reminder.drafting`), its
    recipients as in the To header and its text body as rendered (kept here: reading them
    back from the message parses its headers again, more than building it costs)."""

    group: ClientReminder
    subject: str
    message: EmailMessage
    message_id: str
    to: str
    body: str = ""


class DraftBuilder:
    """Renders the drafts of one run with one template environment (fonts, templates cached)."""

    def __init__(self, ws: Workspace, attach: Attacher | None = None,
                 when: Callable[[], datetime] | None = None) -> None:
        self.env: jinja2.Environment = reminder_env(ws.root)
        self.creditor: Creditor = creditor_from_config(ws.config)
        mail = ws.config.mail
        self.sender, self.reply_to, self.bcc = mail.from_, mail.reply_to, mail.bcc
        self.domain = parseaddr(self.sender)[1].rsplit("@", 1)[-1] or "facturier.invalid"
        self.attach = attach
        self.when = when
        # The `payment_link` merge field of a draft (ops.connectors.payment_link_of), if any.
        self.payment_link: Callable[[ClientReminder], str] | None = None

    def render_subject(self, group: ClientReminder) -> str:
        """The subject alone (a dry run shows it without building the message)."""
        return render_reminder(self.env, group, self.creditor).subject

    def build(self, group: ClientReminder, message_id: str | None = None) -> Draft:
        """The draft of a group; `message_id` reuses the one of an interrupted hand-over."""
        link = self.payment_link(group) if self.payment_link is not None else ""
        rendered = render_reminder(self.env, group, self.creditor, link)
        attachments = self.attach(group) if self.attach is not None else []
        chosen = message_id or make_msgid("reminder", domain=self.domain)
        message = reminder_email(rendered, group, sender=self.sender, reply_to=self.reply_to, bcc=self.bcc,
                                 attachments=attachments, when=self.when() if self.when else None,
                                 message_id=chosen)
        to = ", ".join(dict.fromkeys(e for d in group.dues for e in d.receivable.emails))
        return Draft(group, rendered.subject, message, chosen, to, rendered.body)
