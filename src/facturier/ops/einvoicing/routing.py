"""Who receives how: a document's buyer from its record, the directory answer for its SIREN
(asked once and cached in the state through an `einvoice.directory` entry), and the route."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facturier.core.einvoicing import Buyer, DirectoryEntry, Route, needs_directory, route
from facturier.store.events import DirectoryLookup, DocumentIssued
from facturier.store.state import LedgerState

if TYPE_CHECKING:
    from facturier.adapters.pa import Platform
    from facturier.store.ledger import Ledger  # (a type only: `show` reads routes, never writes)


def record_of(root: Path, doc: DocumentIssued) -> dict[str, Any]:
    """The canonical JSON record of a document."""
    ref = doc.file("json")
    if ref is None:
        raise ValueError(f"{doc.number}: its journal entry names no JSON record")
    data: dict[str, Any] = json.loads((root / ref.path).read_text(encoding="utf-8"))
    return data


def buyer_of(record: dict[str, Any]) -> Buyer:
    """The routing facts of a document's record."""
    buyer = record.get("buyer") or {}
    return Buyer(seller_country=str((record.get("seller") or {}).get("country") or ""),
                 country=str(buyer.get("country") or ""), business=bool(record.get("buyer_is_business", True)),
                 siren=buyer.get("siren") or None)


def cached_entry(state: LedgerState, siren: str, mode: str = "live") -> DirectoryEntry | None:
    """The directory answer the state holds for a SIREN from the platform of that mode, or None."""
    row = state.einvoicing.in_mode(mode).directory.get(siren)
    if row is None:
        return None
    receives, platform, day = row
    return DirectoryEntry(bool(receives), str(platform), date.fromisoformat(day))


def directory_entry(ledger: Ledger, platform: Platform, siren: str, day: date, mode: str) -> DirectoryEntry:
    """The directory answer for a SIREN on `day` from the platform of that mode: the cached one
    while fresh, else asked and journalled (with the mode)."""
    cached = cached_entry(ledger.state, siren, mode)
    if cached is not None and cached.fresh(day):
        return cached
    answer = platform.directory(siren)
    if cached is None or (cached.receives, cached.platform) != (answer.receives, answer.platform) \
            or cached.asked != day:
        ledger.append(DirectoryLookup(siren=siren, receives=answer.receives, platform=answer.platform, date=day,
                                      mode=mode))
    return DirectoryEntry(answer.receives, answer.platform, day)


def route_cached(state: LedgerState, record: dict[str, Any], live: bool, mode: str = "live") -> Route:
    """The route of a document from what the state knows of the platform of that mode (no platform
    call: `show`, dry runs; e-reporting's routes need no directory)."""
    buyer = buyer_of(record)
    entry = cached_entry(state, buyer.siren, mode) if buyer.siren and needs_directory(buyer) else None
    return route(buyer, live, entry)


# A document an earlier version issued as a plain PDF: no platform can take it as an e-invoice.
NO_FACTURX = ("issued before Facturier embedded Factur-X: its PDF carries no factur-x.xml, so no platform "
              "can take it as an e-invoice; it stays outside e-invoicing (to stop listing it, set "
              "[einvoicing] since after its date)")


def without_facturx(root: Path, doc: DocumentIssued, r: Route) -> Route:
    """The route, held when the document's PDF carries no Factur-X XML (issued by an earlier
    version): `transmit` never sends it, and `show` says why."""
    from facturier.render.einvoice_check import embedded_xml

    ref = doc.file("pdf")
    if r.channel != "platform" or ref is None or embedded_xml(root / ref.path) is not None:
        return r
    return replace(r, channel="held", reason=NO_FACTURX)
