"""The likely-duplicate rule of import-bank, in process."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from facturier.adapters.bank_record import BankTransaction
from facturier.ops.payments.bank import likely_duplicate

WS = cast(Any, SimpleNamespace(clients={"ab": SimpleNamespace(name="AB")}))
PAID = {"type": "payment.recorded", "client": "ab", "date": "2026-11-19", "amount": "50.00",
        "currency": "EUR", "reference": "", "remittance": "AB virement 19/11/2026 2026-0007",
        "allocation": [{"number": "2026-0007", "amount": "50.00"}], "source": "manual"}


def credit(text: str, amount: str = "50.00", day: date = date(2026, 11, 19), bank_id: str | None = None,
           counterparty: str = "") -> BankTransaction:
    return BankTransaction(day, Decimal(amount), "EUR", text, bank_id, counterparty)


@pytest.mark.parametrize("tx", [
    credit("AB 2026-0007"),
    credit("virement recu", counterparty="AB"),  # no reference on the credit: payer, day and amount
    credit("VIR AB", bank_id="X-1"),
])
def test_likely_duplicates(tx: BankTransaction) -> None:
    assert likely_duplicate(WS, [PAID], tx, "csv") is PAID


@pytest.mark.parametrize("tx", [
    credit("AB 2026-0009 du 19/11/2026"),  # only the date is shared, not a reference
    credit("abonnement 2026-0007"),  # "AB" is not a word there
    credit("AB 2026-0007", amount="50.01"),
    credit("AB 2026-0007", day=date(2026, 11, 20)),
])
def test_not_likely_duplicates(tx: BankTransaction) -> None:
    assert likely_duplicate(WS, [PAID], tx, "csv") is None


def test_bank_ids_of_the_same_format_decide_alone() -> None:
    # Two CSV lines with distinct ids are two transfers, however alike they look.
    imported = {**PAID, "source": "bank:csv:releve.csv", "bank_id": "A1"}
    assert likely_duplicate(WS, [imported], credit("AB 2026-0007", bank_id="A2"), "csv") is None
    assert likely_duplicate(WS, [imported], credit("AB 2026-0007", bank_id="A2"), "camt053") is imported
