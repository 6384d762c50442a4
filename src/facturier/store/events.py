"""Journal events: one frozen record per entry type, the journal's schema both ways.

Like beancount's `core/data.py` with its printer, in one module: every fact the journal can
hold is declared here, its docstring listing the fields, and each record both parses itself
from the JSON object of a journal line (`parse`, dispatched on the entry type by
`parse_event`) and serializes itself back (`to_data`: the entry's data, without `seq`, `at`,
`type`, `prev` and `hash`, which the journal adds). Every write site builds a record and the
ledger appends it (`Ledger.append`, `commit_group`, `commit_staged`,
`Journal.append_many`), so what is on disk is exactly what is declared here; the ledger
state, the views and the use cases read the same records. For every entry this version
writes, `parse(entry).to_data()` is the entry's data, key for key and value for value, and
the bytes are those the version before the records wrote (tests/store/test_events.py holds
both). The keys written by earlier versions are all accepted when parsing.

Common to every event: `seq` (1-based line number) and `at` (UTC timestamp of the append),
0 and "" on a record not journalled yet; `type`, the entry type (a class constant on a record
of one type, a field on one that several entry types share). An optional field is None when
its key is absent from the entry, and is then not written.

Entry type names are defined once, in `T`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeVar


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
    EINVOICE_DIRECTORY: Final = "einvoice.directory"
    EINVOICE_TRANSMITTING: Final = "einvoice.transmitting"
    EINVOICE_TRANSMITTED: Final = "einvoice.transmitted"
    EINVOICE_STATUS: Final = "einvoice.status"
    EREPORT_SENT: Final = "ereport.sent"


ISSUED_TYPES: Final = (T.INVOICE_ISSUED, T.CREDIT_NOTE_ISSUED)
# The entry type of each kind of issued document.
ISSUED_TYPE_OF_KIND: Final = {"invoice": T.INVOICE_ISSUED, "credit_note": T.CREDIT_NOTE_ISSUED}
EINVOICING_TYPES: Final = (T.EINVOICE_DIRECTORY, T.EINVOICE_TRANSMITTING, T.EINVOICE_TRANSMITTED,
                           T.EINVOICE_STATUS, T.EREPORT_SENT)
_DELIVERED: Final = (T.INVOICE_SENT, T.BATCH_DELIVERED)
_SEND_FAILED: Final = (T.INVOICE_SEND_FAILED, T.BATCH_SEND_FAILED)


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that are not None: the optional keys an entry has."""
    return {key: value for key, value in fields.items() if value is not None}


_R = TypeVar("_R")


def _record_builder(cls: type[_R]) -> Callable[..., _R]:
    """A constructor of the frozen record `cls` from every one of its fields by keyword, for the
    hot `parse` methods (each entry of a state built from the journal is parsed): it sets each
    slot through its descriptor, a third of the cost of the frozen dataclass `__init__` (which
    calls `object.__setattr__` once a field). The record is the same (`==`, hash, fields);
    a missing field raises KeyError, which `parse_event` reports as a malformed field."""
    setters = [(f.name, getattr(cls, f.name).__set__) for f in fields(cls)]  # type: ignore[arg-type]
    new = object.__new__

    def build(**values: Any) -> _R:
        record: _R = new(cls)
        for name, set_slot in setters:
            set_slot(record, values[name])
        return record
    return build


_day = dt.date.fromisoformat  # a journalled 'YYYY-MM-DD' as a date (an alias: one call, not two)


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file an entry names: its role ("pdf", "json", "csv"), workspace-relative path, SHA-256."""

    role: str
    path: str
    sha256: str


def _files(raw: Any) -> tuple[FileRef, ...]:
    if not isinstance(raw, dict):
        return ()
    return tuple(FileRef(role, item["path"], item["sha256"]) for role, item in raw.items())


def _files_data(files: tuple[FileRef, ...]) -> dict[str, dict[str, str]]:
    return {f.role: {"path": f.path, "sha256": f.sha256} for f in files}


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentIssued:
    """`invoice.issued` / `credit_note.issued`: a document is issued from this entry on.

    Fields: kind ("invoice" | "credit_note"), number, series, series_seq, seller ("issuer"
    or a batch client id), client, client_name, mode ("live" | "test"), date, due_date,
    currency, total_excl_vat, total_vat, total_incl_vat, files (PDF and JSON record, named
    by the ledger when it commits them); optional: period ("YYYY-MM" of a monthly invoice),
    refers_to, reason and credited_lines (credit notes; credited_lines: the 1-based lines of
    the original credited by `credit --line`), customer, reference and batch (the SHA-256 of
    the batch file of a batch invoice).
    """

    seq: int = 0
    at: str = ""
    type: str
    kind: str
    number: str
    series: str
    series_seq: int
    seller: str
    client: str
    client_name: str
    mode: str
    date: dt.date
    due_date: dt.date
    currency: str
    total_excl_vat: Decimal
    total_vat: Decimal
    total_incl_vat: Decimal
    files: tuple[FileRef, ...] = ()
    period: str | None = None
    refers_to: str | None = None
    reason: str | None = None
    credited_lines: tuple[int, ...] | None = None
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

    def with_files(self, files: tuple[FileRef, ...]) -> DocumentIssued:
        """The same document naming these files."""
        return replace(self, files=files)

    @classmethod
    def parse(cls, e: dict[str, Any]) -> DocumentIssued:
        """The record of a journal entry of this type."""
        lines = e.get("credited_lines")
        return _build_document(
            seq=e["seq"], at=e["at"], type=e["type"], kind=e["kind"], number=e["number"],
            series=e["series"], series_seq=int(e["series_seq"]), seller=e["seller"],
            client=e["client"], client_name=e.get("client_name", ""), mode=e["mode"],
            date=_day(e["date"]), due_date=_day(e["due_date"]), currency=e["currency"],
            total_excl_vat=Decimal(e["total_excl_vat"]), total_vat=Decimal(e["total_vat"]),
            total_incl_vat=Decimal(e["total_incl_vat"]), files=_files(e.get("files")),
            period=e.get("period"), refers_to=e.get("refers_to"), reason=e.get("reason"),
            credited_lines=None if lines is None else tuple(int(n) for n in lines),
            customer=e.get("customer"), reference=e.get("reference"), batch=e.get("batch"),
        )

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        lines = None if self.credited_lines is None else list(self.credited_lines)
        return {
            "kind": self.kind, "number": self.number, "series": self.series,
            "series_seq": self.series_seq, "seller": self.seller, "client": self.client,
            "client_name": self.client_name, "mode": self.mode, "date": self.date.isoformat(),
            "due_date": self.due_date.isoformat(), "currency": self.currency,
            "total_excl_vat": str(self.total_excl_vat), "total_vat": str(self.total_vat),
            "total_incl_vat": str(self.total_incl_vat),
            **_present(period=self.period, refers_to=self.refers_to, reason=self.reason,
                       credited_lines=lines, customer=self.customer, reference=self.reference,
                       batch=self.batch),
            "files": _files_data(self.files),
        }


_build_document = _record_builder(DocumentIssued)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryEvent:
    """`invoice.sending|sent|send_failed` and `batch.sending|delivered|send_failed`.

    Fields: number and client (invoice deliveries) or client and month (a batch client's
    monthly ZIP), message_id; `sent`/`delivered` add to and transport (and
    confirmed_by_operator when a human confirmed an in-flight send, and gmail_message_id,
    gmail_thread_id, gmail_subject, each when not empty, when sent through Gmail);
    `send_failed` adds error. A batch client's ZIP may add (each only when set): part (2, 3...
    for a supplementary ZIP of a month already delivered; absent for the monthly ZIP),
    link_token (the unguessable folder of its download link, the same on every attempt),
    sha256 (on `sending`: the ZIP handed over), invoices (on `delivered`: the numbers the
    ZIP holds) and files (on `delivered`: the copy kept in data/batch_sent/, role "zip").
    """

    seq: int = 0
    at: str = ""
    type: str
    message_id: str
    number: str | None = None
    client: str | None = None
    month: str | None = None
    to: tuple[str, ...] = ()
    transport: str = ""
    error: str = ""
    confirmed_by_operator: bool = False
    gmail_message_id: str = ""
    gmail_thread_id: str = ""
    gmail_subject: str = ""
    part: int | None = None
    link_token: str | None = None
    sha256: str | None = None
    invoices: tuple[str, ...] | None = None
    files: tuple[FileRef, ...] = ()

    @property
    def key(self) -> str:
        """The delivery key: the invoice number, `<batch id>/<YYYY-MM>` or `<batch id>/<YYYY-MM>-<part>`."""
        if self.number is not None:
            return self.number
        return f"{self.client}/{self.month}" + (f"-{self.part}" if self.part is not None else "")

    @classmethod
    def parse(cls, e: dict[str, Any]) -> DeliveryEvent:
        """The record of a journal entry of one of these types."""
        return _build_delivery(
            seq=e["seq"], at=e["at"], type=e["type"], message_id=str(e.get("message_id", "")),
            number=e.get("number"), client=e.get("client"), month=e.get("month"),
            to=tuple(e.get("to", ())), transport=e.get("transport", ""), error=e.get("error", ""),
            confirmed_by_operator=bool(e.get("confirmed_by_operator", False)),
            gmail_message_id=str(e.get("gmail_message_id", "")),
            gmail_thread_id=str(e.get("gmail_thread_id", "")),
            gmail_subject=str(e.get("gmail_subject", "")),
            part=None if e.get("part") is None else int(e["part"]), link_token=e.get("link_token"),
            sha256=e.get("sha256"),
            invoices=None if e.get("invoices") is None else tuple(str(n) for n in e["invoices"]),
            files=_files(e.get("files")),
        )

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled: the outcome's keys only on an outcome."""
        data = _present(number=self.number, client=self.client, month=self.month)
        data["message_id"] = self.message_id
        if self.type in _DELIVERED:
            data.update(to=list(self.to), transport=self.transport)
            if self.confirmed_by_operator:
                data["confirmed_by_operator"] = True
            gmail = {"gmail_message_id": self.gmail_message_id,
                     "gmail_thread_id": self.gmail_thread_id, "gmail_subject": self.gmail_subject}
            data.update((k, v) for k, v in gmail.items() if v)
        elif self.type in _SEND_FAILED:
            data["error"] = self.error
        data.update(_present(part=self.part, link_token=self.link_token, sha256=self.sha256))
        if self.invoices is not None:
            data["invoices"] = list(self.invoices)
        if self.files:
            data["files"] = _files_data(self.files)
        return data


@dataclass(frozen=True, slots=True)
class AllocationPart:
    """The part of a payment allocated to one invoice."""

    number: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRecorded:
    """`payment.recorded`: money received from a direct client.

    Fields: client, date, amount, currency, method, reference, source ("manual" or
    "bank:<format>:<file>"), allocation (per invoice), unallocated (left as credit); bank
    imports add bank_id (the bank's own id, null when the statement has none) and bank_key,
    and since they hold back likely duplicates, counterparty and remittance (the payer and
    the remittance text, compared with a later import of the same credit).
    """

    type: ClassVar[str] = T.PAYMENT_RECORDED
    seq: int = 0
    at: str = ""
    client: str
    date: dt.date
    amount: Decimal
    currency: str
    method: str
    reference: str
    source: str
    allocation: tuple[AllocationPart, ...]
    unallocated: Decimal
    bank_id: str | None = None
    bank_key: str | None = None
    counterparty: str | None = None
    remittance: str | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> PaymentRecorded:
        """The record of a journal entry of this type."""
        parts = tuple(_build_part(number=a["number"], amount=Decimal(a["amount"])) for a in e["allocation"])
        return _build_payment(
            seq=e["seq"], at=e["at"], client=e["client"], date=_day(e["date"]),
            amount=Decimal(e["amount"]), currency=e["currency"], method=e.get("method", ""),
            reference=e.get("reference", ""), source=e.get("source", ""), allocation=parts,
            unallocated=Decimal(e["unallocated"]), bank_id=e.get("bank_id"),
            bank_key=e.get("bank_key"), counterparty=e.get("counterparty"),
            remittance=e.get("remittance"),
        )

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        data: dict[str, Any] = {
            "client": self.client, "date": self.date.isoformat(), "amount": str(self.amount),
            "currency": self.currency, "method": self.method, "reference": self.reference,
            "source": self.source,
            "allocation": [{"number": a.number, "amount": str(a.amount)} for a in self.allocation],
            "unallocated": str(self.unallocated),
        }
        if self.bank_key is not None or self.bank_id is not None:
            # A bank import writes both, the id null when the statement gives none.
            data.update(bank_id=self.bank_id, bank_key=self.bank_key)
        data.update(_present(counterparty=self.counterparty, remittance=self.remittance))
        return data


_build_delivery = _record_builder(DeliveryEvent)
_build_part = _record_builder(AllocationPart)
_build_payment = _record_builder(PaymentRecorded)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchAccepted:
    """`batch.accepted`: an inbox file validated whole and archived (files: the archive).

    Fields: client (batch client id), name (inbox file name), sha256, rows, run_date, files
    (named by the ledger when it commits the archive).
    """

    type: ClassVar[str] = T.BATCH_ACCEPTED
    seq: int = 0
    at: str = ""
    client: str
    name: str
    sha256: str
    rows: int
    run_date: dt.date
    files: tuple[FileRef, ...] = ()

    def with_files(self, files: tuple[FileRef, ...]) -> BatchAccepted:
        """The same acceptance naming these files."""
        return replace(self, files=files)

    @classmethod
    def parse(cls, e: dict[str, Any]) -> BatchAccepted:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], client=e["client"], name=e["name"], sha256=e["sha256"],
                   rows=int(e["rows"]), run_date=_day(e["run_date"]), files=_files(e.get("files")))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"client": self.client, "name": self.name, "sha256": self.sha256, "rows": self.rows,
                "run_date": self.run_date.isoformat(), "files": _files_data(self.files)}


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchRejected:
    """`batch.rejected`: an inbox file refused.

    Fields: client, name, sha256 (null when the file could not be read), problems (how
    many), rejected (where the file and its .errors.txt went).
    """

    type: ClassVar[str] = T.BATCH_REJECTED
    seq: int = 0
    at: str = ""
    client: str
    name: str
    sha256: str | None
    problems: int
    rejected: str

    @classmethod
    def parse(cls, e: dict[str, Any]) -> BatchRejected:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], client=e["client"], name=e["name"],
                   sha256=e.get("sha256"), problems=int(e.get("problems", 0)),
                   rejected=e.get("rejected", ""))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"client": self.client, "name": self.name, "sha256": self.sha256,
                "problems": self.problems, "rejected": self.rejected}


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchCompleted:
    """`batch.completed`: every row of an accepted file is issued.

    Fields: client, name (the inbox file name), sha256, issued (how many invoices the file
    gave in all).
    """

    type: ClassVar[str] = T.BATCH_COMPLETED
    seq: int = 0
    at: str = ""
    client: str
    sha256: str
    name: str = ""
    issued: int = 0

    @classmethod
    def parse(cls, e: dict[str, Any]) -> BatchCompleted:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], client=e["client"], sha256=e["sha256"],
                   name=e.get("name", ""), issued=int(e.get("issued", 0)))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"client": self.client, "name": self.name, "sha256": self.sha256,
                "issued": self.issued}


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


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecorded:
    """`usage.recorded`: usage records, validated whole before they were journalled.

    Fields: source ("manual", or "import:<file name>"), records (a list of [id, client,
    metric, quantity, date, key] in the order of `USAGE_FIELDS`); optional: sha256 (of the
    imported file; read and written back, though no version writes it yet). One import is
    journalled as entries of a few thousand records each. `rows` keeps the lists as parsed
    (a command that does not read usage pays nothing per record); `records()` gives them
    typed.
    """

    type: ClassVar[str] = T.USAGE_RECORDED
    seq: int = 0
    at: str = ""
    source: str
    rows: tuple[list[Any], ...]
    sha256: str | None = None

    def records(self) -> Iterator[UsageRecord]:
        """Every record, typed."""
        for r in self.rows:
            yield UsageRecord(r[0], r[1], r[2], r[3], r[4], r[5] if len(r) > 5 else None)

    @classmethod
    def parse(cls, e: dict[str, Any]) -> UsageRecorded:
        """The record of a journal entry of this type."""
        rows = e["records"]
        if not isinstance(rows, list):
            raise TypeError("records is not a list")
        return cls(seq=e["seq"], at=e["at"], source=str(e.get("source", "")), rows=tuple(rows),
                   sha256=e.get("sha256"))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"source": self.source, "records": list(self.rows), **_present(sha256=self.sha256)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeAdded:
    """`charge.added`: a one-off line for a direct client's next monthly invoice.

    Fields: client, amount (excl. VAT), currency, description, date (when it was added),
    vat_rate (None: the issuer's default rate when it is invoiced). Billed once, by the first
    monthly invoice of that client journalled after it.
    """

    type: ClassVar[str] = T.CHARGE_ADDED
    seq: int = 0
    at: str = ""
    client: str
    amount: Decimal
    currency: str
    description: str
    date: dt.date
    vat_rate: Decimal | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> ChargeAdded:
        """The record of a journal entry of this type."""
        rate = e.get("vat_rate")
        return cls(seq=e["seq"], at=e["at"], client=e["client"], amount=Decimal(e["amount"]),
                   currency=e["currency"], description=e["description"], date=_day(e["date"]),
                   vat_rate=None if rate is None else Decimal(rate))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        rate = None if self.vat_rate is None else str(self.vat_rate)
        return {"client": self.client, "amount": str(self.amount), "currency": self.currency,
                "description": self.description, "date": self.date.isoformat(),
                **_present(vat_rate=rate)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderEvent:
    """`reminder.drafting|drafted|draft_failed`: one invoice's reminder handed to a draft store.

    Fields: number, client, stage, store ("outbox", "imap", ...), message_id (a combined
    draft's entries share it), date (the run day); `drafted` adds draft_id (file name or
    `mailbox/UID`, "" when a human confirmed a draft the store could not find), uid (IMAP,
    when the server gives one) and confirmed_by_operator (a human settled an in-flight draft
    with `remind --confirm`) and gmail_message_id (Gmail: the draft's message, which the review
    page's link opens; journalled when known); `draft_failed` adds error (nothing was stored:
    the next run drafts it again).
    """

    seq: int = 0
    at: str = ""
    type: str
    number: str
    client: str
    stage: int
    store: str
    message_id: str
    date: dt.date
    draft_id: str = ""
    uid: int | None = None
    error: str = ""
    confirmed_by_operator: bool = False
    gmail_message_id: str = ""

    @classmethod
    def parse(cls, e: dict[str, Any]) -> ReminderEvent:
        """The record of a journal entry of one of these types."""
        uid = e.get("uid")
        return cls(seq=e["seq"], at=e["at"], type=e["type"], number=e["number"],
                   client=e.get("client", ""), stage=int(e["stage"]), store=e.get("store", ""),
                   message_id=str(e.get("message_id", "")), date=_day(e["date"]),
                   draft_id=str(e.get("draft_id") or ""), uid=None if uid is None else int(uid),
                   error=e.get("error", ""),
                   confirmed_by_operator=bool(e.get("confirmed_by_operator", False)),
                   gmail_message_id=str(e.get("gmail_message_id", "")))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled: the outcome's keys only on an outcome."""
        data: dict[str, Any] = {"number": self.number, "client": self.client, "stage": self.stage,
                                "store": self.store, "message_id": self.message_id,
                                "date": self.date.isoformat()}
        if self.type == T.REMINDER_DRAFTED:
            data["draft_id"] = self.draft_id
            if self.uid is not None:
                data["uid"] = self.uid
            if self.confirmed_by_operator:
                data["confirmed_by_operator"] = True
            if self.gmail_message_id:
                data["gmail_message_id"] = self.gmail_message_id
        elif self.type == T.REMINDER_DRAFT_FAILED:
            data["error"] = self.error
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeEvent:
    """`invoice.disputed` / `invoice.dispute_resolved`: reminders stop, then resume.

    Fields: number, date (the command's day); `disputed` adds reason (may be empty).
    """

    seq: int = 0
    at: str = ""
    type: str
    number: str
    date: dt.date
    reason: str = ""

    @classmethod
    def parse(cls, e: dict[str, Any]) -> DisputeEvent:
        """The record of a journal entry of one of these types."""
        return cls(seq=e["seq"], at=e["at"], type=e["type"], number=e["number"],
                   date=_day(e["date"]), reason=e.get("reason") or "")

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        data: dict[str, Any] = {"number": self.number, "date": self.date.isoformat()}
        if self.type == T.INVOICE_DISPUTED:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseEvent:
    """`invoice.promised`: the client promised to pay by `until`; no reminder before that day.

    Fields: number, until, date (the command's day). A later promise replaces an earlier one.
    """

    type: ClassVar[str] = T.INVOICE_PROMISED
    seq: int = 0
    at: str = ""
    number: str
    until: dt.date
    date: dt.date

    @classmethod
    def parse(cls, e: dict[str, Any]) -> PromiseEvent:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], number=e["number"], until=_day(e["until"]),
                   date=_day(e["date"]))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"number": self.number, "until": self.until.isoformat(),
                "date": self.date.isoformat()}


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentLinkEvent:
    """`payment_link.created` / `payment_link.deactivated`: a reminder's payment link.

    Fields: number (the invoice, or a sheet's invoice_id), provider ("stripe" | "template"),
    link_id (Stripe's plink_..., "" for a template), url, amount (what was due, plain decimal
    text) and currency.
    """

    seq: int = 0
    at: str = ""
    type: str
    number: str
    provider: str
    link_id: str
    url: str
    amount: str
    currency: str

    @classmethod
    def parse(cls, e: dict[str, Any]) -> PaymentLinkEvent:
        """The record of a journal entry of one of these types."""
        return cls(seq=e["seq"], at=e["at"], type=e["type"], number=e["number"],
                   provider=e["provider"], link_id=e.get("link_id", ""), url=e.get("url", ""),
                   amount=e.get("amount", ""), currency=e.get("currency", ""))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"number": self.number, "provider": self.provider, "link_id": self.link_id,
                "url": self.url, "amount": self.amount, "currency": self.currency}


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryLookup:
    """`einvoice.directory`: what the platform's directory said of a client's SIREN, on a day.

    Fields: siren, receives (whether the company is in the directory: it receives e-invoices),
    platform (where it receives, "" when unknown), date (the day it was asked); optional mode
    ("test" | "live": the platform environment asked; absent in entries written before, which
    count for both).
    """

    type: ClassVar[str] = T.EINVOICE_DIRECTORY
    seq: int = 0
    at: str = ""
    siren: str
    receives: bool
    platform: str = ""
    date: dt.date
    mode: str | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> DirectoryLookup:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], siren=e["siren"], receives=bool(e["receives"]),
                   platform=e.get("platform", ""), date=_day(e["date"]), mode=e.get("mode"))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"siren": self.siren, "receives": self.receives, "platform": self.platform,
                "date": self.date.isoformat(), **_present(mode=self.mode)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Transmission:
    """`einvoice.transmitting` / `einvoice.transmitted`: a document handed to the seller's
    accredited platform as its Factur-X flow.

    `transmitting` is journalled before the flow is sent (a crash after it makes the next run
    search the platform's flows by tracking id before any resend); `transmitted` once the
    platform took it. Fields: number, seller ("issuer" or a batch client id), tracking_id (ours,
    the same on every attempt), sha256 (of the PDF sent); `transmitted` adds flow_id (the
    platform's); optional mode ("test" | "live": the seller's `[einvoicing] mode` when it was
    sent, so a document sent to the test platform is sent again once live; absent in entries
    written before, which count for both).
    """

    seq: int = 0
    at: str = ""
    type: str
    number: str
    seller: str
    tracking_id: str
    sha256: str
    flow_id: str = ""
    mode: str | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> Transmission:
        """The record of a journal entry of one of these types."""
        return cls(seq=e["seq"], at=e["at"], type=e["type"], number=e["number"], seller=e["seller"],
                   tracking_id=e["tracking_id"], sha256=e["sha256"], flow_id=e.get("flow_id", ""),
                   mode=e.get("mode"))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        data = {"number": self.number, "seller": self.seller, "tracking_id": self.tracking_id,
                "sha256": self.sha256}
        if self.type == T.EINVOICE_TRANSMITTED:
            data["flow_id"] = self.flow_id
        if self.mode is not None:
            data["mode"] = self.mode
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class LifecycleStatus:
    """`einvoice.status`: one lifecycle status of a transmitted document (a CDAR message).

    Fields: number, seller, code ("200" ... "213"), label, status_at (when the status was set,
    ISO timestamp: the entry's own `at` is when it was journalled), flow_id (the CDAR flow, so
    each is journalled once), direction ("in": from the platform; "out": sent by Facturier, as
    212 Encaissée on a payment); optional reason, amount (212: the amount received, plain
    decimal text), payment (212: the seq of the payment entry), mode ("test" | "live": the
    platform environment it came from or went to; absent in entries written before, which
    count for both).
    """

    type: ClassVar[str] = T.EINVOICE_STATUS
    seq: int = 0
    at: str = ""
    number: str
    seller: str
    code: str
    label: str
    status_at: str
    flow_id: str
    direction: str = "in"
    reason: str | None = None
    amount: str | None = None
    payment: int | None = None
    mode: str | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> LifecycleStatus:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], number=e["number"], seller=e["seller"], code=str(e["code"]),
                   label=e["label"], status_at=e["status_at"], flow_id=e["flow_id"],
                   direction=e.get("direction", "in"), reason=e.get("reason"), amount=e.get("amount"),
                   payment=e.get("payment"), mode=e.get("mode"))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"number": self.number, "seller": self.seller, "code": self.code, "label": self.label,
                "status_at": self.status_at, "flow_id": self.flow_id, "direction": self.direction,
                **_present(reason=self.reason, amount=self.amount, payment=self.payment, mode=self.mode)}


@dataclass(frozen=True, slots=True, kw_only=True)
class EReportSent:
    """`ereport.sent`: an e-reporting file (Flux 10) sent through the seller's platform.

    Fields: seller, kind ("transactions" | "payments"), period ("YYYY-MM"), start, end,
    tracking_id, flow_id, sha256 (of the XML sent), count (the documents or payments in it);
    optional mode ("test" | "live": the platform environment it went to; absent in entries
    written before, which count for both).
    """

    type: ClassVar[str] = T.EREPORT_SENT
    seq: int = 0
    at: str = ""
    seller: str
    kind: str
    period: str
    start: dt.date
    end: dt.date
    tracking_id: str
    flow_id: str
    sha256: str
    count: int
    mode: str | None = None

    @classmethod
    def parse(cls, e: dict[str, Any]) -> EReportSent:
        """The record of a journal entry of this type."""
        return cls(seq=e["seq"], at=e["at"], seller=e["seller"], kind=e["kind"], period=e["period"],
                   start=_day(e["start"]), end=_day(e["end"]), tracking_id=e["tracking_id"],
                   flow_id=e["flow_id"], sha256=e["sha256"], count=int(e["count"]), mode=e.get("mode"))

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as journalled."""
        return {"seller": self.seller, "kind": self.kind, "period": self.period,
                "start": self.start.isoformat(), "end": self.end.isoformat(),
                "tracking_id": self.tracking_id, "flow_id": self.flow_id, "sha256": self.sha256,
                "count": self.count, **_present(mode=self.mode)}


RESERVED_KEYS: Final = frozenset({"seq", "at", "type", "prev", "hash"})


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherEvent:
    """An entry of a type this version does not interpret: kept, chained, never an error.

    Fields: `data`, the entry's data as it is (without seq, at, type, prev and hash),
    written back unchanged; `files`, the files it names, if any.
    """

    seq: int = 0
    at: str = ""
    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> tuple[FileRef, ...]:
        """The files the entry names."""
        return _files(self.data.get("files"))

    def with_files(self, files: tuple[FileRef, ...]) -> OtherEvent:
        """The same entry naming these files."""
        return replace(self, data={**self.data, "files": _files_data(files)})

    @classmethod
    def parse(cls, e: dict[str, Any]) -> OtherEvent:
        """The record of a journal entry of a type not interpreted."""
        _files(e.get("files"))  # named files must have their shape, whatever the type
        return cls(seq=int(e["seq"]), at=str(e.get("at", "")), type=str(e.get("type", "")),
                   data={k: v for k, v in e.items() if k not in RESERVED_KEYS})

    def to_data(self) -> dict[str, Any]:
        """The entry's data, as it was."""
        return dict(self.data)


Event = (DocumentIssued | DeliveryEvent | PaymentRecorded | BatchAccepted | BatchRejected
         | BatchCompleted | UsageRecorded | ChargeAdded | ReminderEvent | DisputeEvent
         | PromiseEvent | PaymentLinkEvent | DirectoryLookup | Transmission | LifecycleStatus
         | EReportSent | OtherEvent)
# The records that name files, which the ledger stages and places (`Ledger.commit_group`).
FiledEvent = DocumentIssued | BatchAccepted | OtherEvent

PARSERS: Final[dict[str, Callable[[dict[str, Any]], Event]]] = {
    T.INVOICE_ISSUED: DocumentIssued.parse,
    T.CREDIT_NOTE_ISSUED: DocumentIssued.parse,
    T.INVOICE_SENDING: DeliveryEvent.parse,
    T.INVOICE_SENT: DeliveryEvent.parse,
    T.INVOICE_SEND_FAILED: DeliveryEvent.parse,
    T.BATCH_SENDING: DeliveryEvent.parse,
    T.BATCH_DELIVERED: DeliveryEvent.parse,
    T.BATCH_SEND_FAILED: DeliveryEvent.parse,
    T.PAYMENT_RECORDED: PaymentRecorded.parse,
    T.BATCH_ACCEPTED: BatchAccepted.parse,
    T.BATCH_REJECTED: BatchRejected.parse,
    T.BATCH_COMPLETED: BatchCompleted.parse,
    T.USAGE_RECORDED: UsageRecorded.parse,
    T.CHARGE_ADDED: ChargeAdded.parse,
    T.REMINDER_DRAFTING: ReminderEvent.parse,
    T.REMINDER_DRAFTED: ReminderEvent.parse,
    T.REMINDER_DRAFT_FAILED: ReminderEvent.parse,
    T.INVOICE_DISPUTED: DisputeEvent.parse,
    T.INVOICE_DISPUTE_RESOLVED: DisputeEvent.parse,
    T.INVOICE_PROMISED: PromiseEvent.parse,
    T.PAYMENT_LINK_CREATED: PaymentLinkEvent.parse,
    T.PAYMENT_LINK_DEACTIVATED: PaymentLinkEvent.parse,
    T.EINVOICE_DIRECTORY: DirectoryLookup.parse,
    T.EINVOICE_TRANSMITTING: Transmission.parse,
    T.EINVOICE_TRANSMITTED: Transmission.parse,
    T.EINVOICE_STATUS: LifecycleStatus.parse,
    T.EREPORT_SENT: EReportSent.parse,
}


class EventError(ValueError):
    """A journal entry whose fields do not have the shape of its type."""


def parse_event(entry: dict[str, Any]) -> Event:
    """The typed record of one journal entry (an entry of an unknown type becomes OtherEvent)."""
    parse = PARSERS.get(entry.get("type", ""), OtherEvent.parse)
    try:
        return parse(entry)
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        where = f"entry {entry.get('seq')!r} ({entry.get('type')!r})"
        raise EventError(f"{where}: malformed field {exc}") from None
