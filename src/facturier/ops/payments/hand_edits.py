"""Payments typed into `data/payments/<client>.json` by hand, as the seeds' cycle did.

In the seeds, the owner recorded the month's transfers by editing one payments file per
client, then ran the balance update. Here those files are views of the journal: an edit is
ignored by `balances` and overwritten by the next command. So `balances` says so, naming the
file, instead of silently reporting the client unpaid.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from facturier.core.text import printable
from facturier.ops.outcome import Alert
from facturier.store.paths import WorkspacePaths
from facturier.store.state import LedgerState
from facturier.store.views import read_view

WHAT_TO_DO = ("payments are recorded with 'facturier pay CLIENT AMOUNT --date D --ref R' (or 'facturier "
              "import-bank FILE'), never by editing this file: it is a view of the journal, and the next "
              "command that writes it (or 'facturier rebuild') replaces it")


def hand_edited_payments(root: Path, state: LedgerState, clients: set[str] | None = None) -> list[Alert]:
    """A warning for each one-file payments view (of these clients, or all) whose payments are
    not the journal's: an item without the journal's `seq`, or not as many items as the client
    has payments. A view split per year (a long history, never the seeds' hand-kept file) is
    left to `verify`."""
    alerts = []
    folder = WorkspacePaths(root).data / "payments"
    paths = sorted(folder.glob("*.json")) if clients is None else [folder / f"{c}.json" for c in sorted(clients)]
    for path in paths if folder.is_dir() else ():
        rel, client = f"data/payments/{printable(path.name)}", path.name.removesuffix(".json")
        try:
            view = _parsed(read_view(path))
        except ValueError as exc:
            alerts.append(Alert("warning", f"{rel} is not valid JSON ({exc}): edited by hand? {WHAT_TO_DO}"))
            continue
        items = view.get("payments") if isinstance(view, dict) and "years" not in view else None
        if not isinstance(items, list):
            continue
        journalled = _payment_count(state, client, len(items))
        if journalled != len(items) or any(not isinstance(i, dict) or "seq" not in i for i in items):
            alerts.append(Alert("warning", f"{rel} lists {len(items)} payment(s), the journal has {journalled} "
                                           f"for {printable(client)}: only the journal's count (balances, "
                                           f"reminders, exports); {WHAT_TO_DO}"))
    return alerts


def _parsed(raw: bytes | None) -> object:
    """The JSON of a view file (None when there is none): orjson, five times faster on the
    2 MB of a 10,000-payment view that every `pay` reads; what it refuses goes to `json`,
    which reads what it always read (NaN, lone surrogates) and words what is wrong."""
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _payment_count(state: LedgerState, client: str, near: int) -> int:
    """How many payments the client has: `near` when it is exactly that (two index seeks),
    else counted."""
    index = state.index
    if not index.payments_over(client, near) and (near == 0 or index.payments_over(client, near - 1)):
        return near
    return sum(len(index.payments_in(client, year)) for year in index.payment_years(client))
