"""Streamed views are byte for byte the views serialised whole."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.views import list_slot, streamed_view_bytes, view_bytes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=5), st.lists(json_values, max_size=5), st.text(max_size=6))
def test_a_streamed_view_equals_the_whole_view(first: list[object], second: list[object], name: str) -> None:
    whole = view_bytes({"client": name, "currencies": [{"invoices": first, "x": 1}, {"invoices": second}],
                        "payments": first, "status": "paid"})
    streamed = streamed_view_bytes(
        {"client": name, "currencies": [{"invoices": list_slot("a"), "x": 1}, {"invoices": list_slot("b")}],
         "payments": list_slot("p"), "status": "paid"},
        {"a": iter(first), "b": iter(second), "p": iter(first)})
    assert streamed == whole
