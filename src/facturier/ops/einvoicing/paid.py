"""212 Encaissée on payment (PRODUCT §13): for a services invoice whose VAT is due on receipt
(the seller did not opt for `vat_on_debits`, and the VAT is not reverse-charged), each
payment allocated to it after it was transmitted is reported to the platform once, with the
amount received.

Never twice: the flow's tracking id is the same on every attempt (seller, invoice, payment),
and the platform's flows are searched by it before any send; the 212 is journalled as an
`einvoice.status` (direction "out", with the payment's seq and the amount).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from facturier.adapters.pa import Platform
from facturier.core.einvoicing import STATUS_LABELS, vat_on_receipt
from facturier.ops.einvoicing.cdar import ENCAISSEE, encaissee
from facturier.ops.einvoicing.routing import record_of
from facturier.ops.outcome import Report
from facturier.store.events import LifecycleStatus, PaymentRecorded
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace
    from facturier.ops.einvoicing.accounts import Account


def paid_tracking_id(seller: str, number: str, payment: int) -> str:
    """The tracking id of the 212 of one payment of one document."""
    digest = hashlib.sha256(f"{seller}\x00{number}\x00{payment}".encode()).hexdigest()[:16]
    return f"FCT-212-{digest}"


def payments_due(ws: Workspace, state: LedgerState, since: date, mode: str
                 ) -> Iterator[tuple[dict[str, Any], PaymentRecorded, str, Decimal]]:
    """(record, payment, number, amount) of every payment part due a 212 (direct invoices of the
    issuer, transmitted, services with VAT on receipt, not reported yet), in that platform mode."""
    section = state.einvoicing.in_mode(mode)
    for payment in state.payments(section.payments_since(since.toordinal())):
        for part in payment.allocation:
            flow = section.flows.get(("issuer", part.number))
            if flow is None or flow[0] != "transmitted" or section.paid_reported("issuer", part.number, payment.seq):
                continue
            doc = state.document(part.number)
            record = record_of(ws.root, doc) if doc is not None else None
            if record is not None and vat_on_receipt(record):
                yield record, payment, part.number, part.amount


def report_payments(ws: Workspace, ledger: Ledger, platform: Platform, account: Account, report: Report) -> None:
    """Send the 212 of every payment due one (direct invoices of the issuer)."""
    for record, payment, number, amount in list(payments_due(ws, ledger.state, account.config.since, account.mode)):
        _send(ledger, platform, (record, account.mode), payment, number, amount, report)


def preview_payments(ws: Workspace, state: LedgerState, account: Account, report: Report) -> None:
    """What `report_payments` would send, for a dry run (nothing asked of the platform)."""
    for _, payment, number, amount in payments_due(ws, state, account.config.since, account.mode):
        report.rows.append({"number": number, "seller": "issuer", "client": payment.client,
                            "status": "would send 212",
                            "detail": f"Encaissée {amount} {payment.currency} (payment of {payment.date})"})


def _send(ledger: Ledger, platform: Platform, what: tuple[dict[str, Any], str], payment: PaymentRecorded,
          number: str, received: Decimal, report: Report) -> None:
    record, mode = what
    tracking = paid_tracking_id("issuer", number, payment.seq)
    found = platform.flows_tracked(tracking)
    if found:
        flow = found[0]
    else:
        when = dt.datetime.combine(payment.date, dt.time(12, 0))
        flow = platform.submit_flow(encaissee(record, received, when), f"CDAR_{number}_{ENCAISSEE}.xml", "CDAR",
                                    "B2B", tracking)
    status = LifecycleStatus(number=number, seller="issuer", code=ENCAISSEE, label=STATUS_LABELS[ENCAISSEE],
                             status_at=flow.updated_at or f"{payment.date.isoformat()}T12:00:00.000Z",
                             flow_id=flow.flow_id, direction="out", amount=str(received), payment=payment.seq,
                             mode=mode)
    ledger.append(status)
    report.rows.append({"number": number, "seller": "issuer", "client": payment.client, "status": "212 sent",
                        "detail": f"Encaissée {received} {payment.currency} (payment of {payment.date}), "
                                  f"flow {flow.flow_id}"})
