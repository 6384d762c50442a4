"""The monthly cycle for direct clients: issue each due invoice, in date order, gapless."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from facturier.core.invoice import Document, Line, Party
from facturier.core.schedule import (
    add_months,
    due_date,
    in_invoicing_window,
    month_bounds,
    month_end,
    month_key,
    next_window,
)
from facturier.ops.documents import seller_party
from facturier.ops.invoicing.compose import compose_lines, sample_lines
from facturier.ops.issuing import DocumentDraft, Issued, issue_documents, plan_numbers
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.ops.state_access import NumberAllocator
from facturier.ops.views import refresh_views
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import ClientConfig, Workspace

RUN_COLUMNS = ["number", "client", "name", "date", "due_date", "currency", "total_incl_vat", "mode"]


@dataclass(frozen=True, slots=True)
class MonthlyPlan:
    """Who gets an invoice today, for which month (with its lines), and when the next window
    opens for the others. `due` is (client, 'YYYY-MM') in client-id, then month order: a
    month a client owes and no run invoiced (cron missed it) is invoiced by the next run."""

    due: tuple[tuple[str, str], ...]
    next_window: date | None
    already: tuple[str, ...]
    lines: dict[tuple[str, str], tuple[Line, ...]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()  # why a client in its window gets no invoice
    caught_up: tuple[str, ...] = ()  # the months invoiced late, one line per client


def plan_monthly(ws: Workspace, state: LedgerState, run_date: date) -> MonthlyPlan:
    """Active clients in their window, in their start/end months, not yet invoiced for the
    month and with something to bill, by client id; and before each, the earlier months it
    owes that no run invoiced (`missed_months`)."""
    done = state.core.months
    period = month_key(run_date)
    due: list[tuple[str, str]] = []
    already, waits, skipped, caught_up = [], [], [], []
    lines: dict[tuple[str, str], tuple[Line, ...]] = {}

    settled: set[str] = set()  # clients whose corrections and charges an earlier invoice carries

    @functools.cache
    def invoiced_in(month: str) -> dict[str, int]:
        """The clients with an invoice for `month`, with its issue day (asked once a month, not once a client)."""
        return state.core.invoiced_for(month)

    def compose(client_id: str, month: str, day: date) -> None:
        composition = compose_lines(ws, client_id, day, state.usage, settle=client_id not in settled)
        if composition.lines:
            settled.add(client_id)
            due.append((client_id, month))
            lines[(client_id, month)] = composition.lines
        else:
            skipped.append(f"{client_id}: not invoiced for {month}: {composition.empty_reason}.")

    for client_id, client in sorted(ws.clients.items()):
        if not client.active:
            continue
        missed = missed_months(state, client_id, client, run_date)
        if state.core.last_period(client_id) is not None:  # a start_date set in the past still bills
            missed = [m for m in missed if not passed_over(ws, invoiced_in(m), client_id, m)]
        for month in missed:
            compose(client_id, month, date(int(month[:4]), int(month[5:7]), 1))
        late = [m for c, m in due[-len(missed):] if c == client_id and m in missed] if missed else []
        if late:
            caught_up.append(f"{client_id} for {', '.join(late)}")
        day = client.invoice_day or ws.config.schedule.invoice_day
        if (client_id, period) in done:  # its next window is next month's, whatever today's day
            already.append(client_id)
            waits.append(add_months(run_date, 1).replace(day=day))
        elif client.start_date is not None and period < month_key(client.start_date):
            waits.append(max(next_window(run_date, day), client.start_date.replace(day=day)))
        elif client.end_date is not None and period > month_key(client.end_date):
            continue  # ended: nothing is issued after end_date's month
        elif in_invoicing_window(run_date, day):
            compose(client_id, period, run_date)
        else:
            waits.append(next_window(run_date, day))
    return MonthlyPlan(tuple(due), min(waits) if waits else None, tuple(already), lines, tuple(skipped),
                       tuple(caught_up))


def missed_months(state: LedgerState, client_id: str, client: ClientConfig, run_date: date) -> list[str]:
    """The months before the run's that the client owes and no run invoiced: after the last
    month it was invoiced for (or from its start_date, when it never was), within its end_date.
    A client never invoiced and without a start_date owes nothing before its first run; a month
    before its last invoice that had nothing to bill is not revisited."""
    last = state.core.last_period(client_id)
    if last is not None:
        month = add_months(date(int(last[:4]), int(last[5:7]), 1), 1)
    elif client.start_date is not None:
        month = client.start_date.replace(day=1)
    else:
        return []
    out = []
    end = month_key(client.end_date) if client.end_date is not None else None
    while month_key(month) < month_key(run_date) and (end is None or month_key(month) <= end):
        out.append(month_key(month))
        month = add_months(month, 1)
    return out


def passed_over(ws: Workspace, invoiced: dict[str, int], client_id: str, month: str) -> bool:
    """Whether a run already went past this client for a month without invoicing it: it was
    paused (`active = false`) or had nothing to bill then, so reactivating it later does not
    bill that month. The sign is a client after it in id order (the order a run issues in,
    so a run killed before reaching it does not count) whose invoice for the month, among
    `invoiced` (client -> issue day), was issued on or after this client's invoicing day of that
    month: that run was in this client's window too. The day it was issued counts, not the other
    client's configured day (a client due on the 1st is often invoiced by the run of the 15th)."""
    day = ws.clients[client_id].invoice_day or ws.config.schedule.invoice_day
    first = date(int(month[:4]), int(month[5:7]), 1)
    window = first.replace(day=min(day, month_end(first).day)).toordinal()
    return any(other_id > client_id and issued >= window for other_id, issued in invoiced.items())


def client_party(client: ClientConfig) -> Party:
    """The buyer block of a direct client's invoice."""
    return Party(
        name=client.name,
        address=tuple(client.address),
        country=client.country,
        email=client.recipients()[0] if client.recipients() else None,
        siren=client.siren,
        siret=client.siret,
        vat_id=client.vat_id,
    )


def monthly_document(
    ws: Workspace, client_id: str, run_date: date, allocator: NumberAllocator,
    lines: tuple[Line, ...] | None = None, month: str | None = None,
) -> Document:
    """The monthly invoice of one client, numbered with the next number of its series.

    `lines` are its composed lines (`compose.compose_lines`); without them, one sample line
    per configured line (what `check` looks at). It is dated `run_date` and covers `month`
    ('YYYY-MM', by default the run's: an earlier one when a run catches up a missed month).
    """
    cfg, client = ws.config, ws.clients[client_id]
    test = client.mode == "test"
    number, series, seq = allocator.peek(
        cfg.numbering.invoice, seller="issuer", client=client_id, issue_date=run_date, test=test
    )
    start, end = month_bounds(run_date if month is None else date(int(month[:4]), int(month[5:7]), 1))
    # The service period is the part of the month the contract covers: from its start_date,
    # to its end_date (what a prorated line bills, and the dates the e-invoice carries).
    if client.start_date is not None and start <= client.start_date <= end:
        start = client.start_date
    if client.end_date is not None and start <= client.end_date <= end:
        end = client.end_date
    days = client.payment_days if client.payment_days is not None else cfg.terms.payment_days
    if lines is None:
        lines = sample_lines(ws, client_id, run_date)
    return Document(
        kind="invoice", number=number, series=series, seq=seq, mode=client.mode,
        seller_id="issuer", client_id=client_id, language=client.language, currency=client.currency,
        issue_date=run_date, due_date=due_date(run_date, days), period_start=start, period_end=end,
        seller=seller_party(cfg.issuer), buyer=client_party(client), buyer_is_business=client.business,
        vat_regime=client.effective_vat_regime(cfg.issuer), lines=lines, payment_days=days,
        late_penalty=cfg.terms.late_penalty_for(client.language),
        operation_category=client.operation_category or cfg.issuer.operation_category,
        vat_on_debits=cfg.issuer.vat_on_debits,
        delivery_address=tuple(client.delivery_address) if client.delivery_address else None,
        eur_rate=cfg.accounting.exchange_rates.get(client.currency),
    )


def row(doc: Document, total: str) -> dict[str, str]:
    """A table row describing an issued (or would-be) invoice."""
    return {
        "number": doc.number, "client": doc.client_id, "name": doc.buyer.name,
        "date": doc.issue_date.isoformat(), "due_date": doc.due_date.isoformat(),
        "currency": doc.currency, "total_incl_vat": total, "mode": doc.mode,
    }


@dataclass(frozen=True, slots=True)
class MonthlyInvoices:
    """`run`'s plan of monthly invoices (`ops.plan.Plan`): who is invoiced today, with what.

    Numbered by the issuing pipeline (`ops/issuing`): numbers allocated in memory in
    client-id order, PDFs rendered over all cores, documents committed in the same order in
    durable groups, so the journal never has a gap even if the run stops midway
    (uncommitted numbers are simply reused by the next run). The dry-run report numbers
    the same drafts the same way (`plan_numbers`) and renders nothing.
    """

    ws: Workspace
    state: LedgerState
    run_date: date
    plan: MonthlyPlan

    def drafts(self, numbers: NumberAllocator) -> Iterator[DocumentDraft]:
        """The due invoices in client-id then month order, each numbered by `numbers`."""
        for client_id, month in self.plan.due:
            doc = monthly_document(self.ws, client_id, self.run_date, numbers, self.plan.lines[(client_id, month)],
                                   month)
            yield DocumentDraft(doc, {"period": month})

    def report(self) -> Report:
        """The invoices a real run would issue now, with their numbers."""
        rows = [row(d.doc, record["total_incl_vat"]) for d, record in plan_numbers(self.state, self.drafts)]
        return self._report("Monthly invoices (dry run: nothing written)", rows)

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Issue the due invoices, then refresh their clients' views."""
        due = self.plan.due
        issued = issue_documents(
            ledger, self.drafts, templates=self.ws.root / "templates", expected=len(due), progress=progress,
            label="Issuing monthly invoices" if due else None, log=_log_line,
        )
        report = self._report("Monthly invoices", [row(i.doc, i.record["total_incl_vat"]) for i in issued])
        # A run killed between its commits and its views left those clients' views pending in
        # the state: refresh_views writes them too.
        refresh_views(self.ws, ledger.state, {r["client"] for r in report.rows})
        return report

    def _report(self, title: str, rows: list[dict[str, str]]) -> Report:
        report = Report(title, RUN_COLUMNS, rows)
        report.alerts.extend(Alert("warning", f"Caught up, each dated {self.run_date} and naming its month: {line}.")
                             for line in self.plan.caught_up)
        report.notes.extend(self.plan.skipped)
        if not self.plan.due and not self.plan.skipped:
            report.notes.append(_nothing_due_note(self.plan, self.run_date))
        return report


def plan_monthly_invoices(ws: Workspace, state: LedgerState, run_date: date) -> MonthlyInvoices:
    """The monthly invoices due on `run_date` (`plan_monthly`), as a plan to report or apply."""
    return MonthlyInvoices(ws, state, run_date, plan_monthly(ws, state, run_date))


def _log_line(issued: Issued) -> str:
    doc = issued.doc
    return f"issued {doc.number} {doc.currency} {issued.record['total_incl_vat']} ({doc.mode})"


def _nothing_due_note(plan: MonthlyPlan, run_date: date) -> str:
    when = f"; the next invoicing window opens on {plan.next_window}" if plan.next_window else ""
    if plan.already:
        return f"Every active client is already invoiced for {month_key(run_date)}{when}."
    return f"No invoice is due on {run_date}{when}."
