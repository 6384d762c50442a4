"""Monthly delivery to batch clients: the ZIP of last month's invoices, attached or as a link.

The ZIP `downloads/<id>-<YYYY-MM>.zip` is produced by the batch engine. On the send day we
deliver the previous, complete month: delivering the running month would leave every
invoice issued after the send day undelivered forever.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from facturier.core.send_rules import SendFacts, may_send, previous_month
from facturier.ops.delivery.messages import attach, compose, month_name, template_env
from facturier.ops.delivery.model import Delivery
from facturier.ops.outcome import Alert, Report
from facturier.store.files import open_regular
from facturier.store.journal import Entry
from facturier.store.paths import WorkspacePaths

if TYPE_CHECKING:
    from email.message import EmailMessage

    from facturier.config import Workspace

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # most providers refuse larger messages


def zip_name(batch_id: str, month: str) -> str:
    """`<batch id>-<YYYY-MM>.zip`, under downloads/ and after download_base_url."""
    return f"{batch_id}-{month}.zip"


def batch_deliveries(ws: Workspace, day: date, states: dict[str, tuple[str, Entry]],
                     report: Report) -> list[Delivery]:
    """Batch clients whose last-month ZIP the rules allow today (one message each, once)."""
    month = previous_month(day)
    due = []
    for batch_id, client in sorted(ws.batch_clients.items()):
        state = states.get(f"{batch_id}/{month}", ("", None))[0]
        facts = SendFacts(active=client.active, auto_send=client.options.auto_send, mode=client.mode,
                          run_date=day, send_day=ws.config.schedule.send_day,
                          already_sent=state in ("sent", "sending"), failed_before=state == "failed")
        if not may_send(facts)[0]:
            continue
        problem = zip_problem(ws, batch_id, month)
        if problem is None:
            due.append(batch_delivery(ws, batch_id, month))
        elif problem.level == "error":
            report.alerts.append(problem)
        else:
            report.notes.append(problem.message)
    return due


def zip_problem(ws: Workspace, batch_id: str, month: str) -> Alert | None:
    """Why the month's ZIP cannot be delivered: none issued (a note) or too big to attach (an error)."""
    path = WorkspacePaths(ws.root).downloads / zip_name(batch_id, month)
    if not path.is_file():
        return Alert("warning", f"{batch_id}: no {path.name} (nothing issued in {month}); nothing to deliver.")
    size = path.stat().st_size
    if ws.batch_clients[batch_id].delivery == "attach" and size > MAX_ATTACHMENT_BYTES:
        return Alert("error", f"{batch_id}: {path.name} is {size / 1e6:.1f} MB, above the 10 MB "
                              'attachment limit; set delivery = "link" with download_base_url.')
    return None


def batch_delivery(ws: Workspace, batch_id: str, month: str) -> Delivery:
    """The monthly message of one batch client (built only when it is sent)."""
    client = ws.batch_clients[batch_id]
    return Delivery("batch", f"{batch_id}/{month}", batch_id, (client.email,),
                    month, lambda: batch_message(ws, batch_id, month))


def batch_message(ws: Workspace, batch_id: str, month: str) -> EmailMessage:
    """The ZIP attached (`delivery = "attach"`) or its download link (`"link"`)."""
    client = ws.batch_clients[batch_id]
    name = zip_name(batch_id, month)
    fields = {"client_name": client.name, "sender_name": ws.config.issuer.name, "file_name": name,
              "month": month, "month_name": month_name(month, client.language)}
    if client.delivery == "link":
        fields["url"] = f"{(client.download_base_url or '').rstrip('/')}/{name}"
    kind = f"batch_{client.delivery}"
    message = compose(ws, template_env(ws.root), kind, client.language, fields, [client.email],
                      f"{batch_id}-{month}")
    if client.delivery == "attach":
        with open_regular(WorkspacePaths(ws.root).downloads / name) as fh:  # a link there must not mail its target
            attach(message, fh.read(), "application", "zip", name)
    return message
