"""The sending rules of PRODUCT.md §7, in one pure function so every path obeys the same law."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from facturier.core.schedule import add_months, month_key


@dataclass(frozen=True, slots=True)
class SendFacts:
    """Everything the rules look at for one invoice (or one batch client's monthly ZIP)."""

    active: bool
    auto_send: bool
    mode: str
    run_date: date
    send_day: int
    already_sent: bool
    # Issue date of a direct invoice; None for a batch ZIP, which has its own month rule.
    issued_on: date | None = None
    # A send the transport refused or lost: it was due, so every later run retries it, on
    # any day and in a later month too, until it is delivered or marked sent by hand
    # (unlike an invoice never attempted, which waits for its send day).
    failed_before: bool = False


def may_send(facts: SendFacts) -> tuple[bool, str]:
    """(True, "") when every §7 rule holds, else (False, the first rule that failed).

    The rules, in the order a user would check them: the client is active, has
    options.auto_send = true, is in live mode, today is the send day, and the invoice was
    never sent. A direct invoice must also be issued on or before the run date within the
    run's month: an invoice left unsent from an earlier month is never sent by surprise.
    The send day governs the first attempt only: a send that failed is retried by every
    later run, whatever the day.
    """
    refusal = _recipient_refusal(facts)
    if refusal is not None:
        return False, refusal
    if facts.run_date.day != facts.send_day and not facts.failed_before:
        return False, f"not the send day (day {facts.send_day})"
    if facts.already_sent:
        return False, "already sent"
    if (facts.issued_on is not None and not facts.failed_before
            and not _issued_this_month(facts.issued_on, facts.run_date)):
        return False, "issued in another month: send it by hand with --retry"
    return True, ""


def missed_send_day(facts: SendFacts) -> bool:
    """An invoice that no rule will ever send: issued after its month's send day (a catch-up
    run), never attempted, for a client that does want its invoices emailed."""
    issued = facts.issued_on
    return (_recipient_refusal(facts) is None and not facts.already_sent and not facts.failed_before
            and issued is not None and issued.day > facts.send_day)


def _recipient_refusal(facts: SendFacts) -> str | None:
    """The first rule about the recipient that fails: active, auto_send, live mode."""
    if not facts.active:
        return "client inactive"
    if not facts.auto_send:
        return "options.auto_send is false"
    if facts.mode != "live":
        return "test mode: never sent"
    return None


def _issued_this_month(issued_on: date, run_date: date) -> bool:
    return issued_on <= run_date and (issued_on.year, issued_on.month) == (run_date.year, run_date.month)


def previous_month(run_date: date) -> str:
    """'YYYY-MM' of the month before the run: the complete month a batch ZIP delivers."""
    return month_key(add_months(run_date, -1))
