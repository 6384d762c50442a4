"""`remind --confirm NUMBER` / `--retry NUMBER`: settle a hand-over cut off mid-way; and
`remind` settling them by itself where the store says (`settle_found`).

Every real `remind` run first asks the draft store for each hand-over still in flight (the
outbox: the files in data/drafts/; IMAP: a search of the Drafts mailbox for the Message-ID;
Gmail: a search of the drafts): a draft found is journalled `reminder.drafted` (it did land,
the kill came before the journal said so); one not found, or a store that cannot be asked, is
left for `--retry` / `--confirm` with a line that says so. Nothing is ever drafted again on
its own.

`--confirm` journals `reminder.drafted` for a draft a human found in the drafts (the store
is asked first, to record where it is); `--retry` hands the same draft over again, with the
same Message-ID, so a store that already holds it returns it instead of making a second
one. Every invoice of a combined draft is settled together (they share the Message-ID).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Literal

from facturier.adapters.drafts import (
    DraftError,
    DraftReceipt,
    DraftStore,
    DraftStoreOptions,
    open_draft_store,
)
from facturier.core.dunning import ReminderDue, days_overdue, group_reminders, refusal
from facturier.core.errors import FacturierError, InputError
from facturier.ops.collections.apply import REVIEW_COLUMNS, hand_over, settle_batch
from facturier.ops.collections.drafts import DraftBuilder
from facturier.ops.collections.formal_notice import attacher_for
from facturier.ops.collections.metrics import record_drafts
from facturier.ops.collections.plan import InFlight, in_flight
from facturier.ops.collections.receivables import external_source, receivables_from_ledger
from facturier.ops.gmail_threads import gmail_threads
from facturier.ops.outcome import Alert, Report
from facturier.store.events import ReminderEvent, T
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace


ALL = "all"  # `--retry all` / `--confirm all`: every hand-over in flight, in one command


def settle(ws: Workspace, number: str, action: Literal["confirm", "retry"], day: date,
           store: DraftStore | None = None) -> Report:
    """Confirm or retry the in-flight reminder of an invoice (and of its combined siblings), or
    of every invoice in flight (`number` = "all": a kill mid-run can leave hundreds)."""
    report = Report("Reminders", REVIEW_COLUMNS)
    with Ledger(ws.root) as ledger:
        flights = in_flight(ledger.state)
        if number == ALL:
            if not flights:
                raise InputError("no reminder hand-over is in flight: nothing to settle")
            chosen = list(dict.fromkeys(f.message_id for f in flights))
        else:
            mine = next((f for f in flights if f.number == number), None)
            if mine is None:
                raise InputError(_nothing_in_flight(ledger, number))
            chosen = [mine.message_id]
        options = DraftStoreOptions(google=ws.config.google, gmail_threads=gmail_threads(ledger.state))
        opened = store if store is not None else open_draft_store(ws.config.collections, ws.root, options=options)
        try:
            for message_id in chosen:
                group = [f for f in flights if f.message_id == message_id]
                if action == "confirm":
                    _confirm(ws, ledger, opened, group, report)
                else:
                    _retry(ws, ledger, opened, group, day, report)
        finally:
            opened.close()
    return report


def _nothing_in_flight(ledger: Ledger, number: str) -> str:
    if ledger.state.document(number) is None:
        return f"no invoice numbered {number!r}"
    stage, when = ledger.state.collections.last(number)
    done = f" (last drafted: stage {stage} on {when})" if stage else ""
    return f"{number} has no reminder in flight to settle{done}"


def _confirm(ws: Workspace, ledger: Ledger, store: DraftStore, group: list[InFlight], report: Report) -> None:
    first = group[0]
    try:
        receipt = store.find(first.message_id)
    except DraftError as exc:
        raise InputError(f"cannot look for the draft in the {first.store} store to confirm it: {exc}") from None
    if receipt is None:
        receipt = DraftReceipt(first.store, "", first.message_id)
        report.alerts.append(Alert("warning", f"{first.number}: the draft (Message-ID {first.message_id}) is not "
                                              f"in the {first.store} store; recorded as drafted as you confirmed"))
    ledger.journal.append_many([replace(_event(T.REMINDER_DRAFTED, f), draft_id=receipt.draft_id,
                                        uid=receipt.uid, confirmed_by_operator=True)
                                for f in group])
    for f in group:
        report.rows.append({"invoice": f.number, "client": f.client, "stage": f.stage, "draft": receipt.draft_id,
                            "status": "confirmed drafted"})
    record_drafts(ws.root, [(f.number, f.client, f.stage, _recipients(ws, f.client),
                             f"{f.store}: confirmed, {f.message_id}") for f in group])


def _recipients(ws: Workspace, client: str) -> str:
    config = ws.clients.get(client)
    return ", ".join(config.recipients()) if config is not None else ""


def _event(type_: str, f: InFlight) -> ReminderEvent:
    """The entry of type `type_` of an in-flight reminder (its outcome's fields added by the
    caller)."""
    return ReminderEvent(type=type_, number=f.number, client=f.client, stage=f.stage, store=f.store,
                         message_id=f.message_id, date=f.day)


def _retry(ws: Workspace, ledger: Ledger, store: DraftStore, group: list[InFlight], day: date,
           report: Report) -> None:
    """Rebuild the draft from today's amounts with the same Message-ID, and hand it over again."""
    numbers = {f.number: f for f in group}
    if ws.config.collections.external_source:  # issues 12, 26: the row as the sheet (QuickBooks) says now
        from facturier.ops.connectors import sheet_source_receivables

        source = sheet_source_receivables(ws, day, ledger.state.collections.last, skip_bad_rows=True,
                                          source=external_source(ws)).receivables
    else:
        source = receivables_from_ledger(ws, ledger.state, day, {f.client for f in group})
    open_now = {r.number: r for r in source if r.number in numbers}
    # Paid or credited since, disputed, promised, the client opted out: a reminder now would be wrong.
    why = {f.number: "nothing left to pay" for f in group if f.number not in open_now}
    why |= {n: refused.message for n, r in open_now.items() if (refused := refusal(r, day)) is not None}
    if why:
        cancelled = [f for f in group if f.number in why]
        ledger.journal.append_many([replace(_event(T.REMINDER_DRAFT_FAILED, f), error=f"cancelled: {why[f.number]}")
                                    for f in cancelled])
        report.notes.extend(f"{f.number}: {why[f.number]}; its interrupted reminder is cancelled." for f in cancelled)
    dues = [ReminderDue(r, numbers[n].stage, days_overdue(r.due_on, day), r.remaining)
            for n, r in open_now.items() if n not in why]
    if not dues:
        return
    first = group[0]
    [combined] = group_reminders(dues, combine=True)
    builder = DraftBuilder(ws, attacher_for(ws, ledger.state, day))
    draft = builder.build(combined, message_id=first.message_id)
    outcome = hand_over(store, [draft])
    settle_batch(ws, ledger, store.name, first.day, outcome, report)


def settle_found(ws: Workspace, ledger: Ledger, flights: tuple[InFlight, ...], report: Report,
                 store: DraftStore | None = None) -> list[Alert]:
    """Journal `reminder.drafted` for every hand-over in flight whose draft the store holds
    (a note each); an alert for each of the others, saying what to run."""
    if not flights:
        return []
    groups = {m: [f for f in flights if f.message_id == m] for m in dict.fromkeys(f.message_id for f in flights)}
    try:
        options = DraftStoreOptions(google=ws.config.google, gmail_threads=gmail_threads(ledger.state))
        opened = store if store is not None else open_draft_store(ws.config.collections, ws.root, options=options)
    except FacturierError as exc:
        return [_unsettled(f, f"the store could not be searched ({exc})") for f in flights]
    alerts: list[Alert] = []
    try:
        for group in groups.values():
            alerts += _settle_if_found(ws, ledger, opened, group, report)
    finally:
        if store is None:
            opened.close()
    return alerts


def _settle_if_found(ws: Workspace, ledger: Ledger, store: DraftStore, group: list[InFlight],
                     report: Report) -> list[Alert]:
    first = group[0]
    if first.store != store.name:  # the configuration changed store since: that one is not asked
        return [_unsettled(f, f"drafts now go to the {store.name} store, which was not searched") for f in group]
    try:
        receipt = store.find(first.message_id)
    except DraftError as exc:
        return [_unsettled(f, f"the search failed ({exc})") for f in group]
    if receipt is None:
        return [_unsettled(f, "the store was searched and does not hold it") for f in group]
    ledger.journal.append_many([replace(_event(T.REMINDER_DRAFTED, f), draft_id=receipt.draft_id, uid=receipt.uid)
                                for f in group])
    # Notes, not rows of the review table: its rows are this run's drafts, with their amounts.
    report.notes.extend(f"{f.number}: the reminder interrupted on {f.day} (stage {f.stage}) was found in the "
                        f"{f.store} store ({receipt.draft_id}) and is recorded as drafted." for f in group)
    record_drafts(ws.root, [(f.number, f.client, f.stage, _recipients(ws, f.client),
                             f"{f.store}: found after an interrupted run, {f.message_id}") for f in group])
    return []


def _unsettled(f: InFlight, why: str) -> Alert:
    return Alert("error", f"{f.number}: a reminder (stage {f.stage}, Message-ID {f.message_id}) was being handed "
                          f"to the {f.store} store on {f.day} when the run stopped; {why}, so it is NOT redrafted "
                          f"automatically. Check your drafts, then run `facturier remind --confirm {f.number}` if "
                          f"it is there, or `facturier remind --retry {f.number}` (`all` settles every one).")
