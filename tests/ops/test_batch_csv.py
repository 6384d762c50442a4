"""Batch CSV v1 parsing and validation (pure: files in tmp_path, no workspace, no journal)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from facturier.ops.batch.rows import (
    COLUMNS,
    MAX_PROBLEMS,
    BatchContext,
    BatchRow,
    FileCheck,
    detect_delimiter,
    iter_rows,
    template_header,
)

HEADER = "reference,date,customer_name,customer_address,description,unit_price"
ROW = "R-1,2026-11-02,Café du Parc,12 rue du Parc | 69003 Lyon,Croissants,1.50"


def ctx(**kw: object) -> BatchContext:
    base: dict[str, object] = {
        "seller_id": "bm", "seller_country": "FR", "currency": "EUR", "default_vat_rate": Decimal("5.5"),
        "payment_days": 15, "numbering": "BM-{year}-{seq:05d}", "test": False, "run_date": date(2026, 11, 20),
    }
    base.update(kw)
    return BatchContext(**base)  # type: ignore[arg-type]


def parse(tmp_path: Path, content: str | bytes, **kw: object) -> tuple[list[BatchRow], FileCheck]:
    path = tmp_path / "orders.csv"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    check = FileCheck()
    rows = list(iter_rows(path, ctx(**kw), check))
    return rows, check


def messages(check: FileCheck) -> list[str]:
    return [str(p) for p in check.problems]


def test_valid_file_gives_rows_with_defaults(tmp_path: Path) -> None:
    rows, check = parse(tmp_path, f"{HEADER}\n{ROW}\n")
    assert check.problem_count == 0 and check.rows == 1
    row = rows[0]
    assert row.customer_address == ("12 rue du Parc", "69003 Lyon")
    assert row.quantity == 1 and row.unit_price == Decimal("1.50") and row.vat_rate == Decimal("5.5")
    assert row.due_date == date(2026, 11, 17) and row.customer_country == "FR" and row.currency == "EUR"
    assert not row.business


def test_bom_semicolon_crlf_decimal_comma_quotes_and_newlines(tmp_path: Path) -> None:
    text = (
        "\ufeffreference;customer_name;customer_address;description;unit_price;customer_siren\r\n"
        'R-1;"Dupont; ""Père & Fils""";"8 rue Mercière\r\n69002 Lyon";"Pièce, montée";180,50;823456785\r\n'
        "R-2;Élodie Ñúñez;1 rue A | 75001 Paris;Pain;2.10;\r\n"
    )
    rows, check = parse(tmp_path, text)
    assert messages(check) == []
    assert rows[0].customer_name == 'Dupont; "Père & Fils"'
    assert rows[0].customer_address == ("8 rue Mercière", "69002 Lyon")
    assert rows[0].unit_price == Decimal("180.50") and rows[0].business
    assert rows[0].issue_date == date(2026, 11, 20)  # default: the run date
    assert [r.line for r in rows] == [2, 4]  # physical line where each record starts


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "orders.csv:1:-: the file is empty"),
        ("\ufeff\n".encode(), "orders.csv:1:-: the file is empty"),
        (f"{HEADER}\n".encode(), "orders.csv:2:-: the file has a header but no rows"),
        (f"{HEADER}\nR-1,2026-11-02,Café,x,d,1\n".encode("latin-1"),
         "orders.csv:2:-: the file is not UTF-8 (byte 0xe9"),
        (b"reference,customer_name,customer_address,description\nR,a,b,c\n",
         "orders.csv:1:unit_price: required column is missing"),
        (f"{HEADER},unit_price\n{ROW},2\n".encode(), "orders.csv:1:unit_price: duplicate column"),
        (f"{HEADER},colour\n{ROW},red\n".encode(), "orders.csv:1:colour: unknown column 'colour'"),
        (f"{HEADER.replace('unit_price', 'unit_prce')}\n{ROW}\n".encode(), "(did you mean 'unit_price'?)"),
        (f"{HEADER}\nR-1,2026-11-02,Café\n".encode(),
         "orders.csv:2:customer_address: the row has 3 fields but the header has 6"),
        (f"{HEADER}\n{ROW},extra\n".encode(), "orders.csv:2:-: the row has 7 fields but the header has 6"),
        (f"{HEADER}\n{ROW[:-4]}-1.50\n".encode(), "orders.csv:2:unit_price: '-1.50' is negative"),
        (f"{HEADER}\n{ROW[:-4]}abc\n".encode(), "orders.csv:2:unit_price: 'abc' is not a decimal number"),
        (f'{HEADER}\n{ROW[:-4]}"1,234.50"\n'.encode(), "orders.csv:2:unit_price: '1,234.50' has a thousands separator"),
        (f"{HEADER}\n{ROW.replace('2026-11-02', '02/11/2026')}\n".encode(),
         "orders.csv:2:date: '02/11/2026' is not a date in the form YYYY-MM-DD"),
        (f"{HEADER}\n{ROW.replace('2026-11-02', '2026-02-30')}\n".encode(),
         "orders.csv:2:date: '2026-02-30' is not a valid date"),
        (f"{HEADER}\n{ROW.replace('2026-11-02', '2026-12-01')}\n".encode(),
         "orders.csv:2:date: 2026-12-01 is in the future"),
        (f"{HEADER},vat_rate\n{ROW},7\n".encode(), "orders.csv:2:vat_rate: '7' is not a French VAT rate"),
        (f"{HEADER},vat_rate\n{ROW},20%\n".encode(), "orders.csv:2:vat_rate: '20%': write the rate without '%'"),
        (f"{HEADER},quantity\n{ROW},0\n".encode(), "orders.csv:2:quantity: '0' must be greater than 0"),
        (f"{HEADER},customer_email\n{ROW},nope\n".encode(), "orders.csv:2:customer_email: 'nope' is not a valid email"),
        (f"{HEADER},customer_country\n{ROW},fr\n".encode(), "orders.csv:2:customer_country: 'fr' is not an ISO 3166"),
        (f"{HEADER},customer_vat_id\n{ROW},FR00123\n".encode(),
         "orders.csv:2:customer_vat_id: 'FR00123' is not a valid VAT number"),
        (f"{HEADER},customer_siren\n{ROW},123456789\n".encode(),
         "orders.csv:2:customer_siren: '123456789' is not a valid SIREN"),
        (f"{HEADER},currency\n{ROW},EUX\n".encode(), "orders.csv:2:currency: 'EUX' is not an ISO 4217"),
        (f"{HEADER},currency\n{ROW},USD\n".encode(),
         "orders.csv:2:currency: USD differs from the batch client's currency EUR"),
        (f"{HEADER},due_date\n{ROW},2026-11-01\n".encode(),
         "orders.csv:2:due_date: 2026-11-01 is before the invoice date"),
        (f"{HEADER}\n{ROW.replace('12 rue du Parc | ', ' | ')}\n".encode(),
         "orders.csv:2:customer_address: an address line is empty"),
        (f"{HEADER}\n{ROW}\n{ROW}\n".encode(), "orders.csv:3:reference: 'R-1' is repeated: already on line 2"),
        (f"{HEADER}\n{ROW}\n\n".encode(), "orders.csv:3:-: blank line"),
        (f'{HEADER}\n{ROW}\nR-2,2026-11-02,"Café,x,d,1\n'.encode(), "orders.csv:3:-: malformed quoting"),
        (b"reference customer_name\nR a\n", "orders.csv:1:-: cannot tell the delimiter"),
    ],
)
def test_each_problem_has_its_own_clear_message(tmp_path: Path, content: bytes, expected: str) -> None:
    _rows, check = parse(tmp_path, content)
    assert check.problem_count >= 1
    assert any(expected in m for m in messages(check)), messages(check)


def test_every_problem_of_a_file_is_listed_up_to_the_cap(tmp_path: Path) -> None:
    bad = "\n".join(f"R-{i},2026-13-01,X,a,d,-1" for i in range(80))
    _, check = parse(tmp_path, f"{HEADER}\n{bad}\n")
    assert check.problem_count == 160 and len(check.problems) == MAX_PROBLEMS
    assert str(check.problems[1]) .startswith("orders.csv:2:unit_price:")


def test_dates_must_not_go_back_in_a_series(tmp_path: Path) -> None:
    text = f"{HEADER}\nR-1,2026-11-05,X,a,d,1\nR-2,2026-11-04,X,a,d,1\n"
    _, check = parse(tmp_path, text)
    assert "orders.csv:3:date: 2026-11-04 is before 2026-11-05" in messages(check)[0]
    floor = {"bm|BM-2026-#": date(2026, 11, 10)}
    _, check = parse(tmp_path, f"{HEADER}\nR-1,2026-11-05,X,a,d,1\n", series_floor=floor)
    assert "orders.csv:2:date: 2026-11-05 is before 2026-11-10" in messages(check)[0]


def test_reference_already_invoiced_is_refused(tmp_path: Path) -> None:
    _, check = parse(tmp_path, f"{HEADER}\n{ROW}\n", invoiced={"R-1": "BM-2026-00007"})
    assert messages(check) == ["orders.csv:2:reference: 'R-1' is already invoiced (invoice BM-2026-00007)"]


def test_non_french_seller_accepts_any_percentage(tmp_path: Path) -> None:
    rows, check = parse(tmp_path, f"{HEADER},vat_rate\n{ROW},7.7\n", seller_country="CH")
    assert check.problem_count == 0 and rows[0].vat_rate == Decimal("7.7")


def test_delimiter_detection_and_template() -> None:
    assert detect_delimiter("a,b,c\n") == "," and detect_delimiter("a;b\n") == ";"
    assert detect_delimiter("a;b,c") is None and detect_delimiter("abc") is None
    assert template_header().split(",") == list(COLUMNS)


def test_the_documented_examples_are_valid(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "csv-format.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in doc.split("```csv\n")[1:]]
    assert len(blocks) == 2
    rows, check = parse(tmp_path, blocks[0])
    assert messages(check) == [] and len(rows) == 5
    assert rows[2].customer_name == 'Traiteur Dupont "& Fils"' and rows[2].business
    rows, check = parse(tmp_path, blocks[1])
    assert messages(check) == [] and rows[0].unit_price == Decimal("1.10")


def test_a_zero_width_character_in_a_reference_is_refused(tmp_path: Path) -> None:
    text = f"{HEADER}\n{ROW.replace('R-1', 'R2')}\n{ROW.replace('R-1', 'R' + chr(0x200B) + '2')}\n"
    _, check = parse(tmp_path, text)
    assert messages(check) == [
        ("orders.csv:3:reference: contains U+200B (ZERO WIDTH SPACE): control and format characters "
         "(line breaks, tabs, invisible or direction marks) are not allowed; retype the text without them"),
    ]


def test_nfc_and_nfd_spellings_are_one_reference(tmp_path: Path) -> None:
    import unicodedata

    nfc, nfd = unicodedata.normalize("NFC", "CMD-é"), unicodedata.normalize("NFD", "CMD-é")
    rows, check = parse(tmp_path, f"{HEADER}\n{ROW.replace('R-1', nfc)}\n{ROW.replace('R-1', nfd)}\n")
    assert messages(check) == ["orders.csv:3:reference: 'CMD-é' is repeated: already on line 2"]
    _, check = parse(tmp_path, f"{HEADER}\n{ROW.replace('R-1', nfc)}\n", invoiced={nfd: "BM-2026-00001"})
    assert messages(check) == ["orders.csv:2:reference: 'CMD-é' is already invoiced (invoice BM-2026-00001)"]
    assert rows[0].reference == nfc


@pytest.mark.parametrize(("column", "value"), [
    ("customer_name", '"Café\nTOTAL TTC 0,00"'), ("customer_name", "Caf\u00e9\u202e"),
    ("description", "Pain\tbio"), ("description", "Pain\u2028bio"), ("customer_address", "1 rue\u200f A"),
])
def test_control_and_format_characters_are_refused_in_text_fields(
    tmp_path: Path, column: str, value: str,
) -> None:
    cells = dict(zip(HEADER.split(","), ROW.split(","), strict=True))
    cells[column] = value
    _, check = parse(tmp_path, f"{HEADER}\n{','.join(cells.values())}\n")
    [problem] = messages(check)
    assert problem.startswith(f"orders.csv:2:{column}: contains U+")
    assert "control and format characters" in problem


def test_a_newline_is_allowed_only_inside_an_address(tmp_path: Path) -> None:
    rows, check = parse(tmp_path, f'{HEADER}\nR-1,2026-11-02,Café,"1 rue A\r\n69001 Lyon",Pain,1\n')
    assert messages(check) == [] and rows[0].customer_address == ("1 rue A", "69001 Lyon")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    _, check = parse(tmp_path, f"{HEADER}\n{ROW}\n".encode(encoding))
    assert messages(check) == [
        ('orders.csv:1:-: the file is UTF-16 (Excel\'s "Unicode text"), not UTF-8: save it as "CSV UTF-8" '
         "and drop it again"),
    ]


@pytest.mark.parametrize(("column", "raw", "check_name"), [
    ("customer_siren", "123456789", "check_siren"),
    ("customer_vat_id", "FR00123", "check_vat_id"),
    ("customer_country", "fr", "check_country"),
    ("customer_email", "compta@acme..example", "check_email"),
    ("customer_email", "<compta@acme.example>", "check_email"),
    ("currency", "eur", "check_currency"),
    ("date", "2026-02-30", "check_iso_date"),
])
def test_rows_say_exactly_what_the_configuration_says(
    tmp_path: Path, column: str, raw: str, check_name: str,
) -> None:
    from facturier.config import fields

    with pytest.raises(ValueError) as caught:
        getattr(fields, check_name)(raw)
    cells = dict(zip(HEADER.split(","), ROW.split(","), strict=True)) | {column: raw}
    _, check = parse(tmp_path, ",".join(cells) + "\n" + ",".join(cells.values()) + "\n")
    assert messages(check) == [f"orders.csv:2:{column}: {caught.value}"]


@pytest.mark.parametrize(("header", "row", "expected"), [
    # A signed zero is a typo or a negative number whose digits were lost, never a zero meant.
    (HEADER, f"{ROW[:-4]}-0.00", "orders.csv:2:unit_price: '-0.00' is negative"),
    (HEADER, f"{ROW[:-4]}-0", "orders.csv:2:unit_price: '-0' is negative"),
    (f"{HEADER},quantity", f"{ROW},-0", "orders.csv:2:quantity: '-0' must be greater than 0"),
    (f"{HEADER},quantity", f"{ROW},-0.00", "orders.csv:2:quantity: '-0.00' must be greater than 0"),
    (f"{HEADER},vat_rate", f"{ROW},-0", "orders.csv:2:vat_rate: '-0': a VAT rate is written without a sign"),
])
def test_a_signed_zero_is_refused(tmp_path: Path, header: str, row: str, expected: str) -> None:
    rows, check = parse(tmp_path, f"{header}\n{row}\n")
    [problem] = messages(check)
    assert problem.startswith(expected) and rows == []


@pytest.mark.parametrize(("content", "expected"), [
    # RFC 4180: a field holding a quote is enclosed in quotes; csv.reader takes a bare one as text.
    (f'{HEADER}\nR-1,2026-11-02,Caf"e,x,d,1\n', "orders.csv:2:customer_name: a double quote inside a field"),
    (f'{HEADER}\nR-1,2026-11-02,Café,x,d,1\nR-2,2026-11-02,Café,x,Pain 12",1\n',
     "orders.csv:3:description: a double quote inside a field"),
    (f'{HEADER}\nR-1,2026-11-02,Café,"1 rue A\n2 rue ""B""",d"x,1\n',
     "orders.csv:3:description: a double quote inside a field"),  # the physical line of the quote
    # Line ends are LF or CRLF: a CR alone (old Mac) is a line end csv.reader accepts.
    (f"{HEADER}\r{ROW}\r", "orders.csv:1:-: the line ends with a lone carriage return"),
    (f"{HEADER}\n{ROW}\r", "orders.csv:2:-: the line ends with a lone carriage return"),
    (f"{HEADER}\r\n{ROW}\r\nR-2,2026-11-02,A,x,d,1\rR-3,2026-11-02,B,x,d,1\r\n",
     "orders.csv:3:-: the line ends with a lone carriage return"),
])
def test_what_rfc_4180_refuses_and_csv_reader_takes(tmp_path: Path, content: str, expected: str) -> None:
    rows, check = parse(tmp_path, content)
    assert all(r.line != int(expected.split(":")[1]) for r in rows)  # the faulty row is never given
    assert any(m.startswith(expected) for m in messages(check)), messages(check)
    assert check.problem_count >= 1


def test_quotes_and_line_breaks_as_rfc_4180_writes_them_stay_valid(tmp_path: Path) -> None:
    content = (f'{HEADER}\r\nR-1,2026-11-02,"Dupont ""& Fils""","1 rue A\r\n69001 Lyon","a, b",1\r\n'
               f'"R-2",2026-11-02,"""Q""",x,"",1\r\n')
    rows, check = parse(tmp_path, content.replace(',"",', ",d,"))
    assert messages(check) == [] and [r.customer_name for r in rows] == ['Dupont "& Fils"', '"Q"']
