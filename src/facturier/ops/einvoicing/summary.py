"""What `show NUMBER` says of a document's e-invoicing: its route and why, its flow, its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facturier.ops.einvoicing.accounts import Account, account_of, platform_mode
from facturier.ops.einvoicing.routing import record_of, route_cached, without_facturx
from facturier.ops.state_access import reading_state

if TYPE_CHECKING:
    from datetime import date

    from facturier.config import Workspace
    from facturier.store.state import LedgerState


def einvoicing_summary(ws: Workspace, number: str) -> dict[str, Any] | None:
    """The route (channel, reason), flow and latest status of a document in its seller's current
    platform mode ("live" when off), and a flow of the other mode when this one has none; None
    when its seller's mode is off and nothing about it was ever transmitted."""
    with reading_state(ws.root) as state:
        doc = state.document(number)
        if doc is None:
            return None
        mode = platform_mode(ws, doc.seller)
        section = state.einvoicing.in_mode(mode)
        flow = section.flows.get((doc.seller, number))
        other = _other_flow(state, mode, (doc.seller, number)) if flow is None else None
        account = account_of(ws, doc.seller)
        if account is None and flow is None and other is None:
            return None
        routed = route_cached(state, record_of(ws.root, doc), live=doc.mode == "live", mode=mode)
        r = without_facturx(ws.root, doc, routed)
        summary: dict[str, Any] = {"channel": r.channel, "reason": r.reason, "flow": None,
                                   "status": section.latest(doc.seller, number)}
        if account is not None and doc.date < account.config.since and flow is None:
            # Before the seller's reform date nothing is sent, whatever the route would be.
            summary["channel"] = "none"
            summary["reason"] = (f"dated before {account.config.since} (einvoicing.since): issued by email, never "
                                 f"transmitted nor e-reported; from that day it would go: {r.channel}, {r.reason}")
        if flow is not None:
            summary["flow"] = {"state": flow[0], "tracking_id": flow[1], "flow_id": flow[2],
                               "mode": section.made[(doc.seller, number)] or None}
        if other is not None:
            summary["other_flow"] = other
        if account is not None and r.channel == "ereporting" and summary["channel"] == "ereporting":
            summary["reason"] += f"; {_ereported(ws, state, account, doc.date)}"
        return summary


def _other_flow(state: LedgerState, mode: str, key: tuple[str, str]) -> dict[str, Any] | None:
    """The flow of a document made in the other platform mode (sent to the test platform only,
    say), when there is one."""
    other = "test" if mode == "live" else "live"
    flow = state.einvoicing.in_mode(other).flows.get(key)
    if flow is None:
        return None
    return {"state": flow[0], "tracking_id": flow[1], "flow_id": flow[2], "mode": other, "due_in": mode}


def _ereported(ws: Workspace, state: LedgerState, account: Account, day: date) -> str:
    """Which transactions e-report holds a document of that day, and whether it went."""
    from facturier.ops.einvoicing.ereport import cadence_of, reporting_accounts
    from facturier.ops.einvoicing.periods import period_holding

    if account.seller not in {a.seller for a in reporting_accounts(ws)}:
        return "not e-reported by Facturier (no einvoicing.platform_id: left to the seller's own software)"
    period = period_holding(cadence_of(ws, account), "transactions", day)
    sent = state.einvoicing.in_mode(account.mode).ereports.get((account.seller, "transactions", period.key))
    if sent is None:
        return f"e-report of {period.key} (transactions) not sent yet, due by {period.deadline}"
    if not sent:  # journalled with nothing in it: the document was recorded after it went
        return f"e-report of {period.key} (transactions) sent empty before it was recorded: declare it on the portal"
    return f"e-report of {period.key} (transactions) sent as flow {sent}"
