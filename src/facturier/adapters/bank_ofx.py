"""OFX statements (1.x SGML and 2.x XML) of bank and card accounts, checked with ofxtools.

ofxtools validates the structure; amounts, dates and texts are then read from its element
tree as the bank wrote them, so the one amount rule applies to the text (ofxtools would take
`1E+2` or `NaN` as numbers) and a posting date is the bank's calendar day, not shifted to UTC.
Investment statements hold trades, not payments received: a file with only those is refused.
"""

from __future__ import annotations

import io
import re
import warnings
from datetime import date
from typing import Any
from xml.etree.ElementTree import Element

from ofxtools.Parser import OFXTree

from facturier.adapters.bank_record import BankTransaction, ProblemCollector
from facturier.core.errors import InputError
from facturier.core.money import received_amount

_ZERO = re.compile(r"\+?0*(?:[.,]0*)?")
# Nubank (among others) leaves <BANKTRANLIST> open before the balance; ofxtools then drops
# the balance and refuses the file.
_UNCLOSED_LIST = re.compile(rb"(<BANKTRANLIST>(?:(?!</BANKTRANLIST>).)*?)(\s*<LEDGERBAL>)", re.DOTALL)


def parse_ofx(content: bytes, csv_config: Any = None) -> list[BankTransaction]:
    """Credits (positive amounts) of every bank and credit-card statement in the file."""
    del csv_config  # only CSV statements need a column mapping
    root = _parse_tree(_close_transaction_lists(content))
    statements = [s for tag in ("STMTRS", "CCSTMTRS") for s in root.iter(tag)]
    if not statements:
        if any(True for _ in root.iter("INVSTMTRS")):
            raise InputError("an OFX investment statement (INVSTMTRS) lists trades, not payments "
                             "received; export the bank account's statement instead")
        raise InputError("OFX file without a bank or card statement (STMTRS, CCSTMTRS)")
    out: list[BankTransaction] = []
    problems = ProblemCollector()
    transactions = [(trn, _text(stmt, "CURDEF") or None) for stmt in statements for trn in stmt.iter("STMTTRN")]
    # numbered across the file's statements, as CAMT entries are: "transaction 1" names one
    for number, (trn, currency) in enumerate(transactions, start=1):
        with problems.line():
            tx = _transaction(trn, currency, f"transaction {number}")
            if tx is not None:
                out.append(tx)
    problems.check(out)
    return out


def _close_transaction_lists(content: bytes) -> bytes:
    if content.count(b"<BANKTRANLIST>") <= content.count(b"</BANKTRANLIST>"):
        return content
    return _UNCLOSED_LIST.sub(rb"\1</BANKTRANLIST>\2", content)


def _parse_tree(content: bytes) -> Element:
    """The raw element tree, once ofxtools has validated the whole file."""
    tree = OFXTree()
    try:
        with warnings.catch_warnings():
            # ofxtools warns on stderr about over-long fields and unknown tags: not our output.
            warnings.simplefilter("ignore")
            tree.parse(io.BytesIO(content))
            tree.convert()
    except Exception as exc:  # noqa: BLE001 - ofxtools raises many unrelated types on bad input
        # ofxtools may quote the whole input in its message: keep its first line, shortened.
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise InputError(f"not a valid OFX file: {reason}") from None
    root = tree.getroot()
    if root is None:
        raise InputError("not a valid OFX file: empty")
    return root


def _text(node: Element, tag: str) -> str:
    return (node.findtext(tag) or "").strip()


def _transaction(trn: Element, currency: str | None, where: str) -> BankTransaction | None:
    fitid = _text(trn, "FITID")
    where = f"{where} ({fitid})" if fitid else where
    # <CURRENCY> says the transaction's amounts are in CURSYM, not in the statement's CURDEF
    # (<ORIGCURRENCY> only tells the currency it was converted from: the amount is CURDEF's).
    currency = _text(trn, "CURRENCY/CURSYM") or currency
    raw = _text(trn, "TRNAMT")
    if raw.startswith("-") or _ZERO.fullmatch(raw):
        return None  # a debit, or nothing received
    amount = received_amount(raw, currency, f"OFX {where}: amount", decimal_mark="," if "," in raw else ".")
    posted = _text(trn, "DTPOSTED")
    try:
        day = date(int(posted[0:4]), int(posted[4:6]), int(posted[6:8]))
    except ValueError:
        raise InputError(f"OFX {where}: {posted!r} is not a date (YYYYMMDD)") from None
    name, memo = _text(trn, "NAME"), _text(trn, "MEMO")
    text = " ".join(part for part in (name, memo) if part)
    return BankTransaction(day, amount, currency, text, fitid or None, name, f"OFX {where}")
