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
from collections.abc import Iterator
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
    USAGE_RECORDED: Final = "usage.recorded"
    CHARGE_ADDED: Final = "charge.added"
    REMINDER_DRAFTING: Final = "reminder.drafting"
    REMINDER_DRAFTED: Final = "reminder.drafted"
    REMINDER_DRAFT_FAILED: Final = "reminder.draft_failed"
    INVOICE_DISPUTED: Final = "invoice.disputed"
    INVOICE_DISPUTE_RESOLVED: Final = "invoice.dispute_resolved"
    INVOICE_PROMISED: Final = "invoice.promised"
    PAYMENT_LINK_CREATED: Final = "payment_link.created"
    PAYMENT_LINK_DEACTIVATED: Final = "payment_link.deactivated"


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
    human confirmed an in-flight send, and gmail_message_id, gmail_thread_id, gmail_subject
    when sent through Gmail); `send_failed` adds error.
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
    gmail_thread_id: str = ""
    gmail_subject: str = ""

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


USAGE_FIELDS: Final = ("id", "client", "metric", "quantity", "date", "key")


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One usage record: id (unique forever), client, metric, quantity (plain decimal text,
    >= 0, at most 4 decimals), date ("YYYY-MM-DD"), key (for unique counts, or None).

    Quantity and date stay the exact text that was validated when recorded: the state turns
    them into integer units and months without a Decimal or a date per record."""

    id: str
    client: str
    metric: str
    quantity: str
    date: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    """`usage.recorded`: usage records, validated whole before they were journalled.

    Fields: source ("manual", or "import:<file name>"), sha256 (of an imported file), records
    (a list of [id, client, metric, quantity, date, key] in the order of `USAGE_FIELDS`).
    One import is journalled as entries of a few thousand records each. `rows` keeps the
    lists as parsed (a command that does not read usage pays nothing per record);
    `records()` gives them typed.
    """

    seq: int
    at: str
    type: str
    source: str
    rows: tuple[list[Any], ...]
    sha256: str | None = None

    def records(self) -> Iterator[UsageRecord]:
        """Every record, typed."""
        for r in self.rows:
            yield UsageRecord(r[0], r[1], r[2], r[3], r[4], r[5] if len(r) > 5 else None)


@dataclass(frozen=True, slots=True)
class ChargeAdded:
    """`charge.added`: a one-off line for a direct client's next monthly invoice.

    Fields: client, amount (excl. VAT), currency, description, date (when it was added),
    vat_rate (None: the issuer's default rate when it is invoiced). Billed once, by the first
    monthly invoice of that client journalled after it.
    """

    seq: int
    at: str
    type: str
    client: str
    amount: Decimal
    currency: str
    description: str
    date: date
    vat_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReminderEvent:
    """`reminder.drafting|drafted|draft_failed`: one invoice's reminder handed to a draft store.

    Fields: number, client, stage, store ("outbox", "imap", ...), message_id (a combined
    draft's entries share it), date (the run day); `drafted` adds draft_id (file name or
    `mailbox/UID`), uid (IMAP, when the server gives one) and confirmed_by_operator (a human
    settled an in-flight draft with `remind --confirm`); `draft_failed` adds error (nothing
    was stored: the next run drafts it again).
    """

    seq: int
    at: str
    type: str
    number: str
    client: str
    stage: int
    store: str
    message_id: str
    date: date
    draft_id: str = ""
    uid: int | None = None
    error: str = ""
    confirmed_by_operator: bool = False


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    """`invoice.disputed` / `invoice.dispute_resolved`: reminders stop, then resume.

    Fields: number, date (the command's day); `disputed` adds reason (may be empty).
    """

    seq: int
    at: str
    type: str
    number: str
    date: date
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PromiseEvent:
    """`invoice.promised`: the client promised to pay by `until`; no reminder before that day.

    Fields: number, until, date (the command's day). A later promise replaces an earlier one.
    """

    seq: int
    at: str
    type: str
    number: str
    until: date
    date: date


@dataclass(frozen=True, slots=True)
class PaymentLinkEvent:
    """`payment_link.created` / `payment_link.deactivated`: a reminder's payment link.

    Fields: number (the invoice, or a sheet's invoice_id), provider ("stripe" | "template"),
    link_id (Stripe's plink_..., "" for a template), url, amount (what was due, plain decimal
    text) and currency.
    """

    seq: int
    at: str
    type: str
    number: str
    provider: str
    link_id: str
    url: str
    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An entry of a type this version does not interpret: kept, chained, never an error.

    Fields: `files` when it names any (the rest stays in the journal line, read back on demand).
    """

    seq: int
    at: str
    type: str
    files: tuple[FileRef, ...] = ()


Event = (DocumentIssued | DeliveryEvent | PaymentRecorded | BatchAccepted | BatchRejected | BatchCompleted
         | UsageRecorded | ChargeAdded | ReminderEvent | DisputeEvent | PromiseEvent | PaymentLinkEvent
         | OtherEvent)


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
        bool(e.get("confirmed_by_operator", False)), str(e.get("gmail_thread_id", "")),
        str(e.get("gmail_subject", "")),
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


def _payment_link(e: dict[str, Any]) -> PaymentLinkEvent:
    return PaymentLinkEvent(e["seq"], e["at"], e["type"], e["number"], e["provider"], e.get("link_id", ""),
                            e.get("url", ""), e.get("amount", ""), e.get("currency", ""))


def _completed(e: dict[str, Any]) -> BatchCompleted:
    return BatchCompleted(e["seq"], e["at"], e["type"], e["client"], e["sha256"])


def _usage(e: dict[str, Any]) -> UsageRecorded:
    rows = e["records"]
    if not isinstance(rows, list):
        raise TypeError("records is not a list")
    return UsageRecorded(e["seq"], e["at"], e["type"], str(e.get("source", "")), tuple(rows), e.get("sha256"))


def _charge(e: dict[str, Any]) -> ChargeAdded:
    rate = e.get("vat_rate")
    return ChargeAdded(e["seq"], e["at"], e["type"], e["client"], Decimal(e["amount"]), e["currency"],
                       e["description"], date.fromisoformat(e["date"]), None if rate is None else Decimal(rate))


def _reminder(e: dict[str, Any]) -> ReminderEvent:
    uid = e.get("uid")
    return ReminderEvent(e["seq"], e["at"], e["type"], e["number"], e.get("client", ""), int(e["stage"]),
                         e.get("store", ""), str(e.get("message_id", "")), date.fromisoformat(e["date"]),
                         str(e.get("draft_id") or ""), None if uid is None else int(uid), e.get("error", ""),
                         bool(e.get("confirmed_by_operator", False)))


def _dispute(e: dict[str, Any]) -> DisputeEvent:
    return DisputeEvent(e["seq"], e["at"], e["type"], e["number"], date.fromisoformat(e["date"]),
                        e.get("reason") or "")


def _promise(e: dict[str, Any]) -> PromiseEvent:
    return PromiseEvent(e["seq"], e["at"], e["type"], e["number"], date.fromisoformat(e["until"]),
                        date.fromisoformat(e["date"]))


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
    T.USAGE_RECORDED: _usage,
    T.CHARGE_ADDED: _charge,
    T.REMINDER_DRAFTING: _reminder,
    T.REMINDER_DRAFTED: _reminder,
    T.REMINDER_DRAFT_FAILED: _reminder,
    T.INVOICE_DISPUTED: _dispute,
    T.INVOICE_DISPUTE_RESOLVED: _dispute,
    T.INVOICE_PROMISED: _promise,
    T.PAYMENT_LINK_CREATED: _payment_link,
    T.PAYMENT_LINK_DEACTIVATED: _payment_link,
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
