"""Models of `facturier.toml`: issuer, numbering, schedule, terms, bank (`[mail]`: mail.py,
`[collections]`: collections.py).

Every model forbids unknown keys and coerces nothing ("yes" is not a bool, "15" is not an
int). Rules that involve two keys are field validators reading the keys declared before
them (`info.data`), so each problem is reported on the key the user must fix and the other
keys are still checked.
"""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

import codecs
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from facturier.config.accounting import AccountingConfig
from facturier.config.collections import CollectionsConfig
from facturier.config.einvoicing import EInvoicingConfig
from facturier.config.fields import (
    DEFAULT_LATE_PENALTY,
    Address,
    Bic,
    Country,
    Email,
    Iban,
    LatePenalty,
    NonEmptyStr,
    NumberTemplate,
    Rate,
    Siren,
    Siret,
    StrictModel,
    VatId,
    check_siret_extends_siren,
    check_vat_rate,
    late_penalty_text,
)
from facturier.config.google import GoogleConfig
from facturier.config.mail import MailConfig, sender_address


def check_cycle_day(day: int) -> int:
    """A day of the monthly cycle; 29-31 are refused because not every month has them."""
    if not 1 <= day <= 28:
        raise ValueError(
            f"must be a day from 1 to 28 (29-31 do not exist in every month), got {day}"
        )
    return day


CycleDay = Annotated[int, AfterValidator(check_cycle_day)]
PaymentDays = Annotated[int, Field(ge=0, le=365)]


OperationCategory = Literal["services", "goods", "mixed"]


class SellerIdentity(StrictModel):
    """Who sells: the issuer of direct invoices, or a batch client billing its own customers."""

    name: NonEmptyStr
    legal_form: NonEmptyStr | None = None
    share_capital: NonEmptyStr | None = None
    rcs: NonEmptyStr | None = None
    address: Address
    country: Country
    siren: Siren | None = Field(default=None, validate_default=True)
    siret: Siret | None = None
    vat_regime: Literal["standard", "franchise"] = "standard"
    vat_id: VatId | None = Field(default=None, validate_default=True)
    iban: Iban | None = None
    bic: Bic | None = None
    # The French e-invoicing reform's mentions (PRODUCT §10): what is sold, and whether the
    # seller opted to pay VAT on debits (on invoicing) instead of on receipts.
    operation_category: OperationCategory = "services"
    vat_on_debits: bool = False

    @field_validator("siren", mode="after")
    @classmethod
    def _siren_required_in_france(cls, siren: str | None, info: ValidationInfo) -> str | None:
        """French sellers must print their SIREN on every invoice."""
        if siren is None and info.data.get("country") == "FR":
            raise ValueError('required when country is "FR"')
        return siren

    @field_validator("siret", mode="after")
    @classmethod
    def _siret_extends_siren(cls, siret: str | None, info: ValidationInfo) -> str | None:
        """A SIRET is the SIREN followed by the establishment number."""
        return check_siret_extends_siren(siret, info.data.get("siren"))

    @field_validator("vat_id", mode="after")
    @classmethod
    def _vat_id_required(cls, vat_id: str | None, info: ValidationInfo) -> str | None:
        """Required unless in franchise; a French VAT number must contain the SIREN."""
        if vat_id is None:
            if info.data.get("vat_regime", "standard") != "franchise":
                raise ValueError('required unless vat_regime = "franchise"')
            return None
        siren = info.data.get("siren")
        if siren is not None and vat_id.startswith("FR") and vat_id[4:] != siren:
            raise ValueError(f"{vat_id!r} does not match the siren {siren!r}")
        return vat_id


def seller_vat_rate(rate: Decimal, info: ValidationInfo) -> Decimal:
    """A seller's default rate is a rate of its own country (same rule as every CSV row)."""
    country = info.data.get("country")
    return check_vat_rate(rate, country) if isinstance(country, str) else rate


class IssuerConfig(SellerIdentity):
    """The seller of direct invoices (`[issuer]`)."""

    email: Email
    default_vat_rate: Rate = Decimal(20)

    _default_rate_of_country = field_validator("default_vat_rate", mode="after")(seller_vat_rate)


class NumberingConfig(StrictModel):
    """Number templates of the issuer's invoices and credit notes."""

    invoice: NumberTemplate = "{year}-{seq:04d}"
    credit_note: NumberTemplate = "AV-{year}-{seq:04d}"


class ScheduleConfig(StrictModel):
    """Days of the month when the cycle issues and sends direct invoices."""

    invoice_day: CycleDay = 15
    send_day: CycleDay = 15


class TermsConfig(StrictModel):
    """Payment terms printed on every invoice."""

    payment_days: PaymentDays = 30
    late_penalty: LatePenalty = Field(default_factory=lambda: dict(DEFAULT_LATE_PENALTY))

    def late_penalty_for(self, language: str) -> str:
        """The late-penalty text in a language (falls back to English, then to any text)."""
        return late_penalty_text(self.late_penalty, language)


class BankCsvConfig(StrictModel):
    """Column mapping of CSV bank statements."""

    delimiter: str = ","
    date_column: NonEmptyStr
    amount_column: NonEmptyStr
    text_column: NonEmptyStr
    id_column: NonEmptyStr | None = None
    date_format: str = "%Y-%m-%d"
    decimal_separator: Literal[".", ","] = "."
    encoding: str = "utf-8"

    @field_validator("delimiter", mode="after")
    @classmethod
    def _one_char(cls, delimiter: str) -> str:
        """The csv module takes a one-character delimiter."""
        if len(delimiter) != 1:
            raise ValueError(f"must be one character, got {delimiter!r}")
        return delimiter

    @field_validator("date_format", mode="after")
    @classmethod
    def _strftime(cls, date_format: str) -> str:
        """A strftime pattern such as %d/%m/%Y."""
        if "%" not in date_format:
            raise ValueError(f"{date_format!r} is not a date pattern like \"%d/%m/%Y\"")
        return date_format

    @field_validator("decimal_separator", mode="after")
    @classmethod
    def _not_the_delimiter(cls, separator: str, info: ValidationInfo) -> str:
        """A decimal comma inside comma-separated columns would split every amount."""
        if separator == info.data.get("delimiter"):
            raise ValueError(f"{separator!r} is also the delimiter")
        return separator

    @field_validator("encoding", mode="after")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        """An encoding Python can decode."""
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r}") from None
        return encoding


class BankConfig(StrictModel):
    """Bank statement import settings."""

    csv: BankCsvConfig | None = None


class FacturierConfig(StrictModel):
    """The whole of `facturier.toml`."""

    timezone: str = "Europe/Paris"
    issuer: IssuerConfig
    numbering: NumberingConfig = Field(default_factory=NumberingConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    terms: TermsConfig = Field(default_factory=TermsConfig)
    mail: MailConfig
    bank: BankConfig = Field(default_factory=BankConfig)
    collections: CollectionsConfig = Field(default_factory=CollectionsConfig)
    google: GoogleConfig = Field(default_factory=GoogleConfig)
    accounting: AccountingConfig = Field(default_factory=AccountingConfig)
    einvoicing: EInvoicingConfig = Field(default_factory=EInvoicingConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_sender(cls, data: Any) -> Any:
        """mail.from defaults to the issuer: `Issuer Name <issuer email>`."""
        if not isinstance(data, dict):
            return data
        mail = data.get("mail", {})
        if not isinstance(mail, dict) or "from" in mail:
            return data
        issuer = data.get("issuer")
        name = issuer.get("name") if isinstance(issuer, dict) else None
        email = issuer.get("email") if isinstance(issuer, dict) else None
        if not (isinstance(name, str) and isinstance(email, str)):
            # The issuer's own problems are reported; do not add a second one for mail.from.
            name, email = "", "unknown@invalid.invalid"
        return {**data, "mail": {**mail, "from": sender_address(name, email)}}

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_timezone(cls, timezone: str) -> str:
        """An IANA time zone name such as Europe/Paris."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            message = f'unknown time zone {timezone!r}; use a name like "Europe/Paris"'
            raise ValueError(message) from None
        return timezone
