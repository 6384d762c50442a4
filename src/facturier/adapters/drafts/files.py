"""Drafts as files (`OutboxDrafts`, the default) and in memory (`MemoryDrafts`, for tests)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from facturier.adapters.drafts.base import (
    REF_HEADER,
    DraftError,
    DraftReceipt,
    DraftStore,
    DraftStoreUnavailable,
    message_id_of,
    raw_header,
)
from facturier.core.text import file_safe_ref
from facturier.store.files import atomic_write, fsync_dir


class MemoryDrafts(DraftStore):
    """Drafts kept in memory, for tests of the use cases; `fail_with` makes the next create fail."""

    name = "memory"

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.fail_with: DraftError | None = None
        self.closed = False

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Keep the draft's bytes under its Message-ID."""
        message_id = message_id_of(draft)
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        existing = message_id in self.stored
        self.stored.setdefault(message_id, draft.as_bytes())
        return DraftReceipt(self.name, message_id, message_id, existing=existing)

    def find(self, message_id: str) -> DraftReceipt | None:
        """The receipt of a stored draft."""
        return DraftReceipt(self.name, message_id, message_id) if message_id in self.stored else None

    def drafts(self) -> list[EmailMessage]:
        """Every stored draft, parsed back, in the order stored."""
        return [_parse(data) for data in self.stored.values()]

    def close(self) -> None:
        self.closed = True


def _parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class OutboxDrafts(DraftStore):
    """`<directory>/<YYYYMMDDTHHMMSS>-<ref>.eml` with `X-Unsent: 1`, written atomically.

    With `durable=False`, files are renamed into place without their own fsyncs and `flush()`
    makes the whole group durable at once (like the ledger's `commit_group`).
    """

    name = "outbox"

    def __init__(self, directory: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 durable: bool = True) -> None:
        self.directory = directory
        self._clock = clock
        self._durable = durable
        self._unflushed = False
        self._by_ref: dict[str, list[Path]] | None = None

    def create(self, draft: EmailMessage) -> DraftReceipt:
        """Write the draft; the file appearing (atomic rename) is the hand-over."""
        message_id = message_id_of(draft)
        ref = file_safe_ref(raw_header(draft, REF_HEADER) or "draft")
        for path in self._refs().get(ref, []):
            if _file_message_id(path) == message_id:
                return DraftReceipt(self.name, path.name, message_id, existing=True)
        path = self._free_path(ref)
        try:
            # X-Unsent: 1 makes Outlook and Thunderbird open the file as an editable draft.
            atomic_write(path, b"X-Unsent: 1\n" + draft.as_bytes(), durable=self._durable)
        except OSError as exc:
            raise DraftStoreUnavailable(self._write_error(path, exc)) from None
        self._unflushed = not self._durable
        self._refs().setdefault(ref, []).append(path)
        return DraftReceipt(self.name, path.name, message_id)

    def _write_error(self, path: Path, exc: OSError) -> str:
        """Why a draft could not be written; a file where the drafts folder should be is named."""
        in_the_way = next((p for p in (self.directory, *self.directory.parents)
                           if p.exists() and not p.is_dir()), None)
        if in_the_way is not None:
            return (f"cannot write the draft into {self.directory}: {in_the_way} is a file, not a folder; "
                    "move it away (drafts are written into that folder)")
        return f"cannot write {path}: {exc.strerror or exc}"

    def flush(self) -> None:
        """One os.sync() and one folder fsync for every draft written since the last flush."""
        if not self._unflushed:
            return
        try:
            os.sync()
            fsync_dir(self.directory)
        except OSError as exc:
            raise DraftStoreUnavailable(f"cannot make {self.directory} durable: {exc.strerror or exc}") from None
        self._unflushed = False

    def find(self, message_id: str) -> DraftReceipt | None:
        """Scan every draft file's headers (only used to settle an in-flight draft)."""
        for paths in self._refs().values():
            for path in paths:
                if _file_message_id(path) == message_id:
                    return DraftReceipt(self.name, path.name, message_id)
        return None

    def _refs(self) -> dict[str, list[Path]]:
        """Draft files by ref, listed once per store (a run adds to it as it writes)."""
        if self._by_ref is None:
            self._by_ref = {}
            if self.directory.is_dir():
                for path in sorted(self.directory.glob("*.eml")):
                    for ref in _refs_of(path.name):
                        self._by_ref.setdefault(ref, []).append(path)
        return self._by_ref

    def _free_path(self, ref: str) -> Path:
        stamp = self._clock().strftime("%Y%m%dT%H%M%S")
        path, counter = self.directory / f"{stamp}-{ref}.eml", 1
        while path.exists():  # two drafts of one ref within a second keep both files
            counter += 1
            path = self.directory / f"{stamp}-{ref}-{counter}.eml"
        return path


def _refs_of(filename: str) -> set[str]:
    """The refs a draft file may have been written for: `<stamp>-<ref>.eml` or, for a second
    file in the same second, `<stamp>-<ref>-<n>.eml` (so both `x-2` and `x` are candidates)."""
    ref = filename.removesuffix(".eml").partition("-")[2]
    return {ref, re.sub(r"-\d+$", "", ref)}


def _file_message_id(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            headers = BytesHeaderParser(policy=policy.default).parse(handle)
    except OSError:
        return None
    value = headers["Message-ID"]
    return str(value).strip() if value else None


def iter_outbox(directory: Path) -> Iterator[tuple[Path, EmailMessage]]:
    """Every draft file of an outbox, parsed (for reviews and tests)."""
    for path in sorted(directory.glob("*.eml")):
        yield path, _parse(path.read_bytes())
