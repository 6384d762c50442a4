"""Opening the ledger state for a command, and numbering from it.

Writing commands get the state from their `Ledger` (under the lock); read-only commands and
dry runs (`ops.plan.carry_out`) open it without the lock (`read_state`): the same checks,
nothing written but the state file caught up (and not even that by a dry run).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path

from facturier.core.numbering import SeriesState, format_number, next_seq, series_key
from facturier.store.events import DocumentIssued
from facturier.store.journal import open_state
from facturier.store.notices import notice
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState


def read_state(root: Path, dry_run: bool = False, fresh: bool = False) -> LedgerState:
    """The ledger state of a workspace, for a command that writes nothing to the journal.

    It is caught up with the journal (and the state file saved) unless `dry_run`, which
    writes nothing at all; `fresh` rebuilds it from the whole journal (`rebuild`). Either
    way it reads one snapshot until `close()`.
    """
    state = open_state(WorkspacePaths(root).journal, notice, dry_run=dry_run, fresh=fresh)
    state.hold_snapshot()
    return state


@contextmanager
def reading_state(root: Path, dry_run: bool = False) -> Iterator[LedgerState]:
    """`read_state` for a `with` block: closed when the block ends, however it ends."""
    with closing(read_state(root, dry_run)) as state:
        yield state


class NumberAllocator:
    """Hands out the next number of each series; advanced only once a document is journalled."""

    def __init__(self, state: LedgerState | None) -> None:
        """From the state's series; None starts every series afresh (samples, never issued)."""
        self.states: dict[str, SeriesState] = state.core.series_states() if state is not None else {}

    def peek(
        self, template: str, *, seller: str, client: str, issue_date: date, test: bool
    ) -> tuple[str, str, int]:
        """(number, series, seq) the next document of that series would get."""
        series = series_key(template, seller=seller, issue_date=issue_date, client=client, test=test)
        seq = next_seq(self.states.get(series), issue_date, series)
        number = format_number(template, issue_date=issue_date, client=client, seq=seq, test=test)
        return number, series, seq

    def record(self, doc: DocumentIssued) -> None:
        """Advance a series after its document was journalled."""
        self.advance(doc.series, doc.series_seq, doc.date)

    def advance(self, series: str, seq: int, issue_date: date) -> None:
        """Move a series forward (also used by dry runs to number what they would issue)."""
        self.states[series] = SeriesState(seq, issue_date)
