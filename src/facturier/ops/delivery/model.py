"""What a delivery is, and its state as told by the journal (sending, sent, failed)."""

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
class Delivery:
    """One message to deliver: what it is about, to whom, and how to build it."""

    kind: Kind
    key: str  # the invoice number, or "<batch id>/<YYYY-MM>"
    client: str
    to: tuple[str, ...]
    month: str | None  # a batch client's month ("YYYY-MM"); None for an invoice
    build: Callable[[], EmailMessage]

    def event(self, type_: str, message_id: str) -> DeliveryEvent:
        """Its journal entry of type `type_`: number and client, or client and month."""
        number = self.key if self.kind == "invoice" else None
        return DeliveryEvent(type=type_, number=number, client=self.client, month=self.month,
                             message_id=message_id)


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
