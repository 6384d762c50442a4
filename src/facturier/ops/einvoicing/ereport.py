"""`facturier ereport`: the e-reporting files of each period, built, checked offline, sent once.

Periods follow the VAT regime (`einvoicing.ereporting`, by default two months for a seller in
franchise en base, else one; ten days under the réel normal mensuel): `periods.py`. For each period and each kind
(transactions, payments) the file is built from the documents routed to e-reporting
(`flux10.py`), checked against the XSD (pyfrctc) and the Flux 10 schematron (saxonche,
`render/frctc_check.py`), and sent through the issuer's platform once: its tracking id is
the same on every attempt and is searched before any send, then `ereport.sent` is
journalled (with the seller's platform mode: a period reported to the test platform only is
due again once live). A period with nothing to report is journalled with count 0 and no flow.
Without `--period`, every period that has ended since `einvoicing.since` and is not sent is
done. A batch seller whose `[einvoicing]` has a `platform_id` e-reports its transactions the
same way, through its own account (Facturier records no payments of batch invoices: no
payments report for it); one without is left to its own software.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from facturier.adapters.pa import PlatformError
from facturier.core.einvoicing import vat_on_receipt
from facturier.core.errors import FacturierError, InputError
from facturier.ops.einvoicing.accounts import Account, account_of, transmitting_accounts
from facturier.ops.einvoicing.flux10 import Header, payments_xml, transactions_xml
from facturier.ops.einvoicing.periods import Period, named_periods, periods_between
from facturier.ops.einvoicing.routing import record_of, route_cached
from facturier.ops.outcome import Alert, Report
from facturier.ops.state_access import reading_state
from facturier.store.events import EReportSent
from facturier.store.files import sha256_bytes
from facturier.store.ledger import Ledger
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.config import Workspace

KINDS: Final = ("transactions", "payments")
COLUMNS = ["period", "kind", "status", "count", "detail", "seller"]


def cadence_of(ws: Workspace, account: Account) -> str:
    """"ten-day", "monthly" or "bimonthly" (`periods.py`): `einvoicing.ereporting`, else bimonthly in
    franchise en base and monthly otherwise."""
    seller = ws.config.issuer if account.seller == "issuer" else ws.batch_clients[account.seller]
    return account.config.ereporting or ("bimonthly" if seller.vat_regime == "franchise" else "monthly")


def kinds_of(account: Account) -> tuple[str, ...]:
    """The reports a seller owes through Facturier: a batch seller's payments are not recorded here."""
    return KINDS if account.seller == "issuer" else ("transactions",)


def reporting_accounts(ws: Workspace) -> list[Account]:
    """The sellers Facturier e-reports for: the issuer when on, and each transmitting batch seller
    established in France with a `platform_id` (without one, its own software e-reports)."""
    batch = ws.batch_clients
    return [a for a in transmitting_accounts(ws) if a.seller == "issuer"
            or (a.config.platform_id is not None and batch[a.seller].country == "FR")]


def ereport(ws: Workspace, day: date, key: str | None, dry_run: bool) -> Report:
    """Build, check and send the e-reporting files due (or of one period), seller by seller."""
    report = Report("E-reporting", COLUMNS)
    accounts = reporting_accounts(ws)
    if not accounts:
        report.notes.append('E-invoicing is off ([einvoicing] mode = "off"): nothing to e-report.'
                            if not transmitting_accounts(ws) else
                            "No seller e-reports through Facturier (a batch seller does with a platform_id in its "
                            "[einvoicing]): nothing to e-report.")
        return report
    issuer = account_of(ws, "issuer")
    if issuer is not None and issuer.config.platform_id is None:
        raise FacturierError("facturier.toml: einvoicing.platform_id: required to e-report: the platform's "
                             "4-character registration number, which it gives you")
    if key is not None:
        _check_since(ws, accounts, key)
    if dry_run:
        with reading_state(ws.root, dry_run=True) as state:
            for account in accounts:
                for period, kind in _wanted(state, account, day, key, cadence_of(ws, account)):
                    _one(ws, state, None, account, (period, kind, day), report)
            _warn_late(ws, state, accounts, day, report)
    else:
        with Ledger(ws.root) as ledger:
            for account in accounts:
                _send_seller(ws, ledger, account, (day, key), report)
            _warn_late(ws, ledger.state, accounts, day, report)
    if not report.rows and not report.alerts:
        report.notes.append("Nothing to e-report: every period that has ended is sent.")
    return report


def _warn_late(ws: Workspace, state: LedgerState, accounts: list[Account], day: date, report: Report) -> None:
    """Warn of what was recorded in a period after its e-report was sent (`late.py`)."""
    from facturier.ops.einvoicing.late import late_warnings

    report.alerts += [Alert("warning", w) for a in accounts for w in late_warnings(ws, state, a, day)]


def _send_seller(ws: Workspace, ledger: Ledger, account: Account, when: tuple[date, str | None],
                 report: Report) -> None:
    """Every file due of one seller; a platform failure stops that seller (the rest stays due)."""
    day, key = when
    for period, kind in _wanted(ledger.state, account, day, key, cadence_of(ws, account)):
        try:
            _one(ws, ledger.state, ledger, account, (period, kind, day), report)
        except PlatformError as exc:
            report.alerts.append(Alert("error", f"{account.file}: {exc}. Nothing is lost: the e-report of "
                                                f"{period.key} ({kind}) stays due; run again."))
            return


def _wanted(state: LedgerState, account: Account, day: date, key: str | None, cadence: str
            ) -> list[tuple[Period, str]]:
    """(period, kind) of every file to do: those named by `--period`, else every one ended and not sent."""
    pairs = []
    for kind in kinds_of(account):
        if key is not None:
            periods = named_periods(cadence, kind, key)
            for period in periods:
                if period.end >= day:
                    raise InputError(f"--period {key}: the period ends on {period.end}; it can be reported from "
                                     "the day after")
            periods = _from_since(account, periods)
        else:
            periods = [p for p in periods_between(cadence, kind, account.config.since, day)
                       if (account.seller, kind, p.key) not in state.einvoicing.in_mode(account.mode).ereports]
        pairs += [(p, kind) for p in periods]
    return sorted(pairs, key=lambda pair: (pair[0].end, KINDS.index(pair[1]), pair[0].start))


def _from_since(account: Account, periods: list[Period]) -> list[Period]:
    """The named periods not over before the seller's `einvoicing.since`: nothing is e-reported
    for a time before e-invoicing was on (`_check_since` makes it an error when none is left)."""
    return [p for p in periods if p.end >= account.config.since]


def _check_since(ws: Workspace, accounts: list[Account], key: str) -> None:
    """`--period` before every seller's `einvoicing.since`: an error, before anything is sent."""
    for account in accounts:
        for kind in kinds_of(account):
            if _from_since(account, named_periods(cadence_of(ws, account), kind, key)):
                return
    sinces = ", ".join(f"{a.file}: {a.config.since}" for a in accounts)
    raise InputError(f"--period {key}: it ends before einvoicing.since ({sinces}): nothing is e-reported for a "
                     "period before e-invoicing was on")


def _one(ws: Workspace, state: LedgerState, ledger: Ledger | None, account: Account,
         what: tuple[Period, str, date], report: Report) -> None:
    """Build and check one file (period, kind, run day); send and journal it (a dry run reports
    what it would do)."""
    period, kind, _ = what
    done = state.einvoicing.in_mode(account.mode).ereports.get((account.seller, kind, period.key))
    seller = {"seller": account.seller}
    if done is not None:
        report.rows.append({**seller, "period": period.key, "kind": kind, "status": "already sent", "count": "",
                            "detail": f"flow {done}" if done else "nothing to report"})
        return
    xml, count = _build(ws, state, account, what)
    if kind == "payments":
        report.alerts += [Alert("warning", f"e-report {period.key} (payments): the payment of {p.isoformat()} on "
                                           f"{r['number']} is in {r['currency']}: the Flux 10 takes euros only and "
                                           "Facturier has no exchange rate; report it on your platform's portal")
                          for r, p, _ in reported_payments(ws, state, period) if r["currency"] != "EUR"]
    failures = _check(xml)
    if failures:
        report.alerts.append(Alert("error", f"{_who(account)}e-report {period.key} ({kind}) not sent: it fails "
                                            f"the Flux 10 rules: {'; '.join(failures[:5])}"))
        return
    row = {**seller, "period": period.key, "kind": kind, "count": count}
    if ledger is None:
        report.rows.append({**row, "status": "would send" if count else "nothing to report",
                            "detail": f"valid (XSD and schematron), due by {period.deadline}"})
        return
    flow_id = _send(ledger, account, period, kind, xml) if count else ""
    ledger.append(EReportSent(seller=account.seller, kind=kind, period=period.key, start=period.start, end=period.end,
                              tracking_id=_tracking(account.seller, kind, period) if count else "", flow_id=flow_id,
                              sha256=sha256_bytes(xml), count=count, mode=account.mode))
    report.rows.append({**row, "status": "sent" if count else "nothing to report",
                        "detail": f"flow {flow_id}" if count else "journalled, no file sent"})


def _tracking(seller: str, kind: str, period: Period) -> str:
    return "FCT-ER-" + hashlib.sha256(f"{seller}\x00{kind}\x00{period.key}".encode()).hexdigest()[:16]


def _who(account: Account) -> str:
    """The seller named at the head of a message ("" for the issuer, as before batch sellers reported)."""
    return "" if account.seller == "issuer" else f"{account.file}: "


def _send(ledger: Ledger, account: Account, period: Period, kind: str, xml: bytes) -> str:
    platform = account.platform()
    tracking = _tracking(account.seller, kind, period)
    found = platform.flows_tracked(tracking)
    if found:
        return found[0].flow_id
    return platform.submit_flow(xml, f"FRR_{kind}_{period.key}.xml", "FRR", "B2C", tracking).flow_id


def _check(xml: bytes) -> list[str]:
    from facturier.render.frctc_check import schematron_failures

    return schematron_failures(xml, "flux10")


def _build(ws: Workspace, state: LedgerState, account: Account, what: tuple[Period, str, date]
           ) -> tuple[bytes, int]:
    """The file of one period and kind, made on the run day, and how many documents or payments it holds."""
    period, kind, day = what
    seller = ws.config.issuer if account.seller == "issuer" else ws.batch_clients[account.seller]
    if account.config.platform_id is None or seller.siren is None:
        raise FacturierError(f"{account.file}: a seller e-reports with its siren and einvoicing.platform_id")
    suffix = "" if account.seller == "issuer" else f"-{seller.siren}"
    header = Header(report_id=f"FCT-{kind[:3].upper()}-{period.key}{suffix}", name=f"{kind} {period.key}",
                    issued_at=dt.datetime.combine(day, dt.time(12, 0)), platform_id=account.config.platform_id,
                    platform_name=urlsplit(account.config.api_url or "").hostname or "platform", siren=seller.siren,
                    seller_name=seller.name, start=period.start, end=period.end)
    if kind == "transactions":
        records = reported_documents(ws, state, account.seller, period)
        return _built(lambda: transactions_xml(header, records), period, kind), len(records)
    received = [r for r in reported_payments(ws, state, period) if r[0]["currency"] == "EUR"]
    return _built(lambda: payments_xml(header, received), period, kind), len(received)


def _built(make: Any, period: Period, kind: str) -> bytes:
    try:
        xml: bytes = make()
    except Exception as exc:  # noqa: BLE001 (pyfrctc raises bare Exception on an XSD failure)
        raise FacturierError(f"e-report {period.key} ({kind}): {' '.join(str(exc).split())[:400]}") from None
    return xml


def reported_documents(ws: Workspace, state: LedgerState, seller: str, period: Period) -> list[dict[str, Any]]:
    """The records of the seller's live documents of the period routed to e-reporting."""
    out = []
    for year in range(period.start.year, period.end.year + 1):
        for doc in state.documents(state.index.offsets_of(seller, year)):
            if doc.seller == seller and doc.mode == "live" and period.start <= doc.date <= period.end:
                record = record_of(ws.root, doc)
                if route_cached(state, record, live=True).channel == "ereporting":
                    out.append(record)
    return out


def reported_payments(ws: Workspace, state: LedgerState, period: Period
                       ) -> list[tuple[dict[str, Any], date, Decimal]]:
    """Payments of the period on services invoices with VAT on receipt (`vat_on_receipt`) routed to
    e-reporting."""
    out = []
    for payment in state.payments(state.einvoicing.payments_since(period.start.toordinal())):
        if payment.date > period.end:
            continue
        for part in payment.allocation:
            doc = state.document(part.number)
            if doc is None or doc.seller != "issuer" or doc.mode != "live":
                continue
            record = record_of(ws.root, doc)
            if vat_on_receipt(record) and route_cached(state, record, live=True).channel == "ereporting":
                out.append((record, payment.date, part.amount))
    return out


def ereport_warnings(ws: Workspace, state: LedgerState, day: date) -> list[str]:
    """A warning per seller and period that has ended whose e-report is not sent (for `check` and
    `run`), naming the seller's file."""
    return [f"{account.file}: einvoicing: the e-report of {p.key} ({kind}) is not sent (due by {p.deadline}): "
            "run `facturier ereport`"
            for account in reporting_accounts(ws) for kind in kinds_of(account)
            for p in periods_between(cadence_of(ws, account), kind, account.config.since, day)
            if (account.seller, kind, p.key) not in state.einvoicing.in_mode(account.mode).ereports]
