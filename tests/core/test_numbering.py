"""Numbering templates, series keys and the next sequence."""

from __future__ import annotations

from datetime import date

import pytest

from facturier.core.errors import FacturierError
from facturier.core.numbering import SeriesState, format_number, next_seq, series_key


def test_year_series_resets_each_year() -> None:
    t = "{year}-{seq:04d}"
    a = series_key(t, seller="issuer", issue_date=date(2026, 12, 15), client="acme", test=False)
    b = series_key(t, seller="issuer", issue_date=date(2027, 1, 15), client="acme", test=False)
    assert a != b
    assert format_number(t, issue_date=date(2027, 1, 15), client="acme", seq=1, test=False) == "2027-0001"


def test_template_without_year_is_one_series_forever() -> None:
    t = "F{seq:05d}"
    a = series_key(t, seller="issuer", issue_date=date(2026, 12, 15), client="x", test=False)
    b = series_key(t, seller="issuer", issue_date=date(2027, 1, 15), client="x", test=False)
    assert a == b


def test_client_and_month_placeholders() -> None:
    t = "{client}-{year}{month}-{seq:03d}"
    assert format_number(t, issue_date=date(2026, 3, 1), client="acme", seq=7, test=False) == "acme-202603-007"
    assert series_key(t, seller="issuer", issue_date=date(2026, 3, 1), client="acme", test=False) != series_key(
        t, seller="issuer", issue_date=date(2026, 3, 1), client="other", test=False
    )


def test_test_mode_is_a_separate_series() -> None:
    t = "{year}-{seq:04d}"
    live = series_key(t, seller="issuer", issue_date=date(2026, 1, 1), client="a", test=False)
    test = series_key(t, seller="issuer", issue_date=date(2026, 1, 1), client="a", test=True)
    assert live != test
    assert format_number(t, issue_date=date(2026, 1, 1), client="a", seq=1, test=True) == "TEST-2026-0001"


def test_sellers_have_separate_series() -> None:
    t = "{year}-{seq:05d}"
    assert series_key(t, seller="issuer", issue_date=date(2026, 1, 1), client="", test=False) != series_key(
        t, seller="bakery", issue_date=date(2026, 1, 1), client="", test=False
    )


def test_next_seq_is_gapless_and_refuses_backdating() -> None:
    assert next_seq(None, date(2026, 1, 1), "issuer|2026-#") == 1
    state = SeriesState(41, date(2026, 5, 10))
    assert next_seq(state, date(2026, 5, 10), "issuer|2026-#") == 42
    with pytest.raises(FacturierError, match="last document is dated 2026-05-10"):
        next_seq(state, date(2026, 5, 9), "issuer|2026-#")


@pytest.mark.parametrize("template", [
    "F/{year}/{seq:04d}", "../../../tmp/x/BZ-{seq:05d}", "F\\{seq}", "..{seq}", ".{seq}", "{seq}.",
    "F\x00{seq}", "F\n{seq}", "F{seq}" + "x" * 100,
])
def test_a_number_that_is_not_a_safe_file_name_is_refused_when_formatting(template: str) -> None:
    # Defence in depth: `check` refuses these templates, and formatting refuses them again.
    with pytest.raises(FacturierError, match="gives an unsafe number"):
        format_number(template, issue_date=date(2026, 1, 15), client="acme", seq=1, test=False)


def test_safe_numbers_are_formatted() -> None:
    number = format_number("F_{client}.{year}-{seq:03d}", issue_date=date(2026, 1, 15), client="a-b",
                           seq=7, test=True)
    assert number == "TEST-F_a-b.2026-007"


@pytest.mark.parametrize(("a", "a_clients", "b", "b_clients", "shared"), [
    ("{year}-{seq:04d}", ("acme",), "{year}-{seq:04d}", ("bm",), "2026-0001"),
    ("{year}-{seq:04d}", ("acme",), "{year}-{seq:05d}", ("bm",), "2026-10000"),
    ("{year}-{seq:04d}", ("acme",), "BM-{year}-{seq:05d}", ("bm",), None),
    ("{client}-{seq}", ("acme", "bm"), "bm-{seq:03d}", ("bm",), "bm-100"),
    ("{client}-{seq}", ("acme",), "bm-{seq:03d}", ("bm",), None),
    ("F{year}{month}{seq:03d}", ("acme",), "F{seq:09d}", ("bm",), "F202611001"),
])
def test_shared_number_finds_a_number_two_templates_can_both_give(
        a: str, a_clients: tuple[str, ...], b: str, b_clients: tuple[str, ...], shared: str | None) -> None:
    from facturier.core.numbering import shared_number

    assert shared_number(a, a_clients, b, b_clients) == shared
