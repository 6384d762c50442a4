"""The validated configuration is cached by content: never stale, never trusted when foreign or torn."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facturier.config import load_workspace
from facturier.config.cache import ConfigCache
from facturier.config.load import config_inputs
from facturier.core.errors import ConfigError
from tests.config.conftest import EditableWorkspace


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "facturier"


def cache_of(root: Path) -> ConfigCache:
    inputs = config_inputs(root)
    assert inputs is not None
    return ConfigCache(root, inputs)


def test_a_second_load_reads_the_cache_and_gives_the_same_workspace(demo: EditableWorkspace) -> None:
    first = load_workspace(demo.root)
    assert cache_of(demo.root).load() == first  # written by the first load, for these very bytes
    assert load_workspace(demo.root) == first


def test_an_edit_that_keeps_size_and_time_is_still_seen(demo: EditableWorkspace) -> None:
    load_workspace(demo.root)
    path = demo.root / "clients" / "acme.toml"
    st = path.stat()
    demo.replace("clients/acme.toml", 'unit_price = "450.00"', 'unit_price = "451.00"')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same modification time
    assert load_workspace(demo.root).clients["acme"].lines[0].unit_price == 451


def test_a_new_client_file_and_a_removed_one_are_seen(demo: EditableWorkspace) -> None:
    load_workspace(demo.root)
    (demo.root / "clients" / "acme.toml").rename(demo.root / "clients" / "acme2.toml")
    assert set(load_workspace(demo.root).clients) == {"acme2", "atelier-lumiere", "northwind", "sandbox"}


def test_a_file_broken_after_a_valid_load_is_reported_not_hidden_by_the_cache(demo: EditableWorkspace) -> None:
    load_workspace(demo.root)
    demo.replace("clients/acme.toml", 'unit_price = "450.00"', 'unit_price = "lots"')
    with pytest.raises(ConfigError, match="acme.toml"):
        load_workspace(demo.root)


def test_a_torn_or_tampered_cache_is_not_used(demo: EditableWorkspace) -> None:
    first = load_workspace(demo.root)
    cache = cache_of(demo.root)
    assert cache.path is not None
    data = bytearray(cache.path.read_bytes())
    cache.path.write_bytes(bytes(data[: len(data) // 2]))  # torn
    assert cache.load() is None and load_workspace(demo.root) == first
    cache.path.write_bytes(b"\0" * 16 + bytes(data[16:]))  # another key
    assert cache.load() is None and load_workspace(demo.root) == first


def test_a_cache_file_others_may_write_is_never_unpickled(demo: EditableWorkspace) -> None:
    load_workspace(demo.root)
    cache = cache_of(demo.root)
    assert cache.path is not None
    cache.path.chmod(0o666)
    assert cache.load() is None


def test_a_cache_folder_that_cannot_be_written_changes_nothing(demo: EditableWorkspace, own_cache: Path) -> None:
    own_cache.parent.mkdir(parents=True)
    own_cache.write_text("a file where the cache folder would go")
    first = load_workspace(demo.root)
    assert load_workspace(demo.root) == first
    assert own_cache.is_file()


def test_loading_writes_nothing_in_the_workspace(demo: EditableWorkspace) -> None:
    before = sorted(p.relative_to(demo.root).as_posix() for p in demo.root.rglob("*"))
    load_workspace(demo.root)
    load_workspace(demo.root)
    assert sorted(p.relative_to(demo.root).as_posix() for p in demo.root.rglob("*")) == before


def test_a_change_in_any_module_the_validators_call_invalidates_the_cache(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The validators call into core (money, pricing, usage) and fonts (glyphs): a fix there
    must not leave configurations validated by the old code trusted."""
    from facturier.config import cache

    for rel in ("config/fields.py", "core/money.py", "fonts.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    monkeypatch.setattr(cache, "CODE", tmp_path)
    before = cache._code_key()
    for rel in ("core/money.py", "fonts.py"):
        (tmp_path / rel).write_text("x = 22\n")
        after = cache._code_key()
        assert after != before
        before = after
    (tmp_path / "ops" / "deep").mkdir(parents=True)
    (tmp_path / "ops" / "deep" / "new.py").write_text("x = 1\n")  # a module added, however deep
    assert cache._code_key() != before
    before = cache._code_key()
    (tmp_path / "ops" / "deep" / "notes.txt").write_text("not code")  # only modules count
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "fonts.cpython-311.pyc").write_bytes(b"\0")
    assert cache._code_key() == before


def test_the_cache_folder_is_pruned_when_a_cache_is_written(demo: EditableWorkspace, own_cache: Path) -> None:
    """One file per workspace folder, and workspaces come and go: the folder grew to 678 files
    of names, addresses and IBANs. Unused for 30 days, or beyond the 50 most recently used,
    a cache goes; so does a temporary file a killed writer left."""
    import time

    from facturier.config.cache import MAX_ENTRIES
    from tests.conftest import run_cli

    own_cache.mkdir(parents=True)
    now = time.time()

    def fake(name: str, age_days: float) -> Path:
        path = own_cache / name
        path.write_bytes(b"x" * 16)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
        return path

    recent = [fake(f"config-{i:016x}.pickle", i / 100) for i in range(70)]  # newest first
    old = [fake(f"config-{i:016x}.pickle", 40) for i in range(100, 110)]
    left_by_a_kill = fake("config-00000000000000ff.pickle.1234.tmp", 0.1)
    being_written = fake("config-00000000000000fe.pickle.4321.tmp", 0.0001)
    other = fake("notes.txt", 400)
    assert run_cli(demo.root, "balances").code == 0  # a miss: the demo's cache is written, the folder pruned
    kept = set(own_cache.glob("config-*.pickle"))
    assert len(kept) == MAX_ENTRIES and cache_of(demo.root).path in kept
    assert kept - {cache_of(demo.root).path} == set(recent[:MAX_ENTRIES - 1])
    assert not any(p.exists() for p in old) and not left_by_a_kill.exists()
    assert being_written.exists() and other.exists()


def test_a_cache_in_use_is_marked_used_so_it_is_not_pruned(demo: EditableWorkspace) -> None:
    import time

    load_workspace(demo.root)
    path = cache_of(demo.root).path
    assert path is not None
    month_ago = time.time() - 31 * 86400
    os.utime(path, (month_ago, month_ago))
    assert load_workspace(demo.root) is not None  # a hit
    assert time.time() - path.stat().st_mtime < 60
