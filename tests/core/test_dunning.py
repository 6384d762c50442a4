"""The collections router: the seed's examples, every refusal, the window, and properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.core.dunning import (
    DEFAULT_STAGES,
    ClientReminder,
    Receivable,
    ReminderDue,
    Skipped,
    SkipReason,
    check_stages,
    check_window,
    days_overdue,
    decide,
    group_reminders,
    parse_window,
    plan_reminders,
    stage_for,
)
from facturier.core.errors import InputError

TODAY = date(2025, 1, 22)


def receivable(**changes: object) -> Receivable:
    """An unpaid live invoice of 1200.00 EUR due 2025-01-01 (21 days overdue on TODAY)."""
    base = Receivable(
        number="2024-0042", client="acme", client_name="ACME SARL", emails=("compta@acme.example",),
        language="fr", currency="EUR", issued_on=date(2024, 12, 2), due_on=date(2025, 1, 1),
        total=Decimal("1200.00"), paid=Decimal(0), credited=Decimal(0), remaining=Decimal("1200.00"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def reason(decision: ReminderDue | Skipped) -> SkipReason:
    assert isinstance(decision, Skipped), decision
    return decision.reason


# The seed's own examples (section 7 of seed 003).
def test_seed_examples() -> None:
    assert stage_for(days_overdue(date(2025, 1, 15), TODAY)) == 7
    assert stage_for(days_overdue(date(2025, 1, 1), TODAY)) == 21
    due = decide(receivable(due_on=date(2025, 1, 15)), TODAY)
    assert isinstance(due, ReminderDue) and (due.stage, due.days_overdue) == (7, 7)


def test_first_seen_21_days_overdue_gets_stage_21_not_7() -> None:
    due = decide(receivable(), TODAY)
    assert isinstance(due, ReminderDue)
    assert (due.stage, due.days_overdue, due.remaining) == (21, 21, Decimal("1200.00"))


def test_before_the_first_stage_nothing_is_due() -> None:
    decision = decide(receivable(due_on=date(2025, 1, 16)), TODAY)
    assert reason(decision) is SkipReason.NOT_DUE
    assert "6 days overdue" in decision.message  # type: ignore[union-attr]
    assert stage_for(0) is None and days_overdue(date(2025, 2, 1), TODAY) == 0


def test_a_draft_only_when_the_stage_is_higher_than_the_last_one() -> None:
    assert reason(decide(receivable(last_stage=21, last_drafted_on=date(2025, 1, 20)), TODAY)) \
        is SkipReason.STAGE_DONE
    due = decide(receivable(last_stage=14, last_drafted_on=date(2025, 1, 15)), TODAY)
    assert isinstance(due, ReminderDue) and due.stage == 21


def test_never_twice_on_the_same_day() -> None:
    assert reason(decide(receivable(last_stage=7, last_drafted_on=TODAY), TODAY)) is SkipReason.DRAFTED_TODAY


@pytest.mark.parametrize(("changes", "expected"), [
    ({"collections_enabled": False}, SkipReason.CLIENT_DISABLED),
    ({"mode": "test"}, SkipReason.TEST_MODE),
    ({"paid": Decimal("1200.00"), "remaining": Decimal(0)}, SkipReason.PAID),
    ({"credited": Decimal("1200.00"), "remaining": Decimal(0)}, SkipReason.CREDITED),
    ({"total": Decimal(0), "remaining": Decimal(0)}, SkipReason.ZERO_BALANCE),
    ({"paid": Decimal("1300.00"), "remaining": Decimal("-100.00")}, SkipReason.PAID),
    ({"disputed": True}, SkipReason.DISPUTED),
    ({"promised_until": date(2025, 1, 23)}, SkipReason.PROMISED),
])
def test_never_reminded(changes: dict[str, object], expected: SkipReason) -> None:
    assert reason(decide(receivable(**changes), TODAY)) is expected


def test_a_promise_holds_until_its_date_then_the_sequence_resumes() -> None:
    promised = receivable(promised_until=date(2025, 1, 25), last_stage=14, last_drafted_on=date(2025, 1, 15))
    assert decide(promised, date(2025, 1, 24)).message == "payment promised until 2025-01-25"  # type: ignore[union-attr]
    due = decide(promised, date(2025, 1, 25))
    assert isinstance(due, ReminderDue) and due.stage == 21 and due.days_overdue == 24


def test_a_partly_paid_invoice_is_reminded_for_its_remainder() -> None:
    due = decide(receivable(paid=Decimal("1000.00"), credited=Decimal("50.00"), remaining=Decimal("150.00")), TODAY)
    assert isinstance(due, ReminderDue) and due.remaining == Decimal("150.00")


def test_no_stages_means_nothing_is_ever_due() -> None:
    assert decide(receivable(), TODAY, stages=()).message == (  # type: ignore[union-attr]
        "no reminder stage reached yet (21 days overdue, no stages configured)")


def test_configured_stages() -> None:
    due = decide(receivable(), TODAY, stages=(10, 30))
    assert isinstance(due, ReminderDue) and due.stage == 10
    assert stage_for(45, (10, 30)) == 30


@pytest.mark.parametrize("stages", [[], [7, 7], [14, 7], [0, 7], [7, 4000], [True], ["7"]])
def test_bad_stages_are_refused(stages: list[object]) -> None:
    with pytest.raises(ValueError):
        check_stages(stages)  # type: ignore[arg-type]


def test_plan_splits_due_and_skipped_in_order() -> None:
    items = [receivable(number="A"), receivable(number="B", disputed=True), receivable(number="C")]
    plan = plan_reminders(items, TODAY)
    assert [d.number for d in plan.due] == ["A", "C"]
    assert [(s.number, s.reason) for s in plan.skipped] == [("B", SkipReason.DISPUTED)]


def test_combine_groups_per_client_and_currency_in_the_most_advanced_tone() -> None:
    dues = [
        ReminderDue(receivable(number="A"), 7, 9, Decimal("100.00")),
        ReminderDue(receivable(number="B", client="other"), 14, 15, Decimal("5.00")),
        ReminderDue(receivable(number="C"), 21, 25, Decimal("50.50")),
        ReminderDue(receivable(number="D", currency="USD"), 28, 30, Decimal("9.00")),
    ]
    groups = group_reminders(dues, combine=True)
    assert [(g.client, g.currency, g.numbers) for g in groups] == [
        ("acme", "EUR", ("C", "A")), ("other", "EUR", ("B",)), ("acme", "USD", ("D",))]
    acme = groups[0]
    assert (acme.stage, acme.days_overdue, acme.remaining) == (21, 25, Decimal("150.50"))
    assert [g.numbers for g in group_reminders(dues)] == [("A",), ("B",), ("C",), ("D",)]


def test_window_open_and_when_it_opens() -> None:
    paris = ZoneInfo("Europe/Paris")
    window = parse_window("08:00-18:00")
    assert str(window) == "08:00-18:00"
    assert check_window(window, datetime(2026, 12, 1, 8, 0, tzinfo=paris)).open
    assert check_window(window, datetime(2026, 12, 1, 17, 59, tzinfo=paris)).open
    early = check_window(window, datetime(2026, 12, 1, 7, 59, tzinfo=paris))
    assert not early.open and early.opens_at == datetime(2026, 12, 1, 8, 0, tzinfo=paris)
    late = check_window(window, datetime(2026, 12, 1, 18, 0, tzinfo=paris))
    assert late.opens_at == datetime(2026, 12, 2, 8, 0, tzinfo=paris)
    assert late.message() == "outside the drafting window; it opens at 2026-12-02 08:00"
    assert check_window(parse_window("00:00-24:00"), datetime(2026, 12, 1, 23, 59, tzinfo=paris)).open


@pytest.mark.parametrize("text", ["8-18", "08:00", "18:00-08:00", "08:00-08:00", "25:00-26:00",
                                  "08:60-18:00", "08:00-24:30"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_window(text)


# Properties over arbitrary invoices, histories and days.
money = st.decimals(min_value=Decimal(0), max_value=Decimal(100000), places=2)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))
stage_sets = st.lists(st.integers(1, 400), min_size=1, max_size=8, unique=True).map(sorted).map(tuple)
receivables = st.builds(
    receivable,
    due_on=days, remaining=money, paid=money, credited=money, total=money,
    mode=st.sampled_from(["live", "test"]), disputed=st.booleans(),
    promised_until=st.none() | days, last_stage=st.none() | st.integers(1, 400),
    last_drafted_on=st.none() | days, collections_enabled=st.booleans(),
)


@given(receivables, days, stage_sets)
def test_a_reminder_is_always_for_a_live_open_undisputed_invoice(r: Receivable, today: date,
                                                                   stages: tuple[int, ...]) -> None:
    decision = decide(r, today, stages)
    if isinstance(decision, ReminderDue):
        assert r.collections_enabled and r.mode == "live" and r.remaining > 0 and not r.disputed
        assert r.promised_until is None or today >= r.promised_until
        assert r.last_drafted_on != today
        assert decision.stage in stages and decision.days_overdue >= decision.stage
        assert r.last_stage is None or decision.stage > r.last_stage
        assert decision.remaining == r.remaining
        # The highest stage reached: the next one is not reached yet.
        later = [s for s in stages if s > decision.stage]
        assert not later or decision.days_overdue < later[0]


@given(receivables, days, stage_sets, st.integers(0, 120))
def test_replaying_every_day_drafts_each_stage_at_most_once_and_in_order(
        r: Receivable, start: date, stages: tuple[int, ...], span: int) -> None:
    """Drive the router day after day, recording what it drafts as the journal would."""
    state = replace(r, last_stage=None, last_drafted_on=None)
    drafted: list[tuple[date, int]] = []
    for offset in range(span):
        today = start + timedelta(days=offset)
        decision = decide(state, today, stages)
        if isinstance(decision, ReminderDue):
            drafted.append((today, decision.stage))
            state = replace(state, last_stage=decision.stage, last_drafted_on=today)
    drafted_stages = [stage for _, stage in drafted]
    assert drafted_stages == sorted(set(drafted_stages))
    assert len({day for day, _ in drafted}) == len(drafted)


@given(st.lists(st.builds(ReminderDue, receivables, st.sampled_from(DEFAULT_STAGES),
                          st.integers(7, 400), money), max_size=12), st.booleans())
def test_grouping_keeps_every_reminder_once_and_every_amount(dues: list[ReminderDue], combine: bool) -> None:
    groups = group_reminders(dues, combine)
    members = [due for group in groups for due in group.dues]
    assert sorted(map(id, members)) == sorted(map(id, dues))
    assert sum((g.remaining for g in groups), Decimal(0)) == sum((d.remaining for d in dues), Decimal(0))
    for group in groups:
        assert isinstance(group, ClientReminder)
        assert {(d.receivable.client, d.receivable.currency) for d in group.dues} == {(group.client, group.currency)}
        assert group.stage == max(d.stage for d in group.dues)


@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
       st.integers(0, 23 * 60), st.integers(1, 24 * 60))
def test_the_window_opens_next_at_its_start(local: datetime, start: int, length: int) -> None:
    end = min(start + length, 24 * 60)
    window = parse_window(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    now = local.replace(tzinfo=ZoneInfo("Europe/Paris"))
    check = check_window(window, now)
    minute = now.hour * 60 + now.minute
    assert check.open == (start <= minute < end)
    if not check.open:
        assert check.opens_at is not None and check.opens_at > now
        assert check.opens_at - now <= timedelta(days=1, hours=1)  # a DST night may add an hour
        assert (check.opens_at.hour * 60 + check.opens_at.minute) == start


@given(remaining=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000000), places=2),
       rate=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
       days=st.integers(min_value=-30, max_value=3650))
def test_accrued_penalties_are_simple_interest_pro_rata_temporis(remaining: Decimal, rate: Decimal,
                                                                  days: int) -> None:
    from facturier.core.dunning import accrued_penalty

    penalty = accrued_penalty(remaining, rate, days)
    if days <= 0:
        assert penalty == 0
        return
    assert penalty == remaining * rate / 100 * days / 365
    assert accrued_penalty(remaining, rate, days + 1) > penalty  # it grows every day
    assert accrued_penalty(remaining, rate, 365) == remaining * rate / 100  # one year: the yearly rate
