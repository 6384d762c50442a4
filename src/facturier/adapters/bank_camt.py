"""ISO 20022 CAMT: camt.053 statements, camt.054 notifications and camt.052 reports.

All three carry the same <Ntry> records, in any version from 001.02 (`{*}` matches any
namespace). Only booked (`BOOK`), not reversed credit entries are read as credits. A booked
debit that takes back a credit (a returned transfer: `RvslInd` true, a return or reversal
bank transaction code RRTN/RPCR, or return information <RtrInf>) is read as `returned`. Remittance text is
gathered from every place banks put it: unstructured <Ustrd>, the structured creditor
reference <Strd>/<CdtrRefInf>/<Ref> and <AddtlRmtInf>, <TxDtls>/<AddtlTxInf> and
<AddtlNtryInf>. A batch booking (one entry, several <TxDtls> with their own amounts) gives
one credit per transaction. A DTD or entity declaration is refused (defusedxml), never expanded.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from facturier.adapters.bank_record import BankTransaction, ProblemCollector
from facturier.core.errors import InputError
from facturier.core.money import received_amount

# What holds the entries in each message: statement, notification, report.
_CONTAINERS = ("Stmt", "Ntfctn", "Rpt")
_TEXT_PATHS = (".//{*}RmtInf/{*}Ustrd", ".//{*}CdtrRefInf/{*}Ref", ".//{*}AddtlRmtInf",
               ".//{*}AddtlTxInf", "{*}AddtlNtryInf")
_TX_TEXT_PATHS = _TEXT_PATHS[:-1]
# ISO 20022 bank transaction sub-family codes of a credit taken back: "Reversal due to Payment
# Return" and "Reversal due to Payment Cancellation Request" (e.g. PMNT/RCDT/RRTN).
_RETURN_CODES = frozenset({"RRTN", "RPCR"})
# xs:date, optionally with a time zone ("2014-01-05+01:00", "2014-01-05Z"), and the date part
# of an xs:dateTime: the calendar day the bank wrote is the day that counts.
_XS_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9:.]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?")


def parse_camt(content: bytes, csv_config: Any = None) -> list[BankTransaction]:
    """Booked credit entries of every statement, notification or report in the file."""
    del csv_config  # only CSV statements need a column mapping
    root = _parse_xml(content)
    containers = [c for name in _CONTAINERS for c in root.iterfind(f".//{{*}}{name}")]
    if not containers:
        raise InputError("CAMT file without a statement (<Stmt>), notification (<Ntfctn>) or "
                         "report (<Rpt>): nothing to import")
    entries = [entry for c in containers for entry in c.iterfind("{*}Ntry")]
    out: list[BankTransaction] = []
    problems = ProblemCollector()
    for number, entry in enumerate(entries, start=1):
        with problems.line():
            out.extend(_entry(entry, _where(number, entry)))
    problems.check(out)
    return out


def _parse_xml(content: bytes) -> Element:
    try:
        root: Element = fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        raise InputError("CAMT file with a DTD or entity declaration: refused, "
                         "a bank statement never needs one") from None
    except ParseError as exc:
        raise InputError(f"not a valid CAMT.053 XML file: {exc}") from None
    return root


def _text(node: Element, path: str) -> str:
    return (node.findtext(path) or "").strip()


def _where(number: int, entry: Element) -> str:
    ref = _text(entry, "{*}AcctSvcrRef") or _text(entry, "{*}NtryRef")
    return f"entry {number}" + (f" ({ref})" if ref else "")


def _entry(entry: Element, where: str) -> list[BankTransaction]:
    """The credit of one entry; one credit per transaction of a batch booking."""
    status = _text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts")
    indicator = _text(entry, "{*}CdtDbtInd")
    if status not in ("BOOK", ""):
        return []
    if indicator == "DBIT" and _is_return(entry):
        return [_returned(entry, where)]
    if indicator != "CRDT" or _text(entry, "{*}RvslInd") == "true":
        return []
    amount = entry.find("{*}Amt")
    if amount is None or not (amount.text or "").strip():
        raise InputError(f"CAMT {where}: no amount")
    currency = amount.get("Ccy") or None
    value = received_amount(amount.text or "", currency, f"CAMT {where}: amount")
    day = _entry_date(entry, where)
    parts = _batch_parts(entry, value, currency, where)
    if parts is None:
        return [BankTransaction(day, value, currency, _texts(entry, _TEXT_PATHS), _bank_id(entry),
                                _debtor(entry), f"CAMT {where}")]
    entry_ref = _bank_id(entry)
    return [BankTransaction(day, part_amount, currency, _texts(tx, _TX_TEXT_PATHS),
                            _text(tx, "{*}Refs/{*}AcctSvcrRef") or (entry_ref and f"{entry_ref}/{i}"),
                            _debtor(tx), f"CAMT {where} transaction {i}")
            for i, (tx, part_amount) in enumerate(parts, start=1)]


def _is_return(entry: Element) -> bool:
    """A debit that takes back a credit: reversal indicator, return code or return information."""
    codes = {(c.text or "").strip() for c in entry.iterfind(".//{*}SubFmlyCd")}
    return (_text(entry, "{*}RvslInd") == "true" or bool(codes & _RETURN_CODES)
            or entry.find(".//{*}RtrInf") is not None)


def _returned(entry: Element, where: str) -> BankTransaction:
    """A returned transfer, with the references of the original credit it quotes."""
    amount = entry.find("{*}Amt")
    if amount is None or not (amount.text or "").strip():
        raise InputError(f"CAMT {where}: no amount")
    currency = amount.get("Ccy") or None
    value = received_amount(amount.text or "", currency, f"CAMT {where}: amount")
    refs = [(r.text or "").strip() for r in entry.iterfind("{*}NtryDtls/{*}TxDtls/{*}Refs/*")]
    return BankTransaction(_entry_date(entry, where), value, currency, _texts(entry, _TEXT_PATHS),
                           _bank_id(entry), _debtor(entry), f"CAMT {where}", returned=True,
                           refs=tuple(dict.fromkeys(r for r in refs if r and r != "NOTPROVIDED")))


def _batch_parts(entry: Element, total: Decimal, currency: str | None,
                 where: str) -> list[tuple[Element, Decimal]] | None:
    """The transactions of a batch booking (several payers credited as one entry), each with
    its own amount, when they are all credits in the entry's currency adding up to it."""
    details = list(entry.iterfind("{*}NtryDtls/{*}TxDtls"))
    if len(details) < 2:
        return None
    parts = []
    for tx in details:
        node = tx.find("{*}Amt")
        if node is None:
            node = tx.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
        if (node is None or (node.get("Ccy") or currency) != currency
                or _text(tx, "{*}CdtDbtInd") not in ("CRDT", "")):
            return None
        parts.append((tx, received_amount(node.text or "", currency, f"CAMT {where}: transaction amount")))
    return parts if sum(a for _, a in parts) == total else None


def _texts(node: Element, paths: tuple[str, ...]) -> str:
    texts = [t.text.strip() for path in paths for t in node.iterfind(path) if t.text]
    return " ".join(t for t in texts if t)


def _entry_date(entry: Element, where: str) -> date:
    """Booking date, else value date, each as <Dt> or <DtTm>."""
    for path in ("{*}BookgDt/{*}Dt", "{*}BookgDt/{*}DtTm", "{*}ValDt/{*}Dt", "{*}ValDt/{*}DtTm"):
        raw = _text(entry, path)
        if raw:
            found = _XS_DATE.fullmatch(raw)
            try:
                if found is None:
                    raise ValueError
                return date.fromisoformat(found.group(1))
            except ValueError:
                raise InputError(f"CAMT {where}: {raw!r} is not a date (YYYY-MM-DD)") from None
    raise InputError(f"CAMT {where}: no booking date (<BookgDt>) nor value date (<ValDt>)")


def _bank_id(entry: Element) -> str | None:
    bank_id = (_text(entry, "{*}AcctSvcrRef") or _text(entry, ".//{*}Refs/{*}AcctSvcrRef")
               or _text(entry, ".//{*}Refs/{*}EndToEndId"))
    return bank_id if bank_id and bank_id != "NOTPROVIDED" else None


def _debtor(entry: Element) -> str:
    """The payer's name: <Nm> under RltdPties/Dbtr (or Dbtr/Pty in version 8 and later)."""
    for dbtr in entry.iterfind(".//{*}RltdPties/{*}Dbtr"):
        for name in dbtr.iterfind(".//{*}Nm"):
            if name.text and name.text.strip():
                return name.text.strip()
    return ""
