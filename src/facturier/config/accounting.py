"""The `[accounting]` section: the account numbers and journals of `export fec`.

Every key has the default of the French chart of accounts (PCG), so a workspace without the
section exports a valid FEC. Revenue and output VAT accounts may be set per VAT rate (the
rate as written on invoices, "20", "5.5", "0"); a rate without its own account uses the
default one. Foreign-currency amounts are booked in euros at the rate given here (1 unit of
the currency = that many euros), set by the accountant for the year.
"""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainValidator

from facturier.config.fields import Currency, NonEmptyStr, StrictModel, _decimal_parser, check_rate

# Patterns as text, compiled by `re` (and cached there) at their first use: a configuration read
# from its cache validates nothing and compiles none of them (issue 23, start-up).
_ACCOUNT = r"[0-9][0-9A-Z]{2,19}"
_JOURNAL = r"[A-Z0-9]{1,6}"


def _account_of_class(prefix: str, what: str) -> AfterValidator:
    """An account number (3-20 characters, digits first) that starts with the PCG `prefix`."""

    def check(value: str) -> str:
        if not re.fullmatch(_ACCOUNT, value):
            raise ValueError(f"{value!r} is not an account number (3 to 20 digits or capitals, "
                             'starting with a digit, like "706000")')
        if not value.startswith(prefix):
            raise ValueError(f"{value!r} is not a {what} account (it must start with {prefix})")
        return value

    return AfterValidator(check)


def check_journal_code(value: str) -> str:
    """A journal code: 1 to 6 capitals or digits ("VT", "BQ")."""
    if not re.fullmatch(_JOURNAL, value):
        raise ValueError(f'{value!r} is not a journal code (1 to 6 capitals or digits, like "VT")')
    return value


def check_rate_key(rate: str) -> str:
    """A VAT rate written as on invoices ("20", "5.5", "0")."""
    try:
        check_rate(_decimal_parser("20", "rates")(rate))
    except ValueError as exc:
        raise ValueError(f"rate {rate!r}: {exc}") from None
    return rate


def check_positive(value: Decimal) -> Decimal:
    """An exchange rate is above zero."""
    if value <= 0:
        raise ValueError(f"an exchange rate is above zero, got {value}")
    return value


RevenueAccount = Annotated[str, _account_of_class("7", "revenue (class 7)")]
VatAccount = Annotated[str, _account_of_class("4457", "output VAT (4457)")]
BankAccount = Annotated[str, _account_of_class("5", "bank (class 5)")]
ClientAccount = Annotated[str, _account_of_class("411", "client (411)")]
JournalCode = Annotated[str, AfterValidator(check_journal_code)]
RateKey = Annotated[str, AfterValidator(check_rate_key)]
ExchangeRate = Annotated[Decimal, PlainValidator(_decimal_parser("1.1650", "rates")),
                         AfterValidator(check_positive)]


class AccountingConfig(StrictModel):
    """`[accounting]` of facturier.toml: what `export fec` books where."""

    sales_journal: JournalCode = "VT"
    sales_journal_label: NonEmptyStr = "Ventes"
    bank_journal: JournalCode = "BQ"
    bank_journal_label: NonEmptyStr = "Banque"
    revenue: RevenueAccount = "706000"
    revenue_by_rate: dict[RateKey, RevenueAccount] = Field(default_factory=dict)
    vat: VatAccount = "445710"
    vat_by_rate: dict[RateKey, VatAccount] = Field(default_factory=dict)
    bank: BankAccount = "512000"
    # "auxiliary": one 411 account, each client as an auxiliary account (CompAuxNum = its id);
    # "accounts": one account per client, the 411 prefix followed by its id in capitals.
    clients: Literal["auxiliary", "accounts"] = "auxiliary"
    client_account: ClientAccount = "411000"
    exchange_rates: dict[Currency, ExchangeRate] = Field(default_factory=dict)

    def revenue_account(self, rate: Decimal) -> str:
        return _by_rate(self.revenue_by_rate, rate, self.revenue)

    def vat_account(self, rate: Decimal) -> str:
        return _by_rate(self.vat_by_rate, rate, self.vat)


def _by_rate(table: dict[str, str], rate: Decimal, default: str) -> str:
    for key, account in table.items():
        if Decimal(key) == rate:
            return account
    return default
