"""View files: the JSON they are defined as, written whole, atomically, never through a link."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.store.views import view_bytes, write_view

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_view_bytes_are_the_json_a_view_is_defined_as(value: object) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    assert view_bytes(value) == expected.encode("utf-8")


def test_a_view_is_replaced_whole_and_only_when_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "data" / "balance" / "acme.json"
    assert write_view(path, b"{}\n") and path.read_bytes() == b"{}\n"
    inode = path.stat().st_ino
    assert not write_view(path, b"{}\n")  # the same bytes: nothing written
    assert path.stat().st_ino == inode
    assert write_view(path, b'{"a": 1}\n') and path.read_bytes() == b'{"a": 1}\n'
    assert path.stat().st_ino != inode  # a new file renamed into place, never changed in place
    assert [p.name for p in path.parent.iterdir()] == ["acme.json"]  # no temp file left


def test_a_view_is_never_written_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_bytes(b"{}\n")
    path = tmp_path / "acme.json"
    path.symlink_to(target)
    assert write_view(path, b"{}\n")  # the link's target holds these bytes: replaced all the same
    assert not path.is_symlink() and path.read_bytes() == b"{}\n"
    path.unlink()
    path.symlink_to(target)
    assert write_view(path, b'{"a": 1}\n')
    assert not path.is_symlink() and path.read_bytes() == b'{"a": 1}\n'
    assert target.read_bytes() == b"{}\n"
