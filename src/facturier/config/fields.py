"""Field checks for configuration values and batch CSV cells: decimals, dates, countries,
currencies, identifiers, addresses, VAT rates, number templates and visible text.

Each check takes the raw value and returns the clean value or raises ValueError with a
user-facing message; `problems.py` turns that message into `file: key: message`, and the
batch rows (ops/batch/rows.py) into `file:line:column: message`: one vocabulary of
validation, so a value means the same in a TOML file and in a CSV cell. Identifiers are
validated with python-stdnum and stored in their compact form.
"""

from __future__ import annotations

import importlib
import re
import string
import unicodedata
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator

from facturier.core.numbering import number_problem, render_number
from facturier.core.schedule import day_in_range
from facturier.core.text import ZERO_WIDTH_JOINERS, joins_letters

if TYPE_CHECKING:
    from stdnum.exceptions import ValidationError as StdnumError

# Patterns as text, compiled by `re` (and cached there) at their first use: a configuration read
# from its cache validates nothing and compiles none of them (issue 23, start-up).
# Plain decimal text, the one syntax of every decimal a user writes (TOML values, CSV cells):
# an optional minus, ASCII digits, one '.'; no exponent, grouping, spaces or other digits.
_DECIMAL_TEXT = r"-?[0-9]+(\.[0-9]+)?"
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# RFC 5322 dot-atom local part and a DNS host name, non-ASCII letters allowed (RFC 6531):
# what a header can carry as is. No quoted local part, no IP literal: no invoice needs them.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010FFFF]"
_LABEL = r"[A-Za-z0-9\u0080-\U0010FFFF]([A-Za-z0-9\u0080-\U0010FFFF-]*[A-Za-z0-9\u0080-\U0010FFFF])?"


@lru_cache(maxsize=1)
def _email() -> re.Pattern[str]:
    """The address pattern, compiled on first use: its Unicode ranges cost 0.04-0.06 s to compile,
    which a command reading its configuration from the cache (config/cache.py) never pays."""
    return re.compile(rf"(?P<local>{_ATEXT}+(\.{_ATEXT}+)*)@(?P<domain>{_LABEL}(\.{_LABEL})+)")


# Region codes babel lists that are not countries (European Union, United Nations, ...).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
# VAT prefixes that are not ISO country codes: Greece (EL) and Northern Ireland (XI).
_VAT_PREFIX_ALIASES = frozenset({"EL", "XI"})
_SEQ_FIELD = r"seq(:0[1-9]d)?"
_NUMBER_CHARS = r"[A-Za-z0-9_.-]*"
NUMBER_PLACEHOLDERS = ("year", "month", "client", "seq")


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, no type coercion, immutable."""

    # defer_build: the validators are built on first validation, not at import; a command that
    # reads the cached configuration (config/cache.py) never builds them (~0.2 s).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def plain_decimal(text: str) -> Decimal | None:
    """The Decimal of plain decimal text like "450.00" or "-1", or None for anything else.

    "-0" and "-0.00" give a zero without sign: a signed zero would print as "-0,00 €".
    """
    if re.fullmatch(_DECIMAL_TEXT, text) is None:
        return None
    value = Decimal(text)
    return value.copy_abs() if value.is_zero() else value


def check_iso_date(text: str) -> date:
    """A strict YYYY-MM-DD date (fromisoformat alone would take "20261102" or week dates),
    within the supported range (core.schedule.day_in_range)."""
    if not re.fullmatch(_ISO_DATE, text):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date (no such day)") from None
    return day_in_range(day)


def _decimal_parser(example: str, kind: str) -> Callable[[Any], Decimal]:
    """Build a parser that accepts TOML strings and integers, and refuses floats."""

    def parse(value: Any) -> Decimal:
        """Parse one decimal value; floats would carry binary rounding errors into money."""
        # ValueError, not TypeError: pydantic turns only ValueError into a reported problem.
        if isinstance(value, bool):
            raise ValueError(f"expected a decimal number, got {value!r}")
        if isinstance(value, float):
            message = f'{value!r} is a float; write {kind} as a string like "{example}"'
            raise ValueError(message)
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, Decimal) and value.is_finite():
            return value  # built in Python (defaults, tests), already exact
        if isinstance(value, str) and (parsed := plain_decimal(value)) is not None:
            return parsed
        raise ValueError(f'expected a decimal number like "{example}", got {value!r}')

    return parse


Money = Annotated[Decimal, PlainValidator(_decimal_parser("450.00", "money"))]
Quantity = Annotated[Decimal, PlainValidator(_decimal_parser("1.5", "decimals"))]


def check_rate(value: Decimal) -> Decimal:
    """A VAT rate is a percentage in [0, 100)."""
    if not Decimal(0) <= value < Decimal(100):
        raise ValueError(f"a VAT rate is a percentage from 0 to less than 100, got {value}")
    return value


Rate = Annotated[
    Decimal, PlainValidator(_decimal_parser("20", "rates")), AfterValidator(check_rate)
]
# The rates of the French Code général des impôts (art. 278 to 281 nonies): normal,
# intermediate, reduced, super-reduced, and 0 for exempt or reverse-charge lines.
FRENCH_VAT_RATES = frozenset(Decimal(r) for r in ("0", "2.1", "5.5", "10", "20"))


def check_vat_rate(rate: Decimal, seller_country: str, shown: str | None = None) -> Decimal:
    """The one VAT rate rule (config lines, default rates, CSV rows): a rate of the seller's country.

    Only French rates are known; another seller's rate must be a percentage in [0, 100).
    `shown` is the text the user wrote, when it differs from str(rate).
    """
    text = shown if shown is not None else str(rate)
    if seller_country == "FR":
        if rate not in FRENCH_VAT_RATES:
            raise ValueError(f"{text!r} is not a French VAT rate (0, 2.1, 5.5, 10 or 20)")
        return rate
    return check_rate(rate)


# Control (Cc), format (Cf: zero-width, bidi overrides, soft hyphen, BOM), line and paragraph
# separators (Zl, Zp) and lone surrogates: invisible or layout-changing, so a name could look
# like another one, or a line break could add forged lines to an invoice's buyer block.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB", "\x00": "NUL"}
NEWLINES = frozenset("\r\n")


def invisible_characters(text: str, allow_newlines: bool = False, allow_joiners: bool = True) -> list[str]:
    """The distinct control and format characters of `text`, in order (newlines if allowed).

    A ZWNJ or ZWJ between two letters or marks is spelling (Persian, Indic names) and allowed
    there (`core.text.joins_letters`) unless `allow_joiners` is False; anywhere else it is refused.
    """
    if text.isprintable():  # the usual case, without a per-character lookup
        return []
    bad = (c for i, c in enumerate(text) if unicodedata.category(c) in _INVISIBLE_CATEGORIES
           and not (allow_newlines and c in NEWLINES) and not (allow_joiners and joins_letters(text, i)))
    return list(dict.fromkeys(bad))


def describe_invisible(chars: list[str]) -> str:
    """'contains U+200B (ZERO WIDTH SPACE), ...' and why it is refused."""
    names = ", ".join(f"U+{ord(c):04X} ({_CONTROL_NAMES.get(c) or unicodedata.name(c, 'CONTROL')})"
                      for c in chars)
    joiner = any(c in ZERO_WIDTH_JOINERS for c in chars)
    return (f"contains {names}: control and format characters (line breaks, tabs, invisible "
            "or direction marks) are not allowed" + ("" if not joiner else
            " (a zero-width joiner or non-joiner only between two letters)") + "; retype the text without them")


def check_visible(text: str, allow_newlines: bool = False) -> str:
    """Refuse control and format characters (a newline only where `allow_newlines`)."""
    bad = invisible_characters(text, allow_newlines)
    if bad:
        raise ValueError(describe_invisible(bad))
    return text


def check_non_empty(value: str) -> str:
    """Refuse empty or blank text."""
    if not value.strip():
        raise ValueError("must not be empty")
    check_printable(value)
    return value


def check_printable(value: str) -> str:
    """Refuse text the invoice PDF cannot show (PDF/A-3b fails on a missing glyph)."""
    from facturier.fonts import describe_unprintable, unprintable_characters  # typst is heavy

    bad = unprintable_characters(value)
    if bad:
        raise ValueError(describe_unprintable(bad))
    return value


NonEmptyStr = Annotated[str, AfterValidator(check_non_empty)]


def check_address(lines: list[str]) -> list[str]:
    """An address has at least one line and no blank line."""
    if not lines:
        raise ValueError("needs at least one line")
    if any(not line.strip() for line in lines):
        raise ValueError("address lines must not be empty")
    for line in lines:
        check_printable(line)
    return lines


Address = Annotated[list[str], AfterValidator(check_address)]


@lru_cache(maxsize=1)
def known_countries() -> frozenset[str]:
    """ISO 3166 alpha-2 codes known to babel."""
    from babel import Locale  # only a validator needs it: a cached configuration never imports babel

    codes = Locale("en").territories.keys()
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha()) - _NOT_COUNTRIES


def check_country(value: str) -> str:
    """An uppercase ISO 3166 alpha-2 country code."""
    if value not in known_countries():
        hint = f' (write "{value.upper()}")' if value.upper() in known_countries() else ""
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code{hint}")
    return value


Country = Annotated[str, AfterValidator(check_country)]


# ISO 4217 codes that are no money one invoices in: precious metals, the SDR and other units
# of account, the test code and "no currency".
NOT_MONEY = frozenset({"XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"})


def check_currency(value: str) -> str:
    """An uppercase ISO 4217 currency code known to babel, of a currency (not a metal or unit)."""
    from babel.numbers import list_currencies

    if value not in list_currencies():
        hint = f' (write "{value.upper()}")' if value.upper() in list_currencies() else ""
        raise ValueError(f"{value!r} is not an ISO 4217 currency code{hint}")
    if value in NOT_MONEY:
        raise ValueError(f"{value!r} is an ISO 4217 code but no currency one invoices in "
                         "(a precious metal, a unit of account, or the test / no-currency code)")
    return value


Currency = Annotated[str, AfterValidator(check_currency)]


def check_invoice_currency(value: str) -> str:
    """A currency an invoice can be in: its amounts fit an EN 16931 e-invoice, which carries
    at most 2 decimals (BR-DEC-…), so not the 3-decimal dinars (KWD, BHD, …)."""
    from babel.numbers import get_currency_precision

    check_currency(value)
    if get_currency_precision(value) > 2:
        raise ValueError(f"{value} amounts have {get_currency_precision(value)} decimals, but the "
                         "Factur-X (EN 16931) every invoice embeds carries at most 2: invoice in "
                         "another currency")
    return value


InvoiceCurrency = Annotated[str, AfterValidator(check_invoice_currency)]


def check_email(value: str) -> str:
    """A bare address `local@domain.tld` a header can carry (deliverability is not checked)."""
    match = _email().fullmatch(value)
    invalid = (match is None or invisible_characters(value, allow_joiners=False) or any(c.isspace() for c in value)
               or len(match["local"]) > 64 or len(value) > 254
               or match["domain"].rsplit(".", 1)[1].isdigit())
    if invalid:
        hint = " (write the bare address, without < >)" if value.startswith("<") else ""
        raise ValueError(f"{value!r} is not a valid email address{hint}")
    return value


Email = Annotated[str, AfterValidator(check_email)]


def parse_recipients(value: Any) -> str | list[str]:
    """One address or a non-empty list of addresses."""
    if isinstance(value, str):
        return check_email(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return [check_email(v) for v in value]
    raise ValueError(f"expected an email address or a list of addresses, got {value!r}")


Recipients = Annotated[str | list[str], PlainValidator(parse_recipients)]


def _stdnum_check(module: str, label: str) -> Callable[[str], str]:
    """Build a validator that returns the compact form of a python-stdnum identifier.

    `module` is named, and imported at the first check: python-stdnum imports pydoc, ssl and
    socket (~0.07 G instructions), which a command that reads its configuration from the cache
    (`config/cache.py`), validating nothing, has no use for.
    """

    def check(value: str) -> str:
        """Validate with python-stdnum and return the compact form."""
        from stdnum.exceptions import ValidationError as StdnumError

        try:
            return str(importlib.import_module(module).validate(value))
        except StdnumError as exc:
            raise ValueError(f"{value!r} is not a valid {label}: {_stdnum_reason(exc)}") from None

    return check


def _stdnum_reason(exc: StdnumError) -> str:
    """python-stdnum's message, lower-cased and without its final period."""
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:]


check_siren = _stdnum_check("stdnum.fr.siren", "SIREN")
Siren = Annotated[str, AfterValidator(check_siren)]
Siret = Annotated[str, AfterValidator(_stdnum_check("stdnum.fr.siret", "SIRET"))]
Iban = Annotated[str, AfterValidator(_stdnum_check("stdnum.iban", "IBAN"))]
Bic = Annotated[str, AfterValidator(_stdnum_check("stdnum.bic", "BIC"))]


def check_siret_extends_siren(siret: str | None, siren: str | None) -> str | None:
    """A SIRET is the SIREN followed by the establishment number."""
    if siret is not None and siren is not None and not siret.startswith(siren):
        raise ValueError(f"{siret!r} does not start with the siren {siren!r}")
    return siret


def check_vat_id(value: str) -> str:
    """A VAT number with its country prefix (FR..., DE..., GB..., EL... for Greece)."""
    from stdnum import get_cc_module

    prefix = value.strip()[:2].upper()
    if not re.fullmatch(r"[A-Z]{2}", prefix):
        raise ValueError(f"{value!r} is not a VAT number: it must start with a country code")
    if prefix not in _VAT_PREFIX_ALIASES and get_cc_module(prefix.lower(), "vat") is None:
        raise ValueError(f"{value!r}: VAT numbers of country code {prefix!r} cannot be validated")
    return _stdnum_check("stdnum.vatin", "VAT number")(value)


VatId = Annotated[str, AfterValidator(check_vat_id)]


def check_number_template(template: str) -> str:
    """Placeholders {year} {month} {client} {seq} or {seq:0Nd}, exactly one {seq}, safe chars."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a valid template: {exc}") from None
    seq_count = 0
    for literal, field, spec, conversion in parts:
        if not re.fullmatch(_NUMBER_CHARS, literal):
            raise ValueError(
                f"{template!r} contains characters not allowed in a number: "
                "use only letters, digits and _ . -"
            )
        if field is None:
            continue
        text = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if field == "seq" and not conversion and re.fullmatch(_SEQ_FIELD, text):
            seq_count += 1
        elif field not in NUMBER_PLACEHOLDERS or spec or conversion:
            raise ValueError(
                f"unknown placeholder {{{text}}} in {template!r}; "
                "allowed: {year} {month} {client} {seq} {seq:0Nd} (N from 1 to 9)"
            )
    if seq_count != 1:
        raise ValueError(f"{template!r} must contain exactly one {{seq}} or {{seq:0Nd}}")
    _check_sample_number(template)
    return template


def _check_sample_number(template: str) -> None:
    """The rule core/numbering applies when issuing, checked now on a sample number.

    Placeholders render to letters and digits only, so a sample (with a 9-digit sequence)
    stands for every number the template can give, live or in the TEST- series.
    """
    for test in (False, True):
        sample = render_number(template, issue_date=date(2026, 12, 1), client="c", seq=999_999_999,
                               test=test)
        problem = number_problem(sample)
        if problem:
            raise ValueError(f"{template!r} cannot name a document: {problem}")


NumberTemplate = Annotated[str, AfterValidator(check_number_template)]


def parse_late_penalty(value: Any) -> str | dict[str, str]:
    """One text for every language, or a table keyed by language ("fr", "en")."""
    if isinstance(value, str):
        return check_non_empty(value)
    if isinstance(value, dict) and value:
        unknown = sorted(k for k in value if k not in ("fr", "en"))
        if unknown:
            raise ValueError(f'unsupported language {unknown[0]!r}; supported: "fr", "en"')
        if not all(isinstance(v, str) and v.strip() for v in value.values()):
            raise ValueError("every text in the table must be a non-empty string")
        return dict(value)
    example = '{ fr = "...", en = "..." }'
    raise ValueError(f"expected a string or a table like {example}, got {value!r}")


LatePenalty = Annotated[str | dict[str, str], PlainValidator(parse_late_penalty)]
DEFAULT_LATE_PENALTY: dict[str, str] = {
    "fr": "trois fois le taux d'intérêt légal",
    "en": "three times the legal interest rate",
}


def late_penalty_text(penalty: str | dict[str, str], language: str) -> str:
    """The penalty text for a language: the plain string, else the language, then en, then any."""
    if isinstance(penalty, str):
        return penalty
    return penalty.get(language) or penalty.get("en") or next(iter(penalty.values()))

