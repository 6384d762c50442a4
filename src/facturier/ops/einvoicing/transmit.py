"""`facturier transmit`: each document due is sent once to the seller's platform as its
Factur-X flow (PRODUCT §13).

Due: a live document of a seller whose mode is not off, dated from `since` to the run date,
routed to the platform (`core/einvoicing.route`) and not transmitted yet in the seller's mode
(every entry says its mode: a document sent to the test platform only is due once live). Never twice: a
group of up to 100 documents is journalled as `einvoice.transmitting` (with its tracking
id, the same on every attempt) before any of it is sent, and each flow the platform took as
`einvoice.transmitted`. A document found `transmitting` at the start of a run (a crash
between the send and the entry) is first searched on the platform by its tracking id:
found, its flow is journalled; not found, it is sent again. A platform that is down,
overloaded (5xx, 429 past the wait) or refuses the token stops the seller's run with an
error alert: what was sent is journalled, the rest stays due for the next run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from facturier.adapters.pa import Platform
from facturier.core.einvoicing import needs_directory, route, tracking_id
from facturier.core.errors import IntegrityError
from facturier.ops.einvoicing.accounts import Account, each_seller, transmitting_accounts
from facturier.ops.einvoicing.paid import preview_payments, report_payments
from facturier.ops.einvoicing.routing import buyer_of, directory_entry, record_of, route_cached, without_facturx
from facturier.ops.outcome import Alert, Report
from facturier.ops.state_access import reading_state
from facturier.store.events import DocumentIssued, T, Transmission
from facturier.store.files import sha256_bytes
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

COLUMNS = ["number", "seller", "client", "status", "detail"]
GROUP = 100  # documents journalled as transmitting at once, then sent
WARN_DAYS = 30  # a held document is a warning for a month, then only a row (it may never be sendable)


def transmit(ws: Workspace, day: date, dry_run: bool) -> Report:
    """Send every document due to its seller's platform (a dry run lists them, sends nothing)."""
    report = Report("E-invoices (platform)", COLUMNS)
    accounts = transmitting_accounts(ws)
    if not accounts:
        report.notes.append('E-invoicing is off ([einvoicing] mode = "off"): nothing to transmit.')
        return report
    if dry_run:
        with reading_state(ws.root, dry_run=True) as state:
            for account in accounts:
                _preview(ws, state, account, day, report)
        if not report.rows:
            report.notes.append("Nothing to transmit.")
        return report
    with Ledger(ws.root) as ledger:
        each_seller(accounts, lambda account: _transmit_seller(ws, ledger, account, day, report), report,
                    "Nothing is lost: the documents not transmitted stay due and are retried on the next run.")
    if not report.rows and not report.alerts:
        report.notes.append("Nothing to transmit.")
    return report


def _due(state: LedgerState, account: Account, day: date) -> list[DocumentIssued]:
    """The seller's live documents dated from `since` to `day` and not transmitted yet."""
    since = account.config.since
    docs = state.documents(state.einvoicing.in_mode(account.mode).untransmitted(account.seller, since.year))
    return [d for d in docs if d.mode == "live" and since <= d.date <= day]


def _preview(ws: Workspace, state: LedgerState, account: Account, day: date, report: Report) -> None:
    for doc in _due(state, account, day):
        r = without_facturx(ws.root, doc, route_cached(state, record_of(ws.root, doc), live=True, mode=account.mode))
        if r.channel in ("platform", "held"):
            status = "would transmit" if r.channel == "platform" else "held"
            report.rows.append(_row(doc, status, r.reason))
    if account.seller == "issuer":
        preview_payments(ws, state, account, report)


def _transmit_seller(ws: Workspace, ledger: Ledger, account: Account, day: date, report: Report) -> None:
    platform = account.platform()
    _resolve_in_flight(ledger, platform, account, report)
    sending: list[DocumentIssued] = []
    held: list[DocumentIssued] = []
    for doc in _due(ledger.state, account, day):
        buyer = buyer_of(record_of(ws.root, doc))
        entry = directory_entry(ledger, platform, buyer.siren, day, account.mode) \
            if needs_directory(buyer) and buyer.siren else None
        r = without_facturx(ws.root, doc, route(buyer, True, entry))
        if r.channel == "platform":
            sending.append(doc)
        elif r.channel == "held":
            held.append(doc)
            report.rows.append(_row(doc, "held", r.reason))
            if (day - doc.date).days <= WARN_DAYS:
                report.alerts.append(Alert("warning", f"{doc.number} ({doc.client}) is not transmitted: {r.reason}"))
    older = sum(1 for d in held if (day - d.date).days > WARN_DAYS)
    if older:
        report.notes.append(f"{older} document(s) older than {WARN_DAYS} days are still held (listed above).")
    for start in range(0, len(sending), GROUP):
        _send_group(ws, ledger, platform, account, sending[start:start + GROUP], report)
    if account.seller == "issuer":  # payments are recorded for direct invoices only
        report_payments(ws, ledger, platform, account, report)


def _resolve_in_flight(ledger: Ledger, platform: Platform, account: Account, report: Report) -> None:
    """Documents journalled as transmitting without an outcome: journal the flow the platform has."""
    section = ledger.state.einvoicing.in_mode(account.mode)
    for number, tracking in section.in_flight(account.seller):
        flows = platform.flows_tracked(tracking)
        if not flows:
            continue  # never reached the platform: sent again below, under the same tracking id
        _, _, _, sha = section.flows[(account.seller, number)]
        ledger.append(Transmission(type=T.EINVOICE_TRANSMITTED, number=number, seller=account.seller,
                                   tracking_id=tracking, sha256=sha, flow_id=flows[0].flow_id, mode=account.mode))
        report.rows.append({"number": number, "seller": account.seller, "client": "", "status": "transmitted",
                            "detail": f"flow {flows[0].flow_id}, found on the platform (sent before an "
                                      "interruption; not sent again)"})


def _send_group(ws: Workspace, ledger: Ledger, platform: Platform, account: Account,
                group: list[DocumentIssued], report: Report) -> None:
    """Journal the group as transmitting, send each flow, journal what the platform took."""
    in_flight = {n for n, _ in ledger.state.einvoicing.in_mode(account.mode).in_flight(account.seller)}
    intents = [Transmission(type=T.EINVOICE_TRANSMITTING, number=d.number, seller=account.seller,
                            tracking_id=tracking_id(account.seller, d.number), sha256=_pdf_ref(d)[1],
                            mode=account.mode) for d in group]
    ledger.journal.append_many([i for i in intents if i.number not in in_flight])
    done: list[Transmission] = []
    try:
        for doc, intent in zip(group, intents):
            flow = platform.submit_flow(_pdf(ws, doc), f"{doc.number}.pdf", "Factur-X", "B2B", intent.tracking_id)
            done.append(replace(intent, type=T.EINVOICE_TRANSMITTED, flow_id=flow.flow_id))
            report.rows.append(_row(doc, "transmitted", f"flow {flow.flow_id}, tracking {intent.tracking_id}"))
    finally:
        ledger.journal.append_many(done)


def _pdf_ref(doc: DocumentIssued) -> tuple[str, str]:
    ref = doc.file("pdf")
    if ref is None:
        raise IntegrityError(f"{doc.number}: its journal entry names no PDF")
    return ref.path, ref.sha256


def _pdf(ws: Workspace, doc: DocumentIssued) -> bytes:
    """The document's Factur-X PDF, as journalled (its SHA-256 checked)."""
    path, sha = _pdf_ref(doc)
    content = (ws.root / path).read_bytes()
    if sha256_bytes(content) != sha:
        raise IntegrityError(f"{path} differs from the file journalled for {doc.number}: run `facturier verify`")
    return content


def _row(doc: DocumentIssued, status: str, detail: str) -> dict[str, str]:
    client = doc.customer or doc.client  # a batch document's client is its seller's own customer
    return {"number": doc.number, "seller": doc.seller, "client": client, "status": status, "detail": detail}


def after_issuing(ws: Workspace, day: date) -> list[Report]:
    """`run` and `batch`, after issuing: transmit what is due when a seller's mode is on ([] when off),
    and warn of the e-reports due and not sent."""
    from facturier.ops.einvoicing.ereport import ereport_warnings

    if not transmitting_accounts(ws):
        return []
    report = transmit(ws, day, dry_run=False)
    with reading_state(ws.root) as state:
        report.alerts += [Alert("warning", w) for w in ereport_warnings(ws, state, day)]
    return [report]
