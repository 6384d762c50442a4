"""Draft stores behind one small interface: `DraftStore.create(draft) -> DraftReceipt`.

Reminders are never sent by Facturier: they are handed to a draft store, where a human
reviews and sends them. `OutboxDrafts` writes `data/drafts/<timestamp>-<ref>.eml` files with
`X-Unsent: 1` (Thunderbird and Outlook open them as drafts), `ImapDrafts` appends them to the
mailbox's Drafts folder with the `\\Draft` flag, `MemoryDrafts` keeps them in memory for
tests, `GmailDrafts` creates them with the Gmail API (`users.drafts.create`).
`DRAFT_STORES` maps `[collections] drafts` to the store.

Foreign errors (OSError, imaplib's) are translated here, at the edge, into the tree below,
so callers catch `DraftError` only:

    DraftError
    ├── DraftRefused            the store said no to this draft; the next one may still go
    ├── DraftStoreUnavailable   cannot connect, log in or open the mailbox: nothing stored
    │   └── DraftInterrupted    the connection dropped while a draft was in flight
    ├── DraftCredentialsError   the password's environment variable is not set
    └── DraftStoreUnsupported   a store named in the configuration that does not exist yet

(Gmail's sign-in and permission errors are `DraftStoreUnavailable`, other refusals
`DraftRefused`: see adapters/google for the Google tree they come from.)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facturier.adapters.drafts.base import (
    DraftCredentialsError,
    DraftError,
    DraftInterrupted,
    DraftReceipt,
    DraftRefused,
    DraftStore,
    DraftStoreUnavailable,
    DraftStoreUnsupported,
)
from facturier.adapters.drafts.files import MemoryDrafts, OutboxDrafts, iter_outbox
from facturier.adapters.drafts.imap import ImapDrafts, imap_password
from facturier.config.collections import CollectionsConfig
from facturier.config.google import GoogleConfig
from facturier.store.paths import WorkspacePaths


@dataclass(frozen=True, slots=True)
class DraftStoreOptions:
    """What some stores need beyond `[collections]`: Gmail's `[google]` settings, the Gmail
    thread of each sent invoice email (by its Message-ID, from the journal), and for tests
    the HTTP transport and the sleep of the retries."""

    google: GoogleConfig | None = None
    gmail_threads: Callable[[str], Any] | None = None
    http: Any = None
    sleep: Callable[[float], None] | None = None


DraftStoreFactory = Callable[[CollectionsConfig, Path, Mapping[str, str], DraftStoreOptions], DraftStore]


def _open_outbox(collections: CollectionsConfig, root: Path, environ: Mapping[str, str],
                 options: DraftStoreOptions) -> DraftStore:
    # Durability per group (`flush`): remind journals reminder.drafted only after flushing.
    return OutboxDrafts(WorkspacePaths(root).drafts, durable=False)


def _open_imap(collections: CollectionsConfig, root: Path, environ: Mapping[str, str],
               options: DraftStoreOptions) -> DraftStore:
    if collections.imap is None:  # validation makes this unreachable; say so rather than crash
        raise DraftStoreUnavailable('[collections] drafts = "imap" needs a [collections.imap] table')
    return ImapDrafts(collections.imap, imap_password(collections.imap, environ))


def _open_gmail(collections: CollectionsConfig, root: Path, environ: Mapping[str, str],
                options: DraftStoreOptions) -> DraftStore:
    import time

    from facturier.adapters.drafts.gmail import GmailDrafts  # only when Gmail is used
    from facturier.adapters.google.auth import GoogleSession, token_path
    from facturier.config.google import GMAIL_COMPOSE

    google = options.google or GoogleConfig()

    def service() -> Any:
        return GoogleSession(token_path(google, root), (GMAIL_COMPOSE,), options.http).service("gmail", "v1")

    return GmailDrafts(service, options.gmail_threads, options.sleep or time.sleep)


# `[collections] drafts` -> the store; an explicit list, never filled by an import's side effect.
DRAFT_STORES: dict[str, DraftStoreFactory] = {
    "outbox": _open_outbox,
    "imap": _open_imap,
    "gmail": _open_gmail,
}


def open_draft_store(collections: CollectionsConfig, root: Path,
                     environ: Mapping[str, str] | None = None,
                     options: DraftStoreOptions | None = None) -> DraftStore:
    """The store `[collections] drafts` names; IMAP reads its password now and connects later,
    Gmail loads its token on the first draft."""
    factory = DRAFT_STORES.get(collections.drafts)
    if factory is None:
        raise DraftStoreUnsupported(f"[collections] drafts = {collections.drafts!r} is not a draft store")
    return factory(collections, root, os.environ if environ is None else environ,
                   options or DraftStoreOptions())


__all__ = [
    "DRAFT_STORES", "DraftCredentialsError", "DraftError", "DraftInterrupted",
    "DraftReceipt", "DraftRefused", "DraftStore", "DraftStoreFactory", "DraftStoreOptions", "DraftStoreUnavailable",
    "DraftStoreUnsupported", "ImapDrafts", "MemoryDrafts", "OutboxDrafts", "imap_password",
    "iter_outbox", "open_draft_store",
]
