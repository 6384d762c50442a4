"""Cycle dates: the invoicing window, service periods, due dates."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

# The days Facturier computes with. Python's dates stop at years 1 and 9999, and a period,
# a due date or an aging bucket near either end overflows; no invoice, payment or usage
# record belongs there (0001-01-01 or 9999-12-31 is a typo or a placeholder), so every date
# that enters (command line, configuration, batch and usage rows, sheet cells) is held to
# this range, with one message, instead of failing later in a computation.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class DayOutOfRange(ValueError):
    """A real day outside EARLIEST_DAY..LATEST_DAY (a ValueError: validators report it as any other)."""


def day_in_range(day: date) -> date:
    """`day` when Facturier can compute with it, else DayOutOfRange saying the supported range."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise DayOutOfRange(f"{day.isoformat()} is out of the supported range "
                         f"({EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()})")
    return day


def month_key(day: date) -> str:
    """'YYYY-MM' of a date: the period a monthly invoice covers."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the month of `day`."""
    return day.replace(day=1), month_end(day)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after the month of `day` (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def in_invoicing_window(run_date: date, invoice_day: int) -> bool:
    """On or after the invoicing day of the run's month (catching up if cron missed the day)."""
    return run_date.day >= invoice_day


def next_window(run_date: date, invoice_day: int) -> date:
    """The next invoicing day strictly after the current month's window has been used."""
    if run_date.day < invoice_day:
        return run_date.replace(day=invoice_day)
    return add_months(run_date, 1).replace(day=invoice_day)


def due_date(issue_date: date, payment_days: int) -> date:
    return issue_date + timedelta(days=payment_days)
