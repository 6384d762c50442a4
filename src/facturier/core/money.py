"""Money: Decimal only, rounded once per line with ROUND_HALF_UP to the currency's minor unit.

Floats never touch money. Every amount enters through `to_decimal`, and every rounding goes
through `quantize`, so there is exactly one rounding rule in the whole system: round each line
(and each VAT amount per rate) to the minor unit, then sum already-rounded amounts.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision

from facturier.core.errors import InputError

ZERO = Decimal(0)
# Plain decimal text: ASCII digits and one '.'; no exponent, underscore or non-ASCII digit
# (Decimal() would silently accept "1e3", "1_000" or Arabic-Indic digits).
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# What a bank writes for money received: digits, optionally a decimal part (the sign, if the
# format has one, is read by the parser, since it says credit or debit rather than amount).
_RECEIVED_TEXT = re.compile(r"\+?[0-9]+(?:\.[0-9]+)?")

# Quantity x unit price of one line must stay below this: far beyond any real invoice, and far
# enough below Decimal's 28 significant digits that lines, VAT and totals quantize exactly.
MAX_LINE_AMOUNT = Decimal(1000000000000000)  # 10^15


# What an invoice line carries (its PDF, its JSON record, its Factur-X XML): quantities to 4
# decimals (usage is counted in 1/10,000 units too), unit prices to 6.
LINE_QUANTITY_DECIMALS = 4
LINE_PRICE_DECIMALS = 6


def decimals_problem(value: Decimal, decimals: int, what: str) -> str | None:
    """Why `value` has more decimals than a `what` of an invoice line carries, or None."""
    exponent = value.normalize().as_tuple().exponent  # quantize would overflow on a huge value
    if isinstance(exponent, int) and -exponent > decimals:
        return f"{what} {value} has more than {decimals} decimals (an invoice line carries {decimals})"
    return None


def line_amount_problem(quantity: Decimal, unit_price: Decimal) -> str | None:
    """Why a line's quantity and unit price cannot be invoiced (more decimals than a line
    carries, or an amount too large), or None when they can: every line that enters (a
    client's configuration, a batch row) is held to this one rule."""
    problem = (decimals_problem(quantity, LINE_QUANTITY_DECIMALS, "quantity")
               or decimals_problem(unit_price, LINE_PRICE_DECIMALS, "unit price"))
    if problem:
        return problem
    if abs(quantity * unit_price) >= MAX_LINE_AMOUNT:
        return (f"quantity {quantity} x unit price {unit_price} is too large: a line's amount must stay "
                f"below {MAX_LINE_AMOUNT}")
    return None


def check_size(amount: Decimal, what: str) -> Decimal:
    """The amount, refused when it reaches MAX_LINE_AMOUNT: every amount that enters (a payment,
    a bank credit, a charge, a credit note's amount) stays where rounding is exact (a 29-digit
    amount cannot even be rounded to cents: decimal.InvalidOperation)."""
    if abs(amount) >= MAX_LINE_AMOUNT:
        raise InputError(f"{what}: {amount} is too large (an amount stays below {MAX_LINE_AMOUNT:,})")
    return amount


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """Parse a str or int as a finite Decimal; floats and bools are refused."""
    if isinstance(value, (bool, float)):
        raise InputError(f"{what}: {value!r} is a float; write decimals as strings, e.g. \"450.00\"")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str) and value.strip().lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise InputError(f"{what}: {value!r} is not a finite number")
    elif isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        raise InputError(f"{what}: {value!r} is not a decimal number (digits with '.' as decimal mark)")
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise InputError(f"{what}: {value!r} is not a decimal number") from None
    else:
        raise InputError(f"{what}: {value!r} is not a decimal number")
    if not result.is_finite():
        raise InputError(f"{what}: {value!r} is not a finite number")
    return check_size(result, what)


def received_amount(text: str, currency: str | None, what: str, *, decimal_mark: str = ".") -> Decimal:
    """Money received, as a statement writes it: the one rule `pay` applies too.

    Plain ASCII digits with at most one `decimal_mark` (no sign, exponent, digit grouping,
    NaN or infinity), strictly positive, and no more decimals than the currency has: 100.005
    EUR is refused, never rounded. Trailing zeros are fine (18.150 EUR is 18.15). When the
    file does not say the currency (CSV), call `check_minor_unit` once it is known.
    """
    raw = text.strip()
    plain = raw.replace(decimal_mark, ".", 1) if decimal_mark != "." else raw
    if raw.startswith("-"):
        raise InputError(f"{what}: {raw!r} is negative; a credit is a positive amount")
    if not _RECEIVED_TEXT.fullmatch(plain):
        raise InputError(f"{what}: {raw!r} is not a plain amount (digits, {decimal_mark!r} as decimal mark)")
    amount = check_size(Decimal(plain), what)
    if amount <= ZERO:
        raise InputError(f"{what}: {raw!r} is not a positive amount")
    return amount if currency is None else check_minor_unit(amount, currency, what)


def check_minor_unit(amount: Decimal, currency: str, what: str) -> Decimal:
    """The amount at the currency's minor unit, refused when it has more decimals than that
    (or is too large: `check_size`)."""
    rounded = quantize(check_size(amount, what), currency)
    if rounded != amount:
        raise InputError(f"{what}: {amount} has more decimals than {currency} allows")
    return rounded


@cache
def minor_exponent(currency: str) -> Decimal:
    """The quantum of a currency's minor unit, e.g. Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit: the one rounding function of the system."""
    return amount.quantize(minor_exponent(currency), rounding=ROUND_HALF_UP)


def unsigned_zero(value: Decimal) -> Decimal:
    """The value, with a zero always unsigned: Decimal keeps the sign of -0 and of -0.001
    rounded to -0.00, and a sign on nothing reads as a debt ("-0,00 €")."""
    return value.copy_abs() if value.is_zero() else value


def rounded(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's minor unit, a zero unsigned: what `fmt_amount` prints."""
    return unsigned_zero(quantize(amount, currency))


def fmt_amount(amount: Decimal, currency: str) -> str:
    """Plain machine format of a rounded amount ('1234.50'), as stored in JSON and CSV."""
    return str(rounded(amount, currency))


@cache
def minor_digits(currency: str) -> int:
    """The number of decimals of a currency's minor unit (2 for EUR, 0 for JPY)."""
    return int(get_currency_precision(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """A rounded amount as an integer count of minor units: the one conversion, for exact
    arithmetic (splitting a credit, the client accounts, the state's sums)."""
    return int(quantize(amount, currency).scaleb(minor_digits(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    """An integer count of minor units back as an amount at the currency's precision."""
    digits = minor_digits(currency)
    return Decimal(units).scaleb(-digits) if digits else Decimal(units)
