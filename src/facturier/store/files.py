"""Every file the product writes: atomic, durable, never through a link, with fixed permissions.

- **No link is followed.** Files are opened with `O_NOFOLLOW` (a symbolic link as the last
  component is refused with `UnsafeFileError`) and new files with `O_CREAT | O_EXCL`, so a
  link planted at a temp or staged name is never written through. A rename replaces a link
  at its destination, it never writes to its target. Folders are trusted: the workspace
  owner may put `data/` on another disk through a link.
- **Permissions do not depend on the umask.** Files are created `FILE_MODE` (0640) and
  folders `DIR_MODE` (0750), set with fchmod/chmod after creation because the umask masks
  the mode given to open(2) and mkdir(2): the journal, PDFs and emails are personal data.
- **Names fit the file system.** `fit_name` shortens a name built from outside input (a batch
  file name) to `NAME_MAX` bytes, keeping its extension and, through a hash, its uniqueness.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from facturier.core.errors import IntegrityError, UnsafeFileError
from facturier.core.text import printable

FILE_MODE = 0o640
DIR_MODE = 0o750
NAME_MAX = 255  # bytes per name on ext4, XFS, Btrfs, tmpfs and ZFS
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(path: Path) -> None:
    """Create `path` and its missing parents, each `DIR_MODE` whatever the umask."""
    if path.is_dir():
        return
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:  # created meanwhile by another process, or not a folder
            if not folder.is_dir():
                raise
            continue
        os.chmod(folder, DIR_MODE)


def _refuse_link(path: Path, exc: OSError) -> UnsafeFileError:
    """The clear error for an open refused by O_NOFOLLOW (ELOOP) or by the regular-file check."""
    if exc.errno == errno.ELOOP:
        return UnsafeFileError(f"{printable(str(path))} is a symbolic link; Facturier never follows one. "
                               "Remove the link (and put the real file in its place if needed).")
    return UnsafeFileError(f"{printable(str(path))}: {exc.strerror or exc}")


def _require_regular(fd: int, path: Path) -> None:
    """Close `fd` and refuse when it is not a regular file (a FIFO, a device, a folder)."""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeFileError(f"{printable(str(path))} is not a regular file; only regular files are read")


def _create(path: Path, flags: int, mode: int) -> int:
    """A new file (never an existing one, never through a link), `mode` whatever the umask."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
    os.fchmod(fd, mode)
    return fd


def open_new(path: Path, mode: int = FILE_MODE) -> BinaryIO:
    """Create `path` for writing; refuse if anything, a link included, already has that name."""
    try:
        fd = _create(path, os.O_WRONLY, mode)
    except FileExistsError:
        raise UnsafeFileError(
            f"{printable(str(path))} already exists (or is a link); refusing to overwrite it") from None
    return os.fdopen(fd, "wb")


def write_new(path: Path, data: bytes) -> None:
    """Write a new file with `data` (a staged document): never overwrites, never follows a link."""
    with open_new(path) as fh:
        fh.write(data)


def open_append(path: Path) -> BinaryIO:
    """Open a file for appending (journal, logs), created `FILE_MODE` if missing; never a link."""
    try:
        fd = _create(path, os.O_WRONLY | os.O_APPEND, FILE_MODE)
    except FileExistsError:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | _NOFOLLOW)
        except OSError as exc:
            raise _refuse_link(path, exc) from None
        _require_regular(fd, path)
    return os.fdopen(fd, "ab")


def open_update(path: Path) -> BinaryIO:
    """Open an existing regular file for reading and writing in place; never a link."""
    try:
        fd = os.open(path, os.O_RDWR | _NOFOLLOW)
    except OSError as exc:
        raise _refuse_link(path, exc) from None
    _require_regular(fd, path)
    return os.fdopen(fd, "rb+")


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file for reading; a link or anything else (a FIFO, a device) is refused.

    O_NONBLOCK keeps a FIFO swapped in after a check from blocking the open; it changes nothing
    for a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse_link(path, exc) from None
        raise
    _require_regular(fd, path)
    return os.fdopen(fd, "rb")


def _temp_name(path: Path) -> Path:
    """An unpredictable hidden name next to `path`, short enough for any file system."""
    return path.with_name(f".{fit_name(path.name, 100)}.{secrets.token_hex(6)}.tmp")


@contextmanager
def atomic_file(path: Path, durable: bool = True) -> Iterator[BinaryIO]:
    """Write `path` through a new temp file renamed over it on success (removed on failure)."""
    ensure_dir(path.parent)
    tmp = _temp_name(path)
    fh = open_new(tmp)
    try:
        with fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)  # replaces a link at `path`, never writes to its target
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never a torn one."""
    with atomic_file(path, durable) as fh:
        fh.write(data)


def fit_name(name: str, limit: int = NAME_MAX) -> str:
    """`name` if it fits in `limit` UTF-8 bytes, else its stem cut short + `~<hash>` + extension.

    The hash is of the whole name, so two long names that differ only past the cut still get
    different stored names.
    """
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= limit:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix.encode("utf-8", "surrogateescape")) <= 16 else ""
    tag = "~" + hashlib.sha256(raw).hexdigest()[:12]
    stem = name[: len(name) - len(suffix)] if suffix else name
    room = limit - len(tag) - len(suffix.encode("utf-8", "surrogateescape"))
    cut = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")  # whole characters only
    return cut + tag + suffix


def named_file(entry: dict[str, Any], role: str) -> dict[str, str]:
    """The `{path, sha256}` a journal entry records for `role` ("pdf", "json", "csv").

    A missing one means the journal lost information (a hand edit, a bug): an integrity error
    naming the document, never a KeyError.
    """
    item = entry.get("files", {}).get(role) if isinstance(entry.get("files"), dict) else None
    if not isinstance(item, dict) or "path" not in item or "sha256" not in item:
        what = entry.get("number") or entry.get("name") or f"entry {entry.get('seq', '?')}"
        raise IntegrityError(f"{what}: its journal entry ({entry.get('type', '?')}, seq {entry.get('seq', '?')}) "
                             f"names no {role} file; run 'facturier verify'")
    return item


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a regular file's content, streamed; a link is refused, never followed."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
