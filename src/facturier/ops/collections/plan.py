"""`remind`'s plan: what is due today, computed purely from the ledger state and the configuration.

Nothing here writes: a dry run prints this plan, a real run hands it to `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from facturier.adapters.sheets import SheetReceivables
from facturier.core.dunning import (
    ClientReminder,
    DunningPlan,
    Receivable,
    Skipped,
    SkipReason,
    group_reminders,
    plan_reminders,
)
from facturier.core.errors import InputError
from facturier.ops.collections.receivables import external_source, open_amounts, receivables_from_ledger
from facturier.ops.connectors import sheet_source_receivables
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace


@dataclass(frozen=True, slots=True)
class InFlight:
    """A `reminder.drafting` without its outcome: the draft may or may not be in the store."""

    number: str
    client: str
    stage: int
    store: str
    message_id: str
    day: date
    offset: int


@dataclass(frozen=True, slots=True)
class RemindPlan:
    """The drafts to make on `day` (one per invoice, or per client with `combine`), the
    invoices left alone and why, and the hand-overs still in flight from an earlier run."""

    day: date
    groups: tuple[ClientReminder, ...]
    skipped: tuple[Skipped, ...]
    in_flight: tuple[InFlight, ...]
    # From a sheet source: the sheet as read (for the write-back); the invoices still open,
    # whose payment links stay on (None for a --client run, which sees only one client, and
    # for a replayed day, which does not see the invoices issued since).
    sheet: SheetReceivables | None = None
    open_numbers: frozenset[str] | None = None
    # Every open invoice the plan looked at (those in flight too): the review page's invoices
    # left alone come from here, not from a second read of the ledger.
    receivables: tuple[Receivable, ...] = ()

    @property
    def invoice_count(self) -> int:
        """How many invoices the drafts remind."""
        return sum(len(g.dues) for g in self.groups)


def plan_run(ws: Workspace, state: LedgerState, day: date, client: str | None = None,
             skip_bad_rows: bool | None = None, today: date | None = None) -> RemindPlan:
    """The reminders due on `day` (for one client, or all), by the rules of core.dunning.

    An invoice whose previous hand-over is in flight is left out: it is never redrafted
    until a human settles it (`remind --confirm` / `--retry`). When `day` replays a day
    before `today` (`--date`), a draft made now never asks for more than is due `today`
    (`as_of_today`).
    """
    collections = ws.config.collections
    sheet = None
    if collections.external_source:  # issues 12, 26: a sheet or QuickBooks instead of the ledger
        sheet = sheet_source_receivables(ws, day, state.collections.last, skip_bad_rows=skip_bad_rows,
                                         source=external_source(ws))
        source = [r for r in sheet.receivables if client is None or sheet_client_is(r, client)]
        if client is not None and not source:
            raise InputError(f"--client: no row of the sheet is for {client!r} (give the client's name or "
                             "email address as written in the sheet)")
        keys = {r.client for r in source}
        flights = tuple(f for f in in_flight(state) if client is None or f.client in keys)
    else:
        source = receivables_from_ledger(ws, state, day, None if client is None else [client])
        flights = in_flight(state, client)
    busy = {f.number for f in flights}
    receivables = [r for r in source if r.number not in busy]
    decisions = plan_reminders(receivables, day, collections.stage_tuple())
    if sheet is None and today is not None and today > day and decisions.due:
        decisions, source = as_of_today(decisions, source, state, today, day)
    groups = group_reminders(decisions.due, collections.combine)
    # The invoices whose payment links stay on; none are switched off by a --client run (one
    # client seen) or a replayed day (an invoice issued since is not open on it, but is today).
    replayed = sheet is None and today is not None and today > day
    still_open = frozenset(r.number for r in source if r.remaining > 0) if client is None and not replayed else None
    return RemindPlan(day, groups, decisions.skipped, flights, sheet, still_open, tuple(source))


def as_of_today(decisions: DunningPlan, source: list[Receivable], state: LedgerState, today: date,
                day: date) -> tuple[DunningPlan, list[Receivable]]:
    """The reminders of a replayed day (`--date`) as a draft made `today` may ask for them.

    A replayed day's stages and days overdue are that day's, but its drafts are made, read
    and sent today: an invoice paid or credited since is left alone (and leaves the open
    invoices, so a draft of it still waiting is named), and one partly paid since is
    reminded for what remains today. Only the invoices due are looked at again.
    """
    now = open_amounts(state, {d.receivable.client for d in decisions.due}, today)
    due, settled, gone = [], [], set()
    for reminder in decisions.due:
        found = now.get(reminder.number)
        if found is None:
            gone.add(reminder.number)
            settled.append(Skipped(reminder.number, SkipReason.ZERO_BALANCE,
                                   f"on {today} (paid or credited since {day}, the day replayed)"))
        elif found[0] < reminder.remaining:
            receivable = replace(reminder.receivable, remaining=found[0], paid=found[1], credited=found[2])
            due.append(replace(reminder, receivable=receivable, remaining=found[0]))
        else:
            due.append(reminder)
    kept = [r for r in source if r.number not in gone]
    return DunningPlan(tuple(due), (*decisions.skipped, *settled)), kept


def sheet_client_is(receivable: Receivable, client: str) -> bool:
    """Whether a sheet row is the client named on the command line (its name, any case, or an
    email address of the row)."""
    wanted = client.strip().casefold()
    return wanted == receivable.client_name.strip().casefold() or wanted in (e.casefold() for e in receivable.emails)


def in_flight(state: LedgerState, client: str | None = None) -> tuple[InFlight, ...]:
    """Every interrupted hand-over (of one client), in journal order."""
    out = []
    for number, (offset, stage, day, message_id) in sorted(state.collections.in_flight.items(),
                                                           key=lambda item: item[1][0]):
        entry = state.entry_at(offset)
        if client is not None and entry.get("client") != client:
            continue
        out.append(InFlight(number, str(entry.get("client", "")), stage, str(entry.get("store", "")),
                            message_id, date.fromordinal(day), offset))
    return tuple(out)
