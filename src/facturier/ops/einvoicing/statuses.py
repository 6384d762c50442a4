"""`facturier statuses`: the platform's lifecycle statuses (CDAR messages), journalled once each.

The incoming lifecycle flows updated since the last status journalled (or `--since`) are
listed, each new one read and parsed with pyfrctc (its XSD checked), and journalled as
`einvoice.status` with the flow id (a hundred to a commit), so a status is never journalled
twice; each entry says the platform mode it came from (a status of the test platform is not
the live platform's word: it counts in test mode only). Sellers may share a platform
account: a status is the seller's whose SIREN it names as the invoice's issuer (MDT-129),
the others pass over it. A status of a document this seller never transmitted through
Facturier (sent through the platform's portal, say) is a warning, not journalled, and the
statuses after it are read on. A message that is not a valid CDAR stops the run there: the
statuses before it are journalled, it and those after it are not (the next search starts
after the last status journalled, so they are read again on the next run); an error names
the flow and the problem. A 210 (Refusée) or 213 (Rejetée) raises an error alert naming the
invoice and the reason; a 207 (En litige) stops its reminders until a later status replaces
it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from lxml import etree

from facturier.adapters.pa import Flow, Platform
from facturier.core.einvoicing import BLOCKING_STATUSES, DISPUTE_STATUS, STATUS_LABELS
from facturier.core.errors import FacturierError
from facturier.ops.einvoicing.accounts import Account, each_seller, transmitting_accounts
from facturier.ops.outcome import Alert, Report
from facturier.store.events import LifecycleStatus
from facturier.store.ledger import Ledger

if TYPE_CHECKING:
    from facturier.config import Workspace

COLUMNS = ["number", "seller", "code", "label", "at", "detail"]
GROUP: Final = 100  # statuses journalled in one commit


class CdarError(FacturierError):
    """A lifecycle message that cannot be read."""


@dataclass(frozen=True, slots=True)
class Cdar:
    """What a lifecycle message says: the document number, the status code and label, why."""

    number: str
    code: str
    label: str
    reason: str
    issuer_siren: str = ""  # the SIREN of the invoice's seller (MDT-129), when the message gives it


def fetch_statuses(ws: Workspace, day: date, since: date | None) -> Report:
    """Fetch and journal every new lifecycle status of every transmitting seller."""
    report = Report("Lifecycle statuses", COLUMNS)
    accounts = transmitting_accounts(ws)
    if not accounts:
        report.notes.append('E-invoicing is off ([einvoicing] mode = "off"): no statuses to fetch.')
        return report
    sirens = _sellers_by_siren(ws, accounts)
    with Ledger(ws.root) as ledger:
        each_seller(accounts, lambda account: _fetch(ledger, (account, sirens), since, report), report,
                    "The statuses not journalled are fetched again on the next run.")
    if not report.rows and not report.alerts:
        report.notes.append("No new status.")
    return report


def _sellers_by_siren(ws: Workspace, accounts: list[Account]) -> dict[str, str]:
    """The seller of each SIREN that transmits here (sellers may share one platform account)."""
    out = {}
    for account in accounts:
        seller = ws.config.issuer if account.seller == "issuer" else ws.batch_clients[account.seller]
        if seller.siren:
            out[seller.siren] = account.seller
    return out


def _fetch(ledger: Ledger, who: tuple[Account, dict[str, str]], since: date | None, report: Report) -> None:
    account, sirens = who
    platform = account.platform()
    section = ledger.state.einvoicing.in_mode(account.mode)  # the statuses of this mode's platform
    start = since or account.config.since
    after = section.last_status_time(account.seller) if since is None else None
    flows = platform.lifecycle_flows(_second_before(after) if after else f"{start.isoformat()}T00:00:00.000Z")
    pending: list[LifecycleStatus] = []
    try:
        for flow in flows:
            if section.seen_cdar(flow.flow_id):
                continue
            try:
                cdar = _read(platform, flow)
            except CdarError as exc:
                # Stop here: the next search starts after the last status journalled, so this one
                # (and those after it) are read again next time instead of being skipped for ever.
                report.alerts.append(Alert("error", f"{account.file}: lifecycle flow {flow.flow_id} (of "
                                                    f"{flow.updated_at}): {exc}; nothing journalled for it nor "
                                                    "for the statuses after it: they are read again on the next "
                                                    "run (`statuses --since DAY` after it skips it)"))
                break
            other = sirens.get(cdar.issuer_siren, account.seller) if cdar.issuer_siren else account.seller
            if other != account.seller:
                continue  # another seller of this workspace on the same platform account: journalled by its own
            if (account.seller, cdar.number) not in section.flows:
                # An invoice sent another way (the platform's portal, other software): not ours to
                # journal, and no reason to hold back the statuses after it (a 213 among them).
                report.alerts.append(Alert("warning", f"{account.file}: lifecycle flow {flow.flow_id} (of "
                                                      f"{flow.updated_at}) is about {cdar.number!r}, which "
                                                      "Facturier never transmitted for this seller (sent through "
                                                      f"the platform's portal?): status {cdar.code} not journalled"))
                continue
            pending.append(LifecycleStatus(number=cdar.number, seller=account.seller, code=cdar.code,
                                           label=cdar.label, status_at=flow.updated_at, flow_id=flow.flow_id,
                                           reason=cdar.reason or None, mode=account.mode))
            if len(pending) == GROUP:
                _journal(ledger, pending, report)
    finally:  # what was read is journalled even when the platform fails half-way
        _journal(ledger, pending, report)


def _second_before(timestamp: str) -> str:
    """A second before a platform time: the search is strictly after it, and a status of the same
    instant as the last one journalled must not be passed over (those seen are skipped by flow id)."""
    try:
        moment = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.tzinfo is None:  # a platform time without an offset is UTC, not this machine's time
        moment = moment.replace(tzinfo=dt.UTC)  # (west of UTC, statuses were passed over)
    return (moment - dt.timedelta(seconds=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _journal(ledger: Ledger, pending: list[LifecycleStatus], report: Report) -> None:
    """Journal the statuses read (one commit for the group) and say what each means."""
    ledger.journal.append_many(pending)
    for status in pending:
        _report(report, status)
    pending.clear()


def _read(platform: Platform, flow: Flow) -> Cdar:
    """The lifecycle message of a flow, parsed and XSD-checked by pyfrctc."""
    import pyfrctc

    content = platform.flow_file(flow.flow_id)
    try:
        tree = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        cdar_schema().assertValid(tree)
        parsed: dict[str, Any] = pyfrctc.parse_cdar(content, check_xsd=False)
    except Exception as exc:  # noqa: BLE001 (lxml's and pyfrctc's errors alike: the message is unreadable)
        first = " ".join(str(exc).split())[:300]
        raise CdarError(f"not a valid CDAR message ({first})") from None
    number, code = parsed.get("invoice_number"), parsed.get("status_code")
    if not isinstance(number, str) or not isinstance(code, str) or not code.isdigit():
        raise CdarError("the CDAR message names no document number or status code")
    label = parsed.get("status_name") if isinstance(parsed.get("status_name"), str) else None
    reasons = [s.get("reason_txt") or s.get("reason_code") or "" for s in parsed.get("doc_status") or []]
    issuer = parsed.get("invoice_issuer")
    siren = str(issuer.get("0002") or "") if isinstance(issuer, dict) else ""
    return Cdar(number, code, label or STATUS_LABELS.get(code, code), "; ".join(r for r in reasons if r), siren)


@lru_cache(maxsize=1)
def cdar_schema() -> etree.XMLSchema:
    """The CDAR XSD pyfrctc ships, compiled once per process (pyfrctc compiles it on every check:
    2 ms a message)."""
    import importlib.resources

    import pyfrctc.pyfrctc as module

    path = importlib.resources.files("pyfrctc").joinpath(module.CDAR_XSD_FILE)
    return etree.XMLSchema(file=str(path))


def _report(report: Report, status: LifecycleStatus) -> None:
    detail = status.reason or ""
    report.rows.append({"number": status.number, "seller": status.seller, "code": status.code,
                        "label": status.label, "at": status.status_at, "detail": detail})
    if status.code in BLOCKING_STATUSES:
        why = f": {status.reason}" if status.reason else ""
        report.alerts.append(Alert("error", f"{status.number} was {status.label} ({status.code}){why}. Correct it "
                                            f"with a credit note (`facturier credit {status.number}`) and a new "
                                            "invoice."))
    elif status.code == DISPUTE_STATUS:
        report.notes.append(f"{status.number} is in dispute on the platform (207): no reminders until a later "
                            "status ends it.")
