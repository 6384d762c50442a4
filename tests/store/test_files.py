"""store/files.py: writes never follow a link, modes ignore the umask, names fit the file system."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from facturier.core.errors import UnsafeFileError
from facturier.ops.logs import log
from facturier.store.files import (
    NAME_MAX,
    atomic_write,
    ensure_dir,
    fit_name,
    open_append,
    open_regular,
    write_new,
)
from facturier.store.journal import Journal
from facturier.store.lock import WorkspaceLock


@pytest.fixture(params=[0o022, 0o000, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_atomic_write_never_writes_through_a_link_at_the_old_temp_name(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    path = tmp_path / "view.json"
    # The temp name used to be predictable: .<name>.<pid>.tmp
    (tmp_path / f".view.json.{os.getpid()}.tmp").symlink_to(target)
    atomic_write(path, b"new")
    assert target.read_text() == "precious" and path.read_bytes() == b"new"


def test_atomic_write_replaces_a_link_at_the_destination_instead_of_following_it(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    (tmp_path / "export.csv").symlink_to(target)
    atomic_write(tmp_path / "export.csv", b"a,b\n")
    assert target.read_text() == "precious"
    assert not (tmp_path / "export.csv").is_symlink() and (tmp_path / "export.csv").read_bytes() == b"a,b\n"


def test_write_new_and_open_append_refuse_links(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UnsafeFileError, match="refusing to overwrite"):
        write_new(link, b"x")
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        open_append(link)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        open_regular(link)
    assert target.read_text() == "precious"


def test_open_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    with pytest.raises(UnsafeFileError, match="not a regular file"):
        open_regular(fifo)


def test_journal_behind_a_link_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"
    target.write_bytes(b"not a journal line")  # torn tail: the repair would truncate it
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.jsonl").symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        Journal(data / "journal.jsonl")
    assert target.read_bytes() == b"not a journal line"


def test_a_log_file_link_is_refused_not_appended_to(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    (tmp_path / "data" / "logs").mkdir(parents=True)
    (tmp_path / "data" / "logs" / "facturier.log").symlink_to(target)
    with pytest.raises(UnsafeFileError):
        log(tmp_path, "issued 2026-0001")
    assert target.read_text() == "precious"


def test_log_lines_escape_control_characters(tmp_path: Path) -> None:
    log(tmp_path, "batch file a\n2026-01-01T00:00:00Z forged.csv rejected", "bm")
    lines = (tmp_path / "data" / "logs" / "facturier.log").read_text().splitlines()
    assert len(lines) == 1 and "a\\n2026-01-01T00:00:00Z forged.csv" in lines[0]


def test_lock_file_link_is_refused_and_its_target_not_truncated(tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".lock").symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symbolic link"), WorkspaceLock(tmp_path / "data", 0):
        pass
    assert target.read_text() == "precious"


def test_files_and_folders_get_fixed_modes_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    ensure_dir(tmp_path / "a" / "b")
    atomic_write(tmp_path / "a" / "b" / "view.json", b"{}")
    write_new(tmp_path / "a" / "staged.pdf", b"%PDF")
    with open_append(tmp_path / "a" / "journal.jsonl") as fh:
        fh.write(b"x\n")
    with WorkspaceLock(tmp_path / "data", 0):
        pass
    assert [mode(tmp_path / p) for p in ("a", "a/b", "data")] == [0o750] * 3
    assert [mode(tmp_path / p) for p in ("a/b/view.json", "a/staged.pdf", "a/journal.jsonl", "data/.lock")] \
        == [0o640] * 4


def test_open_append_keeps_the_mode_of_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"")
    path.chmod(0o600)  # an operator's stricter choice is not loosened
    with open_append(path) as fh:
        fh.write(b"x\n")
    assert mode(path) == 0o600


@pytest.mark.parametrize("name", ["x" * 251 + ".csv", "é" * 130 + ".csv", "y" * 300, "z" * 240 + "." + "e" * 40])
def test_fit_name_fits_keeps_the_extension_and_stays_unique(tmp_path: Path, name: str) -> None:
    fitted = fit_name("20261120T101010_0123456789ab_" + name)
    assert len(fitted.encode()) <= NAME_MAX
    assert fitted.startswith("20261120T101010_0123456789ab_")
    if name.endswith(".csv"):
        assert fitted.endswith(".csv")
    assert fit_name("20261120T101010_0123456789ab_" + name[:-5] + "Q" + name[-4:]) != fitted
    (tmp_path / fitted).write_bytes(b"")  # the file system takes it


def test_fit_name_leaves_short_names_alone() -> None:
    assert fit_name("2026-11-orders.csv") == "2026-11-orders.csv"
