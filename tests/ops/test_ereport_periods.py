"""E-reporting periods: one month, or two for a seller in franchise en base."""

from __future__ import annotations

from datetime import date

import pytest

from facturier.core.errors import InputError
from facturier.ops.einvoicing.ereport import ended_periods, period_of


def test_two_month_periods_start_in_odd_months_and_are_due_a_month_after() -> None:
    periods = ended_periods(date(2027, 10, 5), date(2028, 3, 1), 2)
    assert [(p.key, p.start, p.end, p.deadline) for p in periods] == [
        ("2027-09", date(2027, 9, 1), date(2027, 10, 31), date(2027, 11, 30)),
        ("2027-11", date(2027, 11, 1), date(2027, 12, 31), date(2028, 1, 31)),
        ("2028-01", date(2028, 1, 1), date(2028, 2, 29), date(2028, 3, 31))]
    with pytest.raises(InputError, match="use 2027-09"):
        period_of("2027-10", 2)


def test_monthly_periods_end_before_the_run_day() -> None:
    assert [p.key for p in ended_periods(date(2027, 12, 20), date(2028, 2, 29), 1)] == ["2027-12", "2028-01"]
    assert period_of("2028-02", 1).end == date(2028, 2, 29)
    for bad in ("2027-9", "2027-13", "27-09", "2027-09-01"):
        with pytest.raises(InputError, match="expected YYYY-MM"):
            period_of(bad, 1)
