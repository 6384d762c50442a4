"""Models of `clients/<id>.toml` (direct clients) and `batch_clients/<id>.toml` (batch sellers)."""

# No `from __future__ import annotations` here: pydantic takes the fields' types as objects
# rather than compiling each annotation's text when the models are defined (issue 23, start-up).

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from facturier.config.collections import ClientCollections
from facturier.config.einvoicing import EInvoicingConfig
from facturier.config.fields import (
    DEFAULT_LATE_PENALTY,
    Address,
    Country,
    Email,
    InvoiceCurrency,
    LatePenalty,
    NonEmptyStr,
    NumberTemplate,
    Quantity,
    Rate,
    Recipients,
    Siren,
    Siret,
    StrictModel,
    VatId,
    check_siret_extends_siren,
    late_penalty_text,
)
from facturier.config.models import (
    CycleDay,
    IssuerConfig,
    OperationCategory,
    PaymentDays,
    SellerIdentity,
    seller_vat_rate,
)
from facturier.config.pricing import (
    Aggregation,
    Amount,
    Day,
    DiscountConfig,
    MetricName,
    PricingName,
    TierConfig,
    UnitPrice,
    Units,
)
from facturier.core.money import LINE_QUANTITY_DECIMALS, decimals_problem, line_amount_problem

Language = Literal["fr", "en"]
Mode = Literal["live", "test"]
VatRegime = Literal["standard", "franchise", "reverse_charge", "exempt"]


class ClientOptions(StrictModel):
    """Per-client switches (`[options]`)."""

    auto_send: bool = False


def check_positive(value: Decimal) -> Decimal:
    """A quantity is strictly positive (corrections are credit notes, not negative lines) and
    has no more decimals than an invoice line carries."""
    if value <= 0:
        raise ValueError(f"must be greater than 0, got {value}")
    problem = decimals_problem(value, LINE_QUANTITY_DECIMALS, "quantity")
    if problem:
        raise ValueError(problem)
    return value


class LineConfig(StrictModel):
    """One line of a client's monthly invoice: recurring (quantity x unit_price), or metered
    (`metric`: the previous month's usage, priced by `pricing`; see config/pricing.py)."""

    description: NonEmptyStr
    quantity: Annotated[Quantity, AfterValidator(check_positive)] = Decimal(1)
    unit_price: UnitPrice | None = None  # required unless the pricing has tiers
    vat_rate: Rate | None = None  # None: the issuer's default_vat_rate
    metric: MetricName | None = None
    aggregation: Aggregation = "sum"
    pricing: PricingName | None = None  # metered lines: per_unit when omitted
    tiers: list[TierConfig] = Field(default_factory=list)
    included: Units = Decimal(0)
    package_size: Annotated[Units, AfterValidator(check_positive)] | None = None
    minimum: Amount | None = None
    from_: Day | None = Field(default=None, alias="from")
    until: Day | None = None

    @field_validator("unit_price", mode="after")
    @classmethod
    def _line_amount_in_range(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if value is None:
            return value
        quantity = info.data.get("quantity")
        problem = line_amount_problem(quantity if isinstance(quantity, Decimal) else Decimal(1), value)
        if problem:
            raise ValueError(problem)
        return value


class ClientConfig(StrictModel):
    """A direct client; the file stem is its id."""

    name: NonEmptyStr
    email: Recipients
    address: Address
    country: Country
    siren: Siren | None = None
    siret: Siret | None = None
    vat_regime: Literal["standard", "reverse_charge", "exempt"] | None = None
    vat_id: VatId | None = Field(default=None, validate_default=True)
    business: bool = True
    language: Language
    currency: InvoiceCurrency
    active: bool = True
    mode: Mode = "live"
    payment_days: PaymentDays | None = None
    invoice_day: CycleDay | None = None
    operation_category: OperationCategory | None = None  # none: the issuer's
    delivery_address: Address | None = None  # printed and in the XML when goods go elsewhere
    options: ClientOptions = Field(default_factory=ClientOptions)
    collections: ClientCollections = Field(default_factory=ClientCollections)
    lines: list[LineConfig] = Field(default_factory=list, validate_default=True)
    discounts: list[DiscountConfig] = Field(default_factory=list)
    # The first and last day billed: no invoice before start_date's month or after end_date's;
    # with prorate = true, the recurring lines of those two months are billed by days.
    start_date: Day | None = None
    end_date: Day | None = None
    prorate: bool = False

    @field_validator("siret", mode="after")
    @classmethod
    def _siret_extends_siren(cls, siret: str | None, info: ValidationInfo) -> str | None:
        """A SIRET is the SIREN followed by the establishment number."""
        return check_siret_extends_siren(siret, info.data.get("siren"))

    @field_validator("vat_id", mode="after")
    @classmethod
    def _reverse_charge_needs_vat_id(cls, vat_id: str | None, info: ValidationInfo) -> str | None:
        """Reverse charge is only valid when the invoice shows the customer's VAT number."""
        if vat_id is None and info.data.get("vat_regime") == "reverse_charge":
            raise ValueError('required when vat_regime = "reverse_charge"')
        return vat_id

    @field_validator("lines", mode="after")
    @classmethod
    def _active_needs_lines(cls, lines: list[LineConfig], info: ValidationInfo) -> list[LineConfig]:
        """An active client is invoiced every month, so it needs something to invoice."""
        if not lines and info.data.get("active", True):
            raise ValueError("an active client needs at least one [[lines]] entry")
        return lines

    def recipients(self) -> list[str]:
        """Every address the invoice email goes to."""
        return [self.email] if isinstance(self.email, str) else list(self.email)

    def effective_vat_regime(self, issuer: IssuerConfig) -> VatRegime:
        """The client's override, else the issuer's regime (standard or franchise)."""
        if self.vat_regime is not None:
            return self.vat_regime
        return issuer.vat_regime


def check_download_url(url: str) -> str:
    """An http(s) base URL under which the monthly ZIP is published."""
    if not url.startswith(("https://", "http://")) or len(url.split("://", 1)[1]) == 0:
        raise ValueError(f"{url!r} must start with https:// or http://")
    return url


class BatchClientConfig(SellerIdentity):
    """A seller using the batch service: invoices its own customers from CSV files."""

    email: Email
    language: Language
    currency: InvoiceCurrency
    default_vat_rate: Rate = Decimal(20)
    payment_days: PaymentDays = 30
    late_penalty: LatePenalty = Field(default_factory=lambda: dict(DEFAULT_LATE_PENALTY))
    numbering: NumberTemplate = "{year}-{seq:05d}"
    active: bool = True
    mode: Mode = "live"
    options: ClientOptions = Field(default_factory=ClientOptions)
    delivery: Literal["link", "attach"] = "link"
    download_base_url: Annotated[str, AfterValidator(check_download_url)] | None = Field(
        default=None, validate_default=True
    )
    # The seller's own PA account (PRODUCT §13); without it its invoices are not transmitted.
    einvoicing: EInvoicingConfig | None = None

    _default_rate_of_country = field_validator("default_vat_rate", mode="after")(seller_vat_rate)

    @field_validator("download_base_url", mode="after")
    @classmethod
    def _link_needs_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        """A download link can only be sent when there is somewhere to download from."""
        options = info.data.get("options")
        auto_send = options.auto_send if isinstance(options, ClientOptions) else False
        if url is None and info.data.get("delivery") == "link" and auto_send:
            raise ValueError('required when delivery = "link" and options.auto_send = true')
        return url

    def late_penalty_for(self, language: str) -> str:
        """The late-penalty text in a language (falls back to English, then to any text)."""
        return late_penalty_text(self.late_penalty, language)
