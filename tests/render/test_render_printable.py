"""Every text a document prints is checked against the invoice fonts before Typst sees it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facturier.render.glyphs import (
    UnprintableTextError,
    payload_is_printable,
    printed_texts,
    unprintable_fields,
)
from facturier.render.pdf import PdfRenderer
from facturier.render.view import build_view

Record = dict[str, Any]
EMOJI = "\U0001f600"


def _set(record: Record, where: str, text: str) -> None:
    """Put `text` in one printed field of a record, named as a user would say it."""
    if where == "late_penalty":
        record["late_penalty"] = f"trois fois le taux légal {text}"
    elif where == "reference":
        record["reference"] = f"PO-{text}"
    elif where == "reason":
        record.update(kind="credit_note", refers_to={"number": "2026-0001", "date": "2026-11-15"},
                      reason=f"geste {text}")
    elif where == "description":
        record["lines"][0]["description"] = f"Maintenance {text}"
    else:
        party, key = where.split(".")
        value = record[party][key]
        record[party][key] = [*value, f"3e étage {text}"] if isinstance(value, list) else f"{value}{text}"


PRINTED = ["seller.name", "seller.email", "seller.address", "seller.legal_form", "buyer.name",
           "buyer.address", "description", "late_penalty", "reference", "reason"]


@pytest.mark.parametrize("where", PRINTED)
def test_an_emoji_in_any_printed_field_is_refused_with_the_field_named(record: Record, where: str) -> None:
    _set(record, where, EMOJI)
    with pytest.raises(UnprintableTextError, match="U\\+1F600") as caught:
        PdfRenderer().render(record)
    message = str(caught.value)
    assert message.count("U+1F600") == 1  # one field, named once
    assert record["number"] in message and "cannot print" in message
    assert "Traceback" not in message and "typst" not in message.lower()


def test_the_late_penalty_of_a_table_is_named_as_a_legal_mention(record: Record) -> None:
    _set(record, "late_penalty", EMOJI)
    [(path, message)] = unprintable_fields(build_view(record))
    assert path.startswith("mentions[") and "trois fois le taux légal" in message


def test_a_control_character_is_refused_before_typst(record: Record) -> None:
    record["buyer"]["name"] = "ACME\x01 SA"
    with pytest.raises(UnprintableTextError, match=r"buyer\.name \(customer block\).*U\+0001"):
        PdfRenderer().render(record)


def test_a_sheet_names_the_document_that_cannot_be_printed(record: Record) -> None:
    records = [{**record, "number": f"2026-000{i}"} for i in (1, 2, 3)]
    records[1] = {**records[1], "buyer": {**record["buyer"], "name": f"Bad {EMOJI}"}}
    with pytest.raises(UnprintableTextError, match=r"Facture 2026-0002: buyer\.name"):
        PdfRenderer().render_many(records)


def test_the_fast_path_passes_an_ordinary_invoice_and_catches_what_is_not(record: Record) -> None:
    view = build_view(record)
    PdfRenderer().render(record)  # learns the accents and signs of an ordinary invoice
    assert payload_is_printable(json.dumps(view, ensure_ascii=False))
    view["buyer"]["name"] = f"x{EMOJI}"
    assert not payload_is_printable(json.dumps(view, ensure_ascii=False))
    view["buyer"]["name"] = "x\x07"
    assert not payload_is_printable(json.dumps(view, ensure_ascii=False))


def test_every_string_of_the_view_is_visited_but_the_qr_code(record: Record) -> None:
    view = build_view(record)
    paths = dict(printed_texts(view))
    assert paths["seller.name"] == record["seller"]["name"]
    assert any(path.startswith("table.rows[0]") for path in paths)
    assert any(path.startswith("mentions[") for path in paths)
    assert not any("qr_png" in path for path in paths)
