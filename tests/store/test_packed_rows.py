"""An account's rows left packed (as checkpointed) behave as the dict they stand for."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.state import PackedRows, pack_rows

numbers = st.lists(st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), min_size=1,
                           max_size=6), min_size=1, max_size=12, unique=True)
ops = st.lists(st.tuples(st.sampled_from(["get", "contains", "set", "add", "bump"]), st.integers(0, 30)), max_size=10)


@settings(max_examples=300, deadline=None)
@given(numbers, ops, st.sampled_from(["items", "len", "copy", "deepcopy", "pack", "dict", "bool", "keys"]))
def test_packed_rows_answer_as_the_unpacked_dict(names: list[str], steps: list[tuple[str, int]], walk: str) -> None:
    plain = {n: [i, i + 30, 1000 + i, 0, i] for i, n in enumerate(names)}
    rows = PackedRows(pack_rows({n: list(r) for n, r in plain.items()}))  # type: ignore[arg-type]
    for op, k in steps:
        name = names[k % len(names)] if k < 20 else f"new-{k}"
        if op == "get":
            assert rows.get(name) == plain.get(name)
        elif op == "contains":
            assert (name in rows) == (name in plain)
        elif op in ("set", "add"):
            rows[name] = plain[name] = [k, k, k, k, k]
        elif name in plain:  # a row changed in place sticks, as in the dict
            rows[name][4] += 1
            plain[name][4] += 1
    # What the views and `pay` ask without unpacking: rows by due date, positions, the tail, the count.
    order = list(plain)
    assert [(i, n, r) for i, n, r in rows.rows_due(lambda due: due % 3 == 0)] == [
        (i, n, r) for i, (n, r) in enumerate(plain.items()) if r[1] % 3 == 0]
    assert all(rows.position(n) == i for i, n in enumerate(order)) and rows.position("absent") is None
    for start in (0, 1, len(order) // 2, len(order), len(order) + 1):
        assert rows.rows_from(start) == list(plain.items())[start:]
    assert len(rows) == len(plain)
    if walk == "items":
        assert list(rows.items()) == list(plain.items())
    elif walk == "len":
        assert len(rows) == len(plain)
    elif walk == "copy":
        assert copy.copy(rows) == plain and type(copy.copy(rows)) is dict
    elif walk == "deepcopy":
        clone = copy.deepcopy(rows)
        assert clone == plain and type(clone) is dict
    elif walk == "pack":
        assert PackedRows(pack_rows(rows)) == plain  # type: ignore[arg-type]
    elif walk == "dict":
        assert dict(rows) == plain and list(dict(rows)) == list(plain)
    elif walk == "bool":
        assert bool(rows) == bool(plain)
    else:
        assert list(rows.keys()) == list(plain)
    assert rows == plain


def test_rows_never_asked_for_are_checkpointed_as_they_were_loaded() -> None:
    packed = pack_rows({"2026-0001": [1, 2, 3, 0, 0], "2026-0002": [4, 5, 6, 0, 0]})
    rows = PackedRows(packed)  # type: ignore[arg-type]
    assert "2026-0002" in rows and "2026-0009" not in rows and rows.get("2026-0009") is None
    assert rows.pristine and pack_rows(rows) == packed  # no row was unpacked to save it
    assert rows["2026-0002"] == [4, 5, 6, 0, 0]
    assert not rows.pristine and pack_rows(rows) == packed
