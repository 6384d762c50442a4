"""Who receives how under the French e-invoicing reform (PRODUCT §13): pure decisions.

A document of a seller established in France goes one of three ways:

- **platform**: a domestic B2B invoice or credit note (a business client in France, with a
  SIREN the platforms' directory knows) is transmitted as its Factur-X flow;
- **ereporting**: a B2C sale, or an operation with a client outside France, is e-reported
  (transactions report) instead;
- **none** / **held**: a test document, or a seller outside France, is never transmitted; a
  French business client without a SIREN, or whose SIREN is not in the directory, holds the
  document back (it stays due, with the reason, until the client file is fixed or the
  directory knows the company).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

Channel = Literal["platform", "ereporting", "none", "held"]
# How long a directory answer is trusted: a company found keeps its platform for a month; one
# not found is asked again the next day (it may have just registered).
FOUND_FOR: Final = timedelta(days=30)
NOT_FOUND_FOR: Final = timedelta(days=1)

# The lifecycle statuses of the standard (XP Z12-012 / CDAR), and what Facturier does on them.
STATUS_LABELS: Final = {
    "200": "Déposée", "201": "Émise par la plateforme", "202": "Reçue par la plateforme",
    "203": "Mise à disposition", "204": "Prise en charge", "205": "Approuvée",
    "206": "Approuvée partiellement", "207": "En litige", "208": "Suspendue", "209": "Complétée",
    "210": "Refusée", "211": "Paiement transmis", "212": "Encaissée", "213": "Rejetée",
}
BLOCKING_STATUSES: Final = frozenset({"210", "213"})  # refused by the client, rejected by the platform
DISPUTE_STATUS: Final = "207"


@dataclass(frozen=True, slots=True)
class Buyer:
    """What routing needs of a document's buyer and seller (from its canonical record)."""

    seller_country: str
    country: str
    business: bool
    siren: str | None


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """A directory answer for a SIREN, and the day it was given."""

    receives: bool
    platform: str
    asked: date

    def fresh(self, day: date) -> bool:
        """Whether the answer can still be used on `day`."""
        return day - self.asked < (FOUND_FOR if self.receives else NOT_FOUND_FOR)


@dataclass(frozen=True, slots=True)
class Route:
    """Where a document goes and why, in words a user can act on."""

    channel: Channel
    reason: str


def needs_directory(buyer: Buyer) -> bool:
    """Whether routing this buyer asks the directory (a French business client with a SIREN)."""
    return buyer.seller_country == "FR" and buyer.business and buyer.country == "FR" and bool(buyer.siren)


def route(buyer: Buyer, live: bool, directory: DirectoryEntry | None) -> Route:
    """The channel of one document: the rules of the module docstring, in order."""
    if not live:
        return Route("none", "test document: never transmitted")
    if buyer.seller_country != "FR":
        return Route("none", f"seller established in {buyer.seller_country}: the French reform does not apply")
    if not buyer.business:
        return Route("ereporting", "sale to a consumer (B2C): e-reported, not transmitted")
    if buyer.country != "FR":
        return Route("ereporting", f"client outside France ({buyer.country}): e-reported, not transmitted")
    if not buyer.siren:
        return Route("held", "French business client without a SIREN on the document: an e-invoice must carry "
                             "it; add siren to the client's file (later documents carry it), then credit this one "
                             "and invoice again")
    if directory is None:
        return Route("platform", f"domestic B2B (SIREN {buyer.siren}); the directory was not asked yet")
    if not directory.receives:
        return Route("held", f"SIREN {buyer.siren} is not in the platforms' directory (asked {directory.asked}); "
                             "asked again on the next day it runs")
    where = f" through {directory.platform}" if directory.platform else ""
    return Route("platform", f"domestic B2B: SIREN {buyer.siren} receives e-invoices{where} "
                             f"(directory, {directory.asked})")


def vat_on_receipt(record: dict[str, object]) -> bool:
    """Whether a document's payments are reported (212 Encaissée, payments e-report): services
    whose VAT is due on receipt: not opted for VAT on debits, and not reverse-charged (the
    buyer accounts for that VAT: the reform excludes it from payment data)."""
    return (record.get("operation_category") == "services" and not record.get("vat_on_debits")
            and record.get("vat_regime") != "reverse_charge")


def tracking_id(seller: str, number: str) -> str:
    """Our tracking id of a document's flow: the same on every attempt, unique per seller and number."""
    import hashlib

    digest = hashlib.sha256(f"{seller}\x00{number}".encode()).hexdigest()[:16]
    return f"FCT-{digest}"
