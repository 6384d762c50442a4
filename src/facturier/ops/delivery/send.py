"""`facturier send`: deliver what the §7 rules allow (invoice emails, batch ZIPs), never twice.

Every delivery is journalled in two steps around the transport: `*.sending` (with the
Message-ID) before the message is handed over, then `invoice.sent` / `batch.delivered` once
it was accepted, or `*.send_failed` when it was refused or the connection dropped. A
`sending` with no outcome means the process stopped in between: the message may or may not
have left, so it is never resent automatically; a human checks and runs
`facturier send --confirm-sent KEY` or `--retry KEY`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from facturier.adapters.mail import MailConnectionError, MailError, MailTransport, open_mailer
from facturier.core.errors import FacturierError, InputError
from facturier.core.send_rules import SendFacts, may_send, missed_send_day
from facturier.ops.delivery.messages import invoice_message, template_env
from facturier.ops.delivery.model import JOURNAL_TYPES, Delivery, DeliveryStates, Outgoing, SentZip, delivery_states
from facturier.ops.delivery.zips import batch_deliveries, find_batch_delivery, kept_copy
from facturier.ops.logs import log
from facturier.ops.outcome import Alert, ProgressHook, Report
from facturier.store.events import DeliveryEvent, FileRef, T
from facturier.store.journal import Entry
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

SEND_COLUMNS = ["item", "client", "to", "status", "message_id"]


def in_flight_alerts(states: dict[str, tuple[str, Entry]]) -> list[Alert]:
    """An error for every delivery whose outcome was never journalled: a human must decide."""
    return [
        Alert("error", f"{key}: a send was started (Message-ID {entry['message_id']}) but the run "
                       f"stopped before its outcome was recorded; it is NOT resent automatically. "
                       f"Check whether it arrived, then run `facturier send --confirm-sent {key}` "
                       f"or `facturier send --retry {key}`.")
        for key, (state, entry) in states.items() if state == "sending"
    ]


def send_candidates(state: LedgerState, day: date, send_day: int,
                    states: dict[str, tuple[str, Entry]]) -> list[Entry]:
    """Direct invoices never sent that a send rule could concern today, in journal order.

    Only the state's unsent invoices are looked at, and only those whose send failed, that
    were issued in the run's month, or issued after the send day (the catch-up warning) are
    read back: `may_send` and `missed_send_day` are false for every other one.
    """
    month = (day.year, day.month)
    core = state.core
    # Judged per issue day (few distinct ones), then only those days' invoices are read from
    # the state: 500,000 unsent invoices are never all loaded.
    issue_days = [date.fromordinal(d) for d in core.unsent_days()]
    concerned = [d.toordinal() for d in issue_days if (d.year, d.month) == month or d.day > send_day]
    chosen = set(core.unsent_on(concerned))
    unsent = core.unsent
    chosen.update(unsent[n][0] for n, (status, _) in states.items() if status == "failed" and n in unsent)
    return [state.entry_at(o) for o in sorted(chosen)]


def invoice_deliveries(ws: Workspace, state: LedgerState, day: date,
                       states: dict[str, tuple[str, Entry]], report: Report) -> list[Delivery]:
    """Direct invoices that the send rules allow today, in journal (number) order."""
    env = template_env(ws.root)
    due = []
    for entry in send_candidates(state, day, ws.config.schedule.send_day, states):
        client = ws.clients.get(entry["client"])
        if client is None or _platform_only(ws, client):
            continue
        known = states.get(entry["number"], ("", entry))[0]
        # Live only when both are: the invoice was issued live, and the client is still in live
        # mode (a client switched back to test mode gets no email, as a batch client does not).
        mode = entry["mode"] if client.mode == "live" else client.mode
        facts = SendFacts(active=client.active, auto_send=client.options.auto_send, mode=mode,
                          run_date=day, send_day=ws.config.schedule.send_day,
                          already_sent=known in ("sent", "sending"), failed_before=known == "failed",
                          issued_on=date.fromisoformat(entry["date"]))
        if may_send(facts)[0]:
            due.append(invoice_delivery(ws, env, entry))
        elif missed_send_day(facts):
            report.alerts.append(Alert(
                "warning", f"{entry['number']} ({entry['client']}) was issued on {entry['date']}, after the "
                f"send day ({facts.send_day}): it is not emailed automatically. Review it, then run "
                f"`facturier send --retry {entry['number']}` (or --confirm-sent if you sent it yourself)."))
    return due


def _platform_only(ws: Workspace, client: Any) -> bool:
    """A domestic B2B client whose invoices the platform delivers, with no courtesy email
    (`[einvoicing] courtesy_email = false`, PRODUCT §13)."""
    pa = ws.config.einvoicing
    return (pa.on and not pa.courtesy_email and ws.config.issuer.country == "FR" and client.country == "FR"
            and client.business and client.siren is not None)


def invoice_delivery(ws: Workspace, env: Any, entry: Entry) -> Delivery:
    """The delivery of one issued direct invoice to its client's recipients."""
    to = tuple(ws.clients[entry["client"]].recipients())
    return Delivery("invoice", entry["number"], entry["client"], to, None,
                    lambda: Outgoing(invoice_message(ws, env, entry, list(to))))


@dataclass(frozen=True, slots=True)
class Deliveries:
    """What the send rules allow today (`ops.plan.Plan`), in order: direct invoices in journal
    order, then batch ZIPs; with the alerts and notes found while deciding (sends in flight,
    invoices issued after the send day, ZIPs that cannot go)."""

    ws: Workspace
    day: date
    due: tuple[Delivery, ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]

    def report(self) -> Report:
        """What would be sent; nothing is built, journalled or handed to the transport."""
        report = self._report("Emails (dry run: nothing sent)")
        report.rows = [_row(d, "would send", "") for d in self.due]
        return self._finish(report)

    def apply(self, ledger: Ledger, progress: ProgressHook | None = None) -> Report:
        """Send each message in order over one transport, journalling around each hand-over."""
        report = self._report("Emails")
        if self.due:
            deliver_all(self.ws, ledger, list(self.due), report)
        return self._finish(report)

    def _report(self, title: str) -> Report:
        return Report(title, SEND_COLUMNS, alerts=list(self.alerts), notes=list(self.notes))

    def _finish(self, report: Report) -> Report:
        if not self.due and not any(a.level == "error" for a in report.alerts):
            report.notes.append(_nothing_note(self.ws, self.day))
        return report


def plan_deliveries(ws: Workspace, state: LedgerState, day: date) -> Deliveries:
    """Everything the rules allow on `day`, from the journalled delivery states."""
    findings = Report("", [])
    states = delivery_states(state)
    findings.alerts.extend(in_flight_alerts(states))
    due = invoice_deliveries(ws, state, day, states, findings) + batch_deliveries(ws, state, day, states, findings)
    return Deliveries(ws, day, tuple(due), tuple(findings.alerts), tuple(findings.notes))


def deliver_all(ws: Workspace, ledger: Ledger, due: list[Delivery], report: Report) -> None:
    """Send in order over one transport; a lost connection stops the rest until the next run.

    What could not be attempted (no transport, or the connection lost before it) is journalled
    as failed: it was due, so every later run (or `send`) retries it, whatever the day.
    """
    try:
        mailer = open_mailer(ws.config.mail, ws.root, ws.config.google)
    except FacturierError as exc:
        report.alerts.append(Alert("error", f"nothing sent: {exc}"))
        not_attempted(ledger, due, f"not attempted: {exc}", report)
        return
    with mailer:
        for index, delivery in enumerate(due):
            if not deliver(ws, ledger, mailer, delivery, report):
                left = due[index + 1:]
                if left:
                    report.notes.append(f"{len(left)} message(s) not attempted after the connection was "
                                        "lost; the next run (or `facturier send`) sends them.")
                    not_attempted(ledger, left, "not attempted: the connection to the mail server was lost",
                                  report)
                break


def not_attempted(ledger: Ledger, deliveries: list[Delivery], reason: str, report: Report) -> None:
    """Journal deliveries that were due and could not be attempted as failed (retried next run)."""
    for delivery in deliveries:
        failed = JOURNAL_TYPES[delivery.kind][2]
        ledger.append(replace(delivery.event(failed, ""), error=reason))
        report.rows.append(_row(delivery, "failed", ""))


def deliver(ws: Workspace, ledger: Ledger, mailer: MailTransport, delivery: Delivery, report: Report) -> bool:
    """Build, journal `sending`, hand over, journal the outcome; False when the transport is gone."""
    sending, _, failed = JOURNAL_TYPES[delivery.kind]
    try:
        outgoing = delivery.build()
    except FacturierError as exc:
        report.alerts.append(Alert("error", f"{delivery.key}: not sent: {exc}"))
        report.rows.append(_row(delivery, "error", ""))
        return True
    message_id = str(outgoing.message["Message-ID"])
    ledger.append(replace(delivery.event(sending, message_id), sha256=outgoing.zip.sha256 if outgoing.zip else None))
    try:
        receipt = mailer.send_receipt(outgoing.message)
    except MailError as exc:
        ledger.append(replace(delivery.event(failed, message_id), error=str(exc)))
        report.alerts.append(Alert("error", f"{delivery.key}: not sent, retried by the next run (or "
                                            f"`facturier send`) until delivered: {exc}"))
        report.rows.append(_row(delivery, "failed", message_id))
        log(ws.root, f"send failed {delivery.key}: {exc}", delivery.client)
        return not isinstance(exc, MailConnectionError)
    ledger.append(delivered(delivery, message_id, ws.config.mail.transport, receipt.journal_fields, outgoing.zip))
    report.rows.append(_row(delivery, "sent", message_id))
    log(ws.root, f"sent {delivery.key} to {', '.join(delivery.to)} ({message_id})", delivery.client)
    return True


def delivered(delivery: Delivery, message_id: str, transport: str,
              fields: dict[str, str], sent_zip: SentZip | None = None) -> DeliveryEvent:
    """The `sent`/`delivered` entry: recipients, transport, and what the transport journals
    (Gmail's message and thread ids and subject, `SendReceipt.journal_fields`); for a batch
    ZIP, the invoices it holds and its copy kept in data/batch_sent/ (checked by `verify`)."""
    _, done, _ = JOURNAL_TYPES[delivery.kind]
    event = replace(delivery.event(done, message_id), to=delivery.to, transport=transport,
                    gmail_message_id=fields.get("gmail_message_id", ""),
                    gmail_thread_id=fields.get("gmail_thread_id", ""),
                    gmail_subject=fields.get("gmail_subject", ""))
    if sent_zip is None:
        return event
    return replace(event, invoices=sent_zip.invoices, files=(FileRef("zip", sent_zip.path, sent_zip.sha256),))


def _row(delivery: Delivery, status: str, message_id: str) -> dict[str, str]:
    return {"item": delivery.key, "client": delivery.client, "to": ", ".join(delivery.to),
            "status": status, "message_id": message_id}


def _nothing_note(ws: Workspace, day: date) -> str:
    send_day = ws.config.schedule.send_day
    if day.day != send_day:
        return f"Nothing to send on {day}: emails go out on day {send_day} of the month."
    return (f"Nothing to send on {day}: what the rules allow was already sent, and nothing else is "
            "due (an active client with options.auto_send = true, a live invoice of this month).")


def resolve_in_flight(ws: Workspace, key: str, action: Literal["confirm", "retry"]) -> Report:
    """--confirm-sent KEY journals a send a human saw arrive; --retry KEY sends it again now."""
    with Ledger(ws.root) as ledger:
        states = delivery_states(ledger.state)
        state, last = states.get(key, ("", None))
        if state == "sent":
            sent = ledger.state.entry_at(ledger.state.core.deliveries[key][1])
            raise InputError(f"{key} was already sent (Message-ID {sent.get('message_id', '?')})")
        delivery = find_delivery(ws, ledger.state, key, states)
        report = Report("Emails", SEND_COLUMNS)
        if action == "confirm":
            confirm_sent(ws, ledger, delivery, state, last, report)
        else:
            deliver_all(ws, ledger, [delivery], report)
    return report


def confirm_sent(ws: Workspace, ledger: Ledger, delivery: Delivery, state: str,
                 last: Entry | None, report: Report) -> None:
    """Journal the outcome a human observed for a send the process could not record, or, for a
    direct invoice never sent or whose send failed (a catch-up invoice, a refused address), that
    the human sent it another way: the warnings and the retries of every run then stop. That
    entry has no Message-ID (Facturier sent nothing)."""
    in_flight = state == "sending" and last is not None
    if not in_flight and (delivery.kind == "batch" or state not in ("", "failed")):
        raise InputError(f"{delivery.key} has no send in flight to confirm; use --retry to send it")
    message_id = str(last["message_id"]) if in_flight and last is not None else ""
    sent_zip = kept_copy(ws, delivery, last.get("sha256")) if in_flight and last is not None \
        and delivery.kind == "batch" else None
    event = delivered(delivery, message_id, ws.config.mail.transport, {}, sent_zip)
    ledger.append(replace(event, confirmed_by_operator=True))
    report.rows.append(_row(delivery, "confirmed sent", message_id))


def find_delivery(ws: Workspace, state: LedgerState, key: str, states: DeliveryStates) -> Delivery:
    """The delivery a human names on the command line: an invoice number, `<batch id>/<YYYY-MM>`
    or `<batch id>/<YYYY-MM>-<n>` (a supplementary ZIP)."""
    if "/" in key:
        return find_batch_delivery(ws, state, key, states)
    for entry in (state.entry_at(o) for o in state.names.documents_named(key)):
        if entry["type"] == T.INVOICE_ISSUED and entry.get("seller") == "issuer":
            if entry["mode"] != "live":
                raise InputError(f"{key} is a test invoice: test invoices are never sent")
            if entry["client"] not in ws.clients:
                raise InputError(f"{key}: client {entry['client']!r} is no longer configured")
            return invoice_delivery(ws, template_env(ws.root), entry)
    raise InputError(f"{key}: no issued direct invoice with this number")
