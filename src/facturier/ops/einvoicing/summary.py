"""What `show NUMBER` says of a document's e-invoicing: its route and why, its flow, its status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facturier.ops.einvoicing.accounts import account_of
from facturier.ops.einvoicing.routing import record_of, route_cached
from facturier.ops.state_access import read_state

if TYPE_CHECKING:
    from facturier.config import Workspace


def einvoicing_summary(ws: Workspace, number: str) -> dict[str, Any] | None:
    """The route (channel, reason), flow and latest status of a document; None when its seller's
    mode is off and nothing about it was ever transmitted."""
    state = read_state(ws.root)
    try:
        doc = state.document(number)
        if doc is None:
            return None
        section = state.einvoicing
        flow = section.flows.get((doc.seller, number))
        account = account_of(ws, doc.seller)
        if account is None and flow is None:
            return None
        r = route_cached(state, record_of(ws.root, doc), live=doc.mode == "live")
        summary: dict[str, Any] = {"channel": r.channel, "reason": r.reason, "flow": None,
                                   "status": section.latest(doc.seller, number)}
        if account is not None and doc.date < account.config.since and flow is None:
            # Before the seller's reform date nothing is sent, whatever the route would be.
            summary["channel"] = "none"
            summary["reason"] = (f"dated before {account.config.since} (einvoicing.since): issued by email, never "
                                 f"transmitted nor e-reported; from that day it would go: {r.channel}, {r.reason}")
        if flow is not None:
            summary["flow"] = {"state": flow[0], "tracking_id": flow[1], "flow_id": flow[2]}
        return summary
    finally:
        state.close()
