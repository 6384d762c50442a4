"""Delivery to batch clients: each month's ZIP once, attached or as an unguessable link.

On the send day we deliver the previous, complete month's ZIP: delivering the running month
would leave every invoice issued after the send day undelivered forever. A delivered ZIP never
changes (ops/month_zips.py): the invoices of a delivered month issued afterwards (late batch
rows) go into a supplementary ZIP, `<id>-<YYYY-MM>-2.zip`, delivered on the next allowed send
under the same rules. Before a ZIP is handed over, its exact bytes are kept in
`data/batch_sent/<id>/` and, for `delivery = "link"`, published under
`downloads/<token>/<name>`: the link is `<download_base_url>/<token>/<name>`, the token 32
random hex digits journalled with the delivery, so a retry sends the same link.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import TYPE_CHECKING

from facturier.core.errors import FacturierError, InputError
from facturier.core.send_rules import SendFacts, may_send, previous_month
from facturier.ops.delivery.messages import compose, month_name, template_env
from facturier.ops.delivery.model import Delivery, DeliveryStates, Outgoing, SentZip
from facturier.ops.month_zips import (
    MonthZip,
    may_have_pending,
    open_part,
    parse_part_key,
    part_key,
    part_name,
    write_zip,
    zip_numbers,
    zip_path,
)
from facturier.ops.outcome import Alert, Report
from facturier.store.files import atomic_write, open_regular, sha256_bytes
from facturier.store.paths import WorkspacePaths

if TYPE_CHECKING:
    from pathlib import Path

    from facturier.config import BatchClientConfig, Workspace
    from facturier.store.state import LedgerState

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # most providers refuse larger messages


def batch_deliveries(ws: Workspace, state: LedgerState, day: date, states: DeliveryStates,
                     report: Report) -> list[Delivery]:
    """The batch ZIPs the rules allow today (each once): last month's, supplementary ones, and
    every ZIP whose send failed (retried until delivered), in month order."""
    due = []
    candidates = _candidates(ws, day, states)
    for batch_id, client in sorted(ws.batch_clients.items()):
        for month, part in candidates.get(batch_id, []):
            key_state = states.get(part_key(batch_id, month, part), ("", {}))
            facts = SendFacts(active=client.active, auto_send=client.options.auto_send, mode=client.mode,
                              run_date=day, send_day=ws.config.schedule.send_day,
                              already_sent=key_state[0] in ("sent", "sending"),
                              failed_before=key_state[0] == "failed")
            if not may_send(facts)[0] or (part > 1 and not may_have_pending(state, batch_id, month)):
                continue
            opened = open_part(state, batch_id, month)
            if opened.part != part:  # the candidate was worked out from the delivery keys alone
                continue
            problem = zip_problem(ws, opened)
            if problem is None:
                due.append(batch_delivery(ws, opened, link_token(client, key_state[1])))
                if part > 1:
                    report.notes.append(supplementary_note(opened))
            elif problem.level == "error":
                report.alerts.append(problem)
            elif part == 1:
                report.notes.append(problem.message)
    return due


def _candidates(ws: Workspace, day: date, states: DeliveryStates) -> dict[str, list[tuple[str, int]]]:
    """Per batch client, (month, part) of the ZIPs that may be due, from the delivery keys alone:
    the open part of last month and of every month with a part delivered, and every failed one."""
    delivered: dict[str, dict[str, int]] = {batch_id: {previous_month(day): 0} for batch_id in ws.batch_clients}
    failed: dict[str, set[tuple[str, int]]] = {}
    for key, (status, _) in states.items():
        parsed = parse_part_key(key) if status in ("sent", "failed") and "/" in key else None
        if parsed is None or parsed[0] not in delivered:
            continue
        batch_id, month, part = parsed
        if status == "failed":
            failed.setdefault(batch_id, set()).add((month, part))
        else:
            delivered[batch_id][month] = max(delivered[batch_id].get(month, 0), part)
    return {batch_id: sorted({(m, parts + 1) for m, parts in months.items()} | failed.get(batch_id, set()))
            for batch_id, months in delivered.items()}


def link_token(client: BatchClientConfig, last: object) -> str | None:
    """The token of a link delivery: the one an earlier attempt journalled, else a new random one."""
    if client.delivery != "link":
        return None
    earlier = last.get("link_token") if isinstance(last, dict) else None
    return str(earlier) if earlier else secrets.token_hex(16)


def supplementary_note(opened: MonthZip) -> str:
    """What a supplementary ZIP is, for the send report."""
    return (f"{opened.name}: supplementary ZIP of {opened.month}, {len(opened.pending)} invoice(s) issued "
            f"after {part_name(opened.batch_id, opened.month, opened.part - 1)} was delivered "
            f"({', '.join(opened.numbers[:5])}{'...' if len(opened.pending) > 5 else ''})")


def zip_problem(ws: Workspace, opened: MonthZip) -> Alert | None:
    """Why the ZIP cannot be delivered: nothing issued (a note) or too big to attach (an error)."""
    path = zip_path(ws.root, opened.batch_id, opened.month, opened.part)
    if not opened.pending and not path.is_file():
        return Alert("warning", f"{opened.batch_id}: no {path.name} (nothing issued in {opened.month}); "
                                "nothing to deliver.")
    size = path.stat().st_size if path.is_file() else 0
    return _size_problem(ws, opened, size)


def _size_problem(ws: Workspace, opened: MonthZip, size: int) -> Alert | None:
    if ws.batch_clients[opened.batch_id].delivery == "attach" and size > MAX_ATTACHMENT_BYTES:
        return Alert("error", f"{opened.batch_id}: {opened.name} is {size / 1e6:.1f} MB, above the 10 MB "
                              'attachment limit; set delivery = "link" with download_base_url.')
    return None


def batch_delivery(ws: Workspace, opened: MonthZip, token: str | None) -> Delivery:
    """The message delivering one ZIP of a batch client (built only when it is sent)."""
    client = ws.batch_clients[opened.batch_id]
    return Delivery("batch", opened.key, opened.batch_id, (client.email,), opened.month,
                    lambda: batch_outgoing(ws, opened, token), part=opened.part, link_token=token)


def find_batch_delivery(ws: Workspace, state: LedgerState, key: str, states: DeliveryStates) -> Delivery:
    """The delivery a human names: `<batch id>/<YYYY-MM>` or `<batch id>/<YYYY-MM>-<n>`."""
    parsed = parse_part_key(key)
    if parsed is None:
        raise InputError(f"{key}: not a batch ZIP (expected <batch id>/<YYYY-MM> or <batch id>/<YYYY-MM>-<n>)")
    batch_id, month, part = parsed
    if batch_id not in ws.batch_clients:
        raise InputError(f"{key}: no batch client {batch_id!r}")
    opened = open_part(state, batch_id, month)
    if opened.part != part:
        raise InputError(f"{key}: no such ZIP to send: the ZIP of {month} not delivered yet is {opened.key}")
    if part > 1 and not opened.pending:
        raise InputError(f"{key}: nothing to send: no invoice of {month} was issued after "
                         f"{part_name(batch_id, month, part - 1)} was delivered")
    if not opened.pending and not zip_path(ws.root, batch_id, month).is_file():
        raise InputError(f"{key}: nothing to send: no invoice of {month} was issued")
    return batch_delivery(ws, opened, link_token(ws.batch_clients[batch_id], states.get(key, ("", {}))[1]))


def zip_bytes(ws: Workspace, opened: MonthZip) -> bytes:
    """The ZIP to hand over, (re)built from the journal when the file is missing or holds other invoices.

    A ZIP file with no invoice behind it in the journal (made by hand) is sent as it is.
    """
    path = zip_path(ws.root, opened.batch_id, opened.month, opened.part)
    data = _read(path) if path.is_file() else None
    if opened.pending and (data is None or zip_numbers(data, path.name) != opened.numbers):
        write_zip(ws.root, path, opened.pending)
        data = _read(path)
    if data is None:
        raise FacturierError(f"no downloads/{path.name} and no invoice of {opened.month} to put in it")
    return data


def _read(path: Path) -> bytes:
    with open_regular(path) as fh:  # a link there must not mail its target
        return fh.read()


def keep_sent(ws: Workspace, batch_id: str, name: str, data: bytes) -> SentZip:
    """Keep the exact ZIP handed over in data/batch_sent/<id>/<name> (before it is handed over)."""
    folder = WorkspacePaths(ws.root).batch_sent(batch_id)
    atomic_write(folder / name, data)
    rel = (folder / name).relative_to(ws.root).as_posix()
    return SentZip(rel, sha256_bytes(data), zip_numbers(data, name))


def batch_outgoing(ws: Workspace, opened: MonthZip, token: str | None) -> Outgoing:
    """The ZIP attached (`delivery = "attach"`) or its download link (`"link"`), its copy kept."""
    client = ws.batch_clients[opened.batch_id]
    data = zip_bytes(ws, opened)
    problem = _size_problem(ws, opened, len(data))
    if problem is not None:
        raise FacturierError(problem.message)
    kept = keep_sent(ws, opened.batch_id, opened.name, data)
    fields: dict[str, object] = {
        "client_name": client.name, "sender_name": ws.config.issuer.name, "file_name": opened.name,
        "month": opened.month, "month_name": month_name(opened.month, client.language), "part": opened.part}
    if client.delivery == "link" and token:
        atomic_write(WorkspacePaths(ws.root).downloads / token / opened.name, data)
        fields["url"] = f"{(client.download_base_url or '').rstrip('/')}/{token}/{opened.name}"
    kind = f"batch_{client.delivery}"
    message = compose(ws, template_env(ws.root), kind, client.language, fields, [client.email],
                      opened.key.replace("/", "-"))
    if client.delivery == "attach":
        message.add_attachment(data, maintype="application", subtype="zip", filename=opened.name)
    return Outgoing(message, kept)


def kept_copy(ws: Workspace, delivery: Delivery, sha256: object) -> SentZip | None:
    """The kept copy of a ZIP whose send was in flight, if it is the one handed over (its SHA-256);
    downloads/ gets it back, since a batch may have rebuilt the ZIP there meanwhile.

    None when it is not (a copy from an earlier version, or changed since): the delivery is
    then recorded without its invoices, as earlier versions recorded it.
    """
    name = part_name(delivery.client, str(delivery.month), delivery.part)
    path = WorkspacePaths(ws.root).batch_sent(delivery.client) / name
    try:
        data = _read(path)
    except (OSError, FacturierError):
        return None
    if not sha256 or sha256_bytes(data) != sha256:
        return None
    atomic_write(WorkspacePaths(ws.root).downloads / name, data)
    return SentZip(path.relative_to(ws.root).as_posix(), str(sha256), zip_numbers(data, name))
