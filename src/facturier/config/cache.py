"""The validated configuration, cached by content, so a command does not parse it again.

Reading a workspace's configuration parses every TOML file (tomllib is pure Python) and
validates it with pydantic: ~0.9 ms per client file, a second for 1,000 clients, and the
pydantic schemas of every model built at import (~0.2 s). A command that finds the cache
current unpickles the validated models instead and never builds a schema (the models are
declared with `defer_build`).

The cache is derived and disposable, and lives outside the workspace
(`$XDG_CACHE_HOME/facturier/`, `~/.cache/facturier/` by default): dry runs and read-only
commands still write nothing in the workspace. It is trusted only for exactly the bytes it
was made from: its key is a digest of the name and bytes of every file the loader reads
(`facturier.toml`, `clients/*.toml`, `batch_clients/*.toml`; each read once, and the same
bytes are then validated on a miss), of Facturier's code (name, size and time of every module
of the package, ~4 M instructions: the validators call into `core` and `fonts`, and a fix anywhere there
must not leave old validated configurations trusted) and of the Python and pydantic versions. No configuration file's
timestamp is trusted: an edit that keeps its size and time is still seen. A missing,
unreadable, foreign (another owner, writable by others) or mismatched cache is simply not
used; failing to write it changes nothing.
`check` always validates from the files.

The folder is pruned whenever a cache is written (`prune`): there is one file per workspace
folder, and workspaces come and go (copies, temporary ones, a test suite's), so their files
would pile up, each holding names, addresses and IBANs. A file not used for MAX_AGE_DAYS is
removed (a file read is marked used, at most once a day), and beyond the MAX_ENTRIES most
recently used the rest are, as are temporary files a killed process left over an hour ago.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pydantic
import xxhash

if TYPE_CHECKING:
    from facturier.config.load import Workspace

FORMAT: Final = 1
CODE: Final = Path(__file__).parents[1]  # the whole facturier package
MAX_AGE_DAYS: Final = 30
MAX_ENTRIES: Final = 50
DAY: Final = 86400.0


def cache_dir() -> Path | None:
    """Where the caches of every workspace of this user live; None without a home folder."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no password entry: no cache
            return None
    return Path(base) / "facturier"


def _code_key() -> bytes:
    """Python and pydantic versions, and the name, size and time of every module of the package.

    Walked with os.scandir (its entries carry their type): pathlib's rglob cost every command
    ~23 M instructions for 190 modules, scandir a fraction of it (issue 23, start-up).
    """
    parts = [f"{FORMAT} {sys.version} {pydantic.VERSION}"]
    _module_stats(str(CODE), "", parts)
    return "\n".join(parts).encode()


def _module_stats(folder: str, prefix: str, parts: list[str]) -> None:
    """Append `relative/path.py size mtime` for every .py file under folder (no symlinked folder)."""
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _module_stats(entry.path, f"{prefix}{entry.name}/", parts)
        elif entry.name.endswith(".py"):
            st = entry.stat()
            parts.append(f"{prefix}{entry.name} {st.st_size} {st.st_mtime_ns}")


class ConfigCache:
    """The cache of one workspace's configuration: the inputs read, their digest, the cached models."""

    def __init__(self, root: Path, inputs: dict[Path, bytes]) -> None:
        """`inputs` are the bytes of every file the loader reads, by path."""
        self.root = root
        self.inputs = inputs
        digest = xxhash.xxh3_128(_code_key())
        for path, data in inputs.items():
            rel = path.relative_to(root).as_posix().encode()
            digest.update(len(rel).to_bytes(4, "little") + rel + len(data).to_bytes(8, "little") + data)
        self.digest = digest.digest()
        folder = cache_dir()
        name = f"config-{xxhash.xxh3_64_hexdigest(os.fsencode(root.resolve()))}.pickle"
        self.path = folder / name if folder is not None else None

    def load(self) -> Workspace | None:
        """The cached workspace when the cache was made from exactly these inputs, else None."""
        from facturier.config.load import Workspace

        if self.path is None:
            return None
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if st.st_uid != os.getuid() or st.st_mode & 0o022:
                    return None  # not this user's own file: never unpickled
                data = fh.read()
        except OSError:
            return None
        if data[:16] == self.digest and time.time() - st.st_mtime > DAY:
            with contextlib.suppress(OSError):
                os.utime(self.path)  # still in use: not pruned (at most one write a day)
        if data[:16] != self.digest:
            return None
        try:
            config, clients, batch = pickle.loads(data[16:])
        except Exception:  # noqa: BLE001  # a torn or foreign file: rebuilt from the TOML files
            return None
        return Workspace(root=self.root, config=config, clients=clients, batch_clients=batch)

    def save(self, workspace: Workspace) -> None:
        """Write the cache for these inputs (best effort: a cache that cannot be written is not needed)."""
        if self.path is None:
            return
        data = self.digest + pickle.dumps((workspace.config, workspace.clients, workspace.batch_clients),
                                          protocol=pickle.HIGHEST_PROTOCOL)
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
            return
        prune(self.path.parent, time.time(), keep=self.path)


def prune(folder: Path, now: float, keep: Path) -> list[Path]:
    """Remove the cache files of `folder` that can no longer be worth keeping, and say which.

    Only this user's own regular files named like a cache are touched: one not used for
    MAX_AGE_DAYS, one beyond the MAX_ENTRIES most recently used (`keep`, just written,
    counts first), and a temporary file older than an hour (its writer was killed).
    """
    caches: list[tuple[float, Path]] = []
    removed: list[Path] = []
    for path in folder.glob("config-*.pickle*"):
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            continue
        if path.name.endswith(".tmp"):
            if now - st.st_mtime > 3600:
                removed.append(path)
        elif path != keep:
            caches.append((st.st_mtime, path))
    caches.sort(reverse=True)
    removed += [path for rank, (mtime, path) in enumerate(caches, start=1)
                if rank >= MAX_ENTRIES or now - mtime > MAX_AGE_DAYS * DAY]
    for path in removed:
        with contextlib.suppress(OSError):
            path.unlink()
    return removed
