"""The monthly usage view `data/usage/<client_id>/<YYYY-MM>.json`, and `usage list`.

A pure function of the journal (through the ledger state): for each metric of the month,
every aggregation's figure (quantities as plain decimals), what the month's invoice billed
and which invoice that was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from facturier.core.usage import Aggregate
from facturier.ops.outcome import Report
from facturier.store.state import LedgerState, Usage, figures
from facturier.store.views import view_bytes

if TYPE_CHECKING:
    from facturier.config import Workspace

LIST_COLUMNS = ["client", "month", "metric", "records", "sum", "max", "latest", "unique", "invoiced"]


def _figures(values: tuple[int, int, int, int, int]) -> dict[str, Any]:
    agg = Aggregate(*values)
    return {"sum": str(agg.value("sum")), "count": agg.count, "max": str(agg.value("max")),
            "latest": str(agg.value("latest")), "unique": agg.unique}


def month_view(usage: Usage, client: str, month: str) -> dict[str, Any]:
    """The view of one client's month."""
    metrics = {}
    billed = usage.billed.get(client, {})
    for (metric, m), agg in sorted(usage.aggregates.get(client, {}).items()):
        if m != month:
            continue
        item = _figures(figures(agg))
        before = billed.get((metric, m))
        item["billed"] = _figures(before) if before is not None else None
        metrics[metric] = item
    return {"client": client, "month": month, "metrics": metrics, "invoiced_by": usage.invoiced_by(client, month)}


def usage_views(state: LedgerState, clients: set[str] | None) -> dict[str, bytes]:
    """data/usage/<client>/<YYYY-MM>.json for every month with usage of these clients (or all)."""
    usage = state.usage
    owners = sorted(usage.aggregates if clients is None else clients & set(usage.aggregates))
    out = {}
    for client in owners:
        for month in sorted({m for _, m in usage.aggregates[client]}):
            out[f"data/usage/{client}/{month}.json"] = view_bytes(month_view(usage, client, month))
    return out


def list_usage(ws: Workspace, state: LedgerState, client: str | None, month: str | None) -> Report:
    """`usage list`: the aggregated figures per client, month and metric."""
    usage = state.usage
    report = Report("Usage", LIST_COLUMNS)
    for cid in sorted(usage.aggregates):
        if client is not None and cid != client:
            continue
        for (metric, m), agg in sorted(usage.aggregates[cid].items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if month is not None and m != month:
                continue
            f = _figures(figures(agg))
            report.rows.append({"client": cid, "month": m, "metric": metric, "records": f["count"], "sum": f["sum"],
                                "max": f["max"], "latest": f["latest"], "unique": f["unique"],
                                "invoiced": usage.invoiced_by(cid, m) or ""})
    pending = [(cid, c) for cid, charges in sorted(usage.charges.items()) for c in charges
               if client is None or cid == client]
    for cid, (_, amount, currency, description, day, _) in pending:
        report.notes.append(f"Charge pending for {cid}: {amount} {currency} {description!r} (added {day}).")
    if not report.rows:
        report.notes.insert(0, "No usage recorded" + (f" for {client}" if client else "")
                            + (f" in {month}" if month else "") + ".")
    return report
