"""SWIFT MT940 statements, parsed with mt-940."""

from __future__ import annotations

from datetime import date

import mt940

from facturier.adapters.bank import BankTransaction
from facturier.core.errors import InputError


def parse_mt940(content: bytes) -> list[BankTransaction]:
    """Credits (status C, not reversals) of every statement in the file."""
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
