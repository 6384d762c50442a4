"""SWIFT MT940 statements, parsed with mt-940."""

from __future__ import annotations

import re
from datetime import date

import mt940

from facturier.adapters.bank import BankTransaction
from facturier.core.errors import InputError


def parse_mt940(content: bytes) -> list[BankTransaction]:
    """Credits (status C, not reversals) of every statement in the file."""
    # mt-940 reads anything without a tag, or a statement cut short, as fewer transactions:
    # refuse a file with no statement, or one whose statements do not all end with a closing balance.
    text = content.decode("latin-1")
    opened = len(re.findall(r"^:20:", text, re.M))
    closed = len(re.findall(r"^:62[FM]:", text, re.M))
    if opened == 0:
        raise InputError("not a valid MT940 file: no statement (no :20: tag)")
    if closed < opened:
        raise InputError(f"not a valid MT940 file: truncated, {opened} statement(s) but {closed} "
                         "closing balance(s) (:62F:)")
    try:
        transactions = mt940.parse(content)
    except Exception as exc:  # mt-940 raises plain exceptions on malformed tags
        raise InputError(f"not a valid MT940 file: {exc}") from None
    out = []
    for tx in transactions:
        data = tx.data
        if data.get("status") != "C":
            continue
        amount = data["amount"]
        ref = data.get("bank_reference") or data.get("customer_reference")
        details = " ".join(str(data.get("transaction_details") or "").split())
        day = data["date"]
        out.append(BankTransaction(date(day.year, day.month, day.day), amount.amount, amount.currency,
                                   details, None if ref in (None, "NONREF") else str(ref), ""))
    return out
