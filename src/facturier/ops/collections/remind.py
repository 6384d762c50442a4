"""`facturier remind`: draft the reminders due today, or preview them (dry run).

Three outcomes before anything is planned: collections switched off (`enabled = false`),
outside the drafting window (says when it opens), or a dry run (by `--dry-run`, or by
`[collections] dry_run = true`, the default of a new workspace). A real run opens the
ledger under the lock, plans, and applies the plan (`apply`); a dry run prints the plan's
review table. Both through `ops.plan.carry_out`, as every writing command.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from facturier.adapters.drafts import DraftStore, DraftStoreOptions, open_draft_store
from facturier.adapters.google.sheet_log import log_drafts
from facturier.adapters.sheets import sheet_warnings
from facturier.core.dunning import ClientReminder, check_window
from facturier.core.errors import FacturierError, InputError
from facturier.core.text import printable
from facturier.ops.collections import settle
from facturier.ops.collections.apply import REVIEW_COLUMNS, apply_plan, review_row
from facturier.ops.collections.drafts import DraftBuilder
from facturier.ops.collections.formal_notice import attacher_for
from facturier.ops.collections.plan import InFlight, RemindPlan, plan_run
from facturier.ops.collections.review import RecordingBuilder, ReviewSource, left_alone
from facturier.ops.collections.stale_drafts import StaleDraft, mailbox_alerts, outbox_alerts, stale_drafts
from facturier.ops.connectors import (
    deactivate_paid_links,
    payment_link_of,
    skipped_rows,
    slack_alerts,
    write_back,
)
from facturier.ops.gmail_threads import gmail_threads
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.ops.plan import carry_out
from facturier.render.reminders import render_reminder
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace


def remind(ws: Workspace, day: date, now: datetime, *, dry_run: bool = False, client: str | None = None,
           store: DraftStore | None = None, skip_bad_rows: bool | None = None,
           review: ReviewSource | None = None) -> Report:
    """Draft (or preview) every reminder due on `day`; `now` is the local time for the window.

    `store` replaces the configured draft store (tests pass `MemoryDrafts`); `review`, when
    given, is filled with what the review page needs beyond the report (`ops.collections.review`).
    """
    collections = ws.config.collections
    sheet = collections.external_source
    if client is not None and client not in ws.clients and not sheet:
        raise InputError(f"--client: unknown client {client!r} (no clients/{client}.toml)")
    preview = dry_run or collections.dry_run
    notice = collections.notice()
    if not collections.enabled:
        return _nothing(preview, f"Nothing drafted: {notice}.")
    window = check_window(collections.drafting_window(), now)
    if not preview and not window.open:
        return _nothing(preview, f"Nothing drafted: {window.message()} ([collections] window = "
                                 f"\"{collections.window}\", {ws.config.timezone}).")
    plans: list[RemindPlan] = []

    def make(state: LedgerState) -> ReminderDrafts:
        plan = plan_run(ws, state, day, client, skip_bad_rows, today=now.date())
        plans.append(plan)
        if review is not None:
            review.left_alone = left_alone(plan)
        return ReminderDrafts(ws, plan, store, review, tuple(stale_drafts(ws, state, plan, client)))

    report = carry_out(ws.root, make, dry_run=preview)
    if preview and not dry_run:
        report.notes.append(f"Note: {notice}.")
    rows = next((p.sheet.rows.values() for p in plans if p.sheet is not None), None)
    # QuickBooks: the customers' unapplied credit taken off their invoices (adapters/quickbooks.py).
    report.notes.extend(dict.fromkeys(f"Note: {n}." for p in plans if p.sheet is not None
                                      for n in getattr(p.sheet.source, "credit_notes", ())))
    report.notes.extend(f"Note: {w}." for w in sheet_warnings(ws.config, rows))  # every run, not only check
    if preview and window.message():
        report.notes.append(f"Note: {window.message()}; a real run now would draft nothing.")
    if client is not None:  # the day's review page then lists this client only: say so there too
        page = ", and are not on the review page" if review is not None else ""
        report.notes.append(f"Note: only {printable(client)!r} (--client): other clients' invoices were not "
                            f"looked at{page}.")
    return report


def _nothing(preview: bool, note: str) -> Report:
    report = Report("Reminders" + (" (dry run: nothing drafted)" if preview else ""), REVIEW_COLUMNS)
    report.notes.append(note)
    return report


@dataclass(frozen=True, slots=True)
class ReminderDrafts:
    """`remind`'s plan as `ops.plan` carries it out: previewed, or handed to the draft store.

    `store` replaces the configured draft store when given (tests pass `MemoryDrafts`);
    `review` collects the drafts' first lines for the review page.
    """

    ws: Workspace
    plan: RemindPlan
    store: DraftStore | None = None
    review: ReviewSource | None = None
    # Drafts whose invoice was paid, credited, disputed or promised since (`stale_drafts`).
    stale: tuple[StaleDraft, ...] = ()

    def report(self) -> Report:
        """The review table of the drafts that would be made (subjects rendered), nothing drafted."""
        ws, plan = self.ws, self.plan
        report = Report("Reminders (dry run: nothing drafted)", REVIEW_COLUMNS)
        builder = DraftBuilder(ws)
        store = ws.config.collections.drafts
        for group in plan.groups:
            try:
                subject = self._render(builder, group)
            except FacturierError as exc:
                report.alerts.append(Alert("error", f"{', '.join(group.numbers)}: {exc}"))
                subject = "(template error)"
            to = ", ".join(dict.fromkeys(e for d in group.dues for e in d.receivable.emails))
            report.rows.append(review_row(group, subject, to, store, "would draft"))
        report.alerts.extend(Alert("warning", a.message) for a in in_flight_alerts(plan.in_flight))
        report.alerts.extend(Alert("warning", w) for w in skipped_rows(plan.sheet))
        report.alerts.extend(outbox_alerts(list(self.stale)))  # a dry run searches no mailbox
        _summary(plan, report, preview=True)
        return report

    def _render(self, builder: DraftBuilder, group: ClientReminder) -> str:
        """The draft's subject (and, for the review page, its body)."""
        if self.review is None:
            return builder.render_subject(group)
        rendered = render_reminder(builder.env, group, builder.creditor)
        self.review.record(group, rendered.body)
        return rendered.subject

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Hand the drafts over (`apply.apply_plan`), then the sheet write-back and payment links."""
        report = Report("Reminders", REVIEW_COLUMNS)
        report.alerts.extend(settle.settle_found(self.ws, ledger, self.plan.in_flight, report, self.store))
        if self.plan.groups:
            _draft(self.ws, ledger, self.plan, report, self.store, self.review)
        _after_drafting(self.ws, ledger, self.plan, report)
        report.alerts.extend(outbox_alerts(list(self.stale)))
        report.alerts.extend(mailbox_alerts(list(self.stale), lambda: self._store(ledger), owned=self.store is None))
        _summary(self.plan, report)
        return report

    def _store(self, ledger: Ledger) -> DraftStore:
        """The draft store to search: the one given (the caller closes it), or the configured one."""
        if self.store is not None:
            return self.store
        options = DraftStoreOptions(google=self.ws.config.google, gmail_threads=gmail_threads(ledger.state))
        return open_draft_store(self.ws.config.collections, self.ws.root, options=options)


def _draft(ws: Workspace, ledger: Ledger, plan: RemindPlan, report: Report, store: DraftStore | None,
           review: ReviewSource | None = None) -> None:
    try:
        options = DraftStoreOptions(google=ws.config.google, gmail_threads=gmail_threads(ledger.state))
        opened = store if store is not None else open_draft_store(ws.config.collections, ws.root, options=options)
    except FacturierError as exc:
        report.alerts.append(Alert("error", f"nothing drafted: {exc}"))
        return
    attach = attacher_for(ws, ledger.state, plan.day)
    builder = DraftBuilder(ws, attach) if review is None else RecordingBuilder(ws, attach, review)
    builder.payment_link, link_warnings = payment_link_of(ws, ledger.state, ledger)
    try:
        apply_plan(ws, ledger, plan, builder, opened, report)
    finally:
        opened.close()
    report.alerts.extend(Alert("warning", w) for w in link_warnings)
    state = ledger.state
    drafted = [g for g in plan.groups if all(state.collections.last(d.number) == (d.stage, plan.day)
                                             for d in g.dues)]
    report.alerts.extend(Alert("warning", w) for w in slack_alerts(ws, drafted))
    source = plan.sheet.source if plan.sheet is not None else None  # issue 26: the sheet's Log tab
    report.alerts.extend(Alert("warning", w) for w in log_drafts(source, ws.config.collections.log_tab, drafted))


def _after_drafting(ws: Workspace, ledger: Ledger, plan: RemindPlan, report: Report) -> None:
    """Issue 12's follow-ups, all warnings at worst: the sheet rows behind the journal are
    written back (this run's drafts and earlier failed write-backs), and the payment links
    of invoices no longer open are switched off."""
    warnings = []
    if plan.sheet is not None:
        warnings += skipped_rows(plan.sheet)
        warnings += write_back(plan.sheet, ledger.state.collections.last)
    if plan.open_numbers is not None:
        warnings += deactivate_paid_links(ws, ledger.state, ledger, set(plan.open_numbers))
    report.alerts.extend(Alert("warning", w) for w in warnings)


def _summary(plan: RemindPlan, report: Report, preview: bool = False) -> None:
    drafted = sum(1 for row in report.rows if row["status"] in ("drafted", "already in the store"))
    if preview:
        head = f"{len(plan.groups)} draft(s) would be made for {plan.invoice_count} invoice(s) on {plan.day}."
    elif plan.groups:
        head = f"{drafted} of {len(plan.groups)} draft(s) made on {plan.day}."
    else:
        head = f"Nothing to remind on {plan.day}."
    reasons = Counter(s.reason.value for s in plan.skipped)
    if reasons:
        head += " Left alone: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) + "."
    report.notes.insert(0, head)


def in_flight_alerts(flights: tuple[InFlight, ...]) -> list[Alert]:
    """An error for every interrupted hand-over: a human settles it, nothing is redone on its own."""
    return [Alert("error", f"{f.number}: a reminder (stage {f.stage}, Message-ID {f.message_id}) was being "
                           f"handed to the {f.store} store on {f.day} when the run stopped; it is NOT redrafted "
                           f"automatically. Check your drafts, then run `facturier remind --confirm {f.number}` "
                           f"if it is there, or `facturier remind --retry {f.number}`.") for f in flights]

