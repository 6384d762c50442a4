"""E-reporting periods and when each is due, by the seller's VAT regime (décret 2022-1299).

| `einvoicing.ereporting` | regime | transactions | payments |
|---|---|---|---|
| `bimonthly` (default in franchise en base) | franchise en base | two months, starting in an odd month | same |
| `monthly` (default otherwise) | réel simplifié, réel normal trimestriel | one month | same |
| `ten-day` | réel normal mensuel | 1-10, 11-20, 21-end of each month | one month |

A month or two is named "YYYY-MM" (its first month) and is due by the last day of the month
after it (the law says the 25th to the 30th for réel simplifié and franchise, the 10th for
réel normal trimestriel: `ten-day` and the 10th are below). A ten-day period is named by its
first day, "YYYY-MM-DD", and is due ten days after it ends; so are the payments of a
`ten-day` seller's month.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

from facturier.core.errors import InputError
from facturier.core.schedule import add_months, month_end

TEN_DAY_GRACE: Final = 10  # days after its end a ten-day period (and a réel normal month) is due by


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period: its name, its days, and how long after it ends it is due."""

    key: str
    start: date
    end: date
    grace: int | None = None  # None: due by the last day of the month after

    @property
    def deadline(self) -> date:
        """The day the period's e-report is due by."""
        if self.grace is not None:
            return self.end + timedelta(days=self.grace)
        return month_end(add_months(self.end, 1))


def period_of(key: str, months: int) -> Period:
    """The period named "YYYY-MM" (an odd month when periods are two months long)."""
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", key):
            raise ValueError(key)
        start = dt.datetime.strptime(key, "%Y-%m").date()
    except ValueError:
        raise InputError(f"--period {key!r}: expected YYYY-MM, e.g. 2027-09") from None
    if months == 2 and start.month % 2 == 0:
        raise InputError(f"--period {key!r}: periods are two months long (January-February, ...): "
                         f"use {start.year}-{start.month - 1:02d}")
    return Period(key, start, month_end(add_months(start, months - 1)))


def ended_periods(since: date, day: date, months: int) -> list[Period]:
    """Every period that has ended by `day`, from the one holding `since`."""
    first = since.replace(day=1)
    if months == 2 and first.month % 2 == 0:
        first = add_months(first, -1)
    out, start = [], first
    while (period := period_of(f"{start:%Y-%m}", months)).end < day:
        out.append(period)
        start = add_months(start, months)
    return out


def ten_day_of(key: str) -> Period:
    """The ten-day period starting on "YYYY-MM-DD" (the 1st, 11th or 21st of a month)."""
    try:
        start = date.fromisoformat(key) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", key) else None
    except ValueError:
        start = None
    if start is None or start.day not in (1, 11, 21):
        raise InputError(f"--period {key!r}: a ten-day period is named by its first day, the 1st, 11th or "
                         "21st of a month, e.g. 2027-09-11")
    end = month_end(start) if start.day == 21 else start + timedelta(days=9)
    return Period(key, start, end, TEN_DAY_GRACE)


def ended_ten_days(since: date, day: date) -> list[Period]:
    """Every ten-day period that has ended by `day`, from the one holding `since`."""
    start = since.replace(day=min(21, 1 + (since.day - 1) // 10 * 10))
    out = []
    while (period := ten_day_of(start.isoformat())).end < day:
        out.append(period)
        start = period.end + timedelta(days=1)
    return out


def periods_between(cadence: str, kind: str, since: date, day: date) -> list[Period]:
    """The periods of one kind of report that have ended by `day`, for a seller's cadence."""
    if cadence == "ten-day":
        if kind == "transactions":
            return ended_ten_days(since, day)
        return [replace(p, grace=TEN_DAY_GRACE) for p in ended_periods(since, day, 1)]
    return ended_periods(since, day, 2 if cadence == "bimonthly" else 1)


def period_holding(cadence: str, kind: str, day: date) -> Period:
    """The period of one kind that holds a day (the first one ended after it: a period is at most
    two months, 62 days)."""
    return periods_between(cadence, kind, day, day + timedelta(days=63))[0]


def named_periods(cadence: str, kind: str, key: str) -> list[Period]:
    """The periods of one kind that `--period KEY` names: "YYYY-MM" (for a ten-day seller's
    transactions, the month's three), or "YYYY-MM-DD" (a ten-day period; no payments report)."""
    if cadence != "ten-day":
        if len(key) > 7 and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", key):
            raise InputError(f"--period {key!r}: ten-day periods are for ereporting = \"ten-day\" (réel normal "
                             "mensuel); expected YYYY-MM, e.g. 2027-09")
        return [period_of(key, 2 if cadence == "bimonthly" else 1)]
    if len(key) > 7:
        return [ten_day_of(key)] if kind == "transactions" else []
    month = period_of(key, 1)
    if kind == "payments":
        return [replace(month, grace=TEN_DAY_GRACE)]
    return [ten_day_of(f"{key}-{d:02d}") for d in (1, 11, 21)]
