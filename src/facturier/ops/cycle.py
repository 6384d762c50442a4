"""`facturier run`: the monthly cycle, composed of independent steps."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.ops.delivery.send import plan_deliveries
from facturier.ops.einvoicing.transmit import after_issuing
from facturier.ops.invoicing.monthly import plan_monthly_invoices
from facturier.ops.outcome import ProgressHook, Report
from facturier.ops.plan import carry_out_steps

if TYPE_CHECKING:
    from facturier.config import Workspace


def monthly_cycle(ws: Workspace, day: date, dry_run: bool, progress: ProgressHook | None = None) -> list[Report]:
    """Issue the due monthly invoices (their views refreshed), then send what the rules allow.

    Two plans carried out in one lock session (`ops.plan`): the sending plan is made once
    the invoices are issued, and no other process can send in between. A dry run writes and
    sends nothing; it lists what would be sent among the invoices that already exist (those
    it would issue today are not emails yet).
    """
    reports = carry_out_steps(ws.root, [lambda state: plan_monthly_invoices(ws, state, day),
                                        lambda state: plan_deliveries(ws, state, day)],
                              dry_run=dry_run, progress=progress)
    if dry_run:
        _say_what_the_new_invoices_would_send(ws, day, reports)
    else:
        reports += after_issuing(ws, day)  # e-invoices to the platform (PRODUCT §13), when on
    return reports


def _say_what_the_new_invoices_would_send(ws: Workspace, day: date, reports: list[Report]) -> None:
    """In a dry run the invoices to issue are not emails yet: say which the real run would email."""
    issued, sends = reports
    clients = sorted({str(r["client"]) for r in issued.rows})
    emailed = [c for c in clients if c in ws.clients and ws.clients[c].active
               and ws.clients[c].options.auto_send and ws.clients[c].mode == "live"]
    if not emailed or day.day != ws.config.schedule.send_day:
        return
    sends.notes = [n for n in sends.notes if not n.startswith("Nothing to send")]
    sends.notes.append(f"The real run would also email the invoices it issues today to: {', '.join(emailed)} "
                       "(today is the send day).")
