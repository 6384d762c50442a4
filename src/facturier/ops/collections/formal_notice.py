"""The formal notice ("mise en demeure") PDF attached to the last stage's draft (`formal_notice = true`)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.ops.collections.drafts import Attacher
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace


def attacher_for(ws: Workspace, state: LedgerState, day: date) -> Attacher | None:
    """What attaches the formal notice to a last-stage draft, or None when it is off."""
    return None
