"""Apply `remind`'s plan: hand each draft to the store between `reminder.drafting` and
`reminder.drafted`, in batched commits.

The contract is the one stated on `adapters.drafts.DraftStore`. Per batch of drafts: one
commit journals `reminder.drafting` for every invoice of the batch; each draft is created;
the store is flushed (the outbox makes the whole batch durable at once); one commit
journals `reminder.drafted` for every draft stored, and `reminder.draft_failed` for those
surely not stored (refused, store unreachable, or not attempted after the store failed),
which the next run drafts again. A draft whose hand-over was cut mid-way
(`DraftInterrupted`) stays in flight: never redone automatically, reported by every run
until `remind --confirm` or `--retry` settles it.

The first batch holds one draft, so a store that is down costs one pair of entries, not a
batch of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from facturier.adapters.drafts import (
    DraftError,
    DraftInterrupted,
    DraftReceipt,
    DraftRefused,
    DraftStore,
)
from facturier.core.dunning import ClientReminder
from facturier.core.errors import FacturierError
from facturier.core.money import fmt_amount
from facturier.ops.collections.drafts import Draft, DraftBuilder
from facturier.ops.collections.metrics import record_drafts
from facturier.ops.collections.plan import RemindPlan
from facturier.ops.outcome import Alert, Report
from facturier.store.events import ReminderEvent, T
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace

BATCH = 500
REVIEW_COLUMNS = ["invoice", "client", "email", "days_overdue", "stage", "amount", "currency", "subject",
                  "draft", "status"]


@dataclass
class BatchOutcome:
    """What happened to the drafts of one batch."""

    stored: list[tuple[Draft, DraftReceipt]] = field(default_factory=list)
    failed: list[tuple[Draft, str]] = field(default_factory=list)
    unknown: list[Draft] = field(default_factory=list)
    stopped: DraftError | None = None


def review_row(group: ClientReminder, subject: str, to: str, draft: str, status: str) -> dict[str, Any]:
    """One line of the review table."""
    first = group.dues[0].receivable
    client = first.client_name if first.from_sheet else group.client  # a sheet row has no id: its name
    return {"invoice": ", ".join(group.numbers), "client": client, "email": to,
            "days_overdue": group.days_overdue, "stage": group.stage,
            "amount": fmt_amount(group.remaining, group.currency), "currency": group.currency,
            "subject": subject, "draft": draft, "status": status}


def _batches(groups: Sequence[ClientReminder]) -> Iterator[Sequence[ClientReminder]]:
    """1 group, then BATCH at a time (see the module docstring)."""
    if groups:
        yield groups[:1]
    for start in range(1, len(groups), BATCH):
        yield groups[start:start + BATCH]


def reminder_events(type_: str, draft: Draft, store: str, day: date) -> list[ReminderEvent]:
    """The entries of type `type_` of one draft, one per invoice it reminds (the outcome's
    fields added by the caller)."""
    return [ReminderEvent(type=type_, number=due.number, client=draft.group.client, stage=due.stage,
                          store=store, message_id=draft.message_id, date=day)
            for due in draft.group.dues]


def apply_plan(ws: Workspace, ledger: Ledger, plan: RemindPlan, builder: DraftBuilder, store: DraftStore,
               report: Report) -> None:
    """Draft every group of the plan, batch by batch; stop at the first store failure."""
    processed = 0
    for batch in _batches(plan.groups):
        processed += len(batch)
        drafts = _build(builder, batch, report)
        if not drafts:
            continue
        drafting = [reminder_events(T.REMINDER_DRAFTING, d, store.name, plan.day) for d in drafts]
        ledger.journal.append_many([e for events in drafting for e in events])
        outcome = hand_over(store, drafts)
        settle_batch(ws, ledger, store.name, plan.day, outcome, report)
        if outcome.stopped is not None:
            left = len(plan.groups) - processed
            if left > 0:
                report.notes.append(f"{left} draft(s) not attempted after the store failed; the next run "
                                    "drafts them.")
            return


def _build(builder: DraftBuilder, batch: Sequence[ClientReminder], report: Report) -> list[Draft]:
    """The batch's drafts; a template that fails stops only its own draft (an error alert)."""
    drafts = []
    for group in batch:
        try:
            drafts.append(builder.build(group))
        except FacturierError as exc:
            report.alerts.append(Alert("error", f"{', '.join(group.numbers)}: no reminder drafted: {exc}"))
            report.rows.append(review_row(group, "", "", "", "error"))
    return drafts


def hand_over(store: DraftStore, drafts: list[Draft]) -> BatchOutcome:
    """Create each draft, then flush; a refused draft fails alone, an unreachable store stops the batch."""
    outcome = BatchOutcome()
    for index, draft in enumerate(drafts):
        try:
            outcome.stored.append((draft, store.create(draft.message)))
        except DraftInterrupted as exc:
            outcome.unknown.append(draft)
            outcome.stopped = exc
        except DraftRefused as exc:
            outcome.failed.append((draft, str(exc)))
            continue
        except DraftError as exc:
            outcome.failed.append((draft, str(exc)))
            outcome.stopped = exc
        if outcome.stopped is not None:
            outcome.failed.extend((d, "not attempted: the draft store failed on an earlier draft")
                                  for d in drafts[index + 1:])
            break
    try:
        store.flush()
    except DraftError as exc:  # written but maybe not durable: the outcome is unknown
        outcome.unknown.extend(d for d, _ in outcome.stored)
        outcome.stored.clear()
        outcome.stopped = exc
    return outcome


def settle_batch(ws: Workspace, ledger: Ledger, store: str, day: date, outcome: BatchOutcome,
                 report: Report) -> None:
    """One commit for the batch's outcomes, then the review rows, the CSV and the logs."""
    entries: list[ReminderEvent] = []
    for draft, receipt in outcome.stored:
        entries += [replace(e, draft_id=receipt.draft_id, uid=receipt.uid, gmail_message_id=receipt.gmail_message_id)
                    for e in reminder_events(T.REMINDER_DRAFTED, draft, store, day)]
    for draft, error in outcome.failed:
        entries += [replace(e, error=error)
                    for e in reminder_events(T.REMINDER_DRAFT_FAILED, draft, store, day)]
    ledger.journal.append_many(entries)
    for draft, receipt in outcome.stored:
        status = "already in the store" if receipt.existing else "drafted"
        row = review_row(draft.group, draft.subject, draft.to, receipt.draft_id, status)
        if receipt.gmail_message_id:  # the review page opens the Gmail draft itself
            row["gmail_message_id"] = receipt.gmail_message_id
        report.rows.append(row)
    for draft, error in outcome.failed:
        status = "not attempted" if error.startswith("not attempted") else "failed"
        report.rows.append(review_row(draft.group, draft.subject, draft.to, "", status))
    for draft in outcome.unknown:
        report.rows.append(review_row(draft.group, draft.subject, draft.to, "", "in flight"))
    _alerts(outcome, report)
    record_drafts(ws.root, [(due.number, d.group.client, due.stage, d.to, f"{store}: {r.draft_id}, {d.message_id}")
                            for d, r in outcome.stored for due in d.group.dues])


def _alerts(outcome: BatchOutcome, report: Report) -> None:
    for draft, error in outcome.failed:
        if not error.startswith("not attempted"):
            report.alerts.append(Alert("error", f"{', '.join(draft.group.numbers)}: reminder not drafted, the "
                                                f"next run drafts it again: {error}"))
    for draft in outcome.unknown:
        numbers = ", ".join(draft.group.numbers)
        report.alerts.append(Alert("error", f"{numbers}: the hand-over of the reminder (Message-ID "
                                            f"{draft.message_id}) was cut off: {outcome.stopped}. It may or may "
                                            f"not be in the drafts; it is NOT redone automatically. Check, then "
                                            f"run `facturier remind --confirm {draft.group.numbers[0]}` or "
                                            f"`--retry {draft.group.numbers[0]}`."))
