"""Typed journal events: one frozen record per entry type, parsed once from a journal line.

Like beancount's `core/data.py`, every fact the journal can hold is declared here, its
docstring listing the fields, and everything downstream (the ledger state, the use cases)
reads these records instead of raw dictionaries. The on-disk format is unchanged: each
record is parsed from the JSON object of one line (`parse_event`), and the keys written by
earlier versions are all accepted. Common to every event: `seq` (1-based line number) and
`at` (UTC timestamp of the append).

Entry type names are defined once, in `T`, and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final


class T:
    """Every journal entry type name."""

    INVOICE_ISSUED: Final = "invoice.issued"
    CREDIT_NOTE_ISSUED: Final = "credit_note.issued"
    INVOICE_SENDING: Final = "invoice.sending"
    INVOICE_SENT: Final = "invoice.sent"
    INVOICE_SEND_FAILED: Final = "invoice.send_failed"
    BATCH_SENDING: Final = "batch.sending"
    BATCH_DELIVERED: Final = "batch.delivered"
    BATCH_SEND_FAILED: Final = "batch.send_failed"
    PAYMENT_RECORDED: Final = "payment.recorded"
    BATCH_ACCEPTED: Final = "batch.accepted"
    BATCH_REJECTED: Final = "batch.rejected"
    BATCH_COMPLETED: Final = "batch.completed"
    REMINDER_DRAFTED: Final = "reminder.drafted"


ISSUED_TYPES: Final = (T.INVOICE_ISSUED, T.CREDIT_NOTE_ISSUED)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file an entry names: its role ("pdf", "json", "csv"), workspace-relative path, SHA-256."""

    role: str
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class DocumentIssued:
    """`invoice.issued` / `credit_note.issued`: a document is issued from this entry on.

    Fields: kind ("invoice" | "credit_note"), number, series, series_seq, seller ("issuer"
    or a batch client id), client, client_name, mode ("live" | "test"), date, due_date,
    currency, total_excl_vat, total_vat, total_incl_vat, files (PDF and JSON record);
    optional: period ("YYYY-MM" of a monthly invoice), refers_to and reason (credit notes),
    customer, reference and batch (the SHA-256 of the batch file of a batch invoice).
    """

    seq: int
    at: str
    type: str
    kind: str
    number: str
    series: str
    series_seq: int
    seller: str
    client: str
    client_name: str
    mode: str
    date: date
    due_date: date
    currency: str
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    files: tuple[FileRef, ...]
    period: str | None = None
    refers_to: str | None = None
    reason: str = ""
    customer: str | None = None
    reference: str | None = None
    batch: str | None = None

    @property
    def is_credit_note(self) -> bool:
        """A credit note (its amounts count negatively)."""
        return self.type == T.CREDIT_NOTE_ISSUED

    @property
    def direct_live(self) -> bool:
        """A live document of the issuer: the only kind that is owed, paid and exported."""
        return self.seller == "issuer" and self.mode == "live"

    def file(self, role: str) -> FileRef | None:
        """The file of a role ("pdf", "json"), or None when the entry names none."""
        return next((f for f in self.files if f.role == role), None)


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """`invoice.sending|sent|send_failed` and `batch.sending|delivered|send_failed`.

    Fields: number (invoice deliveries) or client and month (a batch client's monthly ZIP),
    message_id; `sent`/`delivered` add to and transport (and confirmed_by_operator when a
    human confirmed an in-flight send); `send_failed` adds error.
    """

    seq: int
    at: str
    type: str
    message_id: str
    number: str | None = None
    client: str | None = None
    month: str | None = None
    to: tuple[str, ...] = ()
    transport: str = ""
    error: str = ""
    confirmed_by_operator: bool = False

    @property
    def key(self) -> str:
        """The delivery key: the invoice number or `<batch id>/<YYYY-MM>`."""
        return self.number if self.number is not None else f"{self.client}/{self.month}"


@dataclass(frozen=True, slots=True)
class AllocationPart:
    """The part of a payment allocated to one invoice."""

    number: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    """`payment.recorded`: money received from a direct client.

    Fields: client, date, amount, currency, method, reference, source ("manual" or
    "bank:<format>:<file>"), allocation (per invoice), unallocated (left as credit); bank
    imports add bank_id (the bank's own id, when the statement has one) and bank_key.
    """

    seq: int
    at: str
    type: str
    client: str
    date: date
    amount: Decimal
    currency: str
    method: str
    reference: str
    source: str
    allocation: tuple[AllocationPart, ...]
    unallocated: Decimal
    bank_id: str | None = None
    bank_key: str | None = None


@dataclass(frozen=True, slots=True)
class BatchAccepted:
    """`batch.accepted`: an inbox file validated whole and archived (files: the archive).

    Fields: client (batch client id), name (inbox file name), sha256, rows, run_date, files.
    """

    seq: int
    at: str
    type: str
    client: str
    name: str
    sha256: str
    rows: int
    run_date: date
    files: tuple[FileRef, ...]


@dataclass(frozen=True, slots=True)
class BatchRejected:
    """`batch.rejected`: an inbox file refused. Fields: client, name, sha256, problems, rejected."""

    seq: int
    at: str
    type: str
    client: str
    name: str
    sha256: str
    problems: int
    rejected: str


@dataclass(frozen=True, slots=True)
class BatchCompleted:
    """`batch.completed`: every row of an accepted file is issued. Fields: client, sha256."""

    seq: int
    at: str
    type: str
    client: str
    sha256: str


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An entry of a type this version does not interpret: kept, chained, never an error.

    Fields: `files` when it names any (the rest stays in the journal line, read back on demand).
    """

    seq: int
    at: str
    type: str
    files: tuple[FileRef, ...] = ()


Event = DocumentIssued | DeliveryEvent | PaymentRecorded | BatchAccepted | BatchRejected | BatchCompleted | OtherEvent


def _files(raw: Any) -> tuple[FileRef, ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple(FileRef(role, item["path"], item["sha256"]) for role, item in raw.items())


def _document(e: dict[str, Any]) -> DocumentIssued:
    return DocumentIssued(
        e["seq"], e["at"], e["type"], e["kind"], e["number"], e["series"], int(e["series_seq"]),
        e["seller"], e["client"], e.get("client_name", ""), e["mode"], date.fromisoformat(e["date"]),
        date.fromisoformat(e["due_date"]), e["currency"], Decimal(e["total_excl_vat"]),
        Decimal(e["total_vat"]), Decimal(e["total_incl_vat"]), _files(e.get("files")),
        e.get("period"), e.get("refers_to"), e.get("reason", ""), e.get("customer"),
        e.get("reference"), e.get("batch"),
    )


def _delivery(e: dict[str, Any]) -> DeliveryEvent:
    return DeliveryEvent(
        e["seq"], e["at"], e["type"], str(e.get("message_id", "")), e.get("number"), e.get("client"),
        e.get("month"), tuple(e.get("to", ())), e.get("transport", ""), e.get("error", ""),
        bool(e.get("confirmed_by_operator", False)),
    )


def _payment(e: dict[str, Any]) -> PaymentRecorded:
    return PaymentRecorded(
        e["seq"], e["at"], e["type"], e["client"], date.fromisoformat(e["date"]), Decimal(e["amount"]),
        e["currency"], e.get("method", ""), e.get("reference", ""), e.get("source", ""),
        tuple(AllocationPart(a["number"], Decimal(a["amount"])) for a in e["allocation"]),
        Decimal(e["unallocated"]), e.get("bank_id"), e.get("bank_key"),
    )


def _accepted(e: dict[str, Any]) -> BatchAccepted:
    return BatchAccepted(e["seq"], e["at"], e["type"], e["client"], e["name"], e["sha256"], int(e["rows"]),
                         date.fromisoformat(e["run_date"]), _files(e.get("files")))


def _rejected(e: dict[str, Any]) -> BatchRejected:
    return BatchRejected(e["seq"], e["at"], e["type"], e["client"], e["name"], e.get("sha256") or "",
                         int(e.get("problems", 0)), e.get("rejected", ""))


def _completed(e: dict[str, Any]) -> BatchCompleted:
    return BatchCompleted(e["seq"], e["at"], e["type"], e["client"], e["sha256"])


PARSERS: Final = {
    T.INVOICE_ISSUED: _document,
    T.CREDIT_NOTE_ISSUED: _document,
    T.INVOICE_SENDING: _delivery,
    T.INVOICE_SENT: _delivery,
    T.INVOICE_SEND_FAILED: _delivery,
    T.BATCH_SENDING: _delivery,
    T.BATCH_DELIVERED: _delivery,
    T.BATCH_SEND_FAILED: _delivery,
    T.PAYMENT_RECORDED: _payment,
    T.BATCH_ACCEPTED: _accepted,
    T.BATCH_REJECTED: _rejected,
    T.BATCH_COMPLETED: _completed,
}


class EventError(ValueError):
    """A journal entry whose fields do not have the shape of its type."""


def parse_event(entry: dict[str, Any]) -> Event:
    """The typed record of one journal entry (an entry of an unknown type becomes OtherEvent)."""
    parser = PARSERS.get(entry.get("type", ""))
    try:
        if parser is None:
            return OtherEvent(int(entry["seq"]), str(entry.get("at", "")), str(entry.get("type", "")),
                              _files(entry.get("files")))
        return parser(entry)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise EventError(f"entry {entry.get('seq')!r} ({entry.get('type')!r}): malformed field {exc}") from None
