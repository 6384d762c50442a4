"""Each §7 sending rule, one at a time: every other fact allows sending."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from facturier.core.send_rules import SendFacts, may_send, missed_send_day, previous_month

OK = SendFacts(active=True, auto_send=True, mode="live", run_date=date(2026, 11, 15),
               send_day=15, already_sent=False, issued_on=date(2026, 11, 15))


def test_everything_holds_sends() -> None:
    assert may_send(OK) == (True, "")


@pytest.mark.parametrize(("change", "reason"), [
    ({"active": False}, "client inactive"),
    ({"auto_send": False}, "options.auto_send is false"),
    ({"mode": "test"}, "test mode: never sent"),
    ({"run_date": date(2026, 11, 14)}, "not the send day (day 15)"),
    ({"run_date": date(2026, 11, 16)}, "not the send day (day 15)"),
    ({"already_sent": True}, "already sent"),
])
def test_each_rule_alone_blocks(change: dict[str, object], reason: str) -> None:
    assert may_send(replace(OK, **change)) == (False, reason)  # type: ignore[arg-type]


def test_invoice_from_an_earlier_month_is_never_sent_by_surprise() -> None:
    allowed, reason = may_send(replace(OK, issued_on=date(2026, 10, 15)))
    assert not allowed and "another month" in reason


def test_invoice_dated_after_the_run_is_not_sent() -> None:
    assert not may_send(replace(OK, issued_on=date(2026, 11, 20)))[0]


def test_invoice_issued_earlier_in_the_month_is_sent() -> None:
    assert may_send(replace(OK, issued_on=date(2026, 11, 1))) == (True, "")


def test_batch_zip_has_no_issue_date_rule() -> None:
    assert may_send(replace(OK, issued_on=None)) == (True, "")


def test_previous_month_wraps_the_year() -> None:
    assert previous_month(date(2026, 1, 15)) == "2025-12"
    assert previous_month(date(2026, 11, 15)) == "2026-10"


def test_a_failed_send_is_retried_on_a_later_send_day() -> None:
    assert may_send(replace(OK, issued_on=date(2026, 10, 15), failed_before=True)) == (True, "")


@pytest.mark.parametrize("run_date", [date(2026, 11, 16), date(2026, 11, 30), date(2026, 12, 3)])
def test_a_failed_send_is_retried_by_every_later_run_whatever_the_day(run_date: date) -> None:
    assert may_send(replace(OK, run_date=run_date, failed_before=True)) == (True, "")
    assert may_send(replace(OK, run_date=run_date, failed_before=True, issued_on=None)) == (True, "")


def test_a_failed_send_is_still_never_retried_for_a_client_who_no_longer_wants_it() -> None:
    assert may_send(replace(OK, run_date=date(2026, 11, 16), failed_before=True, auto_send=False))[0] is False


def test_missed_send_day_only_for_wanted_never_attempted_catch_up_invoices() -> None:
    late = replace(OK, issued_on=date(2026, 11, 17), run_date=date(2026, 11, 17))
    assert missed_send_day(late)
    assert not missed_send_day(replace(late, issued_on=date(2026, 11, 15)))  # on the send day
    for change in ({"active": False}, {"auto_send": False}, {"mode": "test"},
                   {"already_sent": True}, {"failed_before": True}):
        assert not missed_send_day(replace(late, **change)), change  # type: ignore[arg-type]
