"""E-reporting periods: one month, two for a seller in franchise en base, ten days under the réel
normal mensuel (its payments monthly, due by the 10th)."""

from __future__ import annotations

from datetime import date

import pytest

from facturier.core.errors import InputError
from facturier.ops.einvoicing.periods import ended_periods, named_periods, period_of, periods_between


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


def test_ten_day_periods_cover_each_month_in_three_and_payments_stay_monthly() -> None:
    decades = periods_between("ten-day", "transactions", date(2027, 9, 15), date(2027, 11, 1))
    assert [(p.key, p.start, p.end, p.deadline) for p in decades[:2]] == [
        ("2027-09-11", date(2027, 9, 11), date(2027, 9, 20), date(2027, 9, 30)),
        ("2027-09-21", date(2027, 9, 21), date(2027, 9, 30), date(2027, 10, 10))]
    assert [p.key for p in decades] == ["2027-09-11", "2027-09-21", "2027-10-01", "2027-10-11", "2027-10-21"]
    assert decades[-1].end == date(2027, 10, 31)
    [september, october] = periods_between("ten-day", "payments", date(2027, 9, 15), date(2027, 11, 1))
    assert (september.key, september.deadline, october.deadline) == ("2027-09", date(2027, 10, 10),
                                                                       date(2027, 11, 10))
    assert [p.key for p in named_periods("ten-day", "transactions", "2028-02")] == [
        "2028-02-01", "2028-02-11", "2028-02-21"]
    assert named_periods("ten-day", "transactions", "2028-02-21")[0].end == date(2028, 2, 29)
    assert named_periods("ten-day", "payments", "2028-02-21") == []
    for bad in ("2027-09-05", "2027-09-31"):
        with pytest.raises(InputError, match="1st, 11th or 21st"):
            named_periods("ten-day", "transactions", bad)
    with pytest.raises(InputError, match='ten-day periods are for ereporting = "ten-day"'):
        named_periods("monthly", "transactions", "2027-09-11")
