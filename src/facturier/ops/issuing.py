"""The issuing pipeline that `run`, `batch` and `credit` share: number, render, commit, log.

A caller composes its documents; the pipeline does the rest, the same way for all three:

1. **Ordered numbering.** `compose(numbers)` yields `DocumentDraft`s, each numbered with
   `numbers.peek(...)` (a `NumberAllocator` on the ledger state). The pipeline advances the
   draft's series as soon as it is handed over, so the next draft gets the next number:
   numbers follow the order of the drafts.
2. **Rendering over the pool** (`render.pool.render_ordered`): the records go to the render
   workers in sheets, a bounded number in flight, and come back in the same order.
3. **Grouped durable commits.** Rendered documents are committed in order, `COMMIT_GROUP`
   at a time (`Ledger.commit_group`: staged files synced, entries journalled, files moved).
   The journal therefore only ever holds a prefix of the numbers handed out: a render
   failure or a kill commits nothing of the unfinished group, and the numbers not journalled
   are handed out again by the next run. No gap, no number twice.
4. **Log and progress.** Each committed document gets its log line (`log(issued)`, when
   given) and advances the progress hook.

`issue_documents` is a generator: it yields each `Issued` document once its group is
journalled, so a caller keeps only what it needs (a 10,000-row batch streams through in
flat memory). Drafts are composed lazily, as the render window asks for them.

A dry run (the `report()` of a plan, `ops/plan.py`) never reaches `issue_documents`: it
numbers the same drafts with `plan_numbers`, which advances an allocator the same way and
renders, writes and logs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facturier.core.invoice import Document
from facturier.ops.documents import commit_group_size, document_commit
from facturier.ops.logs import log as write_log
from facturier.ops.outcome import ProgressHook
from facturier.ops.state_access import NumberAllocator
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState


@dataclass(frozen=True, slots=True)
class DocumentDraft:
    """A composed, numbered document not yet rendered, and what its journal entry adds.

    `extra` sets optional fields of its `DocumentIssued` entry by name: a batch row's
    customer, reference and batch, a credit note's refers_to, reason and credited_lines, a
    monthly invoice's period.
    """

    doc: Document
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Issued:
    """A document journalled: its draft, canonical record and journal entry."""

    draft: DocumentDraft
    record: dict[str, Any]
    entry: Entry

    @property
    def doc(self) -> Document:
        """The issued document."""
        return self.draft.doc


Compose = Callable[[NumberAllocator], Iterable[DocumentDraft]]
"""Composes the drafts in order, numbering each with the allocator it is given."""


def numbered(compose: Compose, numbers: NumberAllocator) -> Iterator[tuple[DocumentDraft, dict[str, Any]]]:
    """(draft, record) in order, each draft's series advanced before the next is composed."""
    for draft in compose(numbers):
        doc = draft.doc
        numbers.advance(doc.series, doc.seq, doc.issue_date)
        yield draft, doc.to_record()


def plan_numbers(state: LedgerState | None, compose: Compose) -> list[tuple[DocumentDraft, dict[str, Any]]]:
    """What `issue_documents` would issue, numbered the same way; nothing rendered or written."""
    return list(numbered(compose, NumberAllocator(state)))


def issue_documents(
    ledger: Ledger,
    compose: Compose,
    *,
    templates: Path,
    expected: int | None = None,
    progress: ProgressHook | None = None,
    label: str | None = None,
    log: Callable[[Issued], str | None] | None = None,
) -> Iterator[Issued]:
    """Number, render and commit `compose`'s drafts in order; yield each once it is journalled.

    `templates` is the workspace's template folder (an override `invoice.typ` there is
    used); `expected` is how many drafts to expect, when known (few documents render in
    this process, no pool started); `progress` is started with `label` and `expected` when
    both are given. `log(issued)` gives the line to log for a document under its client,
    or None for none. A render error raises after the groups before it are committed, and
    nothing of its own group is.
    """
    from facturier.render.pool import render_ordered

    numbers = NumberAllocator(ledger.state)
    if progress is not None and label is not None:
        progress.start(label, expected or 0)
    group: list[tuple[DocumentDraft, dict[str, Any], bytes]] = []
    size = commit_group_size()
    rendered = render_ordered(((pair, pair[1]) for pair in numbered(compose, numbers)), templates, expected)
    for (draft, record), pdf in rendered:
        group.append((draft, record, pdf))
        if len(group) >= size:
            yield from _commit(ledger, group, progress, log)
    yield from _commit(ledger, group, progress, log)


def _commit(ledger: Ledger, group: list[tuple[DocumentDraft, dict[str, Any], bytes]], progress: ProgressHook | None,
            log: Callable[[Issued], str | None] | None) -> Iterator[Issued]:
    """Commit a group durably and in order, log each document, advance progress; empty the group."""
    if not group:
        return
    entries = ledger.commit_group([document_commit(d.doc, record, pdf, d.extra) for d, record, pdf in group])
    issued = [Issued(draft, record, entry) for (draft, record, _), entry in zip(group, entries, strict=True)]
    group.clear()
    for item in issued:
        line = log(item) if log is not None else None
        if line is not None:
            write_log(ledger.root, line, item.doc.client_id)
    if progress is not None:
        progress.advance(len(issued))
    yield from issued
