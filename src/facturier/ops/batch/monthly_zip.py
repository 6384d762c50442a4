"""The ZIP of a batch client's month, rebuilt as its invoices are issued (ops/month_zips.py).

Until the monthly ZIP `downloads/<id>-<YYYY-MM>.zip` is delivered, each batch that issues
invoices of the month rebuilds it with all of them. Once delivered it never changes: the
month's invoices issued afterwards (late rows) go into the supplementary ZIP
`downloads/<id>-<YYYY-MM>-2.zip` (then `-3`...), rebuilt the same way until it is delivered.
The ZIPs are deterministic and derived from the journal (`build_monthly_zip` rebuilds the
month's open one on demand).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facturier.ops.month_zips import MonthZip, open_part, write_zip, zip_path

__all__ = ["build_monthly_zip", "build_open_zip", "zip_path"]

if TYPE_CHECKING:
    from pathlib import Path

    from facturier.store.state import LedgerState


def build_open_zip(root: Path, state: LedgerState, batch_id: str, month: str) -> MonthZip:
    """(Re)build the month's part not delivered yet; no file when it holds no invoice.

    A delivered part is never written again.
    """
    opened = open_part(state, batch_id, month)
    if opened.pending:
        write_zip(root, zip_path(root, batch_id, month, opened.part), opened.pending)
    return opened


def build_monthly_zip(root: Path, state: LedgerState, batch_id: str, month: str) -> Path | None:
    """(Re)build the month's open ZIP; its path, or None (and no file) when it holds no invoice."""
    opened = build_open_zip(root, state, batch_id, month)
    return zip_path(root, batch_id, month, opened.part) if opened.pending else None
