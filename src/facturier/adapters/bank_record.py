"""The record every bank parser returns: one credit of a statement, whatever its format.

It lives in its own module so that the parsers and the registry in `bank.py` both import it
and never each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class BankTransaction:
    """One credit on a statement.

    Fields: `date` (booking date, else value date), `amount` (positive, checked by
    `core.money.received_amount`), `currency` (None when the file does not say, as in CSV),
    `text` (remittance information, the words matching reads), `bank_id` (the bank's own
    reference of the transaction, None when it gives none), `counterparty` (the payer's
    name, "" when unknown) and `where` (where it sits in the file, for messages).
    """

    date: date
    amount: Decimal
    currency: str | None
    text: str
    bank_id: str | None
    counterparty: str
    where: str = ""
