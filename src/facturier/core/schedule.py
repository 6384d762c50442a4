"""Cycle dates: the invoicing window, service periods, due dates."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def month_key(day: date) -> str:
    """'YYYY-MM' of a date: the period a monthly invoice covers."""
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(day: date) -> tuple[date, date]:
    """First and last day of the month of `day`."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def in_invoicing_window(run_date: date, invoice_day: int) -> bool:
    """On or after the invoicing day of the run's month (catching up if cron missed the day)."""
    return run_date.day >= invoice_day


def next_window(run_date: date, invoice_day: int) -> date:
    """The next invoicing day strictly after the current month's window has been used."""
    if run_date.day < invoice_day:
        return run_date.replace(day=invoice_day)
    year, month = (run_date.year + 1, 1) if run_date.month == 12 else (run_date.year, run_date.month + 1)
    return date(year, month, invoice_day)


def due_date(issue_date: date, payment_days: int) -> date:
    """Issue date plus payment terms in days."""
    return issue_date + timedelta(days=payment_days)
