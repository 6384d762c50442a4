"""E-invoicing (PRODUCT §13): the platform's directory answers, each document's transmission,
its lifecycle statuses and the e-reporting files sent.

Tables: `pa_directory` (siren → receives, platform, day asked), `pa_flows` ((seller, number)
→ state "transmitting" | "transmitted", tracking id, flow id, sha256), `pa_status` ((seller,
number) → the latest status: code, label, when, reason, offset), `pa_cdar` (every incoming CDAR
flow journalled, with the platform time it carried: each is journalled once), `pa_paid`
((seller, number, payment seq) of every 212 Encaissée sent) and `pa_ereports`
((seller, kind, period) → flow id), declared in `schema.py`. The entries also name their document in `mentions`, so
`show` lists them.

Every table is also keyed by the platform mode ("test" | "live") the fact was made in: the
entry's `mode`, and both modes for an entry written before entries said it (as before: nothing
already done is done twice). The commands read one mode, the seller's current one
(`in_mode`): a document transmitted to the test platform only is due again once live, and the
test platform's statuses and e-reports count for the test mode alone. `pa_flows.made` keeps
the entry's own mode ("" when it said none), for `show`.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar, Final

from facturier.store.events import (
    DirectoryLookup,
    EReportSent,
    Event,
    LifecycleStatus,
    T,
    Transmission,
)
from facturier.store.state.schema import TableMap

MODES: Final = ("test", "live")


def _modes(mode: str | None) -> tuple[str, ...]:
    """The modes an entry counts in: its own, or both when it names none (written before)."""
    return (mode,) if mode in MODES else MODES


class EInvoicingView:
    """The e-invoicing facts of the journal made in one platform mode, as the commands ask for them."""

    def __init__(self, db: sqlite3.Connection, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown platform mode {mode!r}")
        self.db, self.mode = db, mode
        where = f"mode = '{mode}'"
        self.directory = TableMap(db, "pa_directory", ("siren",), ("receives", "platform", "day"), where)
        self.flows = TableMap(db, "pa_flows", ("seller", "number"), ("state", "tracking_id", "flow_id", "sha256"),
                              where)
        self.made = TableMap(db, "pa_flows", ("seller", "number"), ("made",), where)
        self.status = TableMap(db, "pa_status", ("seller", "number"), ("code", "label", "status_at", "reason"),
                               where)
        self.ereports = TableMap(db, "pa_ereports", ("seller", "kind", "period"), ("flow_id",), where)

    def seen_cdar(self, flow_id: str) -> bool:
        """Whether this CDAR flow (a status) is journalled already."""
        return self.db.execute("SELECT 1 FROM pa_cdar WHERE flow_id = ? AND mode = ?",
                               (flow_id, self.mode)).fetchone() is not None

    def last_status_time(self, seller: str) -> str | None:
        """The platform time of the latest status journalled for a seller (where to search from)."""
        row = self.db.execute("SELECT max(status_at) FROM pa_cdar WHERE seller = ? AND mode = ?",
                              (seller, self.mode)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def in_flight(self, seller: str) -> list[tuple[str, str]]:
        """(number, tracking id) of the seller's documents whose send was journalled but not its outcome."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT number, tracking_id FROM pa_flows WHERE seller = ? AND mode = ? AND state = 'transmitting' "
            "ORDER BY number", (seller, self.mode))]

    def payments_since(self, day: int) -> list[int]:
        """Offsets of the payments dated from the day (ordinal) on, journal order."""
        return [r[0] for r in self.db.execute("SELECT offset FROM payments WHERE day >= ? ORDER BY offset", (day,))]

    def paid_reported(self, seller: str, number: str, payment: int) -> bool:
        """Whether the 212 Encaissée of this payment of this document was sent."""
        return self.db.execute("SELECT 1 FROM pa_paid WHERE seller = ? AND number = ? AND payment = ? AND mode = ?",
                               (seller, number, payment, self.mode)).fetchone() is not None

    def untransmitted(self, seller: str, since_year: int) -> list[int]:
        """Offsets of the seller's documents of `since_year` on that are not transmitted, journal order."""
        return [r[0] for r in self.db.execute(
            "SELECT d.offset FROM documents d LEFT JOIN pa_flows f ON f.seller = d.seller AND f.number = d.number "
            "AND f.mode = ? WHERE d.seller = ? AND d.year >= ? AND (f.state IS NULL OR f.state != 'transmitted') "
            "ORDER BY d.offset", (self.mode, seller, since_year))]

    def latest(self, seller: str, number: str) -> dict[str, Any] | None:
        """The latest lifecycle status of a document, or None."""
        row = self.status.get((seller, number))
        if row is None:
            return None
        return {"code": row[0], "label": row[1], "at": row[2], "reason": row[3] or ""}

    def with_latest(self, seller: str, codes: frozenset[str]) -> set[str]:
        """Numbers whose latest status is one of `codes`."""
        wanted = sorted(codes)
        marks = ", ".join("?" * len(wanted))
        return {r[0] for r in self.db.execute(
            f"SELECT number FROM pa_status WHERE seller = ? AND mode = ? AND code IN ({marks})",
            (seller, self.mode, *wanted))}

    def in_dispute(self, seller: str = "issuer") -> set[str]:
        """Numbers whose latest status is 207 En litige: no reminder while it lasts."""
        return self.with_latest(seller, frozenset({"207"}))


class EInvoicing(EInvoicingView):
    """The e-invoicing section of the state: applies the entries; read as the live platform's
    facts, or those of a mode (`in_mode`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        super().__init__(db, "live")
        self._views = {"live": self, "test": EInvoicingView(db, "test")}

    def in_mode(self, mode: str) -> EInvoicingView:
        """The facts made in that platform mode ("test" | "live"), those of entries naming none included."""
        return self._views[mode]

    # what `apply` looks at
    EVENTS: ClassVar[tuple[type, ...]] = (DirectoryLookup, Transmission, LifecycleStatus, EReportSent)

    def apply(self, ev: Event, offset: int) -> None:
        """Take one event into account."""
        db = self.db
        if isinstance(ev, DirectoryLookup):
            for mode in _modes(ev.mode):
                db.execute("INSERT OR REPLACE INTO pa_directory VALUES (?, ?, ?, ?, ?)",
                           (ev.siren, mode, int(ev.receives), ev.platform, ev.date.isoformat()))
        elif isinstance(ev, Transmission):
            self._transmission(ev, offset)
        elif isinstance(ev, LifecycleStatus):
            for mode in _modes(ev.mode):
                self._status(ev, mode, offset)
        elif isinstance(ev, EReportSent):
            for mode in _modes(ev.mode):
                db.execute("INSERT OR REPLACE INTO pa_ereports VALUES (?, ?, ?, ?, ?)",
                           (ev.seller, ev.kind, ev.period, mode, ev.flow_id))

    def _transmission(self, ev: Transmission, offset: int) -> None:
        db = self.db
        state = "transmitted" if ev.type == T.EINVOICE_TRANSMITTED else "transmitting"
        # A second attempt after a crash (`transmitting` again): the first intent stands.
        verb = "INSERT OR IGNORE" if state == "transmitting" else "INSERT OR REPLACE"
        for mode in _modes(ev.mode):
            db.execute(f"{verb} INTO pa_flows VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (ev.seller, ev.number, mode, state, ev.tracking_id, ev.flow_id, ev.sha256, ev.mode or ""))
        db.execute("INSERT OR IGNORE INTO mentions VALUES (?, ?)", (ev.number, offset))

    def _status(self, ev: LifecycleStatus, mode: str, offset: int) -> None:
        db = self.db
        if ev.direction == "in":  # the platform's statuses: where the next search starts
            db.execute("INSERT OR IGNORE INTO pa_cdar VALUES (?, ?, ?, ?)", (ev.flow_id, mode, ev.seller, ev.status_at))
        elif ev.payment is not None:  # a 212 Encaissée Facturier sent for a payment
            db.execute("INSERT OR IGNORE INTO pa_paid VALUES (?, ?, ?, ?, ?)",
                       (ev.seller, ev.number, ev.payment, mode, ev.flow_id))
        db.execute("INSERT OR IGNORE INTO mentions VALUES (?, ?)", (ev.number, offset))
        # The latest status is the one set last on the platform (journal order breaks ties); a 212
        # Facturier sends for a partial payment does not end a dispute (207): only the platform's
        # next status does, so the reminders stay stopped.
        db.execute("INSERT INTO pa_status VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                   "code = excluded.code, label = excluded.label, status_at = excluded.status_at, "
                   "reason = excluded.reason, offset = excluded.offset "
                   "WHERE excluded.status_at >= pa_status.status_at AND NOT (? AND pa_status.code = '207')",
                   (ev.seller, ev.number, mode, ev.code, ev.label, ev.status_at, ev.reason, offset,
                    ev.direction == "out"))
