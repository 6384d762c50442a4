"""The sheet schema of seed 003: columns by name, statuses, dates, amounts, located problems."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.config.fields import check_country, check_currency, check_email, check_visible
from facturier.core.dunning import plan_reminders
from facturier.core.sheet_cells import parse_amount, parse_date
from facturier.core.sheets import (
    CellChecks,
    SheetDefaults,
    column_letter,
    parse_sheet,
    to_receivables,
    with_journal_history,
)

CHECKS = CellChecks(email=check_email, currency=check_currency, country=check_country, visible=check_visible)
TODAY = date(2026, 12, 1)
HEADER = ["invoice_id", "client_name", "client_email", "amount", "currency", "due_date", "sent_date",
          "status", "notes", "last_stage_sent", "last_sent_at"]


def parse(values: list[list[object]], **kw: object) -> object:
    return parse_sheet(values, sheet="Invoices", today=TODAY, checks=CHECKS, **kw)  # type: ignore[arg-type]


def test_columns_in_any_order_with_extra_columns_and_short_rows() -> None:
    header = ["Status", "Amount", "Invoice ID", "Client Email", "Currency", "Due Date", "Client Name", "Owner"]
    values = [header,
              ["Overdue", 1200.5, "INV-1", "ap@acme.example", "EUR", 46310, "ACME"],   # short row
              ["paid", 10, "INV-2", "x@y.example", "EUR", 46000, "Y", "me"],
              [],                                                                     # empty row
              ["OPEN", "99.90", "INV-3", "b@b.example; c@b.example", "usd", "2026-11-20", "Bee"],
              ["open", 5, "INV-4", "d@d.example", "EUR", "2026-12-15", "Not yet due"]]
    parsed = parse(values)
    assert parsed.ok, parsed.problems
    assert [r.invoice_id for r in parsed.rows] == ["INV-1", "INV-3"]
    first, third = parsed.rows
    assert (first.row, first.amount, first.due_on, first.status) == (2, Decimal("1200.50"), date(2026, 10, 15),
                                                                      "overdue")
    assert (third.row, third.currency, third.emails) == (5, "USD", ("b@b.example", "c@b.example"))
    assert parsed.columns["invoice_id"] == 2


def test_every_problem_names_sheet_row_and_column() -> None:
    values = [HEADER,
              ["INV-1", "ACME", "not-an-email", "12,345.00", "EUR", "31/31/2026", "", "overdue"],
              ["INV-2", "", "a@b.example", -5, "EURO", "2026-10-01", "", "Overdu"],
              ["INV-1", "Again", "a@b.example", 5, "EUR", 46000, "", "overdue", "", "seven", "x"]]
    parsed = parse(values)
    shown = [str(p) for p in parsed.problems]
    assert "Invoices:2:client_email: 'not-an-email' is not a valid email address" in shown
    assert any(s.startswith("Invoices:2:amount: '12,345.00' is not a plain amount") for s in shown)
    assert any(s.startswith("Invoices:2:due_date: '31/31/2026' is not a date") for s in shown)
    assert any(s.startswith("Invoices:3:status: 'Overdu' is not a status") for s in shown)
    assert any(s.startswith("Invoices:4:invoice_id: 'INV-1' is also on row 2") for s in shown)
    assert any(s.startswith("Invoices:4:last_stage_sent: 'seven' is not a stage") for s in shown)
    assert any(s.startswith("Invoices:4:last_sent_at: 'x' is not a date") for s in shown)
    assert parsed.rows == () and parsed.bad_rows == {2, 3, 4}


def test_missing_columns_and_empty_range() -> None:
    parsed = parse([["invoice_id", "amount"]], write_back=True)
    missing = {p.column for p in parsed.problems}
    assert missing == {"client_name", "client_email", "currency", "due_date", "status", "last_stage_sent",
                       "last_sent_at"}
    assert all(p.row == 1 for p in parsed.problems)
    empty = parse([])
    assert [str(p) for p in empty.problems] == [
        ("Invoices:1:(header): the range is empty: check the spreadsheet id, the range and that the sheet "
         "is shared with your account")]


@pytest.mark.parametrize("cell,expected", [
    (46310, date(2026, 10, 15)), (46310.75, date(2026, 10, 15)), (2, date(1900, 1, 1)),
    ("2026-10-15", date(2026, 10, 15)), ("2026-10-15T09:00:00", date(2026, 10, 15)),
    ("15/10/2026", date(2026, 10, 15)), ("10/15/2026", date(2026, 10, 15)), ("15.10.2026", date(2026, 10, 15)),
    ("2026/10/15", date(2026, 10, 15)), ("15 Oct 2026", date(2026, 10, 15)), ("Oct 15, 2026", date(2026, 10, 15)),
    ("October 15, 2026", date(2026, 10, 15)), ("15-Oct-2026", date(2026, 10, 15)), ("05/05/2026", date(2026, 5, 5)),
])
def test_dates(cell: object, expected: date) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize("cell,message", [
    ("03/04/2026", "ambiguous .*2026-04-03 or 2026-03-04"), ("13/13/2026", "not a date"),
    ("tomorrow", "not a date"), (0, "not a date serial"), (True, "not a date"), ("15/10/26", "four-digit year"),
])
def test_bad_dates(cell: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(cell)


@pytest.mark.parametrize("cell,currency,expected", [
    (1200, "EUR", "1200.00"), (1200.5, "EUR", "1200.50"), (120.00000000000001, "EUR", "120.00"),
    ("99.9", "EUR", "99.90"), ("99,90", "EUR", "99.90"), (5000, "JPY", "5000"),
])
def test_amounts_are_decimals(cell: object, currency: str, expected: str) -> None:
    assert str(parse_amount(cell, currency)) == expected


@pytest.mark.parametrize("cell,currency,message", [
    (10.005, "EUR", "more decimals than EUR"), ("10.5", "JPY", "more decimals than JPY"),
    ("€10", "EUR", "not a plain amount"), ("1 000", "EUR", "not a plain amount"), (0, "EUR", "not a positive"),
])
def test_bad_amounts(cell: object, currency: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(cell, currency)


@given(st.integers(min_value=1, max_value=10**9))
def test_integer_minor_units_round_trip_through_a_float_cell(cents: int) -> None:
    amount = Decimal(cents).scaleb(-2)
    assert parse_amount(float(amount), "EUR") == amount


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_rows_become_receivables_that_the_router_stages() -> None:
    values = [HEADER,
              ["INV-1", "ACME", "AP@acme.example", 1000, "EUR", "2026-11-10", "2026-10-10", "overdue", "", 14, 46325],
              ["INV-2", "Bee", "b@b.example", 50, "EUR", "2026-11-23", "", "open"]]
    rows = parse(values).rows
    receivables = to_receivables(rows, SheetDefaults())
    assert receivables[0].client == "ap@acme.example" and receivables[0].last_stage == 14
    assert receivables[0].last_drafted_on == date(2026, 10, 30)
    plan = plan_reminders(receivables, TODAY)
    assert [(d.number, d.stage) for d in plan.due] == [("INV-1", 21), ("INV-2", 7)]
    # The journal says stage 21 was drafted today (its write-back failed): nothing again.
    again = plan_reminders(with_journal_history(receivables, {"INV-1": (21, TODAY)}), TODAY)
    assert [d.number for d in again.due] == ["INV-2"]


# --- issue 24: who a row is, and values that only look like numbers, dates or text -----------

def test_language_country_and_business_come_from_the_row_else_the_defaults() -> None:
    header = [*HEADER, "Language", "Country", "Business"]
    values = [header,
              ["INV-1", "Acme Corp", "ap@acme.example", "1200.50", "USD", "2026-10-20", "", "overdue", "", "", "",
               "", "", ""],
              ["INV-2", "Dupont SA", "c@dupont.example", "90", "EUR", "2026-10-20", "", "overdue", "", "", "",
               "fr-FR", "fr", "yes"],
              ["INV-3", "Jane Doe", "jane@doe.example", "90", "EUR", "2026-10-20", "", "overdue", "", "", "",
               "EN", "GB", "no"]]
    parsed = parse(values)
    assert parsed.ok, parsed.problems  # type: ignore[attr-defined]
    acme, dupont, jane = to_receivables(parsed.rows, SheetDefaults())  # type: ignore[attr-defined]
    assert (acme.language, acme.country, acme.business) == ("en", "", True)
    assert (dupont.language, dupont.country, dupont.business) == ("fr", "FR", True)
    assert (jane.language, jane.country, jane.business) == ("en", "GB", False)
    french = to_receivables(parsed.rows, SheetDefaults("fr", "FR", True))  # type: ignore[attr-defined]
    assert (french[0].language, french[0].country) == ("fr", "FR")


def test_bad_language_country_and_business_cells_are_located_problems() -> None:
    values = [[*HEADER, "language", "country", "business"],
              ["INV-1", "A", "a@a.example", "10", "EUR", "2026-10-20", "", "overdue", "", "", "", "de", "France",
               "maybe"]]
    problems = [str(p) for p in parse(values).problems]  # type: ignore[attr-defined]
    assert any(p.startswith("Invoices:2:language: 'de' is not a language") for p in problems), problems
    assert any(p.startswith("Invoices:2:country: 'FRANCE' is not an ISO 3166") for p in problems), problems
    assert any(p.startswith("Invoices:2:business: 'maybe' is not yes or no") for p in problems), problems


@pytest.mark.parametrize("text", ["\u0661\u0662\u0660\u0660", "\u0661\u0662\u0660\u0660.50", "\uff11\uff12\uff10",
                                  "\u0967\u0968", "1\u0662"])
def test_other_scripts_digits_are_never_an_amount_a_stage_or_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="digits 0-9"):
        parse_amount(text, "EUR")
    with pytest.raises(ValueError, match="digits 0-9"):
        parse_date(text)
    values = [HEADER, ["INV-1", "A", "a@a.example", "10", "EUR", "2026-10-20", "", "overdue", "", text, ""]]
    [problem] = parse(values).problems  # type: ignore[attr-defined]
    assert str(problem).startswith("Invoices:2:last_stage_sent:") and "0-9" in str(problem)


@pytest.mark.parametrize("text", ["2026-11-01Tgarbage", "2026-11-01 garbage", "2026-11-01T", "2026-11-01x",
                                  "2026-11-01T25:00", "\u0662\u0660\u0662\u0666-11-01"])
def test_a_date_with_anything_after_it_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


def test_whole_iso_date_times_are_still_dates() -> None:
    assert parse_date("2026-11-01T09:30") == date(2026, 11, 1)
    assert parse_date("2026-11-01 09:30:15") == date(2026, 11, 1)
    assert parse_date("2026-11-01T09:30:15.123Z") == date(2026, 11, 1)
    assert parse_date("2026-11-01T09:30+02:00") == date(2026, 11, 1)


@pytest.mark.parametrize(("column", "value"), [
    ("invoice_id", "INV-1\nBcc: x@evil.example"), ("invoice_id", "INV\x1b[31m-1"), ("invoice_id", "INV-\u202e1"),
    ("client_name", "ACME\x00"), ("client_name", "AC\u202eME"), ("client_email", "a@a.example\r"),
    ("currency", "EUR\x1b"),
])
def test_control_and_direction_characters_refuse_the_row(column: str, value: str) -> None:
    cells = {"invoice_id": "INV-1", "client_name": "ACME", "client_email": "a@a.example", "amount": "10",
             "currency": "EUR", "due_date": "2026-10-20", "status": "overdue", column: value}
    parsed = parse([HEADER, [cells.get(h, "") for h in HEADER]])
    assert parsed.rows == ()  # type: ignore[attr-defined]
    [problem] = [str(p) for p in parsed.problems]  # type: ignore[attr-defined]
    assert problem.startswith(f"Invoices:2:{column}: contains U+"), problem
