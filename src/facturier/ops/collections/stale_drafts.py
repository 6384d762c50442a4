"""Reminder drafts still waiting for an invoice that no longer needs one.

A draft is made on one day and sent by a human on a later one (seed 003: "the human sends").
When the invoice is paid, credited, disputed or promised in between, the draft still asks for
the money: `remind` names each such draft so the owner deletes it instead of sending it.

- The outbox store (`data/drafts/`) is looked at on every run, a dry run too: the file is
  there or not; deleting it (or moving it away once sent) stops the warning.
- A mailbox store (IMAP, Gmail) is searched by Message-ID on real runs only (a dry run
  connects to nothing): a draft sent from the mail client leaves the Drafts folder, so one
  still found there was not sent.
- With a sheet or QuickBooks as the source, the source says what is open: a draft whose
  invoice is no longer an overdue row of the sheet (paid, void, removed, or a QuickBooks
  invoice whose balance is nil or that was deleted) is named the same way. A `--client` run
  sees one client's rows only, so it names none of these.

Only the drafts of the last `RECENT_DAYS` days are looked at: older ones are not searched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from facturier.adapters.drafts import DraftStore
from facturier.core.dunning import Receivable
from facturier.core.errors import FacturierError
from facturier.core.text import printable
from facturier.ops.outcome import Alert
from facturier.store.events import T
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.ops.collections.plan import RemindPlan

RECENT_DAYS = 60  # how far back drafts are looked for (a reminder cycle is 42 days)
MAILBOX_SEARCHES = 50  # at most this many searches a run (the most recent drafts first)


@dataclass(frozen=True, slots=True)
class StaleDraft:
    """A reminder drafted earlier whose invoice needs no reminder on the plan's day."""

    number: str
    stage: int
    drafted_on: str
    store: str
    draft_id: str
    message_id: str
    why: str
    # The other invoices of a combined draft, still due: deleting it would drop their reminder.
    also: tuple[str, ...] = ()

    def alert(self, where: str) -> Alert:
        number = printable(self.number)
        head = (f"do not send {where} as it is (the stage {self.stage} reminder of {number}, drafted on "
                f"{self.drafted_on}): {number} {self.why} now")
        if not self.also:
            return Alert("warning", f"do not send {where} (the stage {self.stage} reminder of {number}, drafted on "
                                    f"{self.drafted_on}): {number} {self.why} now; delete the draft")
        others = ", ".join(printable(n) for n in self.also)
        return Alert("warning", f"{head}; it also reminds {others}, still due: edit it to leave {number} out, or "
                                f"delete it (then {others} is reminded again only at its next stage)")


def stale_drafts(ws: Workspace, state: LedgerState, plan: RemindPlan, client: str | None) -> list[StaleDraft]:
    """Every reminder drafted in the configured store in the last `RECENT_DAYS` days for an
    invoice that is, on the plan's day, paid, credited, disputed or promised (with a sheet
    source: no longer an overdue row of the sheet); for the outbox, only those whose file is
    still on disk."""
    store = ws.config.collections.drafts
    names = _on_disk(ws) if store == "outbox" else None
    if names == set() or (plan.sheet is not None and client is not None):
        return []
    since, day = (plan.day - timedelta(days=RECENT_DAYS)).toordinal(), plan.day.isoformat()
    open_now = {r.number: r for r in plan.receivables}
    out = []
    for number, (_, last_day) in sorted(state.collections.drafted.items()):
        why = "" if last_day < since else _no_longer_due(open_now.get(number), plan)
        if not why:
            continue
        for entry in state.entries_at(list(state.collections.mentions.get(number, []))):
            owner = str(entry.get("client", ""))
            # A ledger draft's client is a client file; a sheet row's, its email address.
            ours = owner not in ws.clients if plan.sheet is not None else owner in ws.clients
            if (entry["type"] != T.REMINDER_DRAFTED or entry.get("store") != store or not since <= _ordinal(entry)
                    or entry["date"] > day or not ours or client not in (None, owner)
                    or (names is not None and str(entry.get("draft_id", "")) not in names)):
                continue
            out.append(StaleDraft(number, int(entry["stage"]), str(entry["date"]), store,
                                  str(entry.get("draft_id", "")), str(entry.get("message_id", "")), why))
    return _with_others(ws, state, out, open_now, since) if out and ws.config.collections.combine else out


def _with_others(ws: Workspace, state: LedgerState, stale: list[StaleDraft], open_now: dict[str, Receivable],
                 since: int) -> list[StaleDraft]:
    """`stale`, each combined draft naming its other invoices still due (same Message-ID)."""
    ids = {s.message_id for s in stale if s.message_id}
    done = {s.number for s in stale}
    others: dict[str, set[str]] = {}
    for number, (_, last_day) in sorted(state.collections.drafted.items()):
        if last_day < since or number in done or number not in open_now:
            continue  # only the recent drafts of invoices still due can share a stale draft
        for entry in state.entries_at(list(state.collections.mentions.get(number, []))):
            if entry["type"] == T.REMINDER_DRAFTED and entry.get("message_id") in ids:
                others.setdefault(str(entry["message_id"]), set()).add(number)
    return [replace(s, also=tuple(sorted(others.get(s.message_id, ())))) for s in stale]


def outbox_alerts(stale: list[StaleDraft]) -> list[Alert]:
    """The warnings for the outbox's drafts (the others need a search: `mailbox_alerts`)."""
    return [s.alert(f"data/drafts/{printable(s.draft_id)}") for s in stale if s.store == "outbox"]


def mailbox_alerts(stale: list[StaleDraft], open_store: Callable[[], DraftStore], owned: bool = True) -> list[Alert]:
    """Search the mailbox for each stale draft (most recent first, `MAILBOX_SEARCHES` at most):
    a warning for each still there; one warning when the store cannot be searched. The store
    is closed after the searches when `owned`."""
    wanted = sorted((s for s in stale if s.store != "outbox"), key=lambda s: s.drafted_on, reverse=True)
    if not wanted:
        return []
    alerts = []
    try:
        store = open_store()
        try:
            for s in wanted[:MAILBOX_SEARCHES]:
                receipt = store.find(s.message_id)
                if receipt is not None:
                    alerts.append(s.alert(f"the draft {printable(receipt.draft_id)} in your {s.store} drafts"))
        finally:
            if owned:
                store.close()
    except FacturierError as exc:
        alerts.append(Alert("warning", f"the {wanted[0].store} drafts were not searched for reminders that must "
                                       f"no longer be sent (no reminder is due now for "
                                       f"{', '.join(dict.fromkeys(printable(s.number) for s in wanted))}): {exc}"))
    return alerts


def _on_disk(ws: Workspace) -> set[str]:
    """The outbox drafts' file names (none when the folder is missing or unreadable: the store
    reports that itself)."""
    try:
        return {p.name for p in WorkspacePaths(ws.root).drafts.iterdir() if p.name.endswith(".eml")}
    except OSError:
        return set()


def _ordinal(entry: dict[str, Any]) -> int:
    return date.fromisoformat(str(entry["date"])).toordinal()


def _no_longer_due(receivable: Receivable | None, plan: RemindPlan) -> str:
    """Why the invoice needs no reminder on the plan's day ("" when it still does)."""
    if plan.sheet is not None and receivable is None:
        left_out = " (or its row is one left out as a bad row)" if plan.sheet.skipped else ""
        return f"is paid, void, removed or not yet due in {plan.sheet.source.where()}{left_out}"
    if receivable is None or receivable.remaining <= 0:
        return "is paid or credited"
    if receivable.disputed:
        return "is disputed"
    if receivable.promised_until is not None and receivable.promised_until > plan.day:
        return f"has a payment promised by {receivable.promised_until}"
    return ""
