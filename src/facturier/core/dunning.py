"""The collections router of PRODUCT.md §8 (seed 003): which overdue invoice gets which reminder.

Pure: no clock, no files. The caller builds one `Receivable` per open invoice from the
ledger state and asks `decide(receivable, today, stages)`; the answer is a `ReminderDue` or a
`Skipped` with the reason, checked in the order a user would check them:

1. the client has `[collections] enabled = false`;
2. the invoice is in test mode;
3. it is fully credited, paid, or has nothing left to pay (zero balance);
4. it is disputed, or promised until a date still to come (from that date on, the sequence
   resumes where the days overdue put it);
5. no stage is reached yet (stages are days after the due date, default 7/14/21/28/35/42);
6. a reminder was already drafted for it today (never twice on the same day);
7. the stage reached is not higher than the last stage drafted.

The stage is the highest one reached, so an invoice first seen 21 days overdue gets stage
21, not 7. Amounts are the remaining balance after payments and credit notes. Days are
calendar days in the workspace time zone, which the caller has already applied to `today`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from itertools import pairwise

from facturier.core.errors import InputError
from facturier.core.money import ZERO

DEFAULT_STAGES: tuple[int, ...] = (7, 14, 21, 28, 35, 42)
MAX_STAGE_DAYS = 3650
_WINDOW = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", re.ASCII)  # digits 0-9 only


@dataclass(frozen=True, slots=True)
class Receivable:
    """One issued invoice as collections see it: amounts, dates, and its reminder history.

    `remaining` is what is still due after payments and credit notes (the caller computes it
    with the ledger's allocation rules); `paid` and `credited` are shown in reminders.
    `last_stage` / `last_drafted_on` come from the journal's `reminder.drafted` entries (and
    `reminder.drafting` ones still in flight); `sent_message_id` from `invoice.sent`.
    """

    number: str
    client: str
    client_name: str
    emails: tuple[str, ...]
    language: str
    currency: str
    issued_on: date
    due_on: date
    total: Decimal
    paid: Decimal
    credited: Decimal
    remaining: Decimal
    mode: str = "live"
    business: bool = True
    from_sheet: bool = False  # a sheet row: `client` is its first email, `client_name` who it is
    # A sheet row's country ("" when unknown); None for the ledger's, whose invoice decided.
    country: str | None = None
    disputed: bool = False
    promised_until: date | None = None
    last_stage: int | None = None
    last_drafted_on: date | None = None
    sent_message_id: str | None = None
    collections_enabled: bool = True


class SkipReason(Enum):
    """Why an invoice gets no reminder today; the value is the text shown to the user."""

    CLIENT_DISABLED = "collections disabled for the client"
    TEST_MODE = "test mode: never reminded"
    CREDITED = "fully credited"
    PAID = "paid"
    ZERO_BALANCE = "nothing left to pay"
    DISPUTED = "disputed"
    PROMISED = "payment promised"
    NOT_DUE = "no reminder stage reached yet"
    DRAFTED_TODAY = "a reminder was already drafted today"
    STAGE_DONE = "this stage was already drafted"


@dataclass(frozen=True, slots=True)
class Skipped:
    """No reminder for this invoice today, and why (`detail` adds dates or stages)."""

    number: str
    reason: SkipReason
    detail: str = ""

    @property
    def message(self) -> str:
        """The reason as one line, e.g. 'payment promised until 2026-12-15'."""
        return f"{self.reason.value} {self.detail}".strip()


@dataclass(frozen=True, slots=True)
class ReminderDue:
    """A reminder to draft: the invoice, the stage reached, its days overdue, what remains."""

    receivable: Receivable
    stage: int
    days_overdue: int
    remaining: Decimal

    @property
    def number(self) -> str:
        return self.receivable.number


@dataclass(frozen=True, slots=True)
class ClientReminder:
    """One draft: one invoice, or (with `combine = true`) every due invoice of a client in one
    currency, in the tone of the most advanced stage."""

    client: str
    currency: str
    stage: int
    days_overdue: int
    remaining: Decimal
    dues: tuple[ReminderDue, ...]

    @property
    def numbers(self) -> tuple[str, ...]:
        """The invoice numbers it reminds, most overdue first."""
        return tuple(due.number for due in self.dues)


@dataclass(frozen=True, slots=True)
class DunningPlan:
    """What one run would draft and what it leaves alone (with reasons), in input order."""

    due: tuple[ReminderDue, ...]
    skipped: tuple[Skipped, ...]


def check_stages(stages: Sequence[int]) -> tuple[int, ...]:
    """Stages as a tuple: at least one, whole days from 1 to 3650, strictly increasing."""
    if not stages:
        raise ValueError("needs at least one stage, e.g. [7, 14, 21, 28, 35, 42]")
    for stage in stages:
        if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= MAX_STAGE_DAYS:
            raise ValueError(f"each stage is a number of days from 1 to {MAX_STAGE_DAYS}, got {stage!r}")
    if any(later <= earlier for earlier, later in pairwise(stages)):
        raise ValueError(f"stages must be strictly increasing, got {list(stages)}")
    return tuple(stages)


def days_overdue(due_on: date, today: date) -> int:
    """Whole days past the due date; 0 on or before it."""
    return max(0, (today - due_on).days)


def stage_for(days: int, stages: Sequence[int] = DEFAULT_STAGES) -> int | None:
    """The highest stage reached after `days` days overdue, or None before the first one."""
    reached = [stage for stage in stages if days >= stage]
    return max(reached) if reached else None


def decide(receivable: Receivable, today: date,
           stages: Sequence[int] = DEFAULT_STAGES) -> ReminderDue | Skipped:
    """The router: a reminder due today for this invoice, or the first rule that stops it."""
    refused = refusal(receivable, today)
    if refused is not None:
        return refused
    days = days_overdue(receivable.due_on, today)
    stage = stage_for(days, stages)
    number = receivable.number
    if stage is None:
        first = f", first stage at {min(stages)}" if stages else ", no stages configured"
        return Skipped(number, SkipReason.NOT_DUE, f"({days} days overdue{first})")
    if receivable.last_drafted_on == today:
        return Skipped(number, SkipReason.DRAFTED_TODAY)
    if receivable.last_stage is not None and stage <= receivable.last_stage:
        return Skipped(number, SkipReason.STAGE_DONE, f"(stage {receivable.last_stage})")
    return ReminderDue(receivable, stage, days, receivable.remaining)


def refusal(receivable: Receivable, today: date) -> Skipped | None:
    """The first rule about the invoice itself (not its stage) that forbids a reminder today
    (rules 1-4: a client opted out, test mode, nothing left to pay, disputed, promised)."""
    number = receivable.number
    if not receivable.collections_enabled:
        return Skipped(number, SkipReason.CLIENT_DISABLED)
    if receivable.mode != "live":
        return Skipped(number, SkipReason.TEST_MODE)
    if receivable.remaining <= ZERO:
        return Skipped(number, _settled_reason(receivable))
    if receivable.disputed:
        return Skipped(number, SkipReason.DISPUTED)
    if receivable.promised_until is not None and today < receivable.promised_until:
        return Skipped(number, SkipReason.PROMISED, f"until {receivable.promised_until.isoformat()}")
    return None


def _settled_reason(receivable: Receivable) -> SkipReason:
    """Why nothing remains: credit notes cover the total, payments settle it, or it was zero."""
    if receivable.total > ZERO and receivable.credited >= receivable.total:
        return SkipReason.CREDITED
    if receivable.paid > ZERO:
        return SkipReason.PAID
    return SkipReason.ZERO_BALANCE


def plan_reminders(receivables: Iterable[Receivable], today: date,
                   stages: Sequence[int] = DEFAULT_STAGES) -> DunningPlan:
    """Every decision of one run, split into the reminders due and the invoices skipped."""
    due: list[ReminderDue] = []
    skipped: list[Skipped] = []
    for receivable in receivables:
        decision = decide(receivable, today, stages)
        if isinstance(decision, ReminderDue):
            due.append(decision)
        else:
            skipped.append(decision)
    return DunningPlan(tuple(due), tuple(skipped))


def group_reminders(dues: Iterable[ReminderDue], combine: bool = False) -> tuple[ClientReminder, ...]:
    """One draft per reminder, or with `combine` one per client and currency.

    A combined draft takes the most advanced stage and the largest days overdue of its
    invoices, lists them most overdue first, and sums what remains (one currency per draft,
    so amounts are never added across currencies). Groups keep the order of first appearance.
    """
    if not combine:
        return tuple(_group(due.receivable.client, due.receivable.currency, [due]) for due in dues)
    groups: dict[tuple[str, str], list[ReminderDue]] = {}
    for due in dues:
        groups.setdefault((due.receivable.client, due.receivable.currency), []).append(due)
    return tuple(_group(client, currency, members) for (client, currency), members in groups.items())


def _group(client: str, currency: str, members: list[ReminderDue]) -> ClientReminder:
    ordered = sorted(members, key=lambda due: (-due.days_overdue, due.number))
    return ClientReminder(
        client=client, currency=currency,
        stage=max(due.stage for due in ordered),
        days_overdue=max(due.days_overdue for due in ordered),
        remaining=sum((due.remaining for due in ordered), ZERO),
        dues=tuple(ordered),
    )


def accrued_penalty(remaining: Decimal, yearly_rate_percent: Decimal, days: int) -> Decimal:
    """Late-payment penalties accrued on `remaining` after `days` days past due (C. com.
    L441-10): simple interest at the yearly rate, pro rata over 365 days, not yet rounded
    (the caller rounds once, to the currency's minor unit)."""
    if days <= 0 or remaining <= ZERO:
        return ZERO
    return remaining * yearly_rate_percent / Decimal(100) * Decimal(days) / Decimal(365)


@dataclass(frozen=True, slots=True)
class Window:
    """Local hours when drafts may be made: [start, end) in minutes after midnight."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: str) -> Window:
    """`"08:00-18:00"` as a Window; the end may be 24:00 and must come after the start."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise InputError(f'{text!r} is not a window like "08:00-18:00"')
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise InputError(f"{text!r} is not a valid time range (hours 00-23, or 24:00 as the end)")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if end <= start:
        raise InputError(f"{text!r}: the window must end after it starts, within one day")
    return Window(start, end)


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """Whether drafting is allowed now; when not, the local moment the window opens next."""

    open: bool
    opens_at: datetime | None = None

    def message(self) -> str:
        """'' when open, else e.g. 'outside the drafting window; it opens at 2026-12-01 08:00'."""
        if self.open or self.opens_at is None:
            return ""
        return f"outside the drafting window; it opens at {self.opens_at.strftime('%Y-%m-%d %H:%M')}"


def check_window(window: Window, now: datetime) -> WindowCheck:
    """Is `now` (a local time in the workspace time zone) inside the window?"""
    minute = now.hour * 60 + now.minute
    if window.start_minute <= minute < window.end_minute:
        return WindowCheck(True)
    opening_day = now.date() if minute < window.start_minute else now.date() + timedelta(days=1)
    start = datetime.combine(opening_day, datetime.min.time(), tzinfo=now.tzinfo)
    return WindowCheck(False, start.replace(hour=window.start_minute // 60, minute=window.start_minute % 60))
