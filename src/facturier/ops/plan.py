"""Plan, then apply: how every writing use case runs, and what a dry run is.

A writing use case is split in two. Making its plan reads the ledger state (and the inputs:
configuration, inbox files, a statement) and writes nothing; the plan then either
**reports** itself (a dry run prints exactly what applying it would do) or is **applied**
through the ledger and the adapters (and reports what was done). One mechanism for every
command with a `--dry-run`: `run` (monthly invoices, then sending), `send`, `batch`,
`credit`, `import-bank` and `remind`.

`carry_out` runs the plans of one command:

- a dry run reads the state without the lock (`ops.state.read_state`: the same checks as a
  real run, and nothing written, not even the checkpoint), makes each plan from it, returns
  their reports and closes the state;
- a real run opens the `Ledger` under the workspace lock and, plan after plan, makes each
  from `ledger.state` as the previous ones left it, and applies it. The steps share one lock
  session, so nothing can happen between them (`run` sends the invoices it just issued).

A plan holds what it decided, not a copy of the state: applying it still goes through the
issuing pipeline and the ledger's commit protocol, which check again what they must (an
inbox file can change until it is copied; a second file of the same content is a duplicate
of the first one accepted by this very run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from facturier.ops.outcome import ProgressHook, Report
from facturier.ops.state_access import reading_state
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState


class Plan(Protocol):
    """What a writing use case decided from the ledger state; nothing written yet."""

    def report(self) -> Report:
        """What a dry run prints: exactly what `apply` would do, computed without writing."""
        ...

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Carry the plan out through the ledger (held under its lock) and the adapters."""
        ...


MakePlan = Callable[[LedgerState], Plan]
"""Makes a plan from the ledger state (reads the state and the inputs, writes nothing)."""


def carry_out(root: Path, make: MakePlan, *, dry_run: bool, progress: ProgressHook | None = None) -> Report:
    """Make one plan from the workspace's state; report it (a dry run) or apply it."""
    (report,) = carry_out_steps(root, [make], dry_run=dry_run, progress=progress)
    return report


def carry_out_steps(root: Path, steps: Sequence[MakePlan], *, dry_run: bool,
                    progress: ProgressHook | None = None) -> list[Report]:
    """Several plans in one session, one report each, in order.

    A dry run makes every plan from the same state, read once without the lock: a later
    step does not see what an earlier one would have written (`run --dry-run` lists only
    emails of invoices that exist already). A real run makes each plan under the lock from
    the state the earlier steps left.
    """
    if dry_run:
        with reading_state(root, dry_run=True) as state:
            return [make(state).report() for make in steps]
    with Ledger(root) as ledger:
        return [make(ledger.state).apply(ledger, progress) for make in steps]
