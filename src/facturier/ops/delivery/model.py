"""What a delivery is, what it hands over, and its state as told by the journal (sending, sent, failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from facturier.store.events import DeliveryEvent, T
from facturier.store.journal import Entry
from facturier.store.state import LedgerState

Kind = Literal["invoice", "batch"]
# (before handing over, accepted, not accepted) journal types of each kind of delivery.
JOURNAL_TYPES: dict[str, tuple[str, str, str]] = {
    "invoice": (T.INVOICE_SENDING, T.INVOICE_SENT, T.INVOICE_SEND_FAILED),
    "batch": (T.BATCH_SENDING, T.BATCH_DELIVERED, T.BATCH_SEND_FAILED),
}


@dataclass(frozen=True, slots=True)
class SentZip:
    """A batch client's ZIP as handed over: its kept copy (data/batch_sent/), SHA-256, invoices."""

    path: str  # workspace-relative
    sha256: str
    invoices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A built message, and for a batch delivery the ZIP it delivers (attached or linked)."""

    message: EmailMessage
    zip: SentZip | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to deliver: what it is about, to whom, and how to build it."""

    kind: Kind
    key: str  # the invoice number, "<batch id>/<YYYY-MM>" or "<batch id>/<YYYY-MM>-<part>"
    client: str
    to: tuple[str, ...]
    month: str | None  # a batch client's month ("YYYY-MM"); None for an invoice
    build: Callable[[], Outgoing]
    part: int = 1  # a batch month's ZIP: 1 the monthly one, n >= 2 a supplementary one
    link_token: str | None = None  # a batch ZIP delivered as a link: its unguessable folder

    def event(self, type_: str, message_id: str) -> DeliveryEvent:
        """Its journal entry of type `type_`: number and client, or client and month (and part, token)."""
        if self.kind == "invoice":
            return DeliveryEvent(type=type_, number=self.key, client=self.client, message_id=message_id)
        return DeliveryEvent(type=type_, client=self.client, month=self.month, message_id=message_id,
                             part=self.part if self.part > 1 else None, link_token=self.link_token)


DeliveryStates = dict[str, tuple[str, Entry]]


def delivery_states(state: LedgerState) -> DeliveryStates:
    """Latest state of each delivery key ('sending', 'sent' or 'failed') and its entry.

    Only the keys that are not final ('sending', 'failed') have their entry read back; a
    'sent' key maps to a stub, since nothing reads a sent delivery's entry.
    """
    out: DeliveryStates = {}
    for key, (status, offset) in state.core.deliveries.items():
        out[key] = (status, state.entry_at(offset) if status != "sent" else {"message_id": ""})
    return out
