"""`invoices` without `--status` builds its rows from the raw journal entries (no typed record
per document): the same text as the typed records give, and the same piped table, escapes
included."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from facturier.cli.common import print_rows
from facturier.core.text import printable
from facturier.ops.reports.listing import LIST_COLUMNS, doc_row, entry_row
from facturier.store.events import DocumentIssued, FileRef, T, parse_event

text = st.text(st.characters(codec="utf-8"), max_size=12)
# Amount text as a journal may hold it: what `str(Decimal)` writes, and other spellings Decimal reads.
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["120.0", "1E+2", "1e2", "-0.00", "0", "+5", "007.50", " 3.5 "]),
)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)).map(date.isoformat)


@given(kind=text, number=text, seller=text, client=text, mode=text, currency=text, day=days, due=days,
       total=amounts, files=st.lists(st.builds(FileRef, st.sampled_from(["pdf", "json"]), text, text), max_size=2),
       type_=st.sampled_from([T.INVOICE_ISSUED, T.CREDIT_NOTE_ISSUED]))
def test_a_row_from_the_raw_entry_is_the_row_of_its_typed_record(
        kind: str, number: str, seller: str, client: str, mode: str, currency: str, day: str, due: str,
        total: str, files: list[FileRef], type_: str) -> None:
    entry = {"seq": 7, "at": "2026-01-01T00:00:00.000000Z", "type": type_, "kind": kind, "number": number,
             "series": "s", "series_seq": 1, "seller": seller, "client": client, "client_name": "n", "mode": mode,
             "date": day, "due_date": due, "currency": currency, "total_excl_vat": "1.00", "total_vat": "0.20",
             "total_incl_vat": total, "files": {f.role: {"path": f.path, "sha256": f.sha256} for f in files}}
    record = parse_event(entry)
    assert isinstance(record, DocumentIssued)
    assert entry_row(entry) == doc_row(record)


def piped(columns: list[str], rows: list[dict[str, object]]) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        print_rows("Documents", columns, rows)
    return out.getvalue()


@given(st.lists(st.lists(text, min_size=3, max_size=3), min_size=1, max_size=5))
def test_piped_rows_escape_every_unprintable_cell_and_only_those(cells: list[list[str]]) -> None:
    columns = ["a", "b", "c"]
    rows: list[dict[str, object]] = [dict(zip(columns, line, strict=True)) for line in cells]
    expected = "".join("\t".join(line) + "\n" for line in [columns, *[[printable(c) for c in line]
                                                                       for line in cells]])
    assert piped(columns, rows) == expected


def test_a_row_with_a_tab_in_a_name_stays_one_row_of_as_many_columns() -> None:
    row = {"number": "2026-0001", "client": "acme\tfake", "total_incl_vat": Decimal("1.00")}
    lines = piped(LIST_COLUMNS, [row, {**row, "client": "acme"}]).splitlines()
    assert [len(line.split("\t")) for line in lines] == [len(LIST_COLUMNS)] * 3
    assert "acme\\tfake" in lines[1]
    assert lines[2].split("\t")[LIST_COLUMNS.index("client")] == "acme"
