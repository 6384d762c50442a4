"""The record file format: document_json is the documented json.dumps form, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.ledger import document_json

SAMPLE_RECORD = Path(__file__).resolve().parents[2] / "src" / "facturier" / "render" / "sample_record.json"

# Any text, plus the characters where JSON encoders tend to differ: controls, DEL, the JSON
# escapes, the line and paragraph separators, non-ASCII and astral characters.
_tricky = st.sampled_from("\x00\x01\x1f\x7f\x80\"\\/\n\r\t\b\f\u2028\u2029\u00a0\u202fé€😀")
_text = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), _tricky))
_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), _text)
_tree = st.recursive(
    _leaf, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(_text, c, max_size=4)), max_leaves=30
)


def documented_form(record: object) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode()


@settings(max_examples=1000)
@given(st.dictionaries(_text, _tree, max_size=8))
def test_document_json_is_the_documented_json_dumps_form(record: dict[str, object]) -> None:
    assert document_json(record) == documented_form(record)


def test_document_json_of_a_full_record_keeps_key_order_and_utf8() -> None:
    record = json.loads(SAMPLE_RECORD.read_text(encoding="utf-8"))
    record["buyer"]["name"] = "Café « Ø » \u2028 line\x00"
    assert document_json(record) == documented_form(record)
    assert list(json.loads(document_json(record))) == list(record)
