"""ISO 20022 CAMT.053 (bank-to-customer statement), any version 001.02 and later."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import ParseError, fromstring

from facturier.adapters.bank import BankTransaction
from facturier.core.errors import InputError


def _text(node: Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def parse_camt053(content: bytes) -> list[BankTransaction]:
    """Credit entries (CdtDbtInd CRDT, not reversed) of every statement in the file."""
    try:
        root = fromstring(content)
    except ParseError as exc:
        raise InputError(f"not a valid CAMT.053 XML file: {exc}") from None
    # `{*}` matches any namespace, so camt.053.001.02 through .13 parse alike.
    return [tx for entry in root.iterfind(".//{*}Ntry") if (tx := _entry(entry)) is not None]


def _entry(entry: Element) -> BankTransaction | None:
    if _text(entry, "{*}CdtDbtInd") != "CRDT" or _text(entry, "{*}RvslInd") == "true":
        return None
    amount = entry.find("{*}Amt")
    if amount is None or not amount.text:
        raise InputError("CAMT.053 entry without an amount")
    day = _text(entry, "{*}BookgDt/{*}Dt") or _text(entry, "{*}BookgDt/{*}DtTm")[:10] \
        or _text(entry, "{*}ValDt/{*}Dt")
    texts = [t.text.strip() for t in entry.iterfind(".//{*}Ustrd") if t.text]
    texts += [_text(entry, "{*}AddtlNtryInf")]
    debtor = next((n.text.strip() for n in entry.iterfind(".//{*}Nm")
                   if n.text and _is_debtor_name(entry, n)), "")
    bank_id = _text(entry, "{*}AcctSvcrRef") or _text(entry, ".//{*}Refs/{*}AcctSvcrRef") \
        or _text(entry, ".//{*}Refs/{*}EndToEndId") or None
    return BankTransaction(date.fromisoformat(day), Decimal(amount.text.strip()), amount.get("Ccy"),
                           " ".join(t for t in texts if t), bank_id if bank_id != "NOTPROVIDED" else None,
                           debtor)


def _is_debtor_name(entry: Element, name: Element) -> bool:
    """Whether a <Nm> sits under RltdPties/Dbtr (the payer), in any schema version."""
    for dbtr in entry.iterfind(".//{*}Dbtr"):
        if any(n is name for n in dbtr.iterfind(".//{*}Nm")):
            return True
    return False
