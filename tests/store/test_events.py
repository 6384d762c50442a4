"""The journal's schema both ways (store/events.py): the commands write exactly what the
version before records serialized themselves wrote; every line they write, parsed into its
record and serialized back, is the same line byte for byte; every record type round-trips
through its data.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facturier.store.events import (
    EINVOICING_TYPES,
    PARSERS,
    AllocationPart,
    BatchAccepted,
    BatchCompleted,
    BatchRejected,
    ChargeAdded,
    DeliveryEvent,
    DirectoryLookup,
    DisputeEvent,
    DocumentIssued,
    EReportSent,
    Event,
    FileRef,
    LifecycleStatus,
    OtherEvent,
    PaymentLinkEvent,
    PaymentRecorded,
    PromiseEvent,
    ReminderEvent,
    T,
    Transmission,
    UsageRecorded,
    parse_event,
)
from facturier.store.journal import canonical
from tests.events_scenario import build_busy, cli, entries, normalized
from tests.ledger_gen import FACTS, entries_for, write_journal

# What the busy scenario's journal was, normalized, when written by the version before
# (b12f422): every write site built its own dictionary then.
BEFORE = Path(__file__).resolve().parent.parent / "fixtures" / "events" / "busy.jsonl"


def reprinted(raw: bytes) -> bytes:
    """The journal line of `raw`'s entry parsed into its record, then written from the record."""
    entry = orjson.loads(raw)
    event = parse_event(entry)
    assert entry["type"] not in PARSERS or not isinstance(event, OtherEvent)
    line = {"seq": entry["seq"], "at": entry["at"], "type": event.type, **event.to_data(),
            "prev": entry["prev"], "hash": entry["hash"]}
    return canonical(line) + b"\n"


def assert_reprinted(journal: Path) -> Counter[str]:
    """Every line of the journal written back from its record is the same bytes; the types seen."""
    seen: Counter[str] = Counter()
    for raw in journal.read_bytes().splitlines(keepends=True):
        assert reprinted(raw) == raw, raw.decode()
        seen[orjson.loads(raw)["type"]] += 1
    return seen


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_busy(tmp_path_factory.mktemp("events"))


def test_the_commands_write_what_the_version_before_wrote(busy: Path) -> None:
    before = [orjson.loads(line) for line in BEFORE.read_bytes().splitlines()]
    assert normalized(busy) == before


def test_every_line_of_a_busy_journal_is_written_back_byte_for_byte(busy: Path) -> None:
    seen = assert_reprinted(busy / "data" / "journal.jsonl")
    # Every entry type is in it, but a refused batch ZIP and the e-invoicing facts (which need a
    # platform: tests/cli/test_einvoicing*.py), covered by the record tests below.
    assert set(PARSERS) - set(seen) == {T.BATCH_SEND_FAILED, *EINVOICING_TYPES}
    cli(busy, "verify")


def test_the_busy_journal_has_every_optional_shape(busy: Path) -> None:
    """The scenario writes the variants whose keys differ (else the tests above prove less)."""
    written = entries(busy)
    keys = {(e["type"], k) for e in written for k in e}
    assert {(T.INVOICE_ISSUED, "period"), (T.INVOICE_ISSUED, "customer"),
            (T.INVOICE_ISSUED, "batch"), (T.CREDIT_NOTE_ISSUED, "credited_lines"),
            (T.CREDIT_NOTE_ISSUED, "reason"), (T.INVOICE_SENT, "gmail_message_id"),
            (T.INVOICE_SENT, "confirmed_by_operator"), (T.INVOICE_SEND_FAILED, "error"),
            (T.PAYMENT_RECORDED, "bank_key"), (T.PAYMENT_RECORDED, "remittance"),
            (T.CHARGE_ADDED, "vat_rate"), (T.REMINDER_DRAFTED, "uid"),
            (T.REMINDER_DRAFTED, "confirmed_by_operator"), (T.REMINDER_DRAFT_FAILED, "error"),
            (T.BATCH_COMPLETED, "issued")} <= keys
    assert any(e["type"] == T.PAYMENT_RECORDED and "bank_key" in e and e["bank_id"] is None
               for e in written)
    assert any(e["type"] == T.BATCH_REJECTED and e["sha256"] is None for e in written)
    assert any(e["type"] == T.REMINDER_DRAFTED and e["draft_id"] == "" for e in written)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FACTS)
def test_generated_ledgers_are_written_back_byte_for_byte(tmp_path: Path, facts: list[Any]) -> None:
    """The property tests' ledgers: imported history, credit notes without a reason, no files."""
    path = tmp_path / "journal.jsonl"
    write_journal(path, entries_for(facts, 2025))
    assert_reprinted(path)


def test_keys_of_earlier_versions_are_read_and_written_back() -> None:
    """Entries written before a key existed keep their shape."""
    at = "2026-11-20T10:00:00.000000Z"
    bank_before_counterparty = {
        "seq": 1, "at": at, "type": T.PAYMENT_RECORDED, "client": "acme", "date": "2026-11-19",
        "amount": "10.00", "currency": "EUR", "method": "transfer", "reference": "X",
        "source": "bank:csv:x.csv", "allocation": [], "unallocated": "10.00", "bank_id": None,
        "bank_key": "k"}
    unknown = {"seq": 2, "at": at, "type": "future.fact", "n": [1, {"a": None}],
               "files": {"pdf": {"path": "data/x.pdf", "sha256": "0" * 64}}}
    batch_delivered_before_parts = {
        "seq": 3, "at": at, "type": T.BATCH_DELIVERED, "client": "boulangerie-martin", "month": "2026-10",
        "message_id": "<m@x>", "to": ["gestion@boulangerie-martin.example"], "transport": "smtp"}
    for entry in (bank_before_counterparty, unknown, batch_delivered_before_parts):
        event = parse_event(entry)
        assert {"seq": event.seq, "at": event.at, "type": event.type, **event.to_data()} == entry
    other = parse_event(unknown)
    assert isinstance(other, OtherEvent)
    assert other.files == (FileRef("pdf", "data/x.pdf", "0" * 64),)


# --- every record round-trips through its data --------------------------------------------

text = st.text(st.characters(codec="utf-8"), max_size=12)  # what JSON can hold
maybe_text = st.none() | text
days = st.dates()
# The platform environment of an e-invoicing fact; absent in entries written before it was recorded.
platform_mode = st.none() | st.sampled_from(["test", "live"])
amounts = st.decimals(allow_nan=False, allow_infinity=False, places=2,
                      min_value=-10**9, max_value=10**9)
# In role order: a journal line's keys are sorted, so a record read back names them so.
files = st.lists(st.builds(FileRef, st.sampled_from(["pdf", "json", "csv"]), text, text),
                 unique_by=lambda f: f.role, max_size=3).map(
    lambda refs: tuple(sorted(refs, key=lambda f: f.role)))
envelope = {"seq": st.integers(1, 10**6), "at": text}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8)
RESERVED_AND_FILES = ("seq", "at", "type", "prev", "hash", "files")
reminder = {**envelope, "number": text, "client": text, "stage": st.integers(0, 99),
            "store": text, "message_id": text, "date": days}
delivery = {**envelope, "message_id": text, "number": maybe_text, "client": maybe_text,
            "month": maybe_text}
payment = {**envelope, "client": text, "date": days, "amount": amounts, "currency": text,
           "method": text, "reference": text, "source": text, "unallocated": amounts,
           "counterparty": maybe_text, "remittance": maybe_text}


def one_of_types(*types: str) -> st.SearchStrategy[str]:
    return st.sampled_from(types)


RECORDS: list[st.SearchStrategy[Event]] = [
    st.builds(DocumentIssued, **envelope, type=one_of_types(T.INVOICE_ISSUED, T.CREDIT_NOTE_ISSUED),
              kind=text, number=text, series=text, series_seq=st.integers(0, 10**6), seller=text,
              client=text, client_name=text, mode=text, date=days, due_date=days, currency=text,
              total_excl_vat=amounts, total_vat=amounts, total_incl_vat=amounts, files=files,
              period=maybe_text, refers_to=maybe_text, reason=maybe_text,
              credited_lines=st.none() | st.lists(st.integers(1, 99)).map(tuple),
              customer=maybe_text, reference=maybe_text, batch=maybe_text),
    st.builds(DeliveryEvent, **delivery, type=one_of_types(T.INVOICE_SENDING, T.BATCH_SENDING)),
    st.builds(DeliveryEvent, **delivery, type=one_of_types(T.INVOICE_SENT, T.BATCH_DELIVERED),
              to=st.lists(text).map(tuple), transport=text, confirmed_by_operator=st.booleans(),
              gmail_message_id=text, gmail_thread_id=text, gmail_subject=text),
    st.builds(DeliveryEvent, **delivery, error=text,
              type=one_of_types(T.INVOICE_SEND_FAILED, T.BATCH_SEND_FAILED)),
    # A batch ZIP: a supplementary part, its link token, the ZIP handed over and kept.
    st.builds(DeliveryEvent, **envelope, message_id=text, client=text, month=text,
              type=one_of_types(T.BATCH_SENDING), part=st.none() | st.integers(2, 99),
              link_token=maybe_text, sha256=maybe_text),
    st.builds(DeliveryEvent, **envelope, message_id=text, client=text, month=text,
              type=one_of_types(T.BATCH_DELIVERED), to=st.lists(text).map(tuple), transport=text,
              part=st.none() | st.integers(2, 99), link_token=maybe_text,
              invoices=st.none() | st.lists(text).map(tuple),
              files=st.tuples(st.builds(FileRef, st.just("zip"), text, text)) | st.just(())),
    st.builds(PaymentRecorded, **payment,
              allocation=st.lists(st.builds(AllocationPart, text, amounts)).map(tuple)),
    st.builds(PaymentRecorded, **payment, allocation=st.just(()), bank_id=maybe_text,
              bank_key=text),
    st.builds(BatchAccepted, **envelope, client=text, name=text, sha256=text,
              rows=st.integers(0, 10**6), run_date=days, files=files),
    st.builds(BatchRejected, **envelope, client=text, name=text, sha256=maybe_text,
              problems=st.integers(0, 99), rejected=text),
    st.builds(BatchCompleted, **envelope, client=text, sha256=text, name=text,
              issued=st.integers(0, 10**6)),
    st.builds(UsageRecorded, **envelope, source=text, sha256=maybe_text,
              rows=st.lists(st.lists(text, min_size=5, max_size=5).map(lambda r: [*r, None]))
              .map(tuple)),
    st.builds(ChargeAdded, **envelope, client=text, amount=amounts, currency=text,
              description=text, date=days, vat_rate=st.none() | amounts),
    st.builds(ReminderEvent, **reminder, type=st.just(T.REMINDER_DRAFTING)),
    st.builds(ReminderEvent, **reminder, type=st.just(T.REMINDER_DRAFTED), draft_id=text,
              uid=st.none() | st.integers(0, 10**6), confirmed_by_operator=st.booleans()),
    st.builds(ReminderEvent, **reminder, type=st.just(T.REMINDER_DRAFT_FAILED), error=text),
    st.builds(DisputeEvent, **envelope, type=st.just(T.INVOICE_DISPUTED), number=text,
              date=days, reason=text),
    st.builds(DisputeEvent, **envelope, type=st.just(T.INVOICE_DISPUTE_RESOLVED), number=text,
              date=days),
    st.builds(PromiseEvent, **envelope, number=text, until=days, date=days),
    st.builds(PaymentLinkEvent, **envelope, number=text, provider=text, link_id=text, url=text,
              amount=text, currency=text,
              type=one_of_types(T.PAYMENT_LINK_CREATED, T.PAYMENT_LINK_DEACTIVATED)),
    st.builds(DirectoryLookup, **envelope, siren=text, receives=st.booleans(), platform=text, date=days,
              mode=platform_mode),
    st.builds(Transmission, **envelope, type=st.just(T.EINVOICE_TRANSMITTING), number=text, seller=text,
              tracking_id=text, sha256=text, mode=platform_mode),
    st.builds(Transmission, **envelope, type=st.just(T.EINVOICE_TRANSMITTED), number=text, seller=text,
              tracking_id=text, sha256=text, flow_id=text, mode=platform_mode),
    st.builds(LifecycleStatus, **envelope, number=text, seller=text, code=text, label=text,
              status_at=text, flow_id=text, direction=text, reason=maybe_text, amount=maybe_text,
              payment=st.none() | st.integers(1, 10**6), mode=platform_mode),
    st.builds(EReportSent, **envelope, seller=text, kind=text, period=text, start=days, end=days,
              tracking_id=text, flow_id=text, sha256=text, count=st.integers(0, 10**6), mode=platform_mode),
    st.builds(OtherEvent, **envelope, type=one_of_types("test.fact", "future.fact"),
              data=st.dictionaries(text.filter(lambda k: k not in RESERVED_AND_FILES),
                                   json_values, max_size=4)),
]


def journalled(event: Event) -> dict[str, Any]:
    """The entry of `event` as a journal line holds it (through the canonical JSON)."""
    line = canonical({"seq": event.seq, "at": event.at, "type": event.type, **event.to_data()})
    entry: dict[str, Any] = orjson.loads(line)
    return entry


@pytest.mark.parametrize("records", RECORDS, ids=[f"{i:02d}" for i in range(len(RECORDS))])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_record_round_trips_through_its_data(records: st.SearchStrategy[Event],
                                                    data: st.DataObject) -> None:
    event = data.draw(records)
    entry = journalled(event)
    parsed = parse_event(entry)
    assert parsed == event
    data_only = {k: v for k, v in entry.items() if k not in ("seq", "at", "type")}
    assert canonical(parsed.to_data()) == canonical(data_only)


def test_every_entry_type_has_a_record_strategy() -> None:
    types = {t for strategy in RECORDS for t in _types(strategy)}
    assert set(PARSERS) <= types


def _types(strategy: st.SearchStrategy[Event]) -> set[str]:
    """The entry types a record strategy draws (found by drawing it)."""
    found: set[str] = set()

    @settings(max_examples=30, database=None)
    @given(strategy)
    def draw(event: Event) -> None:
        found.add(event.type)

    draw()
    return found
