"""Growing views (payments, revenue history) appended in place are byte for byte the whole view."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.views import (
    GROWING,
    GrowingView,
    ViewStamps,
    list_slot,
    view_bytes,
    write_growing,
)

items = st.dictionaries(st.sampled_from(["amount", "date", "number", "seq"]),
                        st.text(max_size=6) | st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4)


def grow(tmp: Path, steps: list[tuple[str, list[dict[str, object]]]]) -> None:
    """Write the view after each step (a head value, new items); check it equals the whole view."""
    path, stamps, written = tmp / "view.json", ViewStamps(tmp / "views.json"), []
    for position, (name, new) in enumerate(steps, start=1):
        written += [(position, item) for item in new]
        whole = {"client": name, "items": [item for _, item in written], "totals": {"n": len(written)}}
        view = GrowingView({"client": name, "items": list_slot(GROWING), "totals": {"n": len(written)}},
                           lambda since, w=list(written): [item for at, item in w if at >= since])
        write_growing(path, "view.json", view, stamps, position + 1)
        assert path.read_bytes() == view_bytes(whole)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["acme", "acme", "acme", "northwind"]), st.lists(items, max_size=3)),
                min_size=1, max_size=6))
def test_a_view_grown_step_by_step_equals_the_whole_view(tmp_path_factory: object, steps: list) -> None:
    grow(tmp_path_factory.mktemp("grow"), steps)  # type: ignore[attr-defined]


def test_a_view_changed_on_disk_is_rewritten_whole(tmp_path: Path) -> None:
    path, stamps = tmp_path / "view.json", ViewStamps(tmp_path / "views.json")
    first = [{"seq": 1}, {"seq": 2}]

    def view(items: list[dict[str, int]]) -> GrowingView:
        return GrowingView({"client": "acme", "payments": list_slot(GROWING)},
                           lambda since: [i for i in items if i["seq"] >= since])

    write_growing(path, "view.json", view(first), stamps, 3)
    path.write_bytes(path.read_bytes().replace(b'"seq": 2', b'"seq": 9'))  # same size, edited by hand
    os.utime(path, ns=(1, 1))
    write_growing(path, "view.json", view([*first, {"seq": 3}]), stamps, 4)
    assert path.read_bytes() == view_bytes({"client": "acme", "payments": [*first, {"seq": 3}]})


def test_a_big_view_is_patched_in_place_and_never_written_through_a_link(tmp_path: Path) -> None:
    from facturier.store.views import PATCH_SIZE, write_view

    path = tmp_path / "balance.json"
    old = b"a" * (PATCH_SIZE + 100_000)
    path.write_bytes(old)
    inode = path.stat().st_ino
    new = b"b" + old[1:-50_000] + b"tail"  # a block changed at the start, the end shorter
    assert write_view(path, new) and path.read_bytes() == new
    assert path.stat().st_ino == inode  # patched, not replaced
    assert not write_view(path, new)  # unchanged: nothing written

    target = tmp_path / "elsewhere.json"
    target.write_bytes(old)
    path.unlink()
    path.symlink_to(target)
    assert write_view(path, new)
    assert not path.is_symlink() and path.read_bytes() == new
    assert target.read_bytes() == old
