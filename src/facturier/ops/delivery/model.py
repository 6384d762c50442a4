"""What a delivery is, and its state as told by the journal (sending, sent, failed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from facturier.store.journal import Entry

Kind = Literal["invoice", "batch"]
# (before handing over, accepted, not accepted) journal types of each kind of delivery.
JOURNAL_TYPES: dict[str, tuple[str, str, str]] = {
    "invoice": ("invoice.sending", "invoice.sent", "invoice.send_failed"),
    "batch": ("batch.sending", "batch.delivered", "batch.send_failed"),
}
STATE_OF = {t: state for types in JOURNAL_TYPES.values() for t, state in zip(types, ("sending", "sent", "failed"))}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to deliver: what it is about, to whom, and how to build it."""

    kind: Kind
    key: str  # the invoice number, or "<batch id>/<YYYY-MM>"
    client: str
    to: tuple[str, ...]
    ids: dict[str, str]  # what identifies it in the journal: number, or client and month
    build: Callable[[], EmailMessage]


def delivery_key(entry: Entry) -> str:
    """The key of a delivery journal entry: invoice number or `<batch id>/<YYYY-MM>`."""
    if entry["type"].startswith("invoice."):
        return str(entry["number"])
    return f"{entry['client']}/{entry['month']}"


def delivery_states(entries: list[Entry]) -> dict[str, tuple[str, Entry]]:
    """Latest state of each delivery key ('sending', 'sent' or 'failed'); 'sent' is final."""
    states: dict[str, tuple[str, Entry]] = {}
    for entry in entries:
        state = STATE_OF.get(entry["type"])
        if state is None:
            continue
        key = delivery_key(entry)
        if states.get(key, ("", entry))[0] != "sent":
            states[key] = (state, entry)
    return states
