"""The exclusive workspace lock: one writer at a time, and a clear message naming the holder."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from facturier.core.errors import LockBusyError, UnsafeFileError
from facturier.store.files import FILE_MODE, ensure_dir

DEFAULT_WAIT_SECONDS = float(os.environ.get("FACTURIER_LOCK_WAIT", "60"))


def open_lock_file(path: Path) -> int:
    """The lock file's descriptor; a link or a non-regular file there is refused, never opened.

    Taking the lock truncates the file to write the holder: through a link planted at
    data/.lock, even `verify` would truncate the link's target.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise UnsafeFileError(f"{path} is a symbolic link; the workspace lock never follows one. "
                              f"Remove it (rm {path}); Facturier creates a new lock file.") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafeFileError(f"{path} is not a regular file; remove it, Facturier creates a new lock file")
    if info.st_size == 0 and info.st_uid == os.geteuid():
        os.fchmod(fd, FILE_MODE)  # new (or empty): the umask must not decide who may read it
    return fd


class WorkspaceLock:
    """flock(2) on data/.lock; the kernel releases it when the holder dies, even by SIGKILL."""

    def __init__(self, data_dir: Path, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.path = data_dir / ".lock"
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to `wait_seconds`, else raise naming the holder."""
        ensure_dir(self.path.parent)
        fd = open_lock_file(self.path)
        deadline = time.monotonic() + self.wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockBusyError(
                        f"the workspace is locked by another facturier process ({self.holder()}); "
                        f"gave up after {self.wait_seconds:.0f} s. Run again when it has finished."
                    ) from None
                if not announced:
                    print(f"Waiting for the workspace lock held by {self.holder()} ...", file=sys.stderr)
                    announced = True
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)),
            "since": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def holder(self) -> str:
        """Describe the current holder from the lock file (best effort)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            try:
                info = json.loads(os.read(fd, 4096) or b"{}")
            finally:
                os.close(fd)
        except (OSError, ValueError):
            return "an unknown process"
        if not info:
            return "an unknown process"
        return f"pid {info.get('pid')} on {info.get('host')}, '{info.get('command')}' since {info.get('since')}"

    def release(self) -> None:
        """Release the lock (closing the descriptor releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
